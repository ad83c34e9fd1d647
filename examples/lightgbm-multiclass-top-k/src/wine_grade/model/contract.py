"""The input contract as a request meets it, and its refusals.

What a wrapped model's file declares is a `Contract`; a request that breaks
the contract is refused with an `InputError`.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from mlflow.exceptions import INVALID_PARAMETER_VALUE, MlflowException


class InputError(MlflowException):
    """A request the model refuses: HTTP 400 with a one-line reason.

    MLflow's scoring server puts the whole request in front of a model's
    message (`Failed to predict data '<frame>'. Error: <reason>`); the message
    keeps the reason alone, so clients and logs get one short line.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)

    @property
    def message(self) -> str:
        """The reason the request is refused."""
        return self._reason

    @message.setter
    def message(self, value: str) -> None:
        self._reason = value.rpartition("\nError: ")[2]


@dataclass(frozen=True)
class Contract:
    """What a model trained elsewhere says of its inputs and outputs.

    `categories` holds each categorical feature's categories in the model's
    own order (its codes are their positions); `classes` are the labels the
    model knows, or its class numbers 0..n-1 when it knows no labels.
    """

    features: list[str]
    categories: dict[str, list[str]]
    task: str
    classes: list[str | int | float | bool]
    #: Whether the model encodes its inputs itself (see `Preprocessor.raw`).
    raw: bool = False
    #: Number features the reference data shows are booleans (`kinds_of`).
    kinds: dict[str, str] = field(default_factory=dict)


def listed(names: Sequence[object], shown: int = 5) -> str:
    """Names as a short list: the first `shown`, then how many more."""
    names = [str(name) for name in names]
    if len(names) <= shown:
        return repr(names)
    return f"{repr(names[:shown])[:-1]}, ... {len(names) - shown} more]"


def positional_hint(columns: pd.Index) -> str:
    """How to call `spark_udf` when the columns arrive numbered, not named.

    `udf(col_a, col_b)` hands a model without an input schema columns named
    0, 1, ...; `udf(struct(col_a, col_b))` keeps the names.
    """
    names = [str(name) for name in columns]
    if not names or names != [str(number) for number in range(len(names))]:
        return ""
    return (
        "; columns numbered 0, 1, ... come from spark_udf called with separate "
        "columns: call it as udf(struct(*columns)) to pass them by name"
    )
