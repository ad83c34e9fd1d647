"""README.md's code, run as written against the model the train CLI logged.

Every `bash` and `python` block of README.md runs here, in order, in one
working directory, unless NOT_RUN (or NOT_RUN_UNDER, for a whole section)
says why it cannot (a file only you have, a Spark cluster, the package
index): a new block runs without being listed, and a NOT_RUN entry that
matches no block fails. Blocks run with three changes only: the URI train
printed for `models:/m-...`; free ports for 5001, 8080 and 8081 (suites may
run side by side); and `curl -s` with `--fail-with-body` added, so a refused
request fails its block instead of printing an error. Servers a block starts
(`mlflow models serve`, `mlserver start`) run in the background until the
test ends. The Python blocks under one heading run in one interpreter, in
order, as a reader pastes them. The package's entry points are declared as
`pip install -e .` declares them (`entry_points.declare`: the suite may run
from src/), so that `mlflow.models.evaluate` finds its evaluator; the Spark
block runs where pyspark (the `spark` extra) and Java are installed.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from entry_points import declare
from servers import Server, free_port, stop, wait_until_ready

from wine_grade.making.data import load_data

pytestmark = pytest.mark.serving

README = Path(__file__).resolve().parents[1] / "README.md"
#: Blocks not run, by a text they hold, with the reason.
NOT_RUN = {
    "python -m venv .venv": "the set-up this suite runs in",
    "TEST_REGISTRY_DATABASE_URI=": "the suite itself, on your PostgreSQL server",
    "--data data.csv": (
        "needs your data.csv (the first line, train on the bundled data, is "
        "conftest's cli_process, whose model the other blocks use)"
    ),
    "fit(features, target": "fits your own features and target",
    "--engine spark": "installs the spark extra (tests/test_spark_scoring.py runs it)",
    "spark-submit": "needs a Spark cluster",
    "--env-manager uv": "rebuilds the model's environment from the package index",
    "@champion": "the server above, by alias",
    "set_registered_model_alias(": "moves the champion alias of your registry",
    "copier update": "needs the template's repository",
}
if importlib.util.find_spec("pyspark") is None or shutil.which("java") is None:
    NOT_RUN["spark_udf("] = "needs pyspark (pip install -e '.[spark]') and Java"
#: Sections not run here, by heading, with the reason.
NOT_RUN_UNDER: dict[str, str] = {}
if sys.version_info >= (3, 13):
    NOT_RUN_UNDER["### On MLServer and KServe (V2 protocol)"] = (
        "MLServer 1.7 installs on Python < 3.13 only"
    )
#: The port each README port becomes here.
PORTS = ("5001", "8080", "8081")
#: A line that starts a server, and the path that answers once it is ready.
SERVERS = {"mlflow models serve": "/ping", "mlserver start": "/v2/health/ready"}


@dataclass(frozen=True)
class Block:
    """A fenced code block of README.md, under its nearest heading."""

    heading: str
    language: str
    code: str

    @property
    def skipped_because(self) -> str:
        if self.heading in NOT_RUN_UNDER:
            return NOT_RUN_UNDER[self.heading]
        return next((why for text, why in NOT_RUN.items() if text in self.code), "")


def blocks() -> list[Block]:
    """The README's `bash` and `python` blocks, in order."""
    found, heading = [], ""
    pattern = r"(?ms)^(#+ [^\n]*)$|^```(\w*)\n(.*?)^```"
    for match in re.finditer(pattern, README.read_text()):
        if match.group(1):
            heading = match.group(1)
        elif match.group(2) in ("bash", "python"):
            found.append(Block(heading, match.group(2), match.group(3)))
    return found


