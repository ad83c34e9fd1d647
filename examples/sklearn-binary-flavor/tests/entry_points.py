"""The project's entry points, as `pip install` declares them to Python.

A suite run from `src/` without installing the project has none: `declare`
writes them, read from pyproject.toml, as the metadata of an installed
distribution in a folder a subprocess puts first on its path. There MLflow
finds the package's evaluator (the `mlflow.model_evaluator` entry point) as
it does where the project is installed.
"""

import os
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def declare(folder: Path) -> dict[str, str]:
    """Write the project's metadata and entry points into `folder`.

    Returns the environment of a subprocess that finds them.
    """
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    name, version = project["name"], project["version"]
    metadata = folder / f"{name.replace('-', '_')}-{version}.dist-info"
    metadata.mkdir(parents=True, exist_ok=True)
    (metadata / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    )
    lines = []
    for group, points in project["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{entry} = {target}" for entry, target in points.items()]
    (metadata / "entry_points.txt").write_text("\n".join(lines) + "\n")
    path = [str(folder), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
