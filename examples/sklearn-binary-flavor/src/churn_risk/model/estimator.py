"""scikit-learn: how the model is built, trained, saved, loaded and called."""

from collections.abc import Sequence
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import skops.io
from mlflow.exceptions import MlflowException
from sklearn.base import is_classifier
from sklearn.ensemble import HistGradientBoostingClassifier

from ..errors import first_line
from .contract import Contract, InputError
from .kinds import category_text

#: File name of the native model inside the logged model.
MODEL_FILE = "model.skops"
#: Distributions the model imports when MLflow loads it.
REQUIREMENTS = ("scikit-learn", "skops")
#: Most categories kept per string column: HistGradientBoosting allows max_bins.
MAX_CATEGORIES = 255
#: The types skops does not trust by default that this project's own
#: estimator holds: a HistGradientBoosting model's trees and, with categorical
#: features, a `functools.partial` of `check_array` (skops lists a partial's
#: function as a type of its own, so a partial of anything else is refused).
OWN_TYPES = (
    "functools.partial",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.utils.validation.check_array",
)

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


def load(path: Path, trusted: list[str] | None = None) -> NativeModel:
    """Read an estimator written by `save`.

    It may hold the types skops trusts, this project's own (`OWN_TYPES`) and
    those in `trusted`: the types a wrapped file held that `wrap --trust-types`
    named, recorded when it was wrapped. Any other type is refused, before
    skops builds anything.
    """
    allowed = [*OWN_TYPES, *(trusted or [])]
    refused = [name for name in untrusted_types(path) if name not in allowed]
    if refused:
        raise MlflowException(
            f"Refusing to load {path.name}: it holds types that are not trusted: "
            f"{refused}; if you trust its source, wrap the file again with "
            f"--trust-types {' '.join(refused)}"
        )
    return skops.io.load(path, trusted=allowed)


def untrusted_types(path: Path) -> list[str]:
    """Return the types in the file at `path` that skops does not trust."""
    return skops.io.get_untrusted_types(file=path)


def load_trained(path: Path, trusted: Sequence[str] = ()) -> NativeModel:
    """Load an estimator saved elsewhere with `skops.io.dump` (.skops).

    The file may hold the types skops trusts, this project's own and those
    named in `trusted`, each of which it must hold. Any other type is refused
    in one line that lists them, before skops builds anything: a file that
    holds code does not run it.
    """
    if path.suffix != ".skops":
        raise ValueError(
            f"{path.name}: a scikit-learn model is a .skops file written by "
            "skops.io.dump"
        )
    try:
        held = untrusted_types(path)
    except Exception as error:  # skops raises what its zip and JSON readers do
        raise ValueError(f"{path.name} is not a skops file: {error}") from None
    refused = [name for name in held if name not in OWN_TYPES and name not in trusted]
    if refused:
        raise ValueError(
            f"{path.name} holds types that skops does not trust: {refused}; "
            f"if you trust its source, pass --trust-types {' '.join(refused)}"
        )
    unheld = [name for name in trusted if name not in held]
    if unheld:
        raise ValueError(
            f"--trust-types {unheld}: {path.name} holds no such untrusted type; "
            f"it holds {held}"
        )
    return load(path, list(trusted))


def contract(estimator: NativeModel) -> Contract:
    """Read features, categories, task and classes (scikit-learn keeps labels).

    The estimator must have been fitted on a DataFrame, and is given one as it
    was (`raw`): float64 numbers, which its split thresholds were learnt on
    (as float32 a value at a threshold can cross it). A `Pipeline` encodes
    its inputs itself: the columns its encoders (`OneHotEncoder`,
    `OrdinalEncoder`, ...) read are categories, the others numbers; its
    encoders keep their own rule for unseen categories.
    """
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        raise ValueError(
            "the estimator has no feature_names_in_: fit it on a pandas DataFrame"
        )
    names = [str(name) for name in names]
    pipeline = hasattr(estimator, "steps")
    flags = getattr(estimator, "is_categorical_", None)
    if not pipeline and flags is not None and np.any(flags):
        raise ValueError(
            "the estimator has categorical features: wrap a Pipeline that encodes "
            "them (its first step a ColumnTransformer)"
        )
    categories = encoded_categories(estimator, names) if pipeline else {}
    if not is_classifier(estimator):
        return Contract(names, categories, "regression", [], raw=True)
    if not hasattr(estimator, "predict_proba"):
        raise ValueError(
            f"a {type(estimator).__name__} gives no probabilities (predict_proba)"
        )
    classes = np.asarray(estimator.classes_).tolist()
    task = "binary" if len(classes) == 2 else "multiclass"
    return Contract(names, categories, task, classes, raw=True)


def encoded_categories(pipeline: object, names: list[str]) -> dict[str, list[str]]:
    """Return the categories of the columns a pipeline's encoders read, by name."""
    categories = {}
    for _, step in getattr(pipeline, "steps", []):
        for _, transformer, columns in getattr(step, "transformers_", []):
            encoder = transformer
            if hasattr(encoder, "steps"):
                encoder = encoder.steps[-1][1]
            known = getattr(encoder, "categories_", None)
            if known is None or isinstance(columns, str):
                continue
            for column, values in zip(columns, known, strict=False):
                name = names[column] if isinstance(column, int) else str(column)
                categories[name] = [
                    category_text(value) for value in values if not pd.isna(value)
                ]
    return categories


def predict_scores(estimator: NativeModel, features: np.ndarray) -> np.ndarray:
    """Class probabilities, one column per class."""
    try:
        return estimator.predict_proba(features)
    except ValueError as error:  # a wrapped Pipeline's encoder refuses a value
        raise InputError(first_line(error)) from None
