"""`mlflow.models.evaluate` on the package's models: the evaluation train logs.

The calls run as a user writes them, where the package's entry points are
declared (`entry_points.declare`, as `pip install` does).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from entry_points import declare
from mlflow.exceptions import MlflowException
from mlflow.metrics import MetricValue
from mlflow.models.evaluation import EvaluationDataset, make_metric

from churn_risk.making import evaluator
from churn_risk.making.evaluator import (
    Evaluator,
    other_package_evaluator,
)
from churn_risk.registry.gate import PROMOTION_METRIC
from churn_risk.train import DEFAULT_EXPERIMENT

#: Evaluates the model at argv[1] and one MLflow's sklearn flavor logs, on the
#: rows of the Parquet file argv[2] (the model also with the first row's target
#: blank, and without that row); prints the results' metrics as JSON.
EVALUATE = """
import json
import sys

import mlflow
import pandas as pd
from sklearn.dummy import DummyClassifier

data = pd.read_parquet(sys.argv[2])
ours = mlflow.models.evaluate(
    sys.argv[1], data=data, targets="target", model_type="classifier"
)
# One row without a target value: left out, as train leaves it out.
blank = data.astype({"target": object})
blank.loc[blank.index[0], "target"] = None
unlabelled = mlflow.models.evaluate(
    sys.argv[1], data=blank, targets="target", model_type="classifier"
)
rest = mlflow.models.evaluate(
    sys.argv[1], data=data.iloc[1:], targets="target", model_type="classifier"
)
dummy = DummyClassifier().fit(data.drop(columns="target"), data["target"])
with mlflow.start_run():
    other = mlflow.sklearn.log_model(dummy, name="other")
theirs = mlflow.models.evaluate(
    other.model_uri, data=data, targets="target", model_type="classifier"
)
results = {"ours": ours, "theirs": theirs, "unlabelled": unlabelled, "rest": rest}
metrics = {name: result.metrics for name, result in results.items()}
print(json.dumps(metrics, default=float))
"""


#: A package made from this template beside this one: its model and evaluator.
OTHER_PACKAGE_MODEL = """
import mlflow


class Model:
    pass


class Wrapper(mlflow.pyfunc.PythonModel):
    def __init__(self):
        self.model = Model()

    def predict(self, context, model_input, params=None):
        return model_input
"""
OTHER_PACKAGE_EVALUATOR = """
class Evaluator:
    def evaluate(self, **arguments):
        return "other_churn's evaluator"
"""


@pytest.fixture(scope="module")
def evaluated(
    cli_model_uri: str,
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, dict[str, float]]:
    """The metrics of `EVALUATE`, run where the package's entry points are
    declared, on the rows train held out."""
    folder = tmp_path_factory.mktemp("evaluate")
    _, features, _, target = splits
    data = folder / "held out.parquet"
    features.assign(target=target).to_parquet(data)
    env = {**declare(folder / "site"), "MLFLOW_EXPERIMENT_NAME": DEFAULT_EXPERIMENT}
    # mlflow.set_experiment in this process (every train) sets the experiment's
    # id in the environment, which would name another experiment.
    env.pop("MLFLOW_EXPERIMENT_ID", None)
    result = subprocess.run(
        [sys.executable, "-c", EVALUATE, cli_model_uri, str(data)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_evaluate_gives_the_metrics_train_logged(
    evaluated: dict[str, dict[str, float]], cli_model_uri: str
) -> None:
    run_id = mlflow.models.get_model_info(cli_model_uri).run_id
    logged = mlflow.get_run(run_id).data.metrics
    trained = {name: logged[name] for name in logged if name.startswith("test_")}
    assert PROMOTION_METRIC in evaluated["ours"]
    assert evaluated["ours"] == pytest.approx(trained)
    # From the class probabilities, whatever predict returns.
    assert any("roc_auc" in name for name in evaluated["ours"])


def test_evaluate_leaves_out_rows_without_a_target_value(
    evaluated: dict[str, dict[str, float]],
) -> None:
    assert evaluated["unlabelled"] == pytest.approx(evaluated["rest"])


def test_evaluate_refuses_a_version_logged_by_other_prediction_code(
    cli_model_uri: str,
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
    tmp_path: Path,
) -> None:
    # The project changed the model since the version was logged: the installed
    # code, which the evaluator imports first, would score it.
    edited = tmp_path / "edited"
    package = Path(evaluator.__file__).parents[1]
    shutil.copytree(package, edited / package.name)
    with (edited / package.name / "model" / "predictor.py").open("a") as model:
        model.write("# edited since the version was logged\n")
    _, features, _, target = splits
    data = tmp_path / "held out.parquet"
    features.assign(target=target).to_parquet(data)
    env = declare(tmp_path / "site")
    env["PYTHONPATH"] = os.pathsep.join([str(edited), env["PYTHONPATH"]])
    env.pop("MLFLOW_EXPERIMENT_ID", None)
    result = subprocess.run(
        [sys.executable, "-c", EVALUATE, cli_model_uri, str(data)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "logged model/predictor.py differ from the installed" in result.stderr


def test_a_model_of_another_package_of_the_template_goes_to_its_evaluator(
    cli_model: mlflow.pyfunc.PyFuncModel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two projects installed side by side: MLflow keeps one evaluator by name.
    package = tmp_path / "other_churn"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "model.py").write_text(OTHER_PACKAGE_MODEL)
    (package / "evaluator.py").write_text(OTHER_PACKAGE_EVALUATOR)
    monkeypatch.syspath_prepend(str(tmp_path))
    from other_churn.model import Wrapper

    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="other", python_model=Wrapper())
    other = mlflow.pyfunc.load_model(info.model_uri)
    assert other_package_evaluator(other).evaluate() == "other_churn's evaluator"
    assert other_package_evaluator(cli_model) is None


def test_evaluate_leaves_other_models_to_mlflow(
    evaluated: dict[str, dict[str, float]],
) -> None:
    assert "accuracy_score" in evaluated["theirs"]
    assert not any(name.startswith("test_") for name in evaluated["theirs"])


def test_evaluate_refuses_extra_metrics_for_the_packages_models(
    cli_model: mlflow.pyfunc.PyFuncModel,
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
) -> None:
    _, features, _, target = splits
    rows = make_metric(
        eval_fn=lambda predictions, targets: MetricValue(
            aggregate_results={"rows": len(targets), "predicted": len(predictions)}
        ),
        greater_is_better=True,
        name="rows",
    )
    with pytest.raises(MlflowException, match="take no extra_metrics"):
        Evaluator().evaluate(
            model=cli_model,
            model_type="classifier",
            dataset=EvaluationDataset(features.assign(target=target), targets="target"),
            run_id="none: refused before it logs",
            evaluator_config={},
            extra_metrics=[rows],
        )
