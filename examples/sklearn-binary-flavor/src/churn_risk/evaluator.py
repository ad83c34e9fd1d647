"""`mlflow.models.evaluate` for this package's models: the evaluation `train` logs.

pyproject.toml registers `Evaluator` as MLflow's `classifier` evaluator
(the `mlflow.model_evaluator` entry point), so where the package is installed,
`mlflow.models.evaluate(uri, data=..., targets=..., model_type="classifier")`
logs and returns for one of its models what `train` logs for the held-out rows:
the same metrics, by the same names, and the same plots. Every other model is
evaluated by MLflow's own `ClassifierEvaluator`, as without the package.
"""

from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models.evaluation import EvaluationDataset, EvaluationResult
from mlflow.models.evaluation.evaluators.classifier import ClassifierEvaluator

from .evaluation import log_evaluation
from .logged_model import unwrap
from .model import Model


class Evaluator(ClassifierEvaluator):
    """Evaluates this package's models as `train` does; MLflow evaluates the rest."""

    def evaluate(
        self,
        *,
        dataset: EvaluationDataset,
        run_id: str,
        model: Any = None,
        extra_metrics: list[Any] | None = None,
        custom_artifacts: list[Any] | None = None,
        **kwargs: Any,
    ) -> EvaluationResult:
        """Log `train`'s metrics and plots of this package's `model` on `dataset`.

        They go to the run `mlflow.models.evaluate` evaluates in, which is
        active; the result holds the metrics. Any other model goes to MLflow.
        """
        own = own_model(model)
        if own is None:
            return super().evaluate(
                dataset=dataset,
                run_id=run_id,
                model=model,
                extra_metrics=extra_metrics,
                custom_artifacts=custom_artifacts,
                **kwargs,
            )
        if extra_metrics or custom_artifacts:
            raise MlflowException.invalid_parameter_value(
                f"{__package__} models take no extra_metrics or custom_artifacts: "
                "their evaluation logs the metrics and plots train logs"
            )
        features = pd.DataFrame(dataset.features_data, columns=dataset.feature_names)
        target = pd.Series(dataset.labels_data, index=features.index)
        metrics = log_evaluation(own, features, target)
        return EvaluationResult(metrics=metrics, artifacts={}, run_id=run_id)


def own_model(model: Any) -> Model | None:
    """Return this package's model inside `model` (a loaded pyfunc), else None."""
    if not isinstance(model, mlflow.pyfunc.PyFuncModel):
        return None
    try:
        inner = unwrap(model)
    except NotImplementedError:  # a model without a raw model: not this package's
        return None
    return inner if isinstance(inner, Model) else None
