"""Migration to the package grouped by role (0.4.0): owners' edits move along.

0.4.0 moved the package's modules from one flat folder into `model/`,
`making/`, `registry/`, `scoring/` and `serving/` (MOVES). Copier sees a moved
file as one deleted and one new, which would drop the owner's edits in it. So:

- before the update, this keeps the project's own copy of every module that
  moves inside the git directory, where the update does not look, beside the
  file as the project's template version rendered it (rendered again from the
  answers file's `_src_path` and `_commit`, as Copier renders it to find the
  owner's edits);
- after it, it merges the owner's edits into the module at its new place the
  way Copier merges any file (`git merge-file`, Copier's conflict labels), so
  the template's changes arrive too, and removes the old file. A module split
  in parts (`preprocessing.py`, `drift.py`, `promotion.py`) takes the edits in
  the part they merge into cleanly; edits spanning parts are marked as
  conflicts in its first part, which the message names with the others.

A project already grouped by role has none of the old files: nothing happens.

Usage (Copier runs it in the project, at both stages): python this.py before|after
"""

import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import copier
import yaml

ANSWERS_FILE = ".copier-answers.yml"
#: Each module's place before 0.4.0 -> after, in the package folder. A module
#: split in parts lists them, the one that kept most of it first: the owner's
#: edits go to the part they merge into cleanly, else to the first, marked.
MOVES: dict[str, str | list[str]] = {
    "model.py": "model/predictor.py",
    "preprocessing.py": [
        "model/preprocessing.py",
        "model/kinds.py",
        "model/contract.py",
    ],
    "estimator.py": "model/estimator.py",
    "environment.py": "model/environment.py",
    "columns.py": "making/columns.py",
    "evaluation.py": "making/evaluation.py",
    "evaluator.py": "making/evaluator.py",
    "lineage.py": "making/lineage.py",
    "logged_model.py": "making/logged_model.py",
    "rows.py": "registry/rows.py",
    "promotion.py": ["registry/promotion.py", "registry/gate.py"],
    "promotion_lock.py": "registry/promotion_lock.py",
    "champion_scores.py": "registry/champion_scores.py",
    "scoring.py": "scoring/files.py",
    "local_scoring.py": "scoring/local_scoring.py",
    "spark_scoring.py": "scoring/spark_scoring.py",
    "drift.py": [
        "scoring/drift/profile.py",
        "scoring/drift/report.py",
        "scoring/drift/monitor.py",
    ],
    "mlserver_runtime.py": "serving/mlserver_runtime.py",
}


def stash_dir() -> Path:
    """Where the old modules wait during the update (inside the git directory)."""
    git_dir = subprocess.run(
        ["git", "rev-parse", "--absolute-git-dir"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return Path(git_dir) / "copier-migration-0.4.0"


def render_old(answers: dict, package: Path, directory: Path) -> Path:
    """The package as the template version in the answers file rendered it."""
    copier.run_copy(
        answers["_src_path"],
        directory,
        data={k: v for k, v in answers.items() if not k.startswith("_")},
        vcs_ref=answers["_commit"],
        defaults=True,
        quiet=True,
    )
    return directory / package


def before(answers: dict, package: Path, stash: Path) -> None:
    """Keep the owner's old modules and their template versions (if known)."""
    shutil.rmtree(stash, ignore_errors=True)
    old = [name for name in MOVES if (package / name).is_file()]
    if not old:
        return
    (stash / "owner").mkdir(parents=True)
    for name in old:
        shutil.copy2(package / name, stash / "owner" / name)
    if not answers.get("_commit"):
        return
    (stash / "base").mkdir()
    with tempfile.TemporaryDirectory() as directory:
        rendered = render_old(answers, package, Path(directory))
        for name in old:
            if (rendered / name).is_file():
                shutil.copy2(rendered / name, stash / "base" / name)


def merged(owner: Path, base: Path, new: Path) -> tuple[str, bool]:
    """The owner's edits (base -> owner) merged into `new`: text, and whether clean."""
    with tempfile.TemporaryDirectory() as directory:
        result = Path(directory) / new.name
        shutil.copy2(owner, result)
        status = subprocess.run(
            ["git", "merge-file", "-L", "before updating", "-L", "last update"]
            + ["-L", "after updating", str(result), str(base), str(new)],
            check=False,
        )
        return result.read_text(), status.returncode == 0


def after(package: Path, stash: Path) -> None:
    """Put each owner's module at its new place, merged with the new one."""
    owner_dir = stash / "owner"
    if not owner_dir.is_dir():
        return
    for owner in sorted(owner_dir.iterdir()):
        old = package / owner.name
        places = MOVES[owner.name]
        parts = [
            package / place
            for place in ([places] if isinstance(places, str) else places)
        ]
        base = stash / "base" / owner.name
        old.unlink(missing_ok=True)
        if base.is_file() and filecmp.cmp(owner, base, shallow=False):
            continue  # not edited: the new template's modules stand
        present = [part for part in parts if part.is_file()]
        if not base.is_file() or not present:
            parts[0].parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(owner, parts[0])
            print(f"migration 0.4.0: {old} is now {parts[0]}, as you left it")
            continue
        results = {part: merged(owner, base, part) for part in present}
        clean = [part for part in present if results[part][1]]
        target = clean[0] if clean else present[0]
        target.write_text(results[target][0])
        note = "" if clean else " (conflicts marked)"
        rest = [str(part) for part in parts if part != target]
        if rest:
            note += (
                f"; the rest of that module is now in {', '.join(rest)}: run "
                "`ruff check src` for names your code there now needs to import"
            )
        print(f"migration 0.4.0: your edits in {old} are now in {target}{note}")
    shutil.rmtree(stash)


def main(stage: str) -> None:
    """Stash the modules that move before the update; merge them in after."""
    answers = yaml.safe_load(Path(ANSWERS_FILE).read_text())
    package = Path("src") / answers["package_name"]
    stash = stash_dir()
    if stage == "before":
        before(answers, package, stash)
    elif stage == "after":
        after(package, stash)
    else:
        raise SystemExit(f"unknown stage {stage!r}; expected 'before' or 'after'")


if __name__ == "__main__":
    main(*sys.argv[1:])
