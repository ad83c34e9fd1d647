"""Migration to 0.2.0 for `packaging: loader_module` projects.

0.2.0 renamed the loader module from `pyfunc_model.py` to `loader.py` without
changing its content. During the update Copier deletes the old file (the new
template no longer renders it) and renders a fresh `loader.py`, which would
drop the owner's edits. So:

- before the update, this keeps the project's own `pyfunc_model.py` inside the
  git directory, where the update does not look;
- after it, this puts that version in place as `loader.py`.

Usage (Copier runs it in the project, at both stages): python this.py before|after
"""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ANSWERS_FILE = ".copier-answers.yml"


def stash_path() -> Path:
    """Where the old module waits during the update (inside the git directory)."""
    git_dir = subprocess.run(
        ["git", "rev-parse", "--absolute-git-dir"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return Path(git_dir) / "copier-migration-0.2.0" / "pyfunc_model.py"


def main(stage: str) -> None:
    """Stash `pyfunc_model.py` before the update; restore it as `loader.py` after."""
    answers = yaml.safe_load(Path(ANSWERS_FILE).read_text())
    if answers.get("packaging") != "loader_module":
        return
    package = Path("src") / answers["package_name"]
    stash = stash_path()
    if stage == "before":
        old = package / "pyfunc_model.py"
        if old.is_file():
            stash.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(old, stash)
    elif stage == "after":
        if stash.is_file():
            shutil.move(stash, package / "loader.py")
            stash.parent.rmdir()
            print(f"migration 0.2.0: {package}/pyfunc_model.py is now loader.py")
    else:
        raise SystemExit(f"unknown stage {stage!r}; expected 'before' or 'after'")


if __name__ == "__main__":
    main(*sys.argv[1:])
