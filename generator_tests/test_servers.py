"""A generated model after training: a shared tracking server with a registry, and
a deployment that rebuilds the model's environment from its own pinned spec."""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import PYTHON, last_line, package_name, project_env, run, run_script


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mlflow server` with a SQLite store and local artifacts on a free port."""
    root = tmp_path_factory.mktemp("server")
    port = free_port()
    log = root / "server.log"
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")
    }
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "mlflow",
                "server",
                "--backend-store-uri",
                f"sqlite:///{root / 'mlflow.db'}",
                "--artifacts-destination",
                str(root / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            cwd=root,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"mlflow server exited:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start:\n{log.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


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
@pytest.mark.parametrize(
    "packaging", ["models_from_code", "artifacts", "loader_module", "wrapper"]
)
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
    predictions = json.loads(output.read_text())["predictions"]
    assert len(predictions) == 5
    assert set(predictions[0]) == {"0", "1"}
