"""Fixtures: the template's working tree, rendered once per answer set, and in git.

What the fixtures, the tests and the benchmarks share lives in `helpers.py`.
"""

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import copy_template, render, template_repo_at_versions


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
    """This template in a fresh git repository tagged v0.1.0, v0.2.0 and v0.3.0
    (see `helpers.template_repo_at_versions`)."""
    return template_repo_at_versions(tmp_path_factory.mktemp("template-git"))
