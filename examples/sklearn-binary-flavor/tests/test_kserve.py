"""The model behind MLServer over the Open Inference (V2) protocol, as KServe serves it.

The package's `kserve` command writes the folder and a real `mlserver start`
serves it on 127.0.0.1; deselect with `pytest -m "not serving"`.
"""

import json
import subprocess
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
import yaml
from servers import request, wait_until_ready

from churn_risk import kserve
from churn_risk.model import METHODS, Model

pytestmark = pytest.mark.serving

#: The params the README shows, each sent as V2 `parameters`.
PARAM_EXAMPLES = [
    {"threshold": 0.3},
    {"method": "predict_proba"},
]


@pytest.fixture(scope="module")
def model_url(mlserver_process: tuple[subprocess.Popen, str, Path]) -> str:
    """The V2 URL of the served model, once MLServer says it is ready."""
    process, url, log = mlserver_process
    wait_until_ready(process, f"{url}/v2/models/mixed/ready", log)
    return f"{url}/v2/models/mixed"


@pytest.fixture(scope="module")
def features(mixed_frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with gaps in both kinds of column."""
    return mixed_frame.drop(columns="target").iloc[:12]


def v2_inputs(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One V2 input per column: FP64 or INT64 for numbers, BYTES for strings."""
    inputs = []
    for name, column in frame.items():
        if pd.api.types.is_integer_dtype(column):
            datatype, values = "INT64", [int(value) for value in column]
        elif pd.api.types.is_numeric_dtype(column):
            datatype = "FP64"
            values = [None if pd.isna(value) else float(value) for value in column]
        else:
            datatype = "BYTES"
            values = [None if pd.isna(value) else str(value) for value in column]
        shape = [len(frame), 1]
        inputs.append(
            {"name": name, "datatype": datatype, "shape": shape, "data": values}
        )
    return inputs


def infer(
    model_url: str, frame: pd.DataFrame, params: dict[str, Any] | None = None
) -> tuple[int, Any]:
    """Send `frame` to the V2 infer endpoint with `params` as `parameters`."""
    payload: dict[str, Any] = {"inputs": v2_inputs(frame)}
    if params:
        payload["parameters"] = params
    return request(f"{model_url}/infer", payload)


def as_frame(body: dict[str, Any]) -> pd.DataFrame:
    """The V2 response's outputs as columns."""
    return pd.DataFrame({output["name"]: output["data"] for output in body["outputs"]})


def assert_answers_as_in_process(body: dict[str, Any], expected: pd.DataFrame) -> None:
    """One output per result column, named and valued as in-process."""
    assert [output["name"] for output in body["outputs"]] == [
        str(column) for column in expected.columns
    ]
    pd.testing.assert_frame_equal(
        as_frame(body),
        expected.set_axis([str(column) for column in expected.columns], axis=1),
        check_dtype=False,
        check_exact=False,
        rtol=1e-5,
    )


def test_the_folder_holds_settings_runtime_and_manifest(kserve_folder: Path) -> None:
    settings = json.loads((kserve_folder / "model-settings.json").read_text())
    assert settings["name"] == "mixed"
    runtime = "churn_risk_runtime"
    assert settings["implementation"] == f"{runtime}.Runtime"
    assert (kserve_folder / f"{runtime}.py").is_file()
    assert (kserve_folder / "model" / "MLmodel").is_file()
    manifest = yaml.safe_load((kserve_folder / "inferenceservice.yaml").read_text())
    assert manifest["kind"] == "InferenceService"
    model = manifest["spec"]["predictor"]["model"]
    assert model["protocolVersion"] == "v2"
    assert model["storageUri"] == "s3://models/mixed"
    assert {"name": "MLSERVER_MODEL_NAME", "value": "mixed"} in model["env"]


@pytest.mark.parametrize(
    ("model_uri", "name", "mine", "problem"),
    [
        ("models:/m-0123456789abcdef", "mixed", [], "cannot download model"),
        ("{mixed}", "_mixed", [], "--name '_mixed' is not allowed"),
        ("{mixed}", "mixed", ["notes.txt"], "is not empty"),
    ],
    ids=["unknown-model", "bad-name", "output-not-empty"],
)
def test_the_kserve_command_refuses_in_one_line_and_writes_nothing(
    mixed_logged_uri: str,
    tmp_path: Path,
    model_uri: str,
    name: str,
    mine: list[str],
    problem: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "serving"
    output.mkdir()
    for file_name in mine:
        (output / file_name).write_text("mine")
    arguments = ["--model-uri", model_uri.format(mixed=mixed_logged_uri)]
    with pytest.raises(SystemExit) as exit_info:
        kserve.main([*arguments, "--name", name, "--output", str(output)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.strip().splitlines()[-1].startswith("error: ")
    assert problem in error
    assert sorted(path.name for path in output.iterdir()) == mine


def test_metadata_declares_numbers_and_strings(model_url: str) -> None:
    status, body = request(model_url)
    assert status == 200, body
    datatypes = {tensor["name"]: tensor["datatype"] for tensor in body["inputs"]}
    assert datatypes == {
        "size cm": "FP64",
        "colour name": "BYTES",
        "item count": "FP64",
    }


@pytest.mark.parametrize("method", METHODS)
def test_every_method_answers_as_in_process(
    model_url: str,
    features: pd.DataFrame,
    mixed_logged_model: mlflow.pyfunc.PyFuncModel,
    method: str,
) -> None:
    status, body = infer(model_url, features, {"method": method})
    assert status == 200, body
    expected = mixed_logged_model.predict(features, params={"method": method})
    assert_answers_as_in_process(body, expected)


@pytest.mark.parametrize("params", PARAM_EXAMPLES, ids=json.dumps)
def test_params_reach_the_model(
    model_url: str,
    features: pd.DataFrame,
    mixed_logged_model: mlflow.pyfunc.PyFuncModel,
    params: dict[str, Any],
) -> None:
    status, body = infer(model_url, features, params)
    assert status == 200, body
    assert_answers_as_in_process(
        body, mixed_logged_model.predict(features, params=params)
    )


def test_without_parameters_it_predicts(
    model_url: str, features: pd.DataFrame, mixed_model: Model
) -> None:
    status, body = infer(model_url, features)
    assert status == 200, body
    assert list(as_frame(body).columns) == [
        str(column) for column in mixed_model.predict(features).columns
    ]


def test_integers_with_a_gap_score_like_floats(
    model_url: str,
    features: pd.DataFrame,
    mixed_logged_model: mlflow.pyfunc.PyFuncModel,
) -> None:
    inputs = v2_inputs(features)
    (counts,) = [tensor for tensor in inputs if tensor["name"] == "item count"]
    assert counts["datatype"] == "INT64"
    counts["data"][0] = None
    status, body = request(f"{model_url}/infer", {"inputs": inputs})
    assert status == 200, body
    with_gap = features.astype({"item count": "Float64"})
    with_gap.loc[with_gap.index[0], "item count"] = None
    assert_answers_as_in_process(body, mixed_logged_model.predict(with_gap))


def test_an_optional_column_may_be_left_out(
    model_url: str,
    features: pd.DataFrame,
    mixed_logged_model: mlflow.pyfunc.PyFuncModel,
) -> None:
    partial = features.drop(columns="size cm")
    status, body = infer(model_url, partial)
    assert status == 200, body
    assert_answers_as_in_process(body, mixed_logged_model.predict(partial))


def test_an_unknown_method_gets_400_with_the_allowed_list(
    model_url: str, features: pd.DataFrame
) -> None:
    status, body = infer(model_url, features, {"method": "transform"})
    assert status == 400, body
    assert "Unknown method 'transform'" in body["error"]


def test_an_undeclared_param_gets_400_naming_it(
    model_url: str, features: pd.DataFrame
) -> None:
    status, body = infer(model_url, features, {"treshold": 0.3})
    assert status == 400, body
    assert "treshold" in body["error"]
    assert "method" in body["error"]


@pytest.mark.parametrize("value", ["not a number", -1])
def test_a_bad_param_value_gets_400_naming_it(
    model_url: str, features: pd.DataFrame, mixed_model: Model, value: Any
) -> None:
    for name in set(mixed_model.default_params()) - {"method"}:
        status, body = infer(model_url, features, {name: value})
        assert status == 400, (name, body)
        assert name in body["error"]


def test_a_missing_column_gets_400_naming_it(
    model_url: str, features: pd.DataFrame
) -> None:
    status, body = infer(model_url, features.drop(columns="colour name"))
    assert status == 400, body
    assert "colour name" in body["error"]


def test_a_string_in_a_numeric_column_gets_400_naming_it(
    model_url: str, features: pd.DataFrame
) -> None:
    inputs = v2_inputs(features)
    inputs[0] = {**inputs[0], "datatype": "BYTES", "data": ["wide"] * len(features)}
    status, body = request(f"{model_url}/infer", {"inputs": inputs})
    assert status == 400, body
    assert "size cm" in body["error"]


def test_server_keeps_serving_after_bad_requests(
    model_url: str, features: pd.DataFrame
) -> None:
    assert request(f"{model_url}/infer", {"inputs": "nonsense"})[0] in range(400, 500)
    assert infer(model_url, features, {"method": "transform"})[0] == 400
    assert request(f"{model_url}/ready")[0] == 200
    assert infer(model_url, features)[0] == 200
