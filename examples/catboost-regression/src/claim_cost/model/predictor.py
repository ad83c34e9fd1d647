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
METHODS = ("predict", "predict_batch")
DEFAULT_BATCH_SIZE = 10_000


@dataclass
class Model:
    """A fitted preprocessor and native CatBoost model."""

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
        return {
            "method": "predict",
            "batch_size": DEFAULT_BATCH_SIZE,
        }

    def resolve(self, params: dict[str, Any] | None) -> dict[str, Any]:
        """Return `params` over the defaults, refusing values out of range.

        Only the params the method uses are checked: a method ignores the
        others, as MLflow ignores params a model does not declare.
        """
        params = {**self.default_params(), **(params or {})}
        if params["method"] == "predict_batch":
            params["batch_size"] = _number(params, "batch_size", int, low=1)
        return params

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

    def predict_batch(
        self, frame: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Return what `predict` returns, computed `batch_size` rows at a time."""
        return self.predict(frame, {**(params or {}), "method": "predict_batch"})

    def scores(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the native model's scores for `frame` (none for no rows).

        The predicted values.
        The evaluation metrics and the promotion gate compare these.
        """
        features = self.preprocessor.transform(frame)
        if not len(features):
            return np.empty(0)
        return estimator.predict_scores(self.native, features)

    def _run(self, frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
        """Run the method `params["method"]` with resolved `params`."""
        method = params["method"]
        if method == "predict":
            return self._values(frame)
        if method == "predict_batch":
            return self._in_batches(frame, params)
        raise InputError(f"Unknown method {method!r}; allowed: {list(METHODS)}")

    def _values(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the `prediction` column."""
        return pd.DataFrame({"prediction": self.scores(frame)}, index=frame.index)

    def _in_batches(self, frame: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
        """Run `predict` on `batch_size` rows at a time and join the results."""
        params = {**params, "method": "predict"}
        size = params["batch_size"]
        batches = [
            self._run(frame.iloc[start : start + size], params)
            for start in range(0, len(frame), size)
        ]
        return pd.concat(batches) if batches else self._run(frame, params)


def _number(
    params: dict[str, Any],
    name: str,
    kind: type,
    low: float,
    high: float | None = None,
) -> Any:
    """Read a numeric param, refusing values of the wrong type or range."""
    value = params[name]
    allowed = f"[{low}, {high}]" if high is not None else f">= {low}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"Param '{name}' must be a number in {allowed}; got {value!r}")
    if kind is int and value != int(value):
        raise InputError(
            f"Param '{name}' must be a whole number in {allowed}; got {value!r}"
        )
    if value < low or (high is not None and value > high):
        raise InputError(f"Param '{name}' must be in {allowed}; got {value!r}")
    return kind(value)


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
