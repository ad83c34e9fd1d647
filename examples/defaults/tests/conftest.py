"""Fixtures: held-out data, a model trained in-process, a model logged by the CLI."""

import importlib.util
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import sqlalchemy
from servers import Server, free_port, stop, wait_until_ready

from my_model import kserve
from my_model.making.data import load_data
from my_model.model import Model
from my_model.score import DRIFT_EXPERIMENT
from my_model.train import (
    DEFAULT_EXPERIMENT,
    fit_model,
    split,
    train,
)

#: The experiment the tests train the mixed-column models in.
MIXED_EXPERIMENT = "mixed"
#: A database URI (postgresql+psycopg2://USER:PASSWORD@HOST:PORT/DATABASE) for the
#: registry: when set, the whole session tracks to a real `mlflow server` on a
#: fresh database there, as production registries run (the generated CI sets
#: it to its `postgres` service); unset, to a SQLite file.
DATABASE_VARIABLE = "TEST_REGISTRY_DATABASE_URI"
#: The Spark engine runs where pyspark (the `spark` extra) and Java are
#: installed: elsewhere tests/test_spark_scoring.py is not collected, and the
#: header says so.
SPARK_HERE = importlib.util.find_spec("pyspark") is not None and bool(
    shutil.which("java")
)
collect_ignore = [] if SPARK_HERE else ["test_spark_scoring.py"]

#: MLServer 1.7, its last release, installs on Python < 3.13 only (the `kserve`
#: extra's marker): there, its tests are not collected, and the header says so.
V2_SERVING_HERE = sys.version_info < (3, 13)
if not V2_SERVING_HERE:
    collect_ignore.append("test_kserve.py")


def pytest_report_header() -> list[str]:
    if os.environ.get(DATABASE_VARIABLE):
        lines = [
            f"registry: `mlflow server` on a fresh database at {DATABASE_VARIABLE}"
        ]
    else:
        lines = [
            f"registry: SQLite; set {DATABASE_VARIABLE} to run the tests against "
            "`mlflow server` on PostgreSQL"
        ]
    if SPARK_HERE:
        lines.append("Spark: tests/test_spark_scoring.py runs the Spark engine")
    else:
        lines.append(
            "Spark: tests/test_spark_scoring.py not collected: it needs pyspark "
            "(pip install -e '.[spark]') and Java"
        )
    if V2_SERVING_HERE:
        lines.append("V2 serving: tests/test_kserve.py runs a real `mlserver start`")
    else:
        lines.append(
            "V2 serving: tests/test_kserve.py not collected: MLServer 1.7 installs "
            "on Python < 3.13 only"
        )
    return lines


@contextmanager
def fresh_database(uri: str) -> Iterator[str]:
    """Create a database of its own beside the one `uri` names; drop it after."""
    url = sqlalchemy.engine.make_url(uri)
    name = f"mlflow_test_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(
                sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            )
        engine.dispose()


@contextmanager
def registry_server(database: str, folder: Path) -> Iterator[str]:
    """Run `mlflow server` on `database`, artifacts in `folder`; yield its URL."""
    port = free_port()
    log = folder / "server.log"
    command = [sys.executable, "-m", "mlflow", "server", "--workers", "1"]
    command += ["--artifacts-destination", str(folder / "artifacts")]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    # The database URI holds a password: in the environment, not in `ps`.
    env = {**os.environ, "MLFLOW_BACKEND_STORE_URI": database}
    with log.open("w") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_until_ready(server, "/health")
        yield server.url
    finally:
        stop(process)


