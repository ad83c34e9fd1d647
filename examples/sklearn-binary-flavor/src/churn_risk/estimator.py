"""scikit-learn: how the model is built, trained, saved, loaded and called."""

from pathlib import Path

import mlflow
import numpy as np
import skops.io
from mlflow.exceptions import MlflowException
from sklearn.ensemble import HistGradientBoostingClassifier

#: File name of the native model inside the logged model.
MODEL_FILE = "model.skops"
#: Distributions the model imports when MLflow loads it.
REQUIREMENTS = ("scikit-learn", "skops")
#: Most categories kept per string column: HistGradientBoosting allows max_bins.
MAX_CATEGORIES = 255
#: Module prefixes whose types the model file may contain.
TRUSTED_MODULES = ("sklearn.", "numpy.", "builtins.")
#: Other types it may contain (skops checks a partial's function separately).
TRUSTED_TYPES = ("functools.partial",)

NativeModel = HistGradientBoostingClassifier


def build_estimator() -> HistGradientBoostingClassifier:
    """Return the untrained estimator: edit its hyperparameters here."""
    return HistGradientBoostingClassifier(
        max_iter=200,
        learning_rate=0.1,
        random_state=42,
    )


def autolog() -> None:
    """Log parameters and training metrics with MLflow's scikit-learn autologging."""
    mlflow.sklearn.autolog(
        log_models=False,
        log_datasets=False,
        log_post_training_metrics=False,
        silent=True,
    )


def fit(
    estimator: NativeModel,
    features: np.ndarray,
    target: np.ndarray,
    categorical: list[bool],
) -> NativeModel:
    """Train on encoded features (string columns hold category codes)."""
    estimator.set_params(
        categorical_features=np.asarray(categorical) if any(categorical) else None
    )
    return estimator.fit(features, target)


def save(estimator: NativeModel, path: Path) -> None:
    """Write the estimator with skops (no pickle)."""
    skops.io.dump(estimator, path)


def load(path: Path) -> NativeModel:
    """Read an estimator written by `save`, trusting only scikit-learn's types."""
    untrusted = skops.io.get_untrusted_types(file=path)
    foreign = [
        name
        for name in untrusted
        if not name.startswith(TRUSTED_MODULES) and name not in TRUSTED_TYPES
    ]
    if foreign:
        raise MlflowException(f"Refusing to load {path}: unexpected types {foreign}")
    return skops.io.load(path, trusted=untrusted)


def predict_scores(estimator: NativeModel, features: np.ndarray) -> np.ndarray:
    """Class probabilities, one column per class."""
    return estimator.predict_proba(features)
