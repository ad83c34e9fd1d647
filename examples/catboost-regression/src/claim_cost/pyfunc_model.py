"""The pyfunc model: a PythonModel that holds the fitted model (pickled).

A pickle names each class by its module. Models logged before the package was
grouped by role (0.4) name the preprocessing's module `preprocessing` in this
package; unpickling imports this module first, which keeps that name loading.
"""

import sys
from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel

from .model import Model, preprocessing

sys.modules.setdefault(f"{__package__}.preprocessing", preprocessing)


class PyfuncModel(PythonModel):
    """Wraps a fitted `Model`; MLflow pickles this object with the model inside."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def predict(
        self, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Run the method named by `params["method"]` (default: `predict`)."""
        return self.model.predict(model_input, params)

    def predict_batch(
        self, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Return what `predict` returns, computed `batch_size` rows at a time."""
        return self.model.predict_batch(model_input, params)
