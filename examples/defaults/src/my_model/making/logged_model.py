"""Log the model to MLflow as models from code."""

import tempfile
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.models.model import ModelInfo

from ..model import Model
from ..model.environment import pip_requirements, prediction_code


def log_model(
    model: Model,
    signature: ModelSignature,
    input_example: pd.DataFrame,
    registered_model_name: str | None,
    metadata: dict[str, Any] | None = None,
) -> ModelInfo:
    """Log `model` in the active run; register it when a name is given.

    `metadata` joins the input contract in the `MLmodel` metadata (train adds
    the drift profile).
    """
    with tempfile.TemporaryDirectory() as directory:
        code = prediction_code(Path(directory) / "code")
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(code / "pyfunc_model.py"),
            artifacts=model.save(Path(directory)),
            code_paths=[str(code)],
            signature=signature,
            input_example=input_example,
            metadata={**model.preprocessor.metadata(), **(metadata or {})},
            pip_requirements=pip_requirements(),
            registered_model_name=registered_model_name,
        )


def unwrap(loaded: mlflow.pyfunc.PyFuncModel) -> Model:
    """Return the project's model inside a loaded pyfunc.

    Its `predict` checks the input contract itself; called directly, it skips
    MLflow's type checks of a typed signature (`train --typed-signature`).
    """
    return loaded.unwrap_python_model().model
