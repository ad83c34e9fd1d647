"""Wrapping a model trained elsewhere: each framework's wrapped notebook model
over `mlflow models serve` (JSON and CSV) and the score CLI; those that take a
frame of category text (scikit-learn, CatBoost) on Spark and MLServer (V2); and
through the promotion gate against a champion that `train` made.

Every framework with every task runs the project's own `tests/test_wrap.py`
in the end-to-end suites (their answer sets cover each framework and task)."""

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from answer_sets import FRAMEWORKS
from helpers import (
    PYTHON,
    free_port,
    last_line,
    package_name,
    project_env,
    run,
    run_script,
    running_server,
)
from mlflow import MlflowClient


def post(url: str, body: bytes, content_type: str) -> tuple[int, dict]:
    """POST a request; return the status and the JSON answer."""
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_wrapped_model_serves_and_scores_what_the_notebook_predicts(
    rendered: Callable[[dict], Path], tmp_path: Path, framework: str
) -> None:
    project = rendered({"framework": framework})
    package = package_name(project)
    env = project_env(
        project, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}"
    )
    env["PATH"] = f"{Path(PYTHON).parent}{os.pathsep}{env['PATH']}"
    model_file = last_line(
        run_script(
            "notebook_model", framework, "binary", str(tmp_path), cwd=tmp_path, env=env
        )
    )
    # The notebook fitted XGBoost and LightGBM on the codes of the sorted
    # labels: wrap is told which label each class is.
    classes = ["--classes", "no", "yes"] if framework in ("xgboost", "lightgbm") else []
    wrapped = run(
        [PYTHON, "-m", f"{package}.wrap", "--model", model_file]
        + ["--data", str(tmp_path / "data.csv"), "--registered-model-name", ""]
        + classes,
        cwd=tmp_path,
        env=env,
    )
    uri = last_line(wrapped)
    expected = np.asarray(json.loads((tmp_path / "expected.json").read_text()))
    requests = pd.read_csv(tmp_path / "requests.csv", dtype={"colour": object})

    # The score CLI, one batch of 5 rows at a time.
    output = tmp_path / "scored.parquet"
    run(
        [PYTHON, "-m", f"{package}.score", "--model-uri", uri]
        + ["--input", str(tmp_path / "requests.csv"), "--output", str(output)]
        + ["--batch-size", "5"],
        cwd=tmp_path,
        env=env,
    )
    np.testing.assert_allclose(
        pd.read_parquet(output).to_numpy(), expected, rtol=1e-4, atol=1e-5
    )

    port = free_port()
    command = [PYTHON, "-m", "mlflow", "models", "serve", "-m", uri]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    url = f"http://127.0.0.1:{port}"
    with running_server(command, tmp_path, env, f"{url}/ping"):
        split = json.loads(requests.to_json(orient="split", index=False))
        status, answer = post(
            f"{url}/invocations",
            json.dumps({"dataframe_split": split}).encode(),
            "application/json",
        )
        assert status == 200, answer
        served = pd.DataFrame(answer["predictions"]).to_numpy()
        np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-5)
        csv = requests.to_csv(index=False).encode()
        status, answer = post(f"{url}/invocations", csv, "text/csv")
        assert status == 200, answer
        served = pd.DataFrame(answer["predictions"]).to_numpy()
        np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-5)
        absent = requests.drop(columns="size cm").to_csv(index=False).encode()
        status, answer = post(f"{url}/invocations", absent, "text/csv")
        assert status == 400 and "size" in answer["message"], answer