@pytest.fixture(scope="session", autouse=True)
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Keep every run of the session in a temporary tracking store: a SQLite
    file with the runs' artifacts beside it (MLflow would write them to
    `./mlruns`), or a real `mlflow server` on a fresh database when
    DATABASE_VARIABLE is set."""
    folder = tmp_path_factory.mktemp("tracking")
    database = os.environ.get(DATABASE_VARIABLE)
    with ExitStack() as stack:
        if database:
            fresh = stack.enter_context(fresh_database(database))
            uri = stack.enter_context(registry_server(fresh, folder))
        else:
            uri = f"sqlite:///{folder / 'mlflow.db'}"
        previous = os.environ.get("MLFLOW_TRACKING_URI")
        os.environ["MLFLOW_TRACKING_URI"] = uri
        mlflow.set_tracking_uri(uri)
        # Create the store and the session's experiments here, before a
        # subprocess of the session opens the store too.
        for name in (DEFAULT_EXPERIMENT, MIXED_EXPERIMENT, DRIFT_EXPERIMENT):
            location = None if database else (folder / name).as_uri()
            mlflow.create_experiment(name, artifact_location=location)
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
    """Number, string, boolean and date columns with missing values and spaces
    in their names: booleans with gaps (pandas reads them as objects) and dates
    as ISO 8601 text, as a CSV gives them."""
    rng = np.random.default_rng(0)
    rows = 300
    signup = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        rng.integers(0, 365, rows), unit="D"
    )
    frame = pd.DataFrame(
        {
            "size cm": rng.normal(10.0, 3.0, rows),
            "colour name": rng.choice(["red", "green", "blue"], rows).astype(object),
            "item count": rng.integers(0, 5, rows),
            "is member": rng.choice([True, False], rows).astype(object),
            "signup date": signup.strftime("%Y-%m-%d").astype(object),
        }
    )
    frame.loc[::9, "size cm"] = np.nan
    frame.loc[::11, "colour name"] = None
    frame.loc[::7, "is member"] = None
    frame.loc[::13, "signup date"] = None
    signal = (
        frame["size cm"].fillna(10.0)
        + 3.0 * (frame["colour name"] == "red")
        + 2.0 * (frame["is member"] == True)  # noqa: E712 (a column of objects)
    )
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
        experiment=MIXED_EXPERIMENT,
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
def store_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CSV whose string feature `store` is mostly digits ("101"), with gaps.

    A CSV has no types: a reader that guesses them batch by batch reads
    "101" as the number 101.0 in a batch that also has a gap.
    """
    rng = np.random.default_rng(1)
    rows = 1_000
    frame = pd.DataFrame(
        {
            "store": rng.choice(["101", "102", "205", "A7"], rows).astype(object),
            "x": rng.normal(0.0, 1.0, rows),
        }
    )
    signal = frame["x"] + 4.0 * frame["store"].isin(["101", "A7"])
    frame.loc[::7, "store"] = None
    frame["target"] = np.where(signal > signal.median(), "yes", "no")
    path = tmp_path_factory.mktemp("stores") / "stores.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def store_logged_uri(store_data: Path, tracking_uri: str) -> str:
    """A model trained by `train` on `store_data`, not registered."""
    info = train(data=store_data, experiment=MIXED_EXPERIMENT, registered_model_name="")
    return info.model_uri


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
def cli_process(
    tmp_path_factory: pytest.TempPathFactory, tracking_uri: str
) -> Iterator[tuple[subprocess.Popen, Path]]:
    """Start the train CLI as a user would; the session goes on meanwhile.

    Yields the process and the folder it runs in, which holds its output.
    """
    workdir = tmp_path_factory.mktemp("cli")
    command = [sys.executable, "-m", "my_model.train"]
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    with (workdir / "stdout").open("w") as stdout:
        with (workdir / "stderr").open("w") as stderr:
            process = subprocess.Popen(
                command,
                cwd=workdir,
                env=env,
                stdout=stdout,
                stderr=stderr,
            )
    yield process, workdir
    if process.poll() is None:
        process.kill()


def finished(cli: tuple[subprocess.Popen, Path]) -> subprocess.CompletedProcess:
    """Wait for the train CLI to finish; return what it did."""
    process, workdir = cli
    returncode = process.wait(timeout=300)
    return subprocess.CompletedProcess(
        process.args,
        returncode,
        (workdir / "stdout").read_text(),
        (workdir / "stderr").read_text(),
    )


