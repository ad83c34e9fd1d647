"""The model MLflow serves: preprocessing, the native model and predict semantics."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import estimator
from .contract import InputError
from .preprocessing import PREPROCESSING_FILE, Preprocessor

#: Values of the `method` inference param.
METHODS = ("predict",)


@dataclass
class Model:
    """A fitted preprocessor and native XGBoost model."""

    preprocessor: Preprocessor
    native: estimator.NativeModel

    @classmethod
    def load(cls, model_path: Path, preprocessing_path: Path) -> "Model":
        """Load the native model and its preprocessing state from files."""
        return cls(Preprocessor.load(preprocessing_path), estimator.load(model_path))

    def save(self, directory: Path) -> dict[str, str]:
        """Write the model files into `directory`; return them by artifact name."""
        paths = {
            "model": directory / estimator.MODEL_FILE,
            "preprocessing": directory / PREPROCESSING_FILE,
        }
        estimator.save(self.native, paths["model"])
        self.preprocessor.save(paths["preprocessing"])
        return {name: str(path) for name, path in paths.items()}

    def default_params(self) -> dict[str, Any]:
        """Inference params the logged model declares, with their defaults."""
        return {"method": "predict"}

    def resolve(self, params: dict[str, Any] | None) -> dict[str, Any]:
        """Return `params` over the defaults (no param has a range to check)."""
        return {**self.default_params(), **(params or {})}

    def predict(
        self,
        frame: pd.DataFrame | dict[str, Any] | list[dict[str, Any]],
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Run the method named by `params["method"]` (default: `predict`).

        `frame` may also be what `mlflow.pyfunc` passes on as it came: a dict
        of columns, a dict of one row's values, or a list of rows (dicts).
        """
        return self._run(as_frame(frame), self.resolve(params))

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the native model's scores for `frame` (none for no rows).

        One probability column per class, in `preprocessor.classes` order.
        The evaluation metrics and the promotion gate compare these.
        """
        features = self.preprocessor.transform(frame)
        if not len(features):
            return np.empty((0, len(self.preprocessor.classes)))
        return estimator.predict_scores(self.native, features)

    def _run(self, frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
        """Run the method `params["method"]` with resolved `params`."""
        method = params["method"]
        if method == "predict":
            return self._probabilities(frame)
        raise InputError(f"Unknown method {method!r}; allowed: {list(METHODS)}")

    def _probabilities(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return one probability column per class, named by the class label."""
        columns = [str(label) for label in self.preprocessor.classes]
        return pd.DataFrame(self.scores(frame), columns=columns, index=frame.index)


def as_frame(request: object) -> pd.DataFrame:
    """Return a request as a DataFrame, refusing what holds no rows of columns."""
    if isinstance(request, pd.DataFrame):
        return request
    if isinstance(request, dict):
        one_row = all(np.ndim(value) == 0 for value in request.values())
        try:
            return pd.DataFrame([request] if one_row else request)
        except ValueError as error:
            raise InputError(f"the dict's columns differ in length: {error}") from None
    if isinstance(request, list) and all(isinstance(row, dict) for row in request):
        return pd.DataFrame(request)
    raise InputError(
        "the input must be a DataFrame, a dict of columns or of one row's values, "
        f"or a list of rows (dicts); got {type(request).__name__}"
    )
