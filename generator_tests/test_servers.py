"""A generated model after training: a shared tracking server with a registry, a
deployment that rebuilds the model's environment from its own pinned spec, and
the scoring server under a soak of good and bad requests."""

import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from answer_sets import PACKAGINGS, allowed_methods
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


def test_train_against_a_tracking_server_registers_the_champion(
    rendered: Callable[[dict], Path], tracking_server: str, tmp_path: Path
) -> None:
    project = rendered({"packaging": "loader_module"})
    package = package_name(project)
    name = f"team-{package}"
    env = project_env(project, MLFLOW_TRACKING_URI=tracking_server)
    for expected_version in ("1", "2"):
        result = run(
            [PYTHON, "-m", f"{package}.train", "--registered-model-name", name],
            cwd=tmp_path,
            env=env,
        )
        uri = result.stdout.strip().splitlines()[-1]
        assert uri.startswith("models:/m-")
        # The champion is this run's model and predicts what it predicts in memory.
        check = run_script(
            "champion_matches_local", package, name, uri, cwd=tmp_path, env=env
        )
        # A second training run becomes the new champion.
        assert last_line(check) == f"version {expected_version}"


@pytest.mark.deployment
@pytest.mark.parametrize("packaging", PACKAGINGS)
def test_model_predicts_in_an_environment_rebuilt_from_its_spec(
    rendered: Callable[[dict], Path], tmp_path: Path, packaging: str
) -> None:
    """Needs `uv` and PyPI (the first build downloads ~500 MB; later ones hit uv's cache)."""
    uv = shutil.which("uv", path=str(Path(PYTHON).parent)) or shutil.which("uv")
    assert uv, "uv is not installed: it is in this repository's test extra"
    project = rendered({"packaging": packaging})
    env = project_env(
        project, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}"
    )
    env["PATH"] = (
        f"{Path(uv).parent}{os.pathsep}{Path(PYTHON).parent}{os.pathsep}{env['PATH']}"
    )
    result = run(
        [PYTHON, "-m", f"{package_name(project)}.train", "--registered-model-name", ""],
        cwd=tmp_path,
        env=env,
    )
    uri = result.stdout.strip().splitlines()[-1]
    # The rebuilt environment must not see this checkout's source: only the model's code.
    del env["PYTHONPATH"]
    output = tmp_path / "predictions.json"
    # Rebuilds the environment with uv and predicts the serving input example there.
    run_script(
        "predict_in_rebuilt_env", uri, str(output), cwd=tmp_path, env=env, timeout=1200
    )
    written = json.loads(output.read_text())
    predictions = written["predictions"]
    assert len(predictions) == written["example_rows"] > 0
    assert set(predictions[0]) == {"0", "1"}


SOAK_REQUESTS = 2_000
SOAK_THREADS = 8
#: A param-taking output (the bad requests send a bad `threshold`) and every
#: extra method the default framework and task allow.
SOAK_ANSWERS = {
    "predict_output": "thresholded_label",
    "extra_methods": allowed_methods({}),
}


def bad_requests(good: dict) -> list[bytes]:
    """Requests the scoring server must refuse with 4xx, built from a good one."""
    split = good["dataframe_split"]
    text_in_number = [list(row) for row in split["data"]]
    text_in_number[0][0] = "wide"
    bodies = [
        {
            "dataframe_split": {
                **split,
                "columns": split["columns"][1:],
                "data": [row[1:] for row in split["data"]],
            }
        },
        {"dataframe_split": {**split, "data": text_in_number}},
        {**good, "params": {"method": "transform"}},
        {**good, "params": {"threshold": 2.0}},
        {**good, "params": {"threshold": "high"}},
        [1, 2, 3],
    ]
    return [json.dumps(body).encode() for body in bodies] + [b"not json", b""]


def post(url: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def soak(url: str, good: list[dict], bad: list[bytes]) -> list[str]:
    """Send SOAK_REQUESTS from SOAK_THREADS threads, a third of them bad; the problems."""
    plan = [
        ("bad", bad[i % len(bad)]) if i % 3 == 0 else ("good", good[i % len(good)])
        for i in range(SOAK_REQUESTS)
    ]

    def send(item: tuple[str, object]) -> str:
        kind, request = item
        if kind == "bad":
            status, payload = post(url, request)
            return (
                ""
                if 400 <= status < 500
                else f"bad request got {status}: {payload[:200]!r}"
            )
        status, payload = post(url, json.dumps(request["body"]).encode())
        if status != 200:
            return f"good request got {status}: {payload[:200]!r}"
        answer = json.loads(payload)["predictions"]
        try:
            pd.testing.assert_frame_equal(
                pd.DataFrame(answer),
                pd.DataFrame(request["expected"]),
                check_dtype=False,
                rtol=1e-5,
            )
        except AssertionError as error:
            return f"wrong answer to {request['body']['params']}: {error}"
        return ""

    with ThreadPoolExecutor(SOAK_THREADS) as pool:
        return [problem for problem in pool.map(send, plan) if problem]


@pytest.mark.end_to_end
def test_scoring_server_soak_mixed_good_and_bad_requests(
    rendered: Callable[[dict], Path], tmp_path: Path
) -> None:
    """2,000 requests from 8 threads: every good one right, every bad one 4xx."""
    project = rendered(SOAK_ANSWERS)
    package = package_name(project)
    env = project_env(
        project, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}"
    )
    env["PATH"] = f"{Path(PYTHON).parent}{os.pathsep}{env['PATH']}"
    trained = run(
        [PYTHON, "-m", f"{package}.train", "--registered-model-name", ""],
        cwd=tmp_path,
        env=env,
    )
    uri = last_line(trained)
    requests_file = tmp_path / "requests.json"
    run_script("soak_requests", package, uri, str(requests_file), cwd=tmp_path, env=env)
    good = json.loads(requests_file.read_text())
    port = free_port()
    command = [
        PYTHON,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        uri,
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    url = f"http://127.0.0.1:{port}"
    with running_server(command, tmp_path, env, f"{url}/ping"):
        problems = soak(f"{url}/invocations", good, bad_requests(good[0]["body"]))
        assert (
            post(f"{url}/invocations", json.dumps(good[0]["body"]).encode())[0] == 200
        )
        with urllib.request.urlopen(f"{url}/health", timeout=10) as health:
            assert health.status == 200
    assert not problems, f"{len(problems)} problems, e.g. {problems[:3]}"
