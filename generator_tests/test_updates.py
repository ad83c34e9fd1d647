"""`copier update`: owners' edits survive, conflicts are marked, re-answered
questions re-render, migrations run, and an update to the same version is a no-op.

The template is taken from git at several versions, made in a temporary clone:
v0.1.0 (before the loader_module rename, as released), v0.2.0 and v0.3.0 (this
tree; updating from one to the other runs the 0.3.0 migration) and v0.3.1 (this
tree plus a scripted template change).
"""

import json
from collections.abc import Callable
from pathlib import Path

import copier
import pandas as pd
import pytest
import yaml
from helpers import (
    NEW_DOCSTRING,
    OLD_DOCSTRING,
    PYTHON,
    QUICK_SUITE,
    README_ADDITION,
    REPO,
    commit_all,
    git,
    init_repo,
    package_name,
    project_env,
    render,
    run,
    run_project_tests,
    run_script,
    update,
)
from sklearn.datasets import load_breast_cancer

MIGRATION = REPO / "migrations" / "v0_3_0_old_champion_scores.py"
OWNED = "in a process of its own (the fraud team's)"


@pytest.fixture
def generate(template_repo: Path, tmp_path: Path) -> Callable[..., Path]:
    """Generate a committed project from a template version."""

    def make(version: str, **answers: object) -> Path:
        project = render(template_repo, tmp_path / "project", answers, version)
        init_repo(project)
        commit_all(project, f"generated from {version}")
        return project

    return make


