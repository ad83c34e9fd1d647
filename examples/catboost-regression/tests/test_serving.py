"""The model behind `mlflow models serve`: good and bad requests over HTTP.

Starts a real scoring server on 127.0.0.1; deselect with `pytest -m "not serving"`.
"""

import json
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from servers import Server, request, wait_until_ready

from claim_cost import card
from claim_cost.model import METHODS, Model

pytestmark = pytest.mark.serving


@pytest.fixture(scope="module")
def server(serving_process: Server) -> str:
    """The scoring server's base URL, once it answers /ping."""
    wait_until_ready(serving_process, "/ping")
    return serving_process.url


@pytest.fixture(scope="module")
def example(cli_model_dir: Path) -> dict[str, Any]:
    """The serving input example MLflow logged with the model."""
    return json.loads((cli_model_dir / "serving_input_example.json").read_text())


def invoke(server: str, payload: Any) -> tuple[int, Any]:
    """Send a payload (bytes as they are, anything else as JSON) to /invocations."""
    return request(f"{server}/invocations", payload)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_answers_the_example_as_in_process(
    server: str, example: dict[str, Any], model: Model, method: str
) -> None:
    status, body = invoke(server, {**example, "params": {"method": method}})
    assert status == 200, body
    rows = body["predictions"]
    assert len(rows) == len(example["dataframe_split"]["data"])
    frame = pd.DataFrame(**example["dataframe_split"])
    expected = model.predict(frame, {"method": method})
    assert list(rows[0]) == [str(column) for column in expected.columns]


def test_the_cards_request_runs_as_written(
    server: str, cli_model_uri: str, model: Model
) -> None:
    text = card.render(cli_model_uri)
    block = text.split("```bash\n", 1)[1].split("```", 1)[0]
    body = block.split(" -d '\n", 1)[1].rsplit("\n'", 1)[0]
    status, answer = invoke(server, body.encode())
    assert status == 200, answer
    frame = pd.DataFrame(**json.loads(body)["dataframe_split"])
    expected = model.predict(frame)
    assert len(answer["predictions"]) == len(expected)


def test_the_example_without_params_runs_predict(
    server: str, example: dict[str, Any], model: Model
) -> None:
    status, body = invoke(server, example)
    assert status == 200, body
    expected = model.predict(pd.DataFrame(**example["dataframe_split"]))
    assert list(body["predictions"][0]) == [str(column) for column in expected.columns]


def test_a_missing_column_gets_400_naming_it(
    server: str, example: dict[str, Any]
) -> None:
    split = example["dataframe_split"]
    payload = {
        "dataframe_split": {
            "columns": split["columns"][1:],
            "data": [row[1:] for row in split["data"]],
        }
    }
    status, body = invoke(server, payload)
    assert status == 400, body
    assert split["columns"][0] in body["message"]


def test_integers_and_nulls_score_like_floats(
    server: str, example: dict[str, Any], cli_model: mlflow.pyfunc.PyFuncModel
) -> None:
    split = example["dataframe_split"]
    data = [list(row) for row in split["data"]]
    data[0][0] = round(data[0][0])  # a JSON integer where training had floats
    data[1][0] = None  # a gap in a column that had none in training
    payload = {"dataframe_split": {"columns": split["columns"], "data": data}}
    status, body = invoke(server, payload)
    assert status == 200, body
    expected = cli_model.predict(pd.DataFrame(data, columns=split["columns"]))
    pd.testing.assert_frame_equal(
        pd.DataFrame(body["predictions"]),
        expected.set_axis(list(map(str, expected.columns)), axis=1),
        check_dtype=False,
    )


def test_a_string_in_a_numeric_column_gets_400_naming_it(
    server: str, example: dict[str, Any]
) -> None:
    split = example["dataframe_split"]
    data = [list(row) for row in split["data"]]
    data[0][1] = "not a number"
    payload = {"dataframe_split": {"columns": split["columns"], "data": data}}
    status, body = invoke(server, payload)
    assert status == 400, body
    assert split["columns"][1] in body["message"]


def csv_body(frame: pd.DataFrame) -> bytes:
    """`frame` as a `text/csv` request body: a header row, empty cells for gaps."""
    return frame.to_csv(index=False).encode()


def test_a_csv_request_scores_like_json(
    server: str, example: dict[str, Any], cli_model: mlflow.pyfunc.PyFuncModel
) -> None:
    frame = pd.DataFrame(**example["dataframe_split"])
    frame.iloc[0, 0] = None
    status, body = request(f"{server}/invocations", csv_body(frame), "text/csv")
    assert status == 200, body
    expected = cli_model.predict(frame)
    pd.testing.assert_frame_equal(
        pd.DataFrame(body["predictions"]),
        expected.set_axis(list(map(str, expected.columns)), axis=1),
        check_dtype=False,
    )


@pytest.mark.parametrize("fault", ["absent", "text"])
def test_a_bad_csv_request_gets_400_naming_the_column(
    server: str, example: dict[str, Any], fault: str
) -> None:
    frame = pd.DataFrame(**example["dataframe_split"])
    column = frame.columns[1]
    if fault == "absent":
        frame = frame.drop(columns=column)
    else:
        frame[column] = frame[column].astype(object)
        frame.iloc[0, 1] = "not a number"
    status, body = request(f"{server}/invocations", csv_body(frame), "text/csv")
    assert status == 400, body
    assert repr(column) in body["message"]
    assert len(body["message"]) < 300


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"this is not json", "valid JSON"),
        (b"", "valid JSON"),
        ([1, 2, 3], "Received a list"),
    ],
    ids=["not-json", "empty", "bare-list"],
)
def test_malformed_bodies_get_400(server: str, payload: Any, problem: str) -> None:
    status, body = invoke(server, payload)
    assert status == 400, body
    assert problem in body["message"]


def test_an_unknown_method_gets_400_with_the_allowed_list(
    server: str, example: dict[str, Any]
) -> None:
    status, body = invoke(server, {**example, "params": {"method": "transform"}})
    assert status == 400, body
    assert "Unknown method 'transform'" in body["message"]
    assert "allowed" in body["message"]


def test_server_keeps_serving_after_bad_requests(
    server: str, example: dict[str, Any]
) -> None:
    invoke(server, b"{")
    assert request(f"{server}/ping")[0] == 200
    assert invoke(server, example)[0] == 200
