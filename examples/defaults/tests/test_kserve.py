"""The model behind MLServer over the Open Inference (V2) protocol, as KServe serves it.

The package's `kserve` command writes the folder and a real `mlserver start`
serves it on 127.0.0.1, with one inference worker; the tests speak to it in raw
JSON and through `tritonclient`, over HTTP and gRPC. (This process imports no
`mlserver`: its protobuf messages clash with `tritonclient.grpc`'s.) Deselect
them with `pytest -m "not serving"`.
"""

import json
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
import tritonclient.grpc as grpc_client
import tritonclient.http as http_client
import yaml
from servers import Server, request, wait_until_ready
from tritonclient.utils import InferenceServerException

from my_model import card, kserve
from my_model.model import METHODS, Model

pytestmark = pytest.mark.serving
#: The V2 datatypes the served mixed model declares: the integer column, read as
#: float32 like every feature, is a number.
MIXED_DATATYPES = {
    "size cm": "FP64",
    "colour name": "BYTES",
    "item count": "FP64",
    "is member": "BOOL",
    "signup date": "BYTES",
}


class Client:
    """One of `tritonclient`'s clients, called as its users call it."""

    def __init__(self, module: ModuleType, address: str) -> None:
        self.module = module
        self.client = module.InferenceServerClient(address)

    def inputs(self, frame: pd.DataFrame) -> list:
        """One input per column: FP64 for numbers, BYTES for strings.

        Over HTTP the data goes as JSON (`binary_data=False`): MLServer does
        not read the binary extension in requests.
        """
        inputs = []
        for name, column in frame.items():
            numeric = pd.api.types.is_numeric_dtype(column)
            values = column.to_numpy(dtype=np.float64 if numeric else object)
            datatype = "FP64" if numeric else "BYTES"
            tensor = self.module.InferInput(name, [len(frame), 1], datatype)
            if self.module is http_client:
                tensor.set_data_from_numpy(values.reshape(-1, 1), binary_data=False)
            else:
                tensor.set_data_from_numpy(values.reshape(-1, 1))
            inputs.append(tensor)
        return inputs

    def infer(
        self,
        frame: pd.DataFrame,
        params: dict[str, Any] | None = None,
        outputs: list[str] | None = None,
    ) -> pd.DataFrame:
        """Return the answer's outputs as columns, each checked to be one column."""
        requested = [self.module.InferRequestedOutput(name) for name in outputs or []]
        result = self.client.infer(
            "mixed", self.inputs(frame), outputs=requested or None, parameters=params
        )
        if self.module is http_client:
            response = result.get_response()
        else:
            response = result.get_response(as_json=True)
        columns = {}
        for output in response["outputs"]:
            assert [int(size) for size in output["shape"]] == [len(frame), 1]
            values = result.as_numpy(output["name"]).ravel()
            if values.dtype == object:  # BYTES: bytes over gRPC, str over HTTP
                values = [
                    value.decode() if isinstance(value, bytes) else value
                    for value in values
                ]
            columns[output["name"]] = values
        return pd.DataFrame(columns)

    def refusal(self, frame: pd.DataFrame, **kwargs: Any) -> str:
        """Return the error of a refused `infer`, checked to be a client error."""
        with pytest.raises(InferenceServerException) as error:
            self.infer(frame, **kwargs)
        assert error.value.status() in ("400", "StatusCode.INVALID_ARGUMENT")
        return error.value.message()


@pytest.fixture(scope="module")
def server(mlserver_process: Server) -> Server:
    """MLServer, once it says the model is ready."""
    wait_until_ready(mlserver_process, "/v2/models/mixed/ready")
    return mlserver_process


@pytest.fixture(scope="module")
def model_url(server: Server) -> str:
    """The V2 URL of the served model."""
    return f"{server.url}/v2/models/mixed"


@pytest.fixture(scope="module", params=["http", "grpc"])
def client(server: Server, request: pytest.FixtureRequest) -> Client:
    """`tritonclient` over HTTP and over gRPC."""
    if request.param == "http":
        return Client(http_client, server.url.removeprefix("http://"))
    return Client(grpc_client, server.grpc_address)


