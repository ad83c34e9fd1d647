"""GitHub workflows: every generated one is valid against GitHub's workflow schema,
and the template-update workflow's steps do what they say in a real project.

The schema check runs `check-jsonschema --builtin-schema vendor.github-workflows`
(offline) on every workflow of one project per Python version (the only answer
the workflows depend on), of the living examples and of this repository.

The template-update steps run with bash, as GitHub runs them, in projects copied
from a clone of this repository tagged from releases.yml, in which the current
tree is released as the next minor version and a scripted change (a new README
title) as the version after it.
"""

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from answer_sets import PYTHON_VERSIONS
from helpers import (
    PYTHON,
    REPO,
    commit_all,
    commit_and_tag,
    git,
    init_repo,
    next_version,
    releases,
    render,
    run,
    template_repo_at_releases,
)
from living_examples import EXAMPLES, EXAMPLES_DIR

WORKFLOW = REPO / "template/.github/workflows/template-update.yml"
CHECK = "Check for a newer template version"
UPDATE = "Update from the template"
#: The scripted template change of the version after the current tree.
TITLE = "\n# {{ project_name }}\n"
NEW_TITLE = "\n# {{ project_name }} (model package)\n"


def workflow_files(root: Path) -> list[Path]:
    return sorted(root.glob(".github/workflows/*.y*ml"))


def test_every_generated_workflow_is_valid(rendered: Callable[[dict], Path]) -> None:
    projects = [rendered({"python_version": version}) for version in PYTHON_VERSIONS]
    projects += [EXAMPLES_DIR / name for name in EXAMPLES]
    for project in projects:
        names = [path.name for path in workflow_files(project)]
        assert names == ["ci.yml", "template-update.yml"], project
    paths = [path for root in [*projects, REPO] for path in workflow_files(root)]
    result = run(
        [PYTHON, "-m", "check_jsonschema", "--builtin-schema"]
        + ["vendor.github-workflows", *map(str, paths)],
        cwd=REPO,
    )
    assert "ok -- validation done" in result.stdout


# --- The template-update workflow's steps, run in projects --------------------------


def next_versions() -> tuple[str, str]:
    """Tags of the current tree (`template_repo_at_releases` tags it) and of the
    scripted change after it."""
    current = next_version()
    return current, current.removesuffix(".0") + ".1"


@pytest.fixture(scope="module")
def template_git(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tagged clone: releases, the current tree, then the scripted change."""
    clone = tmp_path_factory.mktemp("workflow") / "template"
    template_repo_at_releases(clone)
    _, scripted = next_versions()
    readme = clone / "template" / "README.md.jinja"
    text = readme.read_text()
    assert text.count(TITLE) == 1
    readme.write_text(text.replace(TITLE, NEW_TITLE))
    commit_and_tag(clone, scripted)
    return clone


def project_at(template: Path, version: str, destination: Path) -> Path:
    """A committed project copied at `version` with the defaults."""
    project = render(template, destination, {}, version)
    init_repo(project)
    commit_all(project, f"generated from {version}")
    return project


def run_step(name: str, project: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """Run a step's script as GitHub does (bash -eo pipefail), Copier on PATH;
    return the result and the outputs it wrote to $GITHUB_OUTPUT."""
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["update"]["steps"]
    (script,) = [step["run"] for step in steps if step.get("name") == name]
    bin_dir = Path(PYTHON).parent
    assert (bin_dir / "copier").is_file(), f"no copier command in {bin_dir}"
    outputs = project.parent / "github-output"
    outputs.write_text("")
    env = dict(os.environ, GITHUB_OUTPUT=str(outputs))
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    written = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    return result, written


def test_check_step_says_up_to_date_at_the_latest_version(
    template_git: Path, tmp_path: Path
) -> None:
    project = project_at(template_git, next_versions()[1], tmp_path / "project")
    result, outputs = run_step(CHECK, project)
    assert result.returncode == 0, result.stderr
    assert "Up to date with the template." in result.stdout
    assert outputs == {}


def test_check_and_update_steps_bring_the_newer_version(
    template_git: Path, tmp_path: Path
) -> None:
    project = project_at(template_git, next_versions()[0], tmp_path / "project")
    result, outputs = run_step(CHECK, project)
    assert (result.returncode, outputs) == (0, {"newer": "true"}), result.stderr
    result, outputs = run_step(UPDATE, project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs == {"version": next_versions()[1]}
    assert (
        (project / "README.md").read_text().startswith("# My Model (model package)\n")
    )


def test_update_step_fails_when_conflict_markers_are_left(
    template_git: Path, tmp_path: Path
) -> None:
    project = project_at(template_git, next_versions()[0], tmp_path / "project")
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("# My Model\n", "# Fraud Model\n", 1))
    commit_all(project, "owner renames the project in its README")
    result, outputs = run_step(UPDATE, project)
    assert result.returncode == 1
    assert "::error::conflict markers left by copier update" in result.stdout
    assert "<<<<<<< before updating" in readme.read_text()
    assert outputs == {}


def test_update_step_stops_before_a_migration(
    template_git: Path, tmp_path: Path
) -> None:
    first = f"v{releases()[0]['version']}"
    project = project_at(template_git, first, tmp_path / "project")
    result, outputs = run_step(UPDATE, project)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "::error::this update runs a template migration" in result.stdout
    assert git(project, "status", "--porcelain") == ""
    assert outputs == {}


def test_check_step_fails_when_the_template_is_unreachable(
    template_git: Path, tmp_path: Path
) -> None:
    project = project_at(template_git, next_versions()[0], tmp_path / "project")
    answers = project / ".copier-answers.yml"
    text = answers.read_text().replace(str(template_git), str(tmp_path / "gone"))
    answers.write_text(text)
    commit_all(project, "template moved")
    result, outputs = run_step(CHECK, project)
    assert result.returncode == 1
    assert "::error::copier check-update failed" in result.stdout
    assert "git-tracked templates" in result.stderr
    assert outputs == {}
