"""A custom MLflow pyfunc model package; see README.md."""

from .flavor import FLAVOR_NAME, load_model, log_model, save_model

__all__ = ["FLAVOR_NAME", "__version__", "load_model", "log_model", "save_model"]

__version__ = "0.1.0"
