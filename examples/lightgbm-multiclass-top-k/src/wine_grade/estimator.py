"""LightGBM: how the model is built, trained, saved, loaded and called."""

from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np

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