def answers_of(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def conflict_markers(project: Path) -> list[str]:
    return [
        str(path.relative_to(project))
        for path in project.rglob("*")
        if path.is_file()
        and ".git" not in path.parts
        and "<<<<<<< before updating" in path.read_text(errors="ignore")
    ]


def edit_as_owner(project: Path) -> dict[str, str]:
    """The owner's edits; returns the text each edited or new file must keep."""
    package = project / "src" / package_name(project)
    (package / "features.py").write_text(
        '"""Feature helpers the team added."""\n\n\ndef ratio(a: float, b: float) -> float:\n'
        '    """Return a / b."""\n    return a / b\n'
    )
    (project / "tests" / "test_features.py").write_text(
        f"from {package.name}.features import ratio\n\n\n"
        "def test_ratio() -> None:\n    assert ratio(6, 3) == 2\n"
    )
    readme = project / "README.md"
    lines = readme.read_text().splitlines(keepends=True)
    lines[2] = "Scores fraud risk for card payments; owned by the fraud team.\n"
    readme.write_text("".join(lines))
    train = package / "train.py"
    train.write_text(
        train.read_text().replace("TEST_SIZE = 0.2\n", "TEST_SIZE = 0.25\n")
    )
    commit_all(project, "owner edits")
    return {
        f"src/{package.name}/features.py": "def ratio(",
        "tests/test_features.py": "def test_ratio()",
        "README.md": "owned by the fraud team",
        f"src/{package.name}/train.py": "TEST_SIZE = 0.25\n",
    }


def test_update_keeps_user_edits_and_brings_the_template_change(
    generate: Callable[..., Path],
) -> None:
    project = generate("v0.3.0")
    kept = edit_as_owner(project)
    update(project, "v0.3.1")
    for path, text in kept.items():
        assert text in (project / path).read_text(), path
    package = package_name(project)
    assert README_ADDITION.strip() in (project / "README.md").read_text()
    assert NEW_DOCSTRING in (project / f"src/{package}/making/data.py").read_text()
    assert (project / f"src/{package}/py.typed").is_file()
    assert answers_of(project)["_commit"] == "v0.3.1"
    assert conflict_markers(project) == []
    assert not list(project.rglob("*.rej"))
    run_project_tests(project, *QUICK_SUITE)


def test_an_update_follows_the_readme_commands(
    generate: Callable[..., Path], tmp_path: Path
) -> None:
    """What the generated README's commands write (the tracking store, scored
    files, drift reports, the V2 folder) leaves the project clean for
    `copier update`, which refuses a dirty one."""
    project = generate("v0.3.0")
    package = package_name(project)
    env = project_env(project)
    env.pop("MLFLOW_TRACKING_URI", None)  # the README's default: ./mlflow.db
    uri = (
        run(
            [PYTHON, "-m", f"{package}.train", "--registered-model-name", ""],
            cwd=project,
            env=env,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    rows = tmp_path / "customers.parquet"  # the user's data, kept elsewhere
    load_breast_cancer(as_frame=True).data.head(50).to_parquet(rows)
    run(
        [PYTHON, "-m", f"{package}.score", "--model-uri", uri, "--input", str(rows)]
        + ["--output", "scored.parquet", "--drift"],
        cwd=project,
        env=env,
    )
    run(
        [PYTHON, "-m", f"{package}.kserve", "--model-uri", uri]
        + ["--output", "serving"],
        cwd=project,
        env=env,
    )
    written = {"mlflow.db", "scored.parquet", "scored.drift.json", "serving"}
    assert written <= {path.name for path in project.iterdir()}
    assert git(project, "status", "--porcelain") == ""
    update(project, "v0.3.1")
    assert answers_of(project)["_commit"] == "v0.3.1"


def test_a_conflicting_edit_is_marked_inline(generate: Callable[..., Path]) -> None:
    project = generate("v0.3.0")
    kept = edit_as_owner(project)
    data = project / "src" / package_name(project) / "making" / "data.py"
    data.write_text(
        data.read_text().replace(OLD_DOCSTRING, '"""Team reader of the data files."""')
    )
    commit_all(project, "owner rewrites a docstring the template also changes")
    update(project, "v0.3.1")
    assert conflict_markers(project) == [str(data.relative_to(project))]
    text = data.read_text()
    assert '"""Team reader of the data files."""' in text
    assert NEW_DOCSTRING in text
    for path, expected in kept.items():
        assert expected in (project / path).read_text(), path
    assert not list(project.rglob("*.rej"))


def test_reanswering_predict_output_renders_the_new_choice(
    generate: Callable[..., Path],
) -> None:
    project = generate("v0.3.0")
    kept = edit_as_owner(project)
    update(project, "v0.3.0", predict_output="label")
    package = project / "src" / package_name(project)
    model = (package / "model" / "predictor.py").read_text()
    assert "Return the most likely class label" in model
    assert "def _probabilities" not in model
    assert answers_of(project)["predict_output"] == "label"
    for path, expected in kept.items():
        assert expected in (project / path).read_text(), path


def test_changing_packaging_removes_files_only_the_old_choice_needed(
    generate: Callable[..., Path],
) -> None:
    project = generate("v0.3.0")
    kept = edit_as_owner(project)
    package = project / "src" / package_name(project)
    assert (package / "pyfunc_model.py").is_file()
    update(project, "v0.3.0", packaging="loader_module")
    assert not (package / "pyfunc_model.py").exists()
    assert "def _load_pyfunc(" in (package / "loader.py").read_text()
    assert (
        f'loader_module="{package.name}.loader"'
        in (package / "making" / "logged_model.py").read_text()
    )
    for path, expected in kept.items():
        assert expected in (project / path).read_text(), path
    assert conflict_markers(project) == []


def test_updating_to_the_same_version_changes_nothing(
    generate: Callable[..., Path],
) -> None:
    project = generate("v0.3.0")
    edit_as_owner(project)
    update(project, "v0.3.0")
    assert git(project, "status", "--porcelain") == ""


def test_migration_carries_an_edited_loader_across_the_rename(
    generate: Callable[..., Path],
) -> None:
    project = generate("v0.1.0", packaging="loader_module")
    package = project / "src" / package_name(project)
    old = package / "pyfunc_model.py"
    old.write_text(
        old.read_text().replace(
            '"""Load the model from the directory logged as `data_path`."""',
            '"""Load the model from the directory logged as `data_path` (team edit)."""',
        )
    )
    commit_all(project, "owner edits the loader")
    with pytest.raises(copier.errors.UnsafeTemplateError, match="migrations"):
        update(project, "v0.2.0")
    update(project, "v0.2.0", trust=True)
    assert not old.exists()
    loader = (package / "loader.py").read_text()
    assert "(team edit)" in loader
    assert (
        f'loader_module="{package.name}.loader"'
        in (package / "making" / "logged_model.py").read_text()
    )
    assert conflict_markers(project) == []
    run_project_tests(project, *QUICK_SUITE)


def test_updates_that_cross_no_migration_need_no_trust(
    generate: Callable[..., Path],
) -> None:
    project = generate("v0.3.0", packaging="loader_module")
    update(project, "v0.3.1")
    assert answers_of(project)["_commit"] == "v0.3.1"


def test_migration_keeps_champions_of_older_versions_scorable(
    generate: Callable[..., Path], tmp_path: Path
) -> None:
    """Models logged before 0.3 have `_scores`, not `scores`: a project updated
    across 0.3.0 scores such a champion; a fresh project carries no fallback."""
    project = generate("v0.2.0")
    package = project / "src" / package_name(project)
    scorer = package / "registry" / "champion_scores.py"
    assert "._scores" not in scorer.read_text()
    scorer.write_text(scorer.read_text().replace("in a process of its own", OWNED))
    commit_all(project, "owner edits the champion scorer's docstring")
    with pytest.raises(copier.errors.UnsafeTemplateError, match="migrations"):
        update(project, "v0.3.0")
    update(project, "v0.3.0", trust=True)
    text = scorer.read_text()
    assert OWNED in text
    assert 'getattr(model, "scores", None) or model._scores' in text
    assert conflict_markers(project) == []
    run([PYTHON, str(MIGRATION), "after"], cwd=project)
    assert scorer.read_text() == text

    # A version whose logged code still calls it `_scores`, as 0.2.0 logged
    # it, scored by that code in the isolated process promotion.py starts.
    work = tmp_path / "work"
    work.mkdir()
    env = project_env(project, MLFLOW_TRACKING_URI=f"sqlite:///{work}/mlflow.db")
    trained = run(
        [PYTHON, "-m", f"{package.name}.train", "--registered-model-name", ""],
        cwd=work,
        env=env,
    )
    logged = list(work.rglob("predictor.py"))
    assert logged, "the model's code is logged with it"
    for model_py in logged:
        old = model_py.read_text().replace("def scores(", "def _scores(")
        model_py.write_text(old.replace("self.scores(", "self._scores("))
    uri = trained.stdout.strip().splitlines()[-1]
    run_script("promotion_data", package.name, str(work), cwd=work, env=env)
    features = pd.read_csv(work / "eval.csv").drop(columns="target")
    features.to_parquet(work / "features.parquet")
    # The store's URI reaches the scorer through its environment, as
    # promotion.py passes it (a URI may hold a password).
    command = [PYTHON, "-I", str(scorer), uri]
    command += [str(work / "features.parquet"), str(work / "scores.json")]
    run(command, cwd=work, env=env)
    scores = json.loads((work / "scores.json").read_text())["scores"]
    assert len(scores) == len(features)
