"""Every released version updates to the current tree as a fresh copy would.

In a clone of this repository tagged from releases.yml, with this checkout's
template committed on top (the current tree), a project is copied at every
released version for answer sets that version could give, committed, edited by
its owner and updated to the current tree. It must then equal a fresh copy of
the current tree with the same answers and the same owner edits (but for
`_commit`), with no conflict markers or *.rej files, but for what the
migrations it crosses add on purpose (EXPECTED_FROM_MIGRATIONS). Copier refuses
the update without trust exactly when it crosses a version that has a
migration. For one answer set per version, the updated project's own tests run.
"""

import difflib
import importlib.util
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import copier
import pytest
import yaml
from answer_sets import Template
from helpers import (
    PYTHON,
    QUICK_SUITE,
    REPO,
    commit_all,
    copier_cli,
    git,
    init_repo,
    next_version,
    package_name,
    project_env,
    releases,
    render,
    run,
    run_project_tests,
    template_repo_at_releases,
    update,
)
from packaging.version import Version

RELEASES = releases()
VERSIONS = [release["version"] for release in RELEASES]
#: The versions copier.yml's migrations are for.
MIGRATIONS = [
    Version(migration["version"])
    for migration in yaml.safe_load((REPO / "copier.yml").read_text())["_migrations"]
]
#: The 0.3.0 migration, whose `with_fallback` gives champion_scores.py as it
#: leaves the file.
_SPEC = importlib.util.spec_from_file_location(
    "old_champion_scores", REPO / "migrations" / "v0_3_0_old_champion_scores.py"
)
OLD_CHAMPIONS = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(OLD_CHAMPIONS)
#: Answer sets each released version could give: the defaults, a loader_module
#: project (the 0.2.0 migration renames its loader) and other frameworks, tasks,
#: outputs, packagings and extra methods of that version.
ANSWERS = {
    "0.1.0": {
        "defaults": {},
        "loader-module": {
            "task": "multiclass",
            "predict_output": "label",
            "packaging": "loader_module",
            "extra_methods": ["predict_proba"],
        },
        "sklearn-regression-wrapper": {
            "framework": "sklearn",
            "task": "regression",
            "predict_output": "value",
            "packaging": "wrapper",
            "extra_methods": ["predict_batch"],
        },
        "xgboost-thresholded-artifacts": {
            "project_name": "Card Risk",
            "python_version": "3.12",
            "predict_output": "thresholded_label",
            "packaging": "artifacts",
            "extra_methods": ["predict_proba", "explain"],
        },
    },
    "0.2.0": {
        "defaults": {},
        "lightgbm-top-k-loader-module": {
            "framework": "lightgbm",
            "task": "multiclass",
            "predict_output": "top_k",
            "packaging": "loader_module",
            "extra_methods": ["predict_proba", "explain"],
        },
        "catboost-regression-wrapper": {
            "framework": "catboost",
            "task": "regression",
            "predict_output": "value",
            "packaging": "wrapper",
            "extra_methods": ["predict_batch", "explain"],
            "registered_model_prefix": "fraud.",
        },
        "sklearn-positive-artifacts": {
            "project_name": "Card Risk",
            "framework": "sklearn",
            "predict_output": "positive_probability",
            "packaging": "artifacts",
            "extra_methods": ["predict_batch"],
        },
        # 3.10 is no longer offered: the update moves the project to 3.11.
        "python-3-10": {"python_version": "3.10", "packaging": "wrapper"},
    },
    "0.3.0": {
        "defaults": {},
        "sklearn-top-k-flavor": {
            "framework": "sklearn",
            "task": "multiclass",
            "predict_output": "top_k",
            "packaging": "flavor",
            "extra_methods": ["predict_proba"],
        },
        "lightgbm-regression-loader-module": {
            "framework": "lightgbm",
            "task": "regression",
            "predict_output": "value",
            "packaging": "loader_module",
            "extra_methods": ["predict_batch"],
        },
        "catboost-thresholded-artifacts": {
            "project_name": "Card Risk",
            "framework": "catboost",
            "predict_output": "thresholded_label",
            "packaging": "artifacts",
            "registered_model_name": "",
        },
        "xgboost-label-wrapper": {
            "task": "multiclass",
            "predict_output": "label",
            "packaging": "wrapper",
            "python_version": "3.13",
            "extra_methods": ["explain"],
        },
    },
}
#: Answers the current template no longer offers, and what an update with
#: --defaults takes instead (Copier drops a refused recorded answer and takes
#: the default).
NO_LONGER_OFFERED = {"python_version": {"3.10": "3.11"}}
#: The answer set per version whose updated project runs its own tests.
RUN_TESTS = {
    "0.1.0": "loader-module",
    "0.2.0": "catboost-regression-wrapper",
    "0.3.0": "sklearn-top-k-flavor",
}
CASES = [
    pytest.param(
        version,
        label,
        marks=pytest.mark.xdist_group(f"release-{version}-{label}"),
        id=f"{version}-{label}",
    )
    for version, answer_sets in ANSWERS.items()
    for label in answer_sets
]

