"""`mlflow.models.evaluate` for this package's models: the evaluation `train` logs.

pyproject.toml registers `Evaluator` as MLflow's `classifier` evaluator
(the `mlflow.model_evaluator` entry point), so where the package is installed,
`mlflow.models.evaluate(uri, data=..., targets=..., model_type="classifier")`
logs and returns for one of its models what `train` logs for the held-out rows:
the same metrics, by the same names, and the same plots. A model of another
package made from the same template goes to that package's evaluator (each
takes MLflow's name; the last installed wins); every other model is
evaluated by MLflow's own `ClassifierEvaluator`, as without the package.

A model is scored by the code this process imported, the installed package's:
a version logged by other prediction code is refused, not scored wrongly.
"""

import importlib
import importlib.util
import logging
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models.evaluation import EvaluationDataset, EvaluationResult
from mlflow.models.evaluation.evaluators.classifier import ClassifierEvaluator

from ..model import Model
from ..model.environment import PACKAGE_DIR, PREDICTION_CODE
from .evaluation import log_evaluation
from .logged_model import unwrap

logger = logging.getLogger(__name__)

#: This package, as a model's `predict` names it.
PACKAGE = PACKAGE_DIR.name


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
        other = None if own is not None else other_package_evaluator(model)
        if other is not None:
            return other.evaluate(
                dataset=dataset,
                run_id=run_id,
                model=model,
                extra_metrics=extra_metrics,
                custom_artifacts=custom_artifacts,
                **kwargs,
            )
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
                f"{PACKAGE} models take no extra_metrics or custom_artifacts: "
                "their evaluation logs the metrics and plots train logs"
            )
        changed = changed_code(model)
        if changed:
            raise MlflowException.invalid_parameter_value(
                f"the model's logged {', '.join(changed)} differ from the installed "
                f"{PACKAGE}'s, which would score it here: evaluate it where "
                "its own version of the project is installed"
            )
        features = pd.DataFrame(dataset.features_data, columns=dataset.feature_names)
        target = pd.Series(dataset.labels_data, index=features.index)
        labelled = target.notna().to_numpy()
        if not labelled.all():
            logger.warning(
                "evaluated without the %d row(s) that have no target value, as "
                "train leaves them out",
                (~labelled).sum(),
            )
        labels = target[labelled].infer_objects()
        metrics = log_evaluation(own, features[labelled], labels)
        return EvaluationResult(metrics=metrics, artifacts={}, run_id=run_id)


def own_model(model: Any) -> Model | None:
    """Return this package's model inside `model` (a loaded pyfunc), else None."""
    if not isinstance(model, mlflow.pyfunc.PyFuncModel):
        return None
    try:
        inner = unwrap(model)
    except (AttributeError, MlflowException):  # another Python model, or none
        return None
    return inner if isinstance(inner, Model) else None


def other_package_evaluator(model: Any) -> Any:
    """Return the evaluator of the package of this template `model` is of.

    None for this package's models and any other model.
    """
    if not isinstance(model, mlflow.pyfunc.PyFuncModel):
        return None
    try:
        inner = model.unwrap_python_model().model
    except (AttributeError, MlflowException):
        try:
            inner = model.get_raw_model()
        except (AttributeError, MlflowException, NotImplementedError):
            return None
    package = type(inner).__module__.partition(".")[0]
    if package == PACKAGE or importlib.util.find_spec(package) is None:
        return None
    # Where the template put the evaluator: now, and before 0.4.
    for module in (f"{package}.making.evaluator", f"{package}.evaluator"):
        if importlib.util.find_spec(module.rpartition(".")[0]) is None:
            continue
        if importlib.util.find_spec(module) is not None:
            return importlib.import_module(module).Evaluator()
    return None


def changed_code(model: mlflow.pyfunc.PyFuncModel) -> list[str]:
    """Return the prediction modules whose copy logged with `model` differs.

    From this package's (PREDICTION_CODE); none when the model logged no copy.
    """
    if model.model_id is None:
        return []
    root = Path(mlflow.artifacts.download_artifacts(f"models:/{model.model_id}"))
    logged = root / "code" / PACKAGE
    if not logged.is_dir():
        return []
    return [
        name
        for name in prediction_modules()
        if not (logged / name).is_file()
        or (logged / name).read_bytes() != (PACKAGE_DIR / name).read_bytes()
    ]


def prediction_modules() -> list[str]:
    """Return the installed package's PREDICTION_CODE modules, as paths in it."""
    found = []
    for name in PREDICTION_CODE:
        path = PACKAGE_DIR / name
        paths = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        found += [str(each.relative_to(PACKAGE_DIR)) for each in paths]
    return found
