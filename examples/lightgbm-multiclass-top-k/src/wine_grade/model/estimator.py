"""LightGBM: how the model is built, trained, saved, loaded and called."""

from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np

from ..errors import first_line
from .contract import Contract
from .kinds import category_text

#: File name of the native model inside the logged model.
MODEL_FILE = "model.txt"
#: Distributions the model imports when MLflow loads it.
REQUIREMENTS = ("lightgbm",)
#: Most categories kept per string column (the rest count as unknown).
MAX_CATEGORIES = 1024
#: Below this many rows one thread predicts faster than a pool of threads.
SINGLE_THREAD_ROWS = 1_000

NativeModel = lgb.Booster


def build_estimator() -> lgb.LGBMClassifier:
    """Return the untrained estimator: edit its hyperparameters here."""
    return lgb.LGBMClassifier(
        n_estimators=200,
        learning_rate=0.05,
        num_leaves=31,
        random_state=42,
        verbose=-1,
    )


def autolog() -> None:
    """Log parameters and training metrics with MLflow's LightGBM autologging."""
    mlflow.lightgbm.autolog(log_models=False, log_datasets=False, silent=True)


def fit(
    estimator: lgb.LGBMClassifier,
    features: np.ndarray,
    target: np.ndarray,
    categorical: list[bool],
) -> lgb.Booster:
    """Train on encoded features; string columns are native categoricals."""
    columns = [index for index, flag in enumerate(categorical) if flag]
    estimator.fit(features, target, categorical_feature=columns or "auto")
    return estimator.booster_


def save(booster: lgb.Booster, path: Path) -> None:
    """Write the booster in LightGBM's text format (no pickle)."""
    booster.save_model(path)


def load(path: Path) -> lgb.Booster:
    """Read a booster written by `save`."""
    return lgb.Booster(model_file=path)


def _threads(features: np.ndarray) -> int:
    """One thread for small requests, LightGBM's default (all cores) otherwise."""
    return 1 if len(features) < SINGLE_THREAD_ROWS else 0


#: What each LightGBM objective that this project can serve predicts.
OBJECTIVE_TASKS = {
    "binary": "binary",
    "multiclass": "multiclass",
    "regression": "regression",
    "regression_l1": "regression",
    "huber": "regression",
    "fair": "regression",
    "poisson": "regression",
    "gamma": "regression",
    "tweedie": "regression",
}


def load_trained(path: Path) -> lgb.Booster:
    """Load a model saved elsewhere with LightGBM's `save_model` (text)."""
    try:
        return load(path)
    except lgb.basic.LightGBMError as error:
        reason = first_line(error)
        raise ValueError(f"{path.name} is not a LightGBM model: {reason}") from None


def contract(booster: lgb.Booster) -> Contract:
    """Read features, categories (in the model's order), task and classes.

    Categories are known for columns the model was trained on as pandas
    categoricals (`pandas_categorical`); a classifier knows its classes only
    as 0..n-1.
    """
    names = booster.feature_name()
    if names == [f"Column_{index}" for index in range(len(names))]:
        raise ValueError(
            "the model has no feature names: fit it on a pandas DataFrame "
            "(or pass feature_name=) before save_model"
        )
    objective = str(booster.params.get("objective", "")).split()[0]
    if objective not in OBJECTIVE_TASKS:
        raise ValueError(
            f"objective {objective!r} gives neither probabilities nor values; "
            f"wrap a model trained with one of {sorted(OBJECTIVE_TASKS)}"
        )
    task = OBJECTIVE_TASKS[objective]
    classes = {
        "binary": [0, 1],
        "multiclass": list(range(booster.num_model_per_iteration())),
        "regression": [],
    }[task]
    categorical = booster.params.get("categorical_feature") or []
    if isinstance(categorical, int | str):
        categorical = [categorical]
    stored = booster.pandas_categorical or []
    categories = {
        names[int(index)]: [category_text(value) for value in values]
        for index, values in zip(categorical, stored, strict=False)
    }
    return Contract(names, categories, task, classes)


def predict_scores(booster: lgb.Booster, features: np.ndarray) -> np.ndarray:
    """Class probabilities, one column per class."""
    return booster.predict(features, num_threads=_threads(features))


def raw_score(booster: lgb.Booster, features: np.ndarray) -> np.ndarray:
    """Raw scores before the link function: what contributions sum to."""
    return booster.predict(features, raw_score=True, num_threads=_threads(features))


def contributions(booster: lgb.Booster, features: np.ndarray) -> np.ndarray:
    """Exact per-feature contributions (TreeSHAP); the last column is the bias.

    Shape (rows, classes, features + 1).
    """
    flat = booster.predict(features, pred_contrib=True, num_threads=_threads(features))
    return flat.reshape(len(features), booster.num_model_per_iteration(), -1)
