"""What both scoring engines share: file formats, the model, its params' types."""

from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.types.schema import ParamSchema

from .errors import first_line

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
#: How a `--param` value of each declared type is described in an error.
PARAM_KINDS = {int: "whole number", float: "number", bool: "boolean (true or false)"}


class ScoringError(Exception):
    """Scoring stopped; the message says where and why."""


def load_model(model_uri: str) -> mlflow.pyfunc.PyFuncModel:
    """Load a logged model; an unknown or unreadable one is a `ScoringError`."""
    try:
        return mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as error:
        raise ScoringError(
            f"cannot load model {model_uri}: {first_line(error)}"
        ) from error


def typed_params(schema: ParamSchema | None, params: dict[str, Any]) -> dict[str, Any]:
    """Convert text values (`--param NAME=VALUE`) to the types the model declares."""
    declared = {spec.name: spec for spec in schema.params} if schema else {}
    typed = {}
    for name, value in params.items():
        if name not in declared:
            raise ScoringError(
                f"unknown param {name!r}; the model declares {sorted(declared)}"
            )
        kind = declared[name].dtype.to_python()
        if not isinstance(value, str) or kind is str:
            typed[name] = value
        elif kind is bool and value.lower() in ("true", "false"):
            typed[name] = value.lower() == "true"
        else:
            try:
                typed[name] = kind(value)
            except ValueError:
                raise ScoringError(
                    f"param {name!r} must be a {PARAM_KINDS.get(kind, kind.__name__)}; "
                    f"got {value!r}"
                ) from None
    return typed