# --- The owner's edits -------------------------------------------------------------

README_LINE = "Owned by the fraud team; ask in #fraud-ml.\n"
PINS_DOC = (
    '    """Pin every distribution the model imports to its installed version."""\n'
)
PINS_EDIT = '    """Pin what the model imports; the fraud team reviews these pins."""\n'
LOADER_DOC = '"""Load the model from the directory logged as `data_path`."""'
LOADER_EDIT = (
    '"""Load the model from the directory logged as `data_path` (fraud team)."""'
)
FEATURES = (
    '"""Feature helpers the team added."""\n\n\n'
    "def ratio(a: float, b: float) -> float:\n"
    '    """Return a / b."""\n    return a / b\n'
)


def replace_once(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in `path`."""
    text = path.read_text()
    assert text.count(old) == 1, f"{path}: expected {old!r} once"
    path.write_text(text.replace(old, new))


#: A module the owner edits: its place since 0.4.0's layout by role, the
#: function the edit goes above, and the edit (a comment above it).
OWNED_MODULES = {
    "model/estimator.py": "\ndef build_estimator(",
    "making/evaluation.py": "\ndef log_evaluation(",
}
OWNER_COMMENT = "# The fraud team tunes this; ask in #fraud-ml.\n"


def module(src: Path, grouped: str) -> Path:
    """The module at its place by role, or where releases before 0.4.0 kept it."""
    path = src / grouped
    return path if path.is_file() else src / Path(grouped).name


def edit_as_owner(project: Path, owned: set[str] | None = None) -> dict[str, str]:
    """Edit as an owner would; returns the text each edited file must keep
    (by its path after the update). `owned`: the OWNED_MODULES to edit (default
    those the project's version has, with their function)."""
    package = package_name(project)
    src = project / "src" / package
    with (project / "README.md").open("a") as readme:
        readme.write("\n" + README_LINE)
    replace_once(module(src, "model/environment.py"), PINS_DOC, PINS_EDIT)
    (src / "features.py").write_text(FEATURES)
    (project / "tests" / "test_features.py").write_text(
        f"from {package}.features import ratio\n\n\n"
        "def test_ratio() -> None:\n    assert ratio(6, 3) == 2\n"
    )
    kept = {
        "README.md": README_LINE,
        f"src/{package}/model/environment.py": PINS_EDIT,
        f"src/{package}/features.py": FEATURES,
        "tests/test_features.py": "def test_ratio()",
    }
    for grouped, anchor in OWNED_MODULES.items():
        path = module(src, grouped)
        if owned is not None and grouped not in owned:
            continue
        if path.is_file() and path.read_text().count(anchor) == 1:
            replace_once(path, anchor, "\n" + OWNER_COMMENT + anchor[1:])
            kept[f"src/{package}/{grouped}"] = OWNER_COMMENT + anchor[1:]
    for loader in (src / "pyfunc_model.py", src / "loader.py"):
        if loader.is_file() and "def _load_pyfunc(" in loader.read_text():
            replace_once(loader, LOADER_DOC, LOADER_EDIT)
            kept[f"src/{package}/loader.py"] = LOADER_EDIT
    return kept


# --- Copying at a release and updating ----------------------------------------------


@dataclass(frozen=True)
class Updated:
    """A project copied at a release, edited and updated; and its fresh twin."""

    project: Path
    fresh: Path
    kept: dict[str, str]
    refused_without_trust: bool


def copy_edit_update(
    template: Path, current: str, version: str, answers: dict, root: Path
) -> Updated:
    """Copy at v`version`, commit, edit as the owner, commit, update to `current`.

    The update runs without trust first; when Copier refuses it, it must have
    changed nothing, and it runs again with trust.
    """
    project = render(template, root / "project", answers, f"v{version}")
    init_repo(project)
    commit_all(project, f"generated from v{version}")
    kept = edit_as_owner(project)
    commit_all(project, "owner edits")
    try:
        update(project, current, trust=False)
        refused = False
    except copier.errors.UnsafeTemplateError:
        refused = True
        assert git(project, "status", "--porcelain") == ""
        update(project, current, trust=True)
    now = dict(answers)
    for question, instead in NO_LONGER_OFFERED.items():
        if question in now:
            now[question] = instead.get(now[question], now[question])
    fresh = render(template, root / "fresh", now, current)
    package = package_name(fresh)
    edit_as_owner(
        fresh, {name for name in OWNED_MODULES if f"src/{package}/{name}" in kept}
    )
    return Updated(project, fresh, kept, refused)


@pytest.fixture(scope="module")
def template_git(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The tagged clone (made once per worker) and its current-tree commit."""
    clone = tmp_path_factory.mktemp("releases") / "template"
    return clone, template_repo_at_releases(clone)


@pytest.fixture(scope="module")
def updated(
    template_git: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, str], Updated]:
    """Projects updated from a release, made once per (version, answer set)."""
    cache: dict[tuple[str, str], Updated] = {}

    def get(version: str, label: str) -> Updated:
        if (version, label) not in cache:
            root = tmp_path_factory.mktemp(f"v{version}") / label
            root.mkdir()
            answers = ANSWERS[version][label]
            cache[version, label] = copy_edit_update(
                *template_git, version, answers, root
            )
        return cache[version, label]

    return get


# --- Comparing -------------------------------------------------------------------


def files(root: Path) -> dict[str, str]:
    """Every file of a project but git's, by relative path; `_commit` left out."""
    found = {
        str(path.relative_to(root)): path.read_text()
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and not {".git", "__pycache__"} & set(path.relative_to(root).parts)
    }
    found[".copier-answers.yml"] = re.sub(
        r"(?m)^_commit: .*\n", "", found[".copier-answers.yml"]
    )
    return found


def expected_files(fresh: Path, version: str) -> dict[str, str]:
    """A fresh copy's files as an update from `version` must leave them: with
    what the migrations it crosses add on purpose (EXPECTED_FROM_MIGRATIONS)."""
    found = files(fresh)
    for migration, expected in EXPECTED_FROM_MIGRATIONS.items():
        if crosses(version, migration):
            expected(found, f"src/{package_name(fresh)}")
    return found


def with_old_champions_scorable(found: dict[str, str], package: str) -> None:
    """0.3.0: a project updated from before 0.3 may have a champion logged with
    `_scores`, so its champion_scores.py falls back to it; a fresh one does not."""
    name = f"{package}/registry/champion_scores.py"
    found[name] = OLD_CHAMPIONS.with_fallback(found[name])


#: What an update crossing each migration leaves that a fresh copy lacks.
EXPECTED_FROM_MIGRATIONS = {Version("0.3.0"): with_old_champions_scorable}


def differences(updated: Path, fresh: Path, version: str) -> list[str]:
    """Files missing, extra or different in `updated` from a fresh copy (with
    what the migrations an update from `version` adds), with unified diffs."""
    mine, theirs = files(updated), expected_files(fresh, version)
    found = [f"only after the update: {name}" for name in mine.keys() - theirs.keys()]
    found += [f"only in a fresh copy: {name}" for name in theirs.keys() - mine.keys()]
    for name in sorted(mine.keys() & theirs.keys()):
        if mine[name] != theirs[name]:
            diff = difflib.unified_diff(
                theirs[name].splitlines(keepends=True),
                mine[name].splitlines(keepends=True),
                f"fresh/{name}",
                f"updated/{name}",
            )
            found.append("".join(diff)[:3000])
    return found


def leftovers(project: Path) -> list[str]:
    """Conflict markers and *.rej files an update left."""
    marker = re.compile(r"(?m)^(<<<<<<<|>>>>>>>)( |$)")
    return [
        name
        for name, text in files(project).items()
        if name.endswith(".rej") or marker.search(text)
    ]


#: The current tree's version: the clone tags it as the next release.
CURRENT = Version(next_version())


def crosses(version: str, migration: Version) -> bool:
    """Whether an update from `version` to the current tree runs `migration`
    (Copier runs those above the project's version up to the current tree's)."""
    return Version(version) < migration <= CURRENT


def crosses_a_migration(version: str) -> bool:
    """Whether an update from `version` to the current tree runs a migration."""
    return any(crosses(version, migration) for migration in MIGRATIONS)


def commit_of(project: Path) -> str:
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return answers["_commit"]


# --- Tests ----------------------------------------------------------------------


@pytest.mark.parametrize(("version", "label"), CASES)
def test_update_from_a_release_equals_a_fresh_copy(
    updated: Callable[[str, str], Updated], version: str, label: str
) -> None:
    result = updated(version, label)
    assert result.refused_without_trust == crosses_a_migration(version)
    assert leftovers(result.project) == []
    for name, text in result.kept.items():
        assert text in (result.project / name).read_text(), f"owner edit lost: {name}"
    assert commit_of(result.project) == commit_of(result.fresh) != f"v{version}"
    found = differences(result.project, result.fresh, version)
    assert found == [], "\n".join(found)


@pytest.mark.end_to_end
@pytest.mark.parametrize(
    ("version", "label"),
    [case for case in CASES if RUN_TESTS[case.values[0]] == case.values[1]],
)
def test_updated_project_passes_its_own_tests(
    updated: Callable[[str, str], Updated], tmp_path: Path, version: str, label: str
) -> None:
    project = shutil.copytree(updated(version, label).project, tmp_path / label)
    # The servers' tests are the fresh copy's (the update left no difference).
    result = run_project_tests(project, "-rA", *QUICK_SUITE)
    assert "PASSED tests/test_features.py::test_ratio" in result.stdout


def test_a_python_3_10_project_is_told_and_moved_to_3_11(
    template_git: tuple[Path, str], tmp_path: Path
) -> None:
    """`copier update --defaults` on the command line, as the README runs it:
    the message after the update says what changed, and the answers, the
    package metadata, ruff's target and the CI matrix say 3.11."""
    clone, current = template_git
    project = render(clone, tmp_path / "project", {"python_version": "3.10"}, "v0.2.0")
    init_repo(project)
    commit_all(project, "generated from v0.2.0")
    # --trust: the update from 0.2.0 crosses the 0.3.0 migration.
    result = copier_cli(
        "update", "--defaults", "--trust", "--vcs-ref", current, cwd=project
    )
    assert result.returncode == 0, result.stderr
    assert "Python 3.10 reached its end of life in October 2026" in result.stderr
    assert "this update moved the project to 3.11" in result.stderr
    assert answers_of(project)["python_version"] == "3.11"
    pyproject = (project / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11"' in pyproject
    assert 'target-version = "py311"' in pyproject
    ci = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    versions = ci["jobs"]["test"]["strategy"]["matrix"]["python-version"]
    assert versions == ["3.11", "3.12", "3.13"]


def answers_of(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def release_choices(
    clone: Path, commit: str, question: str, root: Path
) -> tuple[list, object]:
    """The values a question allowed at `commit`, and its default: the template
    of that commit, extracted under `root`, read as Copier reads it."""
    tree = root / commit
    if not tree.exists():
        tree.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", commit], cwd=clone, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x"], cwd=tree, input=archive, check=True)
    template = Template(tree)
    return list(template.choices(question)), template.context({})[question]


def test_releases_are_the_changelog_versions_and_all_covered() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert VERSIONS == re.findall(r"(?m)^## (\d+\.\d+\.\d+)$", changelog)[::-1]
    assert VERSIONS == sorted(set(VERSIONS), key=Version)
    for release in RELEASES:
        assert re.fullmatch(r"[0-9a-f]{40}", release["commit"]), release
    assert list(ANSWERS) == VERSIONS, "every release needs answer sets here"
    assert list(RUN_TESTS) == VERSIONS


def test_each_release_commit_is_that_version(template_git: tuple[Path, str]) -> None:
    clone, current = template_git
    for release in RELEASES:
        commit = release["commit"]
        git(clone, "merge-base", "--is-ancestor", commit, current)
        assert git(clone, "show", "-s", "--format=%cs", commit).strip() == str(
            release["date"]
        )
        if "CHANGELOG.md" in git(clone, "ls-tree", "--name-only", commit).split():
            changelog = git(clone, "show", f"{commit}:CHANGELOG.md")
            newest = re.search(r"(?m)^## (.+)$", changelog).group(1)
            assert newest == release["version"], f"{commit}: CHANGELOG at {newest}"


@pytest.mark.parametrize(
    "question", ["framework", "task", "packaging", "extra_methods"]
)
def test_answer_sets_cover_every_choice_of_each_release(
    template_git: tuple[Path, str], question: str, tmp_path: Path
) -> None:
    clone, _ = template_git
    for release in RELEASES:
        allowed, default = release_choices(clone, release["commit"], question, tmp_path)
        given = set()
        for answers in ANSWERS[release["version"]].values():
            answer = answers.get(question, default)
            given |= set(answer) if isinstance(answer, list) else {answer}
        assert given == set(allowed), f"{release['version']}: {question}"


#: Predicts rows of the default dataset with a logged model, in a process that
#: imported the installed package's model part first (as a service using the
#: package would); prints where that part came from, then the predictions.
PREDICT_AFTER_IMPORT = """
import importlib, sys
import mlflow, pandas as pd
from sklearn.datasets import load_breast_cancer
part = importlib.import_module(sys.argv[2] + ".model")
print(part.__file__)
rows = load_breast_cancer(as_frame=True).data.head(20)
print(pd.DataFrame(mlflow.pyfunc.load_model(sys.argv[1]).predict(rows)).to_json())
"""


#: The packagings whose old models load by other names: the default runs its
#: logged script, wrapper unpickles the model's classes, flavor imports its
#: loader module (artifacts and loader_module load as these two do).
@pytest.mark.parametrize("packaging", ["models_from_code", "wrapper", "flavor"])
def test_a_model_logged_at_the_latest_release_predicts_the_same_after_the_update(
    template_git: tuple[Path, str], tmp_path: Path, packaging: str
) -> None:
    clone, current = template_git
    version = f"v{VERSIONS[-1]}"
    project = render(clone, tmp_path / "project", {"packaging": packaging}, version)
    init_repo(project)
    commit_all(project, f"generated from {version}")
    work = tmp_path / "work"
    work.mkdir()
    env = project_env(project, MLFLOW_TRACKING_URI=f"sqlite:///{work}/mlflow.db")
    package = package_name(project)
    trained = run(
        [PYTHON, "-m", f"{package}.train", "--registered-model-name", ""],
        cwd=work,
        env=env,
    )
    uri = trained.stdout.strip().splitlines()[-1]
    command = [PYTHON, "-c", PREDICT_AFTER_IMPORT, uri, package]
    before = run(command, cwd=work, env=env).stdout.splitlines()
    update(project, current, trust=True)
    after = run(command, cwd=work, env=env).stdout.splitlines()
    src = project / "src" / package
    assert before[0] == str(src / "model.py")
    assert after[0] == str(src / "model" / "__init__.py")
    assert after[1] == before[1]
