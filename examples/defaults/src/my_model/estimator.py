"""XGBoost: how the model is built, trained, saved, loaded and called."""

from pathlib import Path

import mlflow
import numpy as np
import xgboost as xgb

#: File name of the native model inside the logged model.
MODEL_FILE = "model.ubj"
#: Distributions the model imports when MLflow loads it.
REQUIREMENTS = ("xgboost",)
#: Most categories kept per string column (the rest count as unknown).
MAX_CATEGORIES = 1024

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
    return estimator.get_booster()


def save(booster: xgb.Booster, path: Path) -> None:
    """Write the booster in XGBoost's binary JSON format (no pickle)."""
    booster.save_model(path)


def load(path: Path) -> xgb.Booster:
    """Read a booster written by `save`."""
    return xgb.Booster(model_file=path)


def predict_scores(booster: xgb.Booster, features: np.ndarray) -> np.ndarray:
    """Class probabilities, one column per class."""
    positive = booster.inplace_predict(features)
    return np.column_stack((1.0 - positive, positive))
