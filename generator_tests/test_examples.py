"""The living examples in examples/ are what the template renders today, and
their own test suites pass (for a covering subset)."""

import shutil
from pathlib import Path

import pytest
from helpers import run_project_tests
from living_examples import EXAMPLES, EXAMPLES_DIR, RUN_OWN_TESTS, render_example


def files(root: Path) -> list[str]:
    """Every file below `root`, relative to it."""
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_is_what_the_template_renders(
    template_dir: Path, tmp_path: Path, name: str
) -> None:
    kept = EXAMPLES_DIR / name
    fresh = render_example(template_dir, EXAMPLES[name], tmp_path / name)
    hint = "run `python -m generator_tests.living_examples` and commit examples/"
    assert files(kept) == files(fresh), hint
    differing = [
        path
        for path in files(fresh)
        if (kept / path).read_bytes() != (fresh / path).read_bytes()
    ]
    assert differing == [], f"examples/{name} differs in {differing}: {hint}"


@pytest.mark.end_to_end
@pytest.mark.parametrize("name", RUN_OWN_TESTS)
def test_example_project_tests_pass(tmp_path: Path, name: str) -> None:
    """The whole suite, on the temporary SQLite store (the newcomer's run is
    the one on PostgreSQL)."""
    project = shutil.copytree(EXAMPLES_DIR / name, tmp_path / name)
    result = run_project_tests(project)
    assert "registry: SQLite" in result.stdout
