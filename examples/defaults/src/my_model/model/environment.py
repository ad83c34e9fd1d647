"""The logged model's environment: its pins and the code logged with it.

The pins are exact versions of what it imports at inference; the code is this
package's prediction part, not its tooling.
"""

import shutil
from importlib.metadata import version
from pathlib import Path

from . import estimator

#: The package folder.
PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: What of the package a prediction runs: logged as the model's code.
PREDICTION_CODE = ("__init__.py", "errors.py", "pyfunc_model.py", "model")

#: Distributions imported when MLflow loads the model.
DISTRIBUTIONS = (
    "mlflow",
    "numpy",
    "pandas",
    *estimator.REQUIREMENTS,
)


def pip_requirements() -> list[str]:
    """Pin every distribution the model imports to its installed version."""
    return [f"{name}=={version(name)}" for name in DISTRIBUTIONS]


def prediction_code(directory: Path) -> Path:
    """Copy the package's PREDICTION_CODE into `directory`; return the copy.

    The copy is what MLflow logs as the model's `code/`: the commands,
    training, the registry, batch scoring and serving stay out of it.
    """
    copy = directory / PACKAGE_DIR.name
    copy.mkdir(parents=True)
    for name in PREDICTION_CODE:
        source = PACKAGE_DIR / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(source, copy / name, ignore=ignore)
        else:
            shutil.copy2(source, copy / name)
    return copy
