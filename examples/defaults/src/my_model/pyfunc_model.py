"""The pyfunc model MLflow loads from code (models from code): no pickle.

MLflow runs this file when the model is loaded; `set_model` at the bottom tells
it which object serves predictions.
"""

from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext

from my_model.model import Model


class PyfuncModel(PythonModel):
    """Loads the native model and preprocessing state from the logged artifacts."""

    model: Model

    def load_context(self, context: PythonModelContext) -> None:
        """Read the artifacts logged with the model."""
        self.model = Model.load(
            Path(context.artifacts["model"]), Path(context.artifacts["preprocessing"])
        )

    def predict(
        self, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Run the method named by `params["method"]` (default: `predict`)."""
        return self.model.predict(model_input, params)


mlflow.models.set_model(PyfuncModel())
