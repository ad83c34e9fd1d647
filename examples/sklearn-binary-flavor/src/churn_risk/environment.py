"""The logged model's environment: exact pins of what it imports at inference."""

from importlib.metadata import version

from . import estimator

#: Distributions imported when MLflow loads the model.
DISTRIBUTIONS = (
    "mlflow",
    "packaging",
    "numpy",
    "pandas",
    *estimator.REQUIREMENTS,
)


def pip_requirements() -> list[str]:
    """Pin every distribution the model imports to its installed version."""
    return [f"{name}=={version(name)}" for name in DISTRIBUTIONS]
