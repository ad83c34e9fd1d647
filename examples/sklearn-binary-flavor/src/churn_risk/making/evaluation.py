"""The classifier's quality on held-out data: metrics and pictures."""

from collections.abc import Callable

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    RocCurveDisplay,
    accuracy_score,
    f1_score,
    log_loss,
    roc_auc_score,
)

from ..model import Model, estimator

#: Rows used for permutation importance (a sample keeps it fast on big data).
IMPORTANCE_ROWS = 10_000
IMPORTANCE_REPEATS = 3
#: Most important features drawn in the importance plot.
IMPORTANCE_TOP = 20
PLOTS_DIR = "plots"


def log_figures(figures: dict[str, plt.Figure]) -> None:
    """Log each figure as a PNG under the run's `plots/` artifacts."""
    for name, figure in figures.items():
        mlflow.log_figure(figure, f"{PLOTS_DIR}/{name}")
        plt.close(figure)


def log_evaluation(
    model: Model, features: pd.DataFrame, target: pd.Series
) -> dict[str, float]:
    """Log `model`'s metrics and plots on held-out data; return the metrics."""
    scores = model.scores(features)
    encoded = model.preprocessor.encode_target(target)
    labels = [str(label) for label in model.preprocessor.classes]
    result = metrics(encoded, scores)
    mlflow.log_metrics(result)
    log_figures(
        {
            "roc_curve.png": roc_curves(encoded, scores, labels),
            "precision_recall_curve.png": precision_recall_curves(
                encoded, scores, labels
            ),
            "confusion_matrix.png": confusion_matrix(encoded, scores, labels),
            "feature_importance.png": feature_importance(model, features, target),
        }
    )
    return result


def metrics(
    encoded: np.ndarray, scores: np.ndarray, only: str | None = None
) -> dict[str, float]:
    """Metrics of probabilities `scores` against encoded labels (`only`: one)."""
    classes = range(scores.shape[1])
    measures = {
        "test_accuracy": lambda: accuracy_score(encoded, scores.argmax(axis=1)),
        "test_f1_macro": lambda: f1_score(
            encoded, scores.argmax(axis=1), average="macro"
        ),
        "test_log_loss": lambda: log_loss(encoded, scores, labels=classes),
        "test_roc_auc": lambda: roc_auc_score(encoded, scores[:, 1]),
    }
    return {
        name: float(measure())
        for name, measure in measures.items()
        if only in (None, name)
    }


def roc_curves(
    encoded: np.ndarray, scores: np.ndarray, labels: list[str]
) -> plt.Figure:
    """ROC curve of each class against the rest (binary: the positive class)."""
    figure, axes = plt.subplots(figsize=(6, 5))
    shown = range(1 if len(labels) == 2 else 0, len(labels))
    for index in shown:
        RocCurveDisplay.from_predictions(
            encoded == index,
            scores[:, index],
            name=f"class {labels[index]} vs rest",
            ax=axes,
            plot_chance_level=index == shown[-1],
        )
    axes.set_title("ROC curve")
    return figure


def precision_recall_curves(
    encoded: np.ndarray, scores: np.ndarray, labels: list[str]
) -> plt.Figure:
    """Precision-recall curve of each class against the rest (binary: positive)."""
    figure, axes = plt.subplots(figsize=(6, 5))
    for index in range(1 if len(labels) == 2 else 0, len(labels)):
        PrecisionRecallDisplay.from_predictions(
            encoded == index,
            scores[:, index],
            name=f"class {labels[index]} vs rest",
            ax=axes,
        )
    axes.set_title("Precision-recall curve")
    return figure


def confusion_matrix(
    encoded: np.ndarray, scores: np.ndarray, labels: list[str]
) -> plt.Figure:
    """Confusion matrix of the most likely class."""
    figure, axes = plt.subplots(figsize=(6, 5))
    ConfusionMatrixDisplay.from_predictions(
        encoded,
        scores.argmax(axis=1),
        labels=list(range(len(labels))),
        display_labels=labels,
        ax=axes,
        colorbar=False,
    )
    axes.set_title("Confusion matrix")
    return figure


def feature_importance(
    model: Model, features: pd.DataFrame, target: pd.Series
) -> plt.Figure:
    """Permutation importance by log loss, on a sample of the held-out rows."""
    sample = features.sample(min(len(features), IMPORTANCE_ROWS), random_state=0)
    truth = model.preprocessor.encode_target(target.loc[sample.index])
    rows = np.arange(len(truth))

    def loss(encoded: np.ndarray) -> float:
        # Log loss in NumPy: scikit-learn's checks of the same labels, once per
        # shuffle, would cost more than the predictions.
        probabilities = estimator.predict_scores(model.native, encoded)
        eps = np.finfo(probabilities.dtype).eps
        return float(-np.log(np.clip(probabilities[rows, truth], eps, 1.0)).mean())

    return permutation_importance(model, sample, loss, "log loss")


def permutation_importance(
    model: Model, sample: pd.DataFrame, loss: Callable[[np.ndarray], float], metric: str
) -> plt.Figure:
    """Plot how much `loss` grows when each feature column is shuffled."""
    matrix = model.preprocessor.transform(sample)
    if isinstance(matrix, pd.DataFrame):  # a wrapped model that encodes its own
        loss = on_frames(loss, matrix)
        matrix = matrix.to_numpy(dtype=object)
    baseline = loss(matrix)
    rng = np.random.default_rng(0)
    importances = []
    for column in range(matrix.shape[1]):
        shuffled = matrix.copy()
        increases = []
        for _ in range(IMPORTANCE_REPEATS):
            shuffled[:, column] = rng.permutation(matrix[:, column])
            increases.append(loss(shuffled) - baseline)
        importances.append(float(np.mean(increases)))
    order = np.argsort(importances)[-IMPORTANCE_TOP:]
    names = model.preprocessor.columns
    figure, axes = plt.subplots(figsize=(7, max(3, 0.3 * len(order) + 1)))
    axes.barh(
        [names[index] for index in order], [importances[index] for index in order]
    )
    axes.set(
        xlabel=f"increase in {metric} when shuffled",
        title=f"Feature importance (top {len(order)} of {len(names)} features)",
    )
    figure.tight_layout()
    return figure


def on_frames(
    loss: Callable[[pd.DataFrame], float], like: pd.DataFrame
) -> Callable[[np.ndarray], float]:
    """Return `loss` of a matrix of values, as a frame with the columns of `like`."""
    dtypes = like.dtypes

    def framed(matrix: np.ndarray) -> float:
        return loss(pd.DataFrame(matrix, columns=like.columns).astype(dtypes))

    return framed