class Reader:
    """Runs README blocks as a reader would, in one working directory and the
    environment `env`; the servers' logs go to `logs`."""

    def __init__(
        self,
        workdir: Path,
        logs: Path,
        model_uri: str,
        ports: dict[str, str],
        env: dict[str, str],
    ) -> None:
        self.workdir = workdir
        self.logs = logs
        self.model_uri = model_uri
        self.ports = ports
        self.servers: list[Server] = []
        self.sessions: dict[str, list[str]] = {}
        bin_dir = str(Path(sys.executable).parent)
        self.env = {
            **env,
            "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            # Not in the README: MLServer's metrics port, free like the others.
            "MLSERVER_METRICS_PORT": ports["metrics"],
        }

    def as_run_here(self, code: str) -> str:
        for port in PORTS:
            code = code.replace(port, self.ports[port])
        code = code.replace("models:/m-...", self.model_uri)
        return code.replace("curl -s ", "curl -sS --fail-with-body ")

    def run(self, block: Block) -> None:
        code = self.as_run_here(block.code)
        if block.language == "python":
            session = self.sessions.setdefault(block.heading, [])
            session.append(code)
            self.check([sys.executable, "-c", "\n".join(session)], block)
            return
        script: list[str] = []
        for line in code.replace("\\\n", " ").splitlines():
            ready_path = next(
                (path for start, path in SERVERS.items() if start in line), None
            )
            if ready_path is None:
                script.append(line)
                continue
            self.run_script(script, block)
            script = []
            self.start(line, ready_path)
        self.run_script(script, block)

    def run_script(self, lines: list[str], block: Block) -> None:
        if any(line.strip() for line in lines):
            self.check(["bash", "-euo", "pipefail", "-c", "\n".join(lines)], block)

    def check(self, command: list[str], block: Block) -> None:
        result = subprocess.run(
            command,
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, (
            f"README block under {block.heading!r} failed:\n{block.code}\n"
            f"--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
        )

    def start(self, command: str, ready_path: str) -> None:
        port = re.search(r"(?:-p |MLSERVER_HTTP_PORT=)(\d+)", command).group(1)
        log = self.logs / f"server-{len(self.servers)}.log"
        # `exec` after the command's own variables: stopping it stops the server.
        variables, program = re.match(r"((?:\w+=\S+ )*)(.*)", command).groups()
        with log.open("w") as output:
            process = subprocess.Popen(
                ["bash", "-c", f"{variables}exec {program}"],
                cwd=self.workdir,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        server = Server(process, f"http://127.0.0.1:{port}", log)
        self.servers.append(server)
        wait_until_ready(server, ready_path)

    def stop(self) -> None:
        for server in self.servers:
            stop(server.process)


@pytest.fixture
def reader(
    cli_model_uri: str, tmp_path: Path, free_ports: dict[str, str]
) -> Iterator[Reader]:
    """A reader in a fresh directory holding the project's .gitignore and the
    file the README scores: customers.parquet, rows of the bundled data with a
    customer_id; the project's entry points are declared."""
    workdir, logs = tmp_path / "project", tmp_path / "logs"
    workdir.mkdir()
    logs.mkdir()
    shutil.copyfile(README.with_name(".gitignore"), workdir / ".gitignore")
    features, _ = load_data(None, "target")
    customers = features.head(40).assign(customer_id=range(40))
    customers.to_parquet(workdir / "customers.parquet")
    env = declare(tmp_path / "site")
    reader = Reader(workdir, logs, cli_model_uri, free_ports, env)
    yield reader
    reader.stop()


@pytest.fixture
def free_ports() -> dict[str, str]:
    return {name: str(free_port()) for name in (*PORTS, "metrics")}


def test_every_not_run_entry_names_a_block() -> None:
    code = [block.code for block in blocks()]
    for text in NOT_RUN:
        assert any(text in one for one in code), f"NOT_RUN {text!r} matches no block"


def test_the_readme_runs_as_written(reader: Reader) -> None:
    ran = []
    for block in blocks():
        if not block.skipped_because:
            reader.run(block)
            ran.append(block.heading)
    assert "## Load and predict" in ran
    assert "## Evaluate" in ran
    assert "## Serve" in ran
    scored = pd.read_parquet(reader.workdir / "scored.parquet")
    assert len(scored) == 40
    # What the commands wrote is git-ignored: `copier update` refuses a dirty
    # project, and a user commits none of it.
    subprocess.run(["git", "init", "-q"], cwd=reader.workdir, check=True)
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=reader.workdir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    untracked = {line[3:] for line in status.splitlines()}
    assert untracked == {".gitignore", "customers.parquet"}, status
