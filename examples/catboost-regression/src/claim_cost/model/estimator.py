"""CatBoost: how the model is built, trained, saved, loaded and called."""

from pathlib import Path

import catboost
import mlflow
import numpy as np
import pandas as pd

from ..errors import first_line
from .contract import Contract

#: File name of the native model inside the logged model.
MODEL_FILE = "model.cbm"
#: Distributions the model imports when MLflow loads it.
REQUIREMENTS = ("catboost",)
#: Most categories kept per string column (the rest count as unknown).
MAX_CATEGORIES = 1024
#: Below this many rows an object array reaches CatBoost faster than a DataFrame,
#: and one thread predicts faster than a pool of threads.
SMALL_BATCH_ROWS = 1_000
#: Category code CatBoost sees for missing and unknown values.
MISSING_CODE = -1
#: Category text a wrapped model sees for a missing value (as `astype(str)`),
#: unless `wrap --missing-category` named the notebook's.
MISSING_TEXT = "nan"

NativeModel = catboost.CatBoostRegressor


def build_estimator() -> catboost.CatBoostRegressor:
    """Return the untrained estimator: edit its hyperparameters here."""
    return catboost.CatBoostRegressor(
        iterations=300,
        depth=6,
        learning_rate=0.1,
        random_seed=42,
        verbose=False,
        allow_writing_files=False,
    )


def autolog() -> None:
    """Do nothing: MLflow has no CatBoost autologging, so `fit` logs instead."""


def fit(
    estimator: NativeModel,
    features: np.ndarray,
    target: np.ndarray,
    categorical: list[bool],
) -> NativeModel:
    """Train with string columns as native `cat_features`; log params and metrics."""
    columns = [index for index, flag in enumerate(categorical) if flag]
    estimator.fit(_frame(features, columns), target, cat_features=columns)
    if mlflow.active_run():
        mlflow.log_params(estimator.get_params())
        mlflow.log_metrics(
            {
                f"training_{metric}": value
                for metric, value in estimator.get_best_score()["learn"].items()
            }
        )
    return estimator


def save(model: NativeModel, path: Path) -> None:
    """Write the model in CatBoost's binary format (no pickle)."""
    model.save_model(str(path), format="cbm")


def load(path: Path) -> NativeModel:
    """Read a model written by `save`."""
    return catboost.CatBoostRegressor().load_model(str(path), format="cbm")


def _codes(column: np.ndarray) -> np.ndarray:
    """Integer category codes, with missing and unknown values as -1."""
    return np.where(np.isnan(column), MISSING_CODE, column).astype(np.int64)


def _frame(features: np.ndarray, columns: list[int]) -> pd.DataFrame:
    """Return a frame whose categorical columns hold integer codes."""
    frame = pd.DataFrame(features)
    for index in columns:
        frame[index] = _codes(features[:, index])
    return frame


def _data(model: NativeModel, features: np.ndarray) -> object:
    """Hand the float32 matrix to CatBoost in its fastest accepted form.

    Without categorical columns that is the matrix itself. With them, an object
    array for small batches and a DataFrame for large ones (measured). A
    wrapped model's frame of text categories goes as it is, missing as "nan".
    """
    columns = model.get_cat_feature_indices()
    if isinstance(features, pd.DataFrame):  # a wrapped model's text categories
        names = features.columns[columns]
        return features.astype(dict.fromkeys(names, object)).fillna(
            dict.fromkeys(names, MISSING_TEXT)
        )
    if not columns:
        return features
    if len(features) >= SMALL_BATCH_ROWS:
        return _frame(features, columns)
    data = features.astype(object)
    for index in columns:
        data[:, index] = _codes(features[:, index])
    return data


def _threads(features: np.ndarray) -> int:
    """One thread for small requests, CatBoost's default (all cores) otherwise."""
    return 1 if len(features) < SMALL_BATCH_ROWS else -1


def load_trained(path: Path) -> NativeModel:
    """Load a model saved elsewhere with CatBoost's `save_model` (.cbm)."""
    try:
        return load(path)
    except catboost.CatBoostError as error:
        reason = first_line(error)
        raise ValueError(f"{path.name} is not a CatBoost model: {reason}") from None


def contract(model: NativeModel) -> Contract:
    """Read features, task and classes (CatBoost keeps its class labels).

    CatBoost keeps no categories, only hashes of them: a model with
    `cat_features` is given their text as it is (`raw`), a missing value as
    the text the notebook filled gaps with (`wrap --missing-category`, else
    "nan", what `astype(str)` makes of it), and keeps its own rule for
    unseen categories.
    """
    names = list(model.feature_names_ or [])
    if names == [str(index) for index in range(len(names))]:
        raise ValueError(
            "the model has no feature names: fit it on a pandas DataFrame "
            "before save_model"
        )
    text = [names[index] for index in model.get_cat_feature_indices()]
    loss = str(model.get_all_params().get("loss_function", "")).split(":")[0]
    if loss in ("Logloss", "CrossEntropy"):
        task = "binary"
    elif loss in ("MultiClass", "MultiClassOneVsAll"):
        task = "multiclass"
    elif loss in ("RMSE", "MAE", "Quantile", "Huber", "Poisson", "Tweedie", "MAPE"):
        task = "regression"
    else:
        raise ValueError(f"loss function {loss!r} is not one this project can serve")
    classes = [] if task == "regression" else np.asarray(model.classes_).tolist()
    return Contract(names, dict.fromkeys(text, []), task, classes, raw=bool(text))


def predict_scores(model: NativeModel, features: np.ndarray) -> np.ndarray:
    """Predicted values."""
    return model.predict(_data(model, features), thread_count=_threads(features))
