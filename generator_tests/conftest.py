"""Render projects from the working tree of the template, once per answer set."""

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import copier
import pytest

REPO = Path(__file__).resolve().parent.parent
#: What Copier reads: the questionnaire, the rendered folder and the macros.
TEMPLATE_PARTS = ("copier.yml", "template", "includes")


@pytest.fixture(scope="session")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain (non-git) copy of the template's working tree.

    Copier renders a git template from its latest tag; the tests check the
    working tree instead, so they copy it.
    """
    target = tmp_path_factory.mktemp("template")
    for part in TEMPLATE_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target / part)
        else:
            shutil.copy2(source, target / part)
    return target


def render(template: Path, destination: Path, answers: dict) -> Path:
    """Run `copier copy` non-interactively with `answers` on top of the defaults."""
    copier.run_copy(
        str(template),
        str(destination),
        data=answers,
        defaults=True,
        quiet=True,
        unsafe=False,
    )
    return destination


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


def package_name(project: Path) -> str:
    """The package a rendered project holds under src/."""
    (package,) = [path.name for path in (project / "src").iterdir() if path.is_dir()]
    return package


def project_env(project: Path, **extra: str) -> dict[str, str]:
    """Environment to run a rendered project's code in this interpreter."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MLFLOW_", "PYTEST_", "COV_"))
    }
    env["PYTHONPATH"] = str(project / "src")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its output when it fails."""
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} failed ({result.returncode}) in {cwd}\n"
        f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}"
    )
    return result


PYTHON = sys.executable
