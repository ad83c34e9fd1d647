"""Fixtures: held-out data, a model trained in-process, a model logged by the CLI."""

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from churn_risk.model import Model
from churn_risk.train import (
    fit_model,
    load_data,
    split,
    train,
)


@pytest.fixture(scope="session", autouse=True)
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Keep every run of the session in a temporary SQLite tracking store."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('tracking') / 'mlflow.db'}"
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)
    yield uri
    if previous is None:
        del os.environ["MLFLOW_TRACKING_URI"]
    else:
        os.environ["MLFLOW_TRACKING_URI"] = previous


@pytest.fixture(scope="session")
def splits() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """The bundled dataset, split exactly as the train CLI splits it."""
    return split(*load_data(None, "target"))


@pytest.fixture(scope="session")
def model(splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]) -> Model:
    """The model the train CLI fits, trained in-process."""
    train_features, _, train_target, _ = splits
    return fit_model(train_features, train_target)


@pytest.fixture(scope="session")
def test_features(
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
) -> pd.DataFrame:
    """Held-out features."""
    return splits[1]


@pytest.fixture(scope="session")
def mixed_frame() -> pd.DataFrame:
    """Numeric and string columns with missing values and spaces in their names."""
    rng = np.random.default_rng(0)
    rows = 300
    frame = pd.DataFrame(
        {
            "size cm": rng.normal(10.0, 3.0, rows),
            "colour name": rng.choice(["red", "green", "blue"], rows).astype(object),
            "item count": rng.integers(0, 5, rows),
        }
    )
    frame.loc[::9, "size cm"] = np.nan
    frame.loc[::11, "colour name"] = None
    signal = frame["size cm"].fillna(10.0) + 3.0 * (frame["colour name"] == "red")
    frame["target"] = np.where(signal > signal.median(), "yes", "no")
    return frame


@pytest.fixture(scope="session")
def mixed_model(mixed_frame: pd.DataFrame) -> Model:
    """A model trained on `mixed_frame`; every feature is required."""
    return fit_model(mixed_frame.drop(columns="target"), mixed_frame["target"])


def train_on_mixed_csv(frame: pd.DataFrame, directory: Path, typed: bool) -> str:
    """Train on `frame` as a CSV with an id column and unlabelled rows.

    The id is excluded from the features and `size cm` is declared optional;
    `typed` logs the signature `train --typed-signature` logs.
    """
    data = directory / "mixed data.csv"
    frame = frame.assign(**{"row id": range(len(frame))})
    frame.loc[::50, "target"] = None
    frame.to_csv(data, index=False)
    info = train(
        data=data,
        experiment="mixed",
        registered_model_name="",
        exclude=["row id"],
        optional=["size cm"],
        typed_signature=typed,
    )
    return info.model_uri


@pytest.fixture(scope="session")
def mixed_logged_uri(
    mixed_frame: pd.DataFrame,
    tmp_path_factory: pytest.TempPathFactory,
    tracking_uri: str,
) -> str:
    """`train_on_mixed_csv` with the default signature, in the session's store."""
    return train_on_mixed_csv(mixed_frame, tmp_path_factory.mktemp("mixed"), False)


@pytest.fixture(scope="session")
def mixed_logged_model(mixed_logged_uri: str) -> mlflow.pyfunc.PyFuncModel:
    """The model `mixed_logged_uri` points at, loaded through MLflow."""
    return mlflow.pyfunc.load_model(mixed_logged_uri)


@pytest.fixture(scope="session")
def typed_logged_uri(
    mixed_frame: pd.DataFrame,
    tmp_path_factory: pytest.TempPathFactory,
    tracking_uri: str,
) -> str:
    """`train_on_mixed_csv` with `--typed-signature`, in the session's store."""
    return train_on_mixed_csv(mixed_frame, tmp_path_factory.mktemp("typed"), True)


@pytest.fixture(scope="session")
def typed_logged_model(typed_logged_uri: str) -> mlflow.pyfunc.PyFuncModel:
    """The model `typed_logged_uri` points at, loaded through MLflow."""
    return mlflow.pyfunc.load_model(typed_logged_uri)


@pytest.fixture(scope="session")
def cli_run(
    tmp_path_factory: pytest.TempPathFactory, tracking_uri: str
) -> subprocess.CompletedProcess:
    """Run the train CLI as a user would."""
    result = subprocess.run(
        [sys.executable, "-m", "churn_risk.train"],
        cwd=tmp_path_factory.mktemp("cli"),
        env={**os.environ, "MLFLOW_TRACKING_URI": tracking_uri},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="session")
def cli_model_uri(cli_run: subprocess.CompletedProcess) -> str:
    """The URI the train CLI prints last."""
    return cli_run.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def cli_model(cli_model_uri: str) -> mlflow.pyfunc.PyFuncModel:
    """The CLI's model, loaded back through MLflow."""
    return mlflow.pyfunc.load_model(cli_model_uri)


@pytest.fixture(scope="session")
def cli_model_dir(cli_model_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CLI's logged model, downloaded."""
    return Path(
        mlflow.artifacts.download_artifacts(
            cli_model_uri, dst_path=str(tmp_path_factory.mktemp("logged"))
        )
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def serving_process(
    cli_model_uri: str, tracking_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[subprocess.Popen, str, Path]]:
    """Start `mlflow models serve --env-manager local` on a free port.

    Yields the process, its base URL and its log; tests/test_serving.py waits
    for it to answer.
    """
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "server.log"
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", cli_model_uri]
    command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    with log.open("w") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    yield process, f"http://127.0.0.1:{port}", log
    stop(process)


@pytest.fixture(scope="session")
def kserve_folder(
    mixed_logged_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The folder the package's `kserve` command writes for the mixed model."""
    folder = tmp_path_factory.mktemp("kserve") / "mixed model"
    command = [sys.executable, "-m", "churn_risk.kserve"]
    command += ["--model-uri", mixed_logged_uri, "--output", str(folder)]
    command += ["--name", "mixed", "--storage-uri", "s3://models/mixed"]
    result = subprocess.run(
        command, env=dict(os.environ), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture(scope="session")
def mlserver_process(
    kserve_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[subprocess.Popen, str, Path]]:
    """Start `mlserver start` on the kserve folder, on free ports of 127.0.0.1.

    Yields the process, its base URL and its log; tests/test_kserve.py waits
    for it to answer.
    """
    mlserver = Path(sys.executable).with_name("mlserver")
    assert mlserver.exists(), "mlserver is missing: pip install -e '.[test]'"
    port = free_port()
    workdir = tmp_path_factory.mktemp("mlserver")
    env = {
        **os.environ,
        "MLSERVER_HOST": "127.0.0.1",
        "MLSERVER_HTTP_PORT": str(port),
        "MLSERVER_GRPC_PORT": str(free_port()),
        "MLSERVER_METRICS_PORT": str(free_port()),
    }
    log = workdir / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(mlserver), "start", str(kserve_folder)],
            cwd=workdir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    yield process, f"http://127.0.0.1:{port}", log
    stop(process)


def stop(process: subprocess.Popen) -> None:
    """Stop a server, killing it if it does not exit within 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session", autouse=True)
def start_serving_early(request: pytest.FixtureRequest) -> None:
    """Boot the servers while the other tests run, if any test needs them."""
    for server in ("serving_process", "mlserver_process"):
        if any(server in item.fixturenames for item in request.session.items):
            request.getfixturevalue(server)
