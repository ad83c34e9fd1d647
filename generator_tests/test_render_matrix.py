"""Every pairwise answer set renders a clean, formatted, compilable project."""

import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from answer_sets import (
    EDGE_CASES,
    TEMPLATE,
    answer_id,
    choices,
    declared,
    pairwise_answer_sets,
)
from helpers import PYTHON, package_name, run

MATRIX = pairwise_answer_sets() + EDGE_CASES
#: `{{ name`, `{%`, `%}`, `{#`, `#}`: what unrendered Jinja looks like (JSON
#: examples in READMEs may legitimately end in `}}`).
LEFTOVER_JINJA = re.compile(r"\{\{-?\s*[\w(]|\{%|%\}|\{#|#\}")
#: GitHub Actions expressions: `${{ github.token }}` is workflow syntax, not Jinja.
ACTIONS_EXPRESSION = re.compile(r"\$\{\{[^}]*\}\}")


def project_files(project: Path) -> list[Path]:
    return [path for path in project.rglob("*") if path.is_file()]


@pytest.fixture(params=MATRIX, ids=[answer_id(answers) for answers in MATRIX])
def project(request: pytest.FixtureRequest, rendered: Callable[[dict], Path]) -> Path:
    return rendered(request.param)


def test_no_leftover_jinja(project: Path) -> None:
    leftovers = [
        f"{path.relative_to(project)}: {line.strip()}"
        for path in project_files(project)
        for line in path.read_text().splitlines()
        if LEFTOVER_JINJA.search(
            ACTIONS_EXPRESSION.sub("", line) if path.suffix == ".yml" else line
        )
    ]
    assert leftovers == []


def test_passes_ruff_check(project: Path) -> None:
    run([PYTHON, "-m", "ruff", "check", "--no-cache", "."], cwd=project)


def test_is_already_formatted(project: Path) -> None:
    run(
        [PYTHON, "-m", "ruff", "format", "--check", "--diff", "--no-cache", "."],
        cwd=project,
    )


def test_compiles(project: Path) -> None:
    run([PYTHON, "-m", "compileall", "-q", "src", "tests"], cwd=project)


def test_config_files_parse(project: Path) -> None:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == package_name(project).replace("_", "-")
    for name in (
        ".copier-answers.yml",
        ".pre-commit-config.yaml",
        ".github/workflows/ci.yml",
        ".github/workflows/template-update.yml",
    ):
        assert yaml.safe_load((project / name).read_text())


def test_renders_only_the_chosen_options(project: Path) -> None:
    """Each value of each kind leaves its declared `marker` in src/ exactly when
    it is chosen, and the packaging's pyfunc file is the only one rendered."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    source = "\n".join(path.read_text() for path in (project / "src").rglob("*.py"))
    for question, folder in TEMPLATE.folders.items():
        chosen = answers[question]
        chosen = set(chosen) if isinstance(chosen, list) else {chosen}
        present = {
            value
            for value in choices(question)
            if declared(folder, value, "marker") in source
        }
        assert present == chosen, question
    package = project / "src" / package_name(project)
    chosen = declared("packaging", answers["packaging"], "pyfunc_file")
    for pyfunc_file in {
        declared("packaging", name, "pyfunc_file") for name in choices("packaging")
    }:
        assert (package / pyfunc_file).is_file() == (pyfunc_file == chosen), pyfunc_file


def test_v2_serving_exactly_where_mlserver_installs(project: Path) -> None:
    """MLServer 1.7 installs on Python 3.12 at most: newer projects serve with
    `mlflow models serve` only, and their README says why."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    supported = answers["python_version"] in ("3.11", "3.12")
    package = project / "src" / package_name(project)
    for path in (
        package / "kserve.py",
        package / "serving" / "mlserver_runtime.py",
        project / "tests" / "test_kserve.py",
    ):
        assert path.is_file() == supported, path
    extras = tomllib.loads((project / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert ("kserve" in extras) == supported
    # On Python 3.13 the extra installs nothing MLServer needs (MLServer 1.7
    # does not install there), so `pip install -e '.[test]'` works on every
    # Python the project supports.
    for requirement in extras.get("kserve", []):
        if requirement.startswith(("mlserver", "httptools", "uvloop")):
            assert "python_version < '3.13'" in requirement, requirement
    readme = (project / "README.md").read_text()
    assert ("has no `kserve` extra" in readme) == (not supported)
