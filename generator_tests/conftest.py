"""Fixtures: the template's working tree, rendered once per answer set, and in git.

What the fixtures, the tests and the benchmarks share lives in `helpers.py`.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import (
    PYTHON,
    copy_template,
    free_port,
    render,
    running_postgres,
    running_server,
    template_repo_at_versions,
)


@pytest.fixture(scope="session")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain (non-git) copy of the template's working tree.

    Copier renders a git template from its latest tag; the tests check the
    working tree instead, so they copy it.
    """
    return copy_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def rendered(
    template_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[dict], Path]:
    """Render an answer set once per session (per xdist worker) and reuse it."""
    cache: dict[str, Path] = {}

    def get(answers: dict) -> Path:
        key = repr(sorted(answers.items()))
        if key not in cache:
            cache[key] = render(
                template_dir, tmp_path_factory.mktemp("project") / "project", answers
            )
        return cache[key]

    return get


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This template in a fresh git repository tagged v0.1.0, v0.2.0, v0.3.0 and
    v0.3.1 (see `helpers.template_repo_at_versions`)."""
    return template_repo_at_versions(tmp_path_factory.mktemp("template-git"))


@pytest.fixture(scope="session")
def tracking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mlflow server` with a SQLite store and local artifacts on a free port."""
    root = tmp_path_factory.mktemp("server")
    port = free_port()
    env = {
        key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")
    }
    command = [PYTHON, "-m", "mlflow", "server", "--workers", "1"]
    command += ["--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}"]
    command += ["--artifacts-destination", str(root / "artifacts")]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with running_server(command, root, env, f"{url}/health"):
        yield url


@pytest.fixture(scope="session")
def registry_database() -> Iterator[str]:
    """A PostgreSQL server of this session (per xdist worker), for the
    generated suites' registry: they make a database of their own in it."""
    with running_postgres() as uri:
        yield uri
