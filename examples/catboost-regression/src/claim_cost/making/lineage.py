"""Where a logged model came from: how it was made, from which code and data.

`collect` gathers the facts as strings; `train` and `wrap` put them in the
logged model's `MLmodel` metadata (`lineage`) and as `lineage.*` tags on its
run and its registered version. A fact that cannot be known says why (not a
git repository, the bundled demo data, no `.copier-answers.yml`); nothing
here fails a training.
"""

import hashlib
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import mlflow
import yaml
from mlflow import MlflowClient

from ..model import estimator


def project_dir(package: Path) -> Path | None:
    """Return the project whose `src/` holds `package`; None if none does.

    An installed package's folder is in an environment, which may sit inside
    some other repository: its commit is not this project's.
    """
    root = package.parent.parent
    if package.parent.name == "src" and (root / "pyproject.toml").is_file():
        return root
    return None


#: The project's root, two levels above this package; None when installed.
PROJECT_DIR = project_dir(Path(__file__).resolve().parents[1])
NOT_A_CHECKOUT = "unknown (the package is installed, not in a project checkout)"
#: Metadata key and tag prefix.
METADATA_KEY = "lineage"
TAG_PREFIX = "lineage."


def collect(
    made_by: str,
    training: tuple[Path | str, int],
    evaluation: tuple[Path | str, int] | None = None,
) -> dict[str, str]:
    """Return the lineage of a model made by `made_by` ("train" or "wrap").

    `training` and `evaluation` are each data's file (or a description of
    data that is not a file, such as the bundled demo data) and its rows. A
    wrapped model was trained elsewhere: its data is the reference data.
    """
    facts = {
        "made_by": made_by,
        "template_version": template_version(),
        **git_state(),
        **data_facts("training" if made_by == "train" else "reference", *training),
    }
    if evaluation is not None:
        facts.update(data_facts("evaluation", *evaluation))
    facts["mlflow_version"] = mlflow.__version__
    framework = estimator.REQUIREMENTS[0]
    try:
        facts["framework_version"] = f"{framework} {version(framework)}"
    except PackageNotFoundError:
        facts["framework_version"] = f"{framework} (not installed as a package)"
    return facts


def template_version() -> str:
    """Return the template version the project was generated or updated from."""
    if PROJECT_DIR is None:
        return NOT_A_CHECKOUT
    answers_file = PROJECT_DIR / ".copier-answers.yml"
    try:
        answers = yaml.safe_load(answers_file.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return f"unknown (no readable {answers_file.name} in the project)"
    return str(answers.get("_commit", "unknown (no _commit in the answers)"))


def git_state() -> dict[str, str]:
    """Return the project's commit and whether its tree had changes.

    Untracked files count as changes (a new module is one); git-ignored
    outputs do not.
    """
    if PROJECT_DIR is None:
        return {"git_commit": NOT_A_CHECKOUT, "git_dirty": NOT_A_CHECKOUT}
    try:
        head = git("rev-parse", "HEAD")
        changes = git("status", "--porcelain", "--untracked-files=normal")
    except (OSError, subprocess.CalledProcessError):
        missing = "not a git repository (or git is not installed)"
        return {"git_commit": missing, "git_dirty": missing}
    return {"git_commit": head, "git_dirty": "true" if changes else "false"}


def git(*args: str) -> str:
    """Run git in the project directory; return its output, stripped."""
    return subprocess.run(
        ["git", "-C", str(PROJECT_DIR), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()


def data_facts(context: str, data: Path | str, rows: int) -> dict[str, str]:
    """Return a data set's name, rows and SHA-256 (of its file, when it is one)."""
    path = Path(data) if isinstance(data, Path) else None
    return {
        f"{context}_data": path.name if path else str(data),
        f"{context}_rows": str(rows),
        f"{context}_sha256": sha256(path) if path else "n/a (not a file)",
    }


def sha256(path: Path) -> str:
    """Return the file's SHA-256, as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def tag_run(facts: dict[str, str]) -> None:
    """Set the facts as `lineage.*` tags of the active run."""
    mlflow.set_tags({f"{TAG_PREFIX}{key}": value for key, value in facts.items()})


def tag_version(name: str, model_version: str, facts: dict[str, str]) -> None:
    """Set the facts as `lineage.*` tags of a registered model version."""
    client = MlflowClient()
    for key, value in facts.items():
        client.set_model_version_tag(name, model_version, f"{TAG_PREFIX}{key}", value)
