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

A refusal is an `MlflowException` that names the column.
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.exceptions import INVALID_PARAMETER_VALUE, MlflowException
from mlflow.types.schema import AnyType, ColSpec, Schema
from pandas.api.types import is_bool_dtype, is_numeric_dtype

PREPROCESSING_FILE = "preprocessing.json"
#: Errors numpy and pandas raise when a value cannot become a float.
CONVERSION_ERRORS = (TypeError, ValueError, OverflowError)


@dataclass
class Preprocessor:
    """Fitted input encoding: numeric columns pass through, strings become codes."""

    features: list[str]
    categories: dict[str, list[str]]
    optional: list[str]
    classes: list[str | int | float | bool]

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
            counts = column.dropna().astype(str).value_counts()
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
        """Return the signature's inputs: each feature, optional ones not required.

        The columns have MLflow's type `any`, so MLflow checks only that the
        required ones are present and `transform` reads the values: an integer
        column with a gap, or floats where training had integers, still score.
        """
        return Schema(
            [
                ColSpec(AnyType(), name, required=name not in self.optional)
                for name in self.features
            ]
        )

    def input_types(self) -> dict[str, str]:
        """Each feature's expected value: `"number"` or `"string"`."""
        return {
            name: "string" if name in self.categories else "number"
            for name in self.features
        }

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
        codes = pd.Categorical(target, categories=self.classes).codes
        unseen = sorted(set(target[codes == -1].astype(str)))
        if unseen:
            raise ValueError(
                f"Target values {unseen} were not seen in training; "
                f"classes: {self.classes}"
            )
        return codes

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode a frame as a C-contiguous float32 matrix in feature order.

        Raises an `MlflowException` naming the column when a required feature
        is absent (or every feature is), a feature appears twice, or a numeric
        feature holds a value that is not a number.
        """
        if list(frame.columns) != self.features:
            frame = self._select(frame)
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
        if required:
            optional = f" (optional: {self.optional})" if self.optional else ""
            raise MlflowException(
                f"Missing required column(s) {required}; every training feature "
                f"must be present{optional}",
                error_code=INVALID_PARAMETER_VALUE,
            )
        if len(absent) == len(self.features):
            raise MlflowException(
                f"None of the feature columns {self.features} is present",
                error_code=INVALID_PARAMETER_VALUE,
            )
        repeated = frame.columns[frame.columns.duplicated()]
        repeated = sorted({str(name) for name in repeated if name in self.features})
        if repeated:
            raise MlflowException(
                f"Column(s) {repeated} appear more than once; send each feature once",
                error_code=INVALID_PARAMETER_VALUE,
            )
        present = frame[[name for name in self.features if name in frame.columns]]
        return present.reindex(columns=self.features) if absent else present

    def _to_numeric(self, frame: pd.DataFrame) -> np.ndarray:
        """Convert column by column, naming the first value that is not a number."""
        columns = []
        for name in self.features:
            try:
                columns.append(frame[name].to_numpy(dtype=np.float32, na_value=np.nan))
            except CONVERSION_ERRORS:
                raise MlflowException(
                    f"Column {name!r} must hold numbers; "
                    f"got {first_non_number(frame[name])!r}",
                    error_code=INVALID_PARAMETER_VALUE,
                ) from None
        return np.column_stack(columns)

    def save(self, path: Path) -> None:
        """Write the fitted state as JSON."""
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> "Preprocessor":
        """Read the fitted state written by `save`."""
        return cls(**json.loads(path.read_text()))


def is_string_like(column: pd.Series) -> bool:
    """Whether a column holds strings (object, string or category dtype)."""
    dtype = column.dtype
    return isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype)


def encode_categories(column: pd.Series, known: list[str]) -> np.ndarray:
    """Category codes as floats; unknown and missing values become NaN.

    Values are compared as strings, so a number sent for a string column
    matches the category it prints as.
    """
    if not pd.api.types.is_string_dtype(column):
        column = column.astype(str).where(column.notna())
    codes = pd.Categorical(column, categories=known).codes.astype(np.float32)
    codes[codes < 0] = np.nan
    return codes


def first_non_number(column: pd.Series) -> object:
    """Return the first value of `column` that is neither missing nor a number."""
    for value in column:
        try:
            float(value)
        except CONVERSION_ERRORS:
            if not any(value is missing for missing in (None, pd.NA, pd.NaT)):
                return value
    return column.dtype
