"""XGBoost: how the model is built, trained, saved, loaded and called."""

import json
import weakref
from pathlib import Path

import mlflow
import numpy as np
import xgboost as xgb

from ..errors import first_line
from .contract import Contract
from .kinds import category_text

#: File name of the native model inside the logged model.
MODEL_FILE = "model.ubj"
#: Distributions the model imports when MLflow loads it.
REQUIREMENTS = ("xgboost",)
#: Most categories kept per string column (the rest count as unknown).
MAX_CATEGORIES = 1024
#: Below this many rows one thread predicts faster than a pool of threads.
SINGLE_THREAD_ROWS = 1_000

#: Each booster's copy that predicts on one thread (see `_for_rows`).
_ONE_THREAD: "weakref.WeakKeyDictionary[xgb.Booster, xgb.Booster]" = (
    weakref.WeakKeyDictionary()
)

NativeModel = xgb.Booster


def build_estimator() -> xgb.XGBClassifier:
    """Return the untrained estimator: edit its hyperparameters here."""
    return xgb.XGBClassifier(
        n_estimators=200,
        max_depth=4,
        learning_rate=0.1,
        tree_method="hist",
        random_state=42,
    )


def autolog() -> None:
    """Log parameters and training metrics with MLflow's XGBoost autologging."""
    mlflow.xgboost.autolog(
        importance_types=[], log_models=False, log_datasets=False, silent=True
    )


def fit(
    estimator: xgb.XGBClassifier,
    features: np.ndarray,
    target: np.ndarray,
    categorical: list[bool],
) -> xgb.Booster:
    """Train on encoded features (string columns hold category codes)."""
    estimator.set_params(
        feature_types=[
            "c" if is_categorical else "q" for is_categorical in categorical
        ],
        enable_categorical=True,
    )
    estimator.fit(features, target)
    return _with_one_thread_copy(estimator.get_booster())


def save(booster: xgb.Booster, path: Path) -> None:
    """Write the booster in XGBoost's binary JSON format (no pickle)."""
    booster.save_model(path)


def load(path: Path) -> xgb.Booster:
    """Read a booster written by `save`."""
    return _with_one_thread_copy(xgb.Booster(model_file=path))


def _with_one_thread_copy(booster: xgb.Booster) -> xgb.Booster:
    """Keep a copy of `booster` set to one thread, for small requests.

    XGBoost has no per-call thread count, and setting `nthread` on a booster
    that concurrent requests share would race; a second booster does not.
    One thread wakes no pool: on two busy cores a row takes 0.3 ms instead
    of 1.2 ms, and the pool's threads do not spin on cores others need.
    """
    one_thread = booster.copy()
    one_thread.set_param({"nthread": 1})
    _ONE_THREAD[booster] = one_thread
    return booster


def _for_rows(booster: xgb.Booster, features: np.ndarray) -> xgb.Booster:
    """Return the booster for `features`: its one-thread copy for small requests."""
    if len(features) < SINGLE_THREAD_ROWS:
        return _ONE_THREAD.get(booster, booster)
    return booster


#: What each XGBoost objective that this project can serve predicts.
OBJECTIVE_TASKS = {
    "binary:logistic": "binary",
    "multi:softprob": "multiclass",
    "reg:squarederror": "regression",
    "reg:squaredlogerror": "regression",
    "reg:pseudohubererror": "regression",
    "reg:absoluteerror": "regression",
    "reg:gamma": "regression",
    "reg:tweedie": "regression",
    "count:poisson": "regression",
}


def load_trained(path: Path) -> xgb.Booster:
    """Load a model saved elsewhere with XGBoost's `save_model` (.json or .ubj)."""
    if path.suffix not in (".json", ".ubj"):
        raise ValueError(
            f"{path.name}: an XGBoost model is a .json or .ubj file written by "
            "save_model"
        )
    try:
        return load(path)
    except xgb.core.XGBoostError as error:
        reason = first_line(error)
        raise ValueError(f"{path.name} is not an XGBoost model: {reason}") from None


def contract(booster: xgb.Booster) -> Contract:
    """Read features, categories (in the model's order), task and classes.

    A classifier knows its classes only as 0..n-1.
    """
    if not booster.feature_names:
        raise ValueError(
            "the model has no feature names: fit it on a pandas DataFrame, or set "
            "booster.feature_names before save_model"
        )
    learner = json.loads(booster.save_config())["learner"]
    objective = learner["objective"]["name"]
    if objective not in OBJECTIVE_TASKS:
        raise ValueError(
            f"objective {objective!r} gives neither probabilities nor values; "
            f"wrap a model trained with one of {sorted(OBJECTIVE_TASKS)}"
        )
    task = OBJECTIVE_TASKS[objective]
    classes = {
        "binary": [0, 1],
        "multiclass": list(range(int(learner["learner_model_param"]["num_class"]))),
        "regression": [],
    }[task]
    stored = booster.get_categories(export_to_arrow=True).to_arrow()
    categories = {
        name: [category_text(value) for value in values.to_pylist()]
        for name, values in stored
        if values is not None
    }
    return Contract(list(booster.feature_names), categories, task, classes)


def predict_scores(booster: xgb.Booster, features: np.ndarray) -> np.ndarray:
    """Class probabilities, one column per class."""
    positive = _for_rows(booster, features).inplace_predict(features)
    return np.column_stack((1.0 - positive, positive))
