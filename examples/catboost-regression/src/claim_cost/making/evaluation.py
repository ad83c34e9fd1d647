"""The regressor's quality on held-out data: metrics and pictures."""

from collections.abc import Callable

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

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
    predicted = model.scores(features)
    actual = model.preprocessor.encode_target(target)
    result = metrics(actual, predicted)
    mlflow.log_metrics(result)
    log_figures(
        {
            "predicted_vs_actual.png": predicted_vs_actual(actual, predicted),
            "residuals.png": residuals(actual, predicted),
            "feature_importance.png": feature_importance(model, features, target),
        }
    )
    return result


def metrics(
    actual: np.ndarray, predicted: np.ndarray, only: str | None = None
) -> dict[str, float]:
    """Metrics of `predicted` values against the `actual` ones (`only`: that one)."""
    measures = {
        "test_rmse": lambda: root_mean_squared_error(actual, predicted),
        "test_mae": lambda: mean_absolute_error(actual, predicted),
        "test_r2": lambda: r2_score(actual, predicted),
    }
    return {
        name: float(measure())
        for name, measure in measures.items()
        if only in (None, name)
    }


def predicted_vs_actual(actual: np.ndarray, predicted: np.ndarray) -> plt.Figure:
    """Scatter of predictions against true values, with the diagonal."""
    figure, axes = plt.subplots(figsize=(6, 6))
    axes.scatter(actual, predicted, s=8, alpha=0.6)
    low, high = min(actual.min(), predicted.min()), max(actual.max(), predicted.max())
    axes.plot([low, high], [low, high], color="black", linewidth=1)
    axes.set(xlabel="actual", ylabel="predicted", title="Predicted vs actual")
    return figure


def residuals(actual: np.ndarray, predicted: np.ndarray) -> plt.Figure:
    """Residuals (actual - predicted) against predictions."""
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.scatter(predicted, actual - predicted, s=8, alpha=0.6)
    axes.axhline(0.0, color="black", linewidth=1)
    axes.set(xlabel="predicted", ylabel="actual - predicted", title="Residuals")
    return figure


def feature_importance(
    model: Model, features: pd.DataFrame, target: pd.Series
) -> plt.Figure:
    """Permutation importance by RMSE, on a sample of the held-out rows."""
    sample = features.sample(min(len(features), IMPORTANCE_ROWS), random_state=0)
    truth = model.preprocessor.encode_target(target.loc[sample.index])

    def loss(encoded: np.ndarray) -> float:
        # RMSE in NumPy: scikit-learn's checks, once per shuffle, cost more.
        predicted = estimator.predict_scores(model.native, encoded)
        return float(np.sqrt(np.mean((truth - predicted) ** 2)))

    return permutation_importance(model, sample, loss, "RMSE")


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