@pytest.fixture(scope="module")
def features(mixed_frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with gaps in both kinds of column."""
    return mixed_frame.drop(columns="target").iloc[:12]


@pytest.fixture(scope="module")
def complete(mixed_frame: pd.DataFrame) -> pd.DataFrame:
    """Rows without gaps, as `tritonclient` sends them (see the README)."""
    return mixed_frame.drop(columns="target").dropna().iloc[:8].reset_index(drop=True)


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
    assert_same_columns(as_frame(body), expected)


def assert_same_columns(answer: pd.DataFrame, expected: pd.DataFrame) -> None:
    """`answer` holds `expected`'s columns (named as strings) and values."""
    pd.testing.assert_frame_equal(
        answer,
        expected.set_axis([str(column) for column in expected.columns], axis=1),
        check_dtype=False,
        check_exact=False,
        rtol=1e-5,
    )


def test_the_folder_holds_settings_runtime_and_manifest(kserve_folder: Path) -> None:
    settings = json.loads((kserve_folder / "settings.json").read_text())
    assert settings == {"host": "127.0.0.1", "parallel_workers": 1}
    model_folder = kserve_folder / "mixed"
    model_settings = json.loads((model_folder / "model-settings.json").read_text())
    assert model_settings["name"] == "mixed"
    runtime = "my_model_runtime"
    assert model_settings["implementation"] == f"{runtime}.Runtime"
    assert (model_folder / f"{runtime}.py").is_file()
    assert (model_folder / "model" / "MLmodel").is_file()
    manifest = yaml.safe_load((kserve_folder / "inferenceservice.yaml").read_text())
    assert manifest["kind"] == "InferenceService"
    model = manifest["spec"]["predictor"]["model"]
    assert model["protocolVersion"] == "v2"
    assert model["storageUri"] == "s3://models/mixed"
    environment = {variable["name"]: variable["value"] for variable in model["env"]}
    assert environment["MLSERVER_MODELS_DIR"] == "/mnt/models/mixed"
    assert environment["MLSERVER_HOST"] == "0.0.0.0"


def test_a_fresh_folder_starts_without_warnings(server: Server) -> None:
    log = server.log.read_text()
    assert "WARNING" not in log, log
    assert "127.0.0.1" in log


@pytest.mark.parametrize(
    ("model_uri", "options", "mine", "problem"),
    [
        ("models:/m-0123456789abcdef", [], [], "cannot download model"),
        ("{mixed}", ["--name", "_mixed"], [], "--name '_mixed' is not allowed"),
        ("{mixed}", ["--workers", "-1"], [], "--workers -1 is not allowed"),
        ("{mixed}", [], ["notes.txt"], "is not empty"),
    ],
    ids=["unknown-model", "bad-name", "negative-workers", "output-not-empty"],
)
def test_the_kserve_command_refuses_in_one_line_and_writes_nothing(
    mixed_logged_uri: str,
    tmp_path: Path,
    model_uri: str,
    options: list[str],
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
        kserve.main([*arguments, *options, "--output", str(output)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.strip().splitlines()[-1].startswith("error: ")
    assert problem in error
    assert sorted(path.name for path in output.iterdir()) == mine


def test_clients_see_the_server_the_model_and_its_inputs(client: Client) -> None:
    assert client.client.is_server_live()
    assert client.client.is_server_ready()
    assert client.client.is_model_ready("mixed")
    if client.module is http_client:
        metadata = client.client.get_model_metadata("mixed")
    else:
        metadata = client.client.get_model_metadata("mixed", as_json=True)
    datatypes = {tensor["name"]: tensor["datatype"] for tensor in metadata["inputs"]}
    assert datatypes == MIXED_DATATYPES


@pytest.mark.parametrize("method", METHODS)
def test_clients_get_every_method_as_in_process(
    client: Client,
    complete: pd.DataFrame,
    mixed_logged_model: mlflow.pyfunc.PyFuncModel,
    method: str,
) -> None:
    expected = mixed_logged_model.predict(complete, params={"method": method})
    assert_same_columns(client.infer(complete, {"method": method}), expected)


def test_clients_get_the_outputs_they_ask_for(
    client: Client,
    complete: pd.DataFrame,
    mixed_logged_model: mlflow.pyfunc.PyFuncModel,
) -> None:
    expected = mixed_logged_model.predict(complete)
    last = str(expected.columns[-1])
    answer = client.infer(complete, outputs=[last])
    assert_same_columns(answer, expected.iloc[:, [-1]])


def test_clients_get_refusals_as_client_errors(
    client: Client, complete: pd.DataFrame
) -> None:
    assert "Unknown method 'transform'" in client.refusal(
        complete, params={"method": "transform"}
    )
    assert "treshold" in client.refusal(complete, params={"treshold": 0.3})
    assert "'nope'" in client.refusal(complete, outputs=["nope"])
    as_number = complete.assign(**{"colour name": 1.0})
    assert "'colour name'" in client.refusal(as_number)


def test_grpc_sends_a_missing_number_as_nan(
    server: Server,
    complete: pd.DataFrame,
    mixed_logged_model: mlflow.pyfunc.PyFuncModel,
) -> None:
    with_gap = complete.astype({"item count": "float64"})
    with_gap.loc[with_gap.index[0], ["size cm", "item count"]] = np.nan
    answer = Client(grpc_client, server.grpc_address).infer(with_gap)
    assert_same_columns(answer, mixed_logged_model.predict(with_gap))


def test_the_http_client_writes_nan_which_mlserver_refuses(
    server: Server, complete: pd.DataFrame
) -> None:
    """What the README says: over HTTP, send a missing value as JSON null."""
    with_gap = complete.astype({"item count": "float64"})
    with_gap.loc[with_gap.index[0], "size cm"] = np.nan
    client = Client(http_client, server.url.removeprefix("http://"))
    with pytest.raises(InferenceServerException) as error:
        client.infer(with_gap)
    assert error.value.status() == "422"


def test_metadata_declares_numbers_and_strings(model_url: str) -> None:
    status, body = request(model_url)
    assert status == 200, body
    datatypes = {tensor["name"]: tensor["datatype"] for tensor in body["inputs"]}
    assert datatypes == MIXED_DATATYPES


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


@pytest.mark.parametrize("datatype", ["BOOL", "FP64", "BYTES"])
def test_a_boolean_with_gaps_scores_alike_as_bool_number_or_text(
    model_url: str,
    features: pd.DataFrame,
    mixed_logged_model: mlflow.pyfunc.PyFuncModel,
    datatype: str,
) -> None:
    inputs = v2_inputs(features)
    (flags,) = [tensor for tensor in inputs if tensor["name"] == "is member"]
    meaning = {"True": True, "False": False, None: None}
    sent = {
        "BOOL": lambda value: value,
        "FP64": lambda value: None if value is None else float(value),
        "BYTES": lambda value: None if value is None else str(value).lower(),
    }[datatype]
    flags["datatype"] = datatype
    flags["data"] = [sent(meaning[value]) for value in flags["data"]]
    assert None in flags["data"]
    status, body = request(f"{model_url}/infer", {"inputs": inputs})
    assert status == 200, body
    assert_answers_as_in_process(body, mixed_logged_model.predict(features))


def test_a_date_that_is_not_one_gets_400_naming_it(
    model_url: str, features: pd.DataFrame
) -> None:
    inputs = v2_inputs(features)
    (dates,) = [tensor for tensor in inputs if tensor["name"] == "signup date"]
    dates["data"][0] = "31/01/2024"
    status, body = request(f"{model_url}/infer", {"inputs": inputs})
    assert status == 400, body
    assert "'signup date'" in body["error"] and "31/01/2024" in body["error"]


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
    method = "predict"
    for name in set(mixed_model.default_params()) - {"method"}:
        status, body = infer(model_url, features, {name: value, "method": method})
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


def test_protocol_parameters_are_not_taken_for_params(
    model_url: str,
    features: pd.DataFrame,
    mixed_logged_model: mlflow.pyfunc.PyFuncModel,
) -> None:
    protocol = {"binary_data_output": True, "priority": 1, "timeout": 5_000_000}
    status, body = infer(model_url, features, {**protocol, "sequence_id": 7})
    assert status == 200, body
    assert_answers_as_in_process(body, mixed_logged_model.predict(features))


def test_a_number_for_a_string_feature_gets_400_naming_it(
    model_url: str, features: pd.DataFrame
) -> None:
    inputs = v2_inputs(features)
    (colours,) = [tensor for tensor in inputs if tensor["name"] == "colour name"]
    colours.update(datatype="FP64", data=[1.0] * len(features))
    status, body = request(f"{model_url}/infer", {"inputs": inputs})
    assert status == 400, body
    assert "'colour name'" in body["error"]
    assert "BYTES" in body["error"]


def test_inputs_of_different_lengths_get_400_naming_one(
    model_url: str, features: pd.DataFrame
) -> None:
    inputs = v2_inputs(features)
    inputs[-1] = v2_inputs(features.iloc[:-1])[-1]
    status, body = request(f"{model_url}/infer", {"inputs": inputs})
    assert status == 400, body
    assert repr(inputs[-1]["name"]) in body["error"]
    assert "same number of rows" in body["error"]


def test_an_input_of_two_columns_gets_400_naming_it(
    model_url: str, features: pd.DataFrame
) -> None:
    inputs = v2_inputs(features.iloc[:6])
    inputs[0]["shape"] = [3, 2]
    status, body = request(f"{model_url}/infer", {"inputs": inputs})
    assert status == 400, body
    assert repr(inputs[0]["name"]) in body["error"]


def test_an_unknown_output_gets_400_naming_it(
    model_url: str, features: pd.DataFrame
) -> None:
    payload = {"inputs": v2_inputs(features), "outputs": [{"name": "nope"}]}
    status, body = request(f"{model_url}/infer", payload)
    assert status == 400, body
    assert "'nope'" in body["error"]


def test_a_refused_request_is_one_warning_line_in_the_log(
    server: Server, model_url: str, features: pd.DataFrame
) -> None:
    refused = features.drop(columns=["item count", "is member"])
    status, body = infer(model_url, refused)
    assert status == 400, body
    reason = "Missing required column(s) ['item count', 'is member']"
    deadline = time.monotonic() + 10
    while reason not in server.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    lines = server.log.read_text().splitlines()
    (number,) = [index for index, line in enumerate(lines) if reason in line]
    assert "WARNING" in lines[number] and "ERROR" not in lines[number]
    assert not lines[number + 1 :][:1] or "Traceback" not in lines[number + 1]


def test_the_cards_v2_request_runs_as_written(
    model_url: str, mixed_logged_uri: str, mixed_logged_model: mlflow.pyfunc.PyFuncModel
) -> None:
    text = card.render(mixed_logged_uri)
    block = text.split("```bash\n")[2].split("```", 1)[0]
    url, _, rest = block.partition(" -H ")
    assert url == f"curl -s {card.V2_URL}"
    body = json.loads(rest.split(" -d '\n", 1)[1].rsplit("\n'", 1)[0])
    status, answer = request(f"{model_url}/infer", body)  # served as "mixed" here
    assert status == 200, answer
    rows = {item["name"]: item["data"] for item in body["inputs"]}
    assert_answers_as_in_process(answer, mixed_logged_model.predict(pd.DataFrame(rows)))


def test_the_folders_request_file_is_answered_as_in_process(
    model_url: str, kserve_folder: Path, mixed_logged_model: mlflow.pyfunc.PyFuncModel
) -> None:
    """`request.json` beside the folder: the input example's rows, typed by kind
    (booleans as BOOL, dates as BYTES, gaps as null), answered as in-process."""
    body = json.loads((kserve_folder / kserve.REQUEST_FILE).read_text())
    datatypes = {item["name"]: item["datatype"] for item in body["inputs"]}
    assert datatypes["is member"] == "BOOL"
    assert datatypes["signup date"] == "BYTES"
    status, answer = request(f"{model_url}/infer", body)
    assert status == 200, answer
    rows = {item["name"]: item["data"] for item in body["inputs"]}
    assert_answers_as_in_process(answer, mixed_logged_model.predict(pd.DataFrame(rows)))


def test_server_keeps_serving_after_bad_requests(
    model_url: str, features: pd.DataFrame
) -> None:
    assert request(f"{model_url}/infer", {"inputs": "nonsense"})[0] in range(400, 500)
    assert infer(model_url, features, {"method": "transform"})[0] == 400
    assert request(f"{model_url}/ready")[0] == 200
    assert infer(model_url, features)[0] == 200
