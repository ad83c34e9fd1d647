"""Turn a pandas DataFrame into the float32 matrix the native model reads.

The fitted state (feature order, categories of string columns, the columns the
owner declared optional, class labels) is stored as JSON, never pickled.
It is also the model's input contract, the same in-process, over REST, in batch
scoring and on Spark:

- every feature seen in training must be present, unless declared optional;
- any value may be missing (NaN, None, null);
- numbers are numbers: int, float and nullable dtypes score alike;
- column order does not matter and extra columns are ignored;
- unseen categories count as missing.

A refusal is an `InputError` (an `MlflowException`, HTTP 400) that names the
column in one line.
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.exceptions import INVALID_PARAMETER_VALUE, MlflowException
from mlflow.types.schema import ColSpec, Schema
from pandas.api.types import is_bool_dtype, is_numeric_dtype

PREPROCESSING_FILE = "preprocessing.json"
#: Errors numpy and pandas raise when a value cannot become a float.
CONVERSION_ERRORS = (TypeError, ValueError, OverflowError)
#: MLflow's column type of each kind of feature, for a typed signature.
SIGNATURE_TYPES = {"number": "double", "string": "string"}


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


@dataclass
class Preprocessor:
    """Fitted input encoding: numeric columns pass through, strings become codes."""

    features: list[str]
    categories: dict[str, list[str]]
    optional: list[str]
    classes: list[str | int | float | bool]
    #: True for a wrapped model that encodes its inputs itself (a scikit-learn
    #: Pipeline, CatBoost `cat_features`): `transform` then gives it a frame of
    #: numbers and category text instead of a matrix of codes.
    raw: bool = False

    @classmethod
    def fit(
        cls,
        features: pd.DataFrame,
        target: pd.Series,
        optional: Sequence[str] = (),
        max_categories: int | None = None,
    ) -> "Preprocessor":
        """Learn column order and categories; `optional` columns may be absent."""
        unknown = [name for name in optional if name not in features.columns]
        if unknown:
            raise ValueError(
                f"Optional column(s) {unknown} are not features; "
                f"features: {list(features.columns)}"
            )
        categories = {}
        for name in features.columns:
            column = features[name]
            if is_bool_dtype(column) or is_numeric_dtype(column):
                continue
            if not is_string_like(column):
                raise ValueError(
                    f"Column {name!r} has type {column.dtype}; features must be "
                    "numeric, boolean or strings"
                )
            counts = category_strings(column.dropna()).value_counts()
            categories[str(name)] = counts.index[:max_categories].tolist()
        return cls(
            features=[str(name) for name in features.columns],
            categories=categories,
            optional=[str(name) for name in features.columns if name in optional],
            classes=np.unique(target.dropna()).tolist(),
        )

    @property
    def categorical(self) -> list[bool]:
        """Which encoded columns hold category codes."""
        return [name in self.categories for name in self.features]

    def input_schema(self) -> Schema:
        """Return typed signature inputs: `double` numbers, `string` categories.

        The default signature has no inputs, so MLflow leaves every check to
        `transform`; this typed one is for registries that need column types,
        at the price of MLflow refusing integer columns in-process.
        """
        return Schema(
            [
                ColSpec(SIGNATURE_TYPES[kind], name, required=name not in self.optional)
                for name, kind in self.input_types().items()
            ]
        )

    def input_types(self) -> dict[str, str]:
        """Each feature's expected value: `"number"` or `"string"`."""
        return {
            name: "string" if name in self.categories else "number"
            for name in self.features
        }

    def metadata(self) -> dict[str, Any]:
        """Return what the logged model's `MLmodel` metadata says of its inputs."""
        return {"input_types": self.input_types(), "optional_inputs": self.optional}

    def canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the features of `frame` as a client sends them: floats, strings.

        Numbers become float64 (missing: NaN), strings objects (missing: None).
        """
        columns = {}
        for name in self.features:
            column = frame[name]
            if name in self.categories:
                column = column.astype(object).where(column.notna(), None)
            else:
                column = pd.Series(
                    column.to_numpy(dtype=np.float64, na_value=np.nan),
                    index=frame.index,
                )
            columns[name] = column
        return pd.DataFrame(columns, index=frame.index)

    def encode_target(self, target: pd.Series) -> np.ndarray:
        """Map class labels to 0..n_classes-1, refusing labels not seen in fit."""
        codes = pd.Index(self.classes).get_indexer(target)
        unseen = sorted(set(target[codes == -1].astype(str)))
        if unseen:
            raise ValueError(
                f"Target values {unseen} were not seen in training; "
                f"classes: {self.classes}"
            )
        return codes

    def transform(self, frame: pd.DataFrame) -> np.ndarray | pd.DataFrame:
        """Encode a frame as a C-contiguous float32 matrix in feature order.

        A `raw` preprocessor returns a frame instead (see `_raw`). Raises an
        `InputError` naming the column when a required feature is absent (or
        every feature is), a feature appears twice, or a numeric feature
        holds a value that is not a number.
        """
        if list(frame.columns) != self.features:
            frame = self._select(frame)
        if self.raw:
            return self._raw(frame)
        if self.categories:
            frame = frame.assign(
                **{
                    name: encode_categories(frame[name], known)
                    for name, known in self.categories.items()
                }
            )
        try:
            matrix = frame.to_numpy(dtype=np.float32, na_value=np.nan)
        except CONVERSION_ERRORS:
            matrix = self._to_numeric(frame)
        return np.ascontiguousarray(matrix)

    def _select(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the features of `frame` in order; absent optional ones missing."""
        absent = [name for name in self.features if name not in frame.columns]
        required = [name for name in absent if name not in self.optional]
        if len(absent) == len(self.features):
            raise InputError(
                f"None of the feature columns {listed(self.features)} is present"
                f"{positional_hint(frame.columns)}"
            )
        if required:
            optional = f" (optional: {listed(self.optional)})" if self.optional else ""
            raise InputError(
                f"Missing required column(s) {listed(required)}; every training "
                f"feature must be present{optional}"
            )
        repeated = frame.columns[frame.columns.duplicated()]
        repeated = sorted({str(name) for name in repeated if name in self.features})
        if repeated:
            raise InputError(
                f"Column(s) {listed(repeated)} appear more than once; "
                "send each feature once"
            )
        present = frame[[name for name in self.features if name in frame.columns]]
        return present.reindex(columns=self.features) if absent else present

    def _raw(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the features in order, as a model that encodes them reads them.

        Numbers are float64, categories their text (`category_strings`);
        missing values are NaN.
        """
        columns = {}
        for name in self.features:
            column = frame[name]
            if name in self.categories:
                text = category_strings(column).astype(object)
                columns[name] = text.where(column.notna(), np.nan)
                continue
            numbers = as_numbers(name, column, np.float64)
            columns[name] = pd.Series(numbers, index=frame.index)
        return pd.DataFrame(columns, index=frame.index)

    def _to_numeric(self, frame: pd.DataFrame) -> np.ndarray:
        """Convert column by column, naming the first value that is not a number."""
        return np.column_stack(
            [as_numbers(name, frame[name], np.float32) for name in self.features]
        )

    def save(self, path: Path) -> None:
        """Write the fitted state as JSON."""
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> "Preprocessor":
        """Read the fitted state written by `save`."""
        return cls(**json.loads(path.read_text()))


def as_numbers(name: str, column: pd.Series, dtype: type) -> np.ndarray:
    """Return `column` as numbers of `dtype`; refuse one that is not, naming it."""
    try:
        return column.to_numpy(dtype=dtype, na_value=np.nan)
    except CONVERSION_ERRORS:
        raise InputError(
            f"Column {name!r} must hold numbers; got {first_non_number(column)!r:.40}"
        ) from None


def is_string_like(column: pd.Series) -> bool:
    """Whether a column holds strings (object, string or category dtype)."""
    dtype = column.dtype
    return isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype)


def encode_categories(column: pd.Series, known: list[str]) -> np.ndarray:
    """Category codes as floats; unknown and missing values become NaN.

    Values are compared as text (`category_strings`), so a number sent for a
    string column matches the category it prints as.
    """
    codes = pd.Index(known).get_indexer(category_strings(column)).astype(np.float32)
    codes[codes < 0] = np.nan
    return codes


def category_strings(values: pd.Series) -> pd.Series:
    """Return `values` as the text categories are compared by; missing stays missing.

    Whole numbers print without a decimal point, so 101 and 101.0 (a column of
    numbers with a gap reads as floats) are both the category "101".
    """
    if pd.api.types.is_string_dtype(values):
        return values
    if pd.api.types.is_float_dtype(values):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        whole = np.isfinite(numbers) & (numbers % 1 == 0) & (abs(numbers) < 2**53)
        text = values.astype(str).to_numpy(dtype=object)
        text[whole] = numbers[whole].astype(np.int64).astype(str)
        return pd.Series(text, index=values.index).where(values.notna())
    if is_bool_dtype(values) or pd.api.types.is_integer_dtype(values):
        return values.astype(str).where(values.notna())
    return values.astype(object).map(category_text, na_action="ignore")


def category_text(value: object) -> str:
    """Return one value as category text: whole floats without `.0`."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


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


def first_non_number(column: pd.Series) -> object:
    """Return the first value of `column` that is neither missing nor a number."""
    for value in column:
        try:
            float(value)
        except CONVERSION_ERRORS:
            if not any(value is missing for missing in (None, pd.NA, pd.NaT)):
                return value
    return column.dtype
