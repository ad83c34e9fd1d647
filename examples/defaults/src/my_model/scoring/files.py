"""What both scoring engines share: file formats and places, the model, params."""

import os
import shutil
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.types.schema import ParamSchema

from ..errors import first_line

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
#: The text of a whole number: a kept CSV column whose whole numbers would not
#: read back as their text (`00042`, `+7`, beyond int64) is kept as text.
WHOLE_NUMBER_TEXT = r"^[+-]?\d+$"
#: What loading or fetching a model raises when it is unknown or unreadable
#: (ImportError: its code needs a module the environment lacks).
LOAD_ERRORS = (ImportError, MlflowException, OSError)
#: How a `--param` value of each declared type is described in an error.
PARAM_KINDS = {int: "whole number", float: "number", bool: "boolean (true or false)"}


class ScoringError(Exception):
    """Scoring stopped; the message says where and why."""


def load_model(model_uri: str) -> mlflow.pyfunc.PyFuncModel:
    """Load a logged model; an unknown or unreadable one is a `ScoringError`."""
    try:
        return mlflow.pyfunc.load_model(model_uri)
    except LOAD_ERRORS as error:
        raise cannot_load(model_uri, error) from error


def cannot_load(model_uri: str, error: BaseException) -> ScoringError:
    """Return the one-line error of a model that cannot be loaded or fetched."""
    return ScoringError(f"cannot load model {model_uri}: {first_line(error)}")


def local_path(output_path: str) -> Path | None:
    """Return the local path `output_path` names; None for any other URI.

    A URI has a scheme of two letters or more (`dbfs:/`, `s3://`), so a
    Windows path (`C:` and a backslash) is a path; a `file:` URI names a local
    path.
    """
    parts = urlsplit(output_path)
    if len(parts.scheme) < 2:
        return Path(output_path)
    if parts.scheme == "file":
        return Path(url2pathname(parts.path))
    return None


def same_file(input_path: str, output_path: str) -> bool:
    """Whether an output path or URI names the input (local paths resolved)."""
    source, target = local_path(input_path), local_path(output_path)
    if source is not None and target is not None:
        return source.resolve() == target.resolve()
    return input_path.rstrip("/") == output_path.rstrip("/")


def replace(new: Path, output: Path) -> None:
    """Put `new` (a file, or a Spark dataset folder) in place of `output`.

    A file replaces a file at once. Where either is a folder, the old output
    is moved aside first and deleted only once `new` is in place; if the move
    fails, the old output is put back.
    """
    if not (output.is_dir() or new.is_dir()):
        os.replace(new, output)
        return
    old = output.with_name(f".{output.name}.{uuid.uuid4().hex}.old")
    if output.exists():
        os.replace(output, old)
    try:
        os.replace(new, output)
    except OSError:
        if old.exists():
            os.replace(old, output)
        raise
    remove(old)


def remove(path: Path) -> None:
    """Delete a file or a folder, if there is one."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


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
