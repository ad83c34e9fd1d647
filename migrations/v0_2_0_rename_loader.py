"""Migration to 0.2.0 for `packaging: loader_module` projects.

0.2.0 renamed the loader module from `pyfunc_model.py` to `loader.py` without
changing its content. During the update Copier deletes the old file (the new
template no longer renders it) and renders a fresh `loader.py`, which would
drop the owner's edits. So:

- before the update, this keeps the project's own `pyfunc_model.py` inside the
  git directory, where the update does not look, beside the file as the old
  template version rendered it (rendered again from the answers file's
  `_src_path` and `_commit`, as Copier renders it to find the owner's edits);
- after it, this merges the owner's edits into the fresh `loader.py` the way
  Copier merges any file (`git merge-file`, Copier's conflict labels), so
  template changes to the loader made after 0.2.0 arrive too.

Usage (Copier runs it in the project, at both stages): python this.py before|after
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import copier
import yaml

ANSWERS_FILE = ".copier-answers.yml"
OLD, NEW = "pyfunc_model.py", "loader.py"


def stash_dir() -> Path:
    """Where the old module waits during the update (inside the git directory)."""
    git_dir = subprocess.run(
        ["git", "rev-parse", "--absolute-git-dir"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return Path(git_dir) / "copier-migration-0.2.0"


def render_old(answers: dict, package: Path) -> str:
    """The old module as the template version in the answers file rendered it."""
    with tempfile.TemporaryDirectory() as directory:
        copier.run_copy(
            answers["_src_path"],
            directory,
            data={k: v for k, v in answers.items() if not k.startswith("_")},
            vcs_ref=answers["_commit"],
            defaults=True,
            quiet=True,
        )
        return (Path(directory) / package / OLD).read_text()


def before(answers: dict, package: Path, stash: Path) -> None:
    """Keep the owner's old module and its template version (if known)."""
    shutil.rmtree(stash, ignore_errors=True)
    old = package / OLD
    if not old.is_file():
        return
    stash.mkdir(parents=True)
    shutil.copy2(old, stash / "owner.py")
    if answers.get("_commit"):
        (stash / "base.py").write_text(render_old(answers, package))


def after(package: Path, stash: Path) -> None:
    """Put the owner's module in place as loader.py, merged with the new one."""
    owner = stash / "owner.py"
    if not owner.is_file():
        return
    loader = package / NEW
    new = stash / "new.py"
    base = stash / "base.py"
    if loader.is_file() and base.is_file():
        shutil.copy2(loader, new)
        shutil.copy2(owner, loader)
        subprocess.run(
            ["git", "merge-file", "-L", "before updating", "-L", "last update"]
            + ["-L", "after updating", str(loader), str(base), str(new)],
            check=False,
        )
    else:
        shutil.copy2(owner, loader)
    shutil.rmtree(stash)
    print(f"migration 0.2.0: {package}/{OLD} is now {NEW}")


def main(stage: str) -> None:
    """Stash `pyfunc_model.py` before the update; merge it into `loader.py` after."""
    answers = yaml.safe_load(Path(ANSWERS_FILE).read_text())
    stash = stash_dir()
    if answers.get("packaging") != "loader_module":
        shutil.rmtree(stash, ignore_errors=True)
        return
    package = Path("src") / answers["package_name"]
    if stage == "before":
        before(answers, package, stash)
    elif stage == "after":
        after(package, stash)
    else:
        raise SystemExit(f"unknown stage {stage!r}; expected 'before' or 'after'")


if __name__ == "__main__":
    main(*sys.argv[1:])