@pytest.fixture(scope="session")
def cli_run(cli_process: tuple[subprocess.Popen, Path]) -> subprocess.CompletedProcess:
    """The train CLI's run, once it is over."""
    result = finished(cli_process)
    assert result.returncode == 0, result.stderr
    return result


def printed_model_uri(result: subprocess.CompletedProcess) -> str:
    """The URI the train CLI prints last."""
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def cli_model_uri(cli_run: subprocess.CompletedProcess) -> str:
    """The URI the train CLI prints last."""
    return printed_model_uri(cli_run)


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


class Starting:
    """A server a thread starts once what it serves exists, while tests run."""

    def __init__(self, start: Callable[[], Server]) -> None:
        self._server: Server | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(start,), daemon=True)
        self._thread.start()

    def _run(self, start: Callable[[], Server]) -> None:
        try:
            self._server = start()
        except BaseException as error:  # raised again in the test that waits
            self._error = error

    def server(self) -> Server:
        """Wait until the server is started; raise what stopped it, if anything."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._server is not None
        return self._server

    def stop(self) -> None:
        """Stop the server, if it started."""
        self._thread.join()
        if self._server is not None:
            stop(self._server.process)


@pytest.fixture(scope="session")
def serving_start(
    cli_process: tuple[subprocess.Popen, Path],
    tracking_uri: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Starting]:
    """Start `mlflow models serve --env-manager local` on a free port, serving
    the train CLI's model as soon as the CLI has logged it."""
    log = tmp_path_factory.mktemp("serve") / "server.log"

    def start() -> Server:
        result = finished(cli_process)
        if result.returncode != 0:
            raise RuntimeError(f"the train CLI failed:\n{result.stderr}")
        model_uri = printed_model_uri(result)
        port = free_port()
        bin_dir = str(Path(sys.executable).parent)
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": tracking_uri,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri]
        command += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
        with log.open("w") as output:
            process = subprocess.Popen(
                command, env=env, stdout=output, stderr=subprocess.STDOUT
            )
        return Server(process, f"http://127.0.0.1:{port}", log)

    starting = Starting(start)
    yield starting
    starting.stop()


@pytest.fixture(scope="session")
def serving_process(serving_start: Starting) -> Server:
    """The scoring server; tests/test_serving.py waits for it to answer."""
    return serving_start.server()


@pytest.fixture(scope="session")
def kserve_folder(
    mixed_logged_uri: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The folder the package's `kserve` command writes for the mixed model."""
    folder = tmp_path_factory.mktemp("kserve") / "mixed model"
    arguments = ["--model-uri", mixed_logged_uri, "--output", str(folder)]
    kserve.main([*arguments, "--name", "mixed", "--storage-uri", "s3://models/mixed"])
    return folder


@pytest.fixture(scope="session")
def mlserver_process(
    kserve_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """Start `mlserver start` on the kserve folder, on free ports; its settings
    bind 127.0.0.1. Yields the server; tests/test_kserve.py waits for it to
    answer."""
    mlserver = Path(sys.executable).with_name("mlserver")
    assert mlserver.exists(), "mlserver is missing: pip install -e '.[test]'"
    port, grpc_port = free_port(), free_port()
    workdir = tmp_path_factory.mktemp("mlserver")
    env = {
        **os.environ,
        "MLSERVER_HTTP_PORT": str(port),
        "MLSERVER_GRPC_PORT": str(grpc_port),
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
    yield Server(process, f"http://127.0.0.1:{port}", log, f"127.0.0.1:{grpc_port}")
    stop(process)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the serving tests last, so that the servers boot meanwhile."""
    items.sort(key=lambda item: item.get_closest_marker("serving") is not None)


@pytest.fixture(scope="session", autouse=True)
def start_early(request: pytest.FixtureRequest) -> None:
    """Start the train CLI and the servers, if any test needs them, while the
    other tests run."""
    needed = {name for item in request.session.items for name in item.fixturenames}
    early = ["cli_process", "serving_start", "mlserver_process"]
    for name in early:
        if name in needed:
            request.getfixturevalue(name)
