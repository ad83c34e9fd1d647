"""The loader module MLflow imports to load the model: no pickle."""

from pathlib import Path

from .model import Model, estimator
from .model.preprocessing import PREPROCESSING_FILE


class LoadedModel(Model):
    """The model as MLflow holds it; `get_raw_model` hands it back."""

    def get_raw_model(self) -> Model:
        """Return this model (what `PyFuncModel.get_raw_model()` gives)."""
        return self


def _load_pyfunc(data_path: str) -> Model:
    """Load the model from the directory logged as `data_path`."""
    directory = Path(data_path)
    return LoadedModel.load(
        directory / estimator.MODEL_FILE, directory / PREPROCESSING_FILE
    )