def test_a_wrapped_model_goes_through_the_gate_against_a_trained_champion(
    rendered: Callable[[dict], Path], tracking_server: str, tmp_path: Path
) -> None:
    project = rendered({})
    package = package_name(project)
    env = project_env(project, MLFLOW_TRACKING_URI=tracking_server)
    name = f"wrap-gate-{tmp_path.name}"
    run_script("promotion_data", package, str(tmp_path), cwd=tmp_path, env=env)
    evaluation = ["--eval-data", str(tmp_path / "eval.csv")]
    trained = run(
        [PYTHON, "-m", f"{package}.train", "--data", str(tmp_path / "clean.csv")]
        + [*evaluation, "--registered-model-name", name],
        cwd=tmp_path,
        env=env,
    )
    assert "is now @champion" in trained.stdout.splitlines()[-2]
    lines = {}
    for data in ("noisy", "clean"):
        folder = tmp_path / data
        folder.mkdir()
        model_file = last_line(
            run_script(
                "notebook_model",
                "xgboost",
                "binary",
                str(folder),
                "--train",
                str(tmp_path / f"{data}.csv"),
                cwd=tmp_path,
                env=env,
            )
        )
        wrapped = run(
            [PYTHON, "-m", f"{package}.wrap", "--model", model_file]
            + ["--data", str(tmp_path / "eval.csv"), "--registered-model-name", name],
            cwd=tmp_path,
            env=env,
        )
        lines[data] = wrapped.stdout.strip().splitlines()[-2]
    client = MlflowClient(tracking_uri=tracking_server)
    # Shuffled labels made a worse model: it stays challenger, judged against
    # the champion on the same rows.
    assert "stays @challenger" in lines["noisy"] and "version 1" in lines["noisy"]
    tags = client.get_model_version(name, "2").tags
    assert tags["promotion.decision"] == "not promoted"
    assert float(tags["promotion.challenger_value"]) < float(
        tags["promotion.champion_value"]
    )
    assert client.get_model_version(name, "2").tags["promotion.eval_rows"] == str(
        len(pd.read_csv(tmp_path / "eval.csv"))
    )
    # A notebook model fitted on the champion's rows: promoted exactly when it
    # scores at least as well on the same evaluation rows.
    tags = client.get_model_version(name, "3").tags
    better = float(tags["promotion.challenger_value"]) >= float(
        tags["promotion.champion_value"]
    )
    assert (tags["promotion.decision"] == "promoted") == better, lines["clean"]
    champion = client.get_model_version_by_alias(name, "champion").version
    assert champion == ("3" if better else "1")


def v2_request(frame: pd.DataFrame) -> dict:
    """A V2 request as a client writes it: one input per column, gaps as null."""
    inputs = []
    for name in frame.columns:
        column = frame[name]
        text = column.dtype == object
        values = column.astype(object).where(column.notna(), None).tolist()
        inputs.append(
            {
                "name": name,
                "datatype": "BYTES" if text else "FP64",
                "shape": [len(frame), 1],
                "data": values,
            }
        )
    return {"inputs": inputs}


@pytest.mark.spark
@pytest.mark.parametrize("framework", ["sklearn", "catboost"])
def test_a_wrapped_model_scores_alike_on_spark_and_mlserver(
    rendered: Callable[[dict], Path], tmp_path: Path, framework: str
) -> None:
    """The two frameworks whose wrapped model takes a frame of numbers and
    category text (a Pipeline, CatBoost's cat_features): the Spark engine and
    a V2 client get what the notebook's model predicts."""
    project = rendered({"framework": framework})
    package = package_name(project)
    env = project_env(
        project, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}"
    )
    model_file = last_line(
        run_script(
            "notebook_model", framework, "binary", str(tmp_path), cwd=tmp_path, env=env
        )
    )
    uri = last_line(
        run(
            [PYTHON, "-m", f"{package}.wrap", "--model", model_file]
            + ["--data", str(tmp_path / "data.csv"), "--registered-model-name", ""],
            cwd=tmp_path,
            env=env,
        )
    )
    expected = np.asarray(json.loads((tmp_path / "expected.json").read_text()))
    requests = pd.read_csv(tmp_path / "requests.csv", dtype={"colour": object})
    source = tmp_path / "requests.parquet"
    requests.assign(row=range(len(requests))).to_parquet(source, index=False)

    output = tmp_path / "spark.parquet"
    run(
        [PYTHON, "-m", f"{package}.score", "--model-uri", uri, "--input", str(source)]
        + ["--output", str(output), "--keep", "row"]
        + ["--engine", "spark", "--spark-master", "local[2]"],
        cwd=tmp_path,
        env=env,
    )
    spark = pd.read_parquet(output).sort_values("row").drop(columns="row")
    np.testing.assert_allclose(spark.to_numpy(), expected, rtol=1e-4, atol=1e-5)

    folder = tmp_path / "serving"
    run(
        [PYTHON, "-m", f"{package}.kserve", "--model-uri", uri]
        + ["--output", str(folder)],
        cwd=tmp_path,
        env=env,
    )
    port = free_port()
    env.update(
        MLSERVER_HTTP_PORT=str(port),
        MLSERVER_GRPC_PORT=str(free_port()),
        MLSERVER_METRICS_PORT=str(free_port()),
    )
    mlserver = str(Path(PYTHON).with_name("mlserver"))
    url = f"http://127.0.0.1:{port}/v2/models/{package}"
    with running_server(
        [mlserver, "start", str(folder)], tmp_path, env, f"{url}/ready"
    ):
        body = json.dumps(v2_request(requests)).encode()
        status, answer = post(f"{url}/infer", body, "application/json")
        assert status == 200, answer
        served = np.column_stack(
            [np.asarray(output["data"], dtype=float) for output in answer["outputs"]]
        )
        np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-5)
        absent = json.dumps(v2_request(requests.drop(columns="size cm"))).encode()
        status, answer = post(f"{url}/infer", absent, "application/json")
        assert status == 400 and "size cm" in answer["error"], answer
