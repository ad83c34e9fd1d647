"""churn_risk as an MLflow flavor: save, log and load the model.

A saved model's `MLmodel` lists this flavor beside `python_function`, whose
loader is `_load_pyfunc` below, run from the logged code; nothing is pickled.
`load_model` gives back the project's `Model`: `predict` and the extra methods
are plain methods, without pyfunc's wrapper around each call.
"""

import sys
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import INVALID_PARAMETER_VALUE, MlflowException
from mlflow.models import Model as MlflowModel
from mlflow.models import ModelSignature
from mlflow.models.model import ModelInfo
from packaging.version import Version

from .model import Model, estimator
from .model.environment import pip_requirements as pinned_requirements
from .model.environment import prediction_code
from .model.preprocessing import PREPROCESSING_FILE

FLAVOR_NAME = "churn_risk"
#: Where MLflow keeps the model files inside a saved model.
DATA_PATH = "data/model"


def save_model(
    model: Model,
    path: str | Path,
    mlflow_model: MlflowModel | None = None,
    code_paths: list[str] | None = None,
    signature: ModelSignature | None = None,
    input_example: pd.DataFrame | None = None,
    pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Save `model` at `path` with this flavor and `python_function`.

    The package's code is saved with it (`code_paths`, default: its prediction part)
    and the requirements default to the pinned ones of `environment.py`.
    """
    mlflow_model = mlflow_model or MlflowModel()
    mlflow_model.add_flavor(
        FLAVOR_NAME,
        package_version=package_version(),
        data=DATA_PATH,
        model_file=estimator.MODEL_FILE,
        preprocessing_file=PREPROCESSING_FILE,
    )
    with tempfile.TemporaryDirectory() as directory:
        data_path = Path(directory) / Path(DATA_PATH).name
        data_path.mkdir()
        model.save(data_path)
        mlflow.pyfunc.save_model(
            path,
            loader_module=f"{FLAVOR_NAME}.flavor",
            data_path=str(data_path),
            code_paths=code_paths or [str(prediction_code(Path(directory) / "code"))],
            mlflow_model=mlflow_model,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements or pinned_requirements(),
            metadata=metadata,
        )


def log_model(
    model: Model,
    name: str = "model",
    code_paths: list[str] | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: pd.DataFrame | None = None,
    pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> ModelInfo:
    """Log `model` with this flavor in the active run (one is started if none).

    It is registered as `registered_model_name` when that is given.
    """
    return MlflowModel.log(
        artifact_path=None,
        name=name,
        flavor=sys.modules[__name__],
        registered_model_name=registered_model_name,
        metadata=metadata,
        model=model,
        code_paths=code_paths,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
    )


def load_model(model_uri: str, dst_path: str | None = None) -> Model:
    """Load the project's model from a model saved or logged with this flavor.

    It runs this installed package's code; a model saved by a version that
    reads its files differently is refused, naming both versions.
    """
    local = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=dst_path)
    )
    conf = flavor_conf(local, model_uri)
    check_version(conf["package_version"])
    return load_files(local, conf, Model)


def flavor_conf(directory: Path, source: str) -> dict[str, Any]:
    """Return this flavor's section of the `MLmodel` file in `directory`."""
    flavors = MlflowModel.load(directory).flavors
    if FLAVOR_NAME not in flavors:
        raise MlflowException(
            f"{source} has no {FLAVOR_NAME!r} flavor; it has {sorted(flavors)}",
            error_code=INVALID_PARAMETER_VALUE,
        )
    return flavors[FLAVOR_NAME]


def load_files(directory: Path, conf: dict[str, Any], kind: type[Model]) -> Model:
    """Load the model files the flavor's section `conf` names as a `kind`."""
    data = directory / conf["data"]
    return kind.load(data / conf["model_file"], data / conf["preprocessing_file"])


def package_version() -> str:
    """Return this package's version, recorded with every model it saves."""
    return sys.modules[__package__].__version__


def check_version(saved_by: str) -> None:
    """Refuse a model whose package version reads its files differently.

    Versions with the same major number (before 1.0: the same minor number)
    share the file formats.
    """
    installed = package_version()
    if _series(saved_by) != _series(installed):
        raise MlflowException(
            f"This model was saved by {FLAVOR_NAME} {saved_by}; the installed "
            f"{FLAVOR_NAME} {installed} loads models of {FLAVOR_NAME} "
            f"{'.'.join(map(str, _series(installed)))}.* only. Install "
            f"{FLAVOR_NAME}=={saved_by}, or load it with mlflow.pyfunc.load_model, "
            "which runs the code logged with it.",
            error_code=INVALID_PARAMETER_VALUE,
        )


def _series(version: str) -> tuple[int, ...]:
    """Return the release numbers that must match: major (and minor before 1.0)."""
    release = Version(version).release
    return release[:2] if release[0] == 0 else release[:1]


class LoadedModel(Model):
    """The model as MLflow holds it; `get_raw_model` hands it back."""

    def get_raw_model(self) -> Model:
        """Return this model (what `PyFuncModel.get_raw_model()` gives)."""
        return self


def _load_pyfunc(data_path: str) -> Model:
    """Load the model for `python_function`, from its logged `data_path`.

    MLflow passes the saved model's DATA_PATH; the files are the ones its
    `MLmodel` names, as for `load_model`.
    """
    directory = Path(data_path).parents[len(Path(DATA_PATH).parts) - 1]
    return load_files(directory, flavor_conf(directory, data_path), LoadedModel)
