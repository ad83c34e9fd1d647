"""A generated model after training: a shared tracking server with a registry, and
a deployment that rebuilds the model's environment from its own pinned spec."""

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from answer_sets import PACKAGINGS
from helpers import PYTHON, last_line, package_name, project_env, run, run_script


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
    predictions = json.loads(output.read_text())["predictions"]
    assert len(predictions) == 5
    assert set(predictions[0]) == {"0", "1"}
