"""The model as MLflow loads it: the only part of the package logged with it.

`predictor.Model` is the model (preprocessing, the estimator and
the predict semantics); `estimator.py` builds and reads the estimator,
`preprocessing.py` holds the fitted input contract (`kinds.py` how a column
is read, `contract.py` the refusals) and `environment.py` the pins and code
logged with the model.
"""

from .predictor import METHODS, Model

__all__ = ["METHODS", "Model"]
