"""Turn a pandas DataFrame into the float32 matrix the native model reads.

The fitted state (feature order, each feature's kind, categories of string
columns, the columns the owner declared optional, class labels) is stored
as JSON, never pickled.
It is also the model's input contract, the same in-process, over REST, in batch
scoring and on Spark:

- every feature seen in training must be present, unless declared optional;
- any value may be missing (NaN, None, null);
- numbers are numbers: int, float and nullable dtypes score alike;
- booleans are True/False, 1/0 or "true"/"false" (any case), alike;
- dates are dates, datetimes or ISO 8601 strings, with or without a time
  zone (UTC when none); the model reads the days since 1970-01-01 (UTC), the
  month and the day of the week, so a date after training is not unseen;
- column order does not matter and extra columns are ignored;
- unseen categories count as missing, except in a column whose rare
  categories were merged into "other" in training (see `fit`): there they
  count as "other".

A refusal is an `InputError` (an `MlflowException`, HTTP 400) that names the
column in one line.
"""

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.exceptions import INVALID_PARAMETER_VALUE, MlflowException
from mlflow.types.schema import ColSpec, Schema
from pandas.api.types import (
    is_bool_dtype,
    is_datetime64_any_dtype,
    is_numeric_dtype,
)

PREPROCESSING_FILE = "preprocessing.json"
#: Errors numpy and pandas raise when a value cannot become a float.
CONVERSION_ERRORS = (TypeError, ValueError, OverflowError)
#: MLflow's column type of each kind of feature, for a typed signature:
#: booleans as 1/0 doubles (MLflow's `boolean` reads a JSON null as False),
#: dates as ISO 8601 strings, which every client can send.
SIGNATURE_TYPES = {
    "number": "double",
    "string": "string",
    "boolean": "double",
    "date": "string",
}
#: What each text a boolean feature accepts means (compared lower-cased).
BOOLEAN_TEXT = {"true": 1.0, "false": 0.0, "1": 1.0, "0": 0.0, "1.0": 1.0, "0.0": 0.0}
#: The origin of a date's day count.
EPOCH = pd.Timestamp("1970-01-01")
#: The columns a date feature becomes, after its own name (the day count).
DATE_PARTS = ("month", "weekday")
#: A text column is read as dates when every value starts as an ISO date does.
ISO_DATE = r"^\d{4}-\d{2}-\d{2}"
#: An ISO 8601 time with its offset: `T09:30Z`, ` 09:30:00.5+01:00`, `T0930-0500`.
ZONED_TIME = re.compile(
    r"[T ]\d{2}(:?\d{2}(:?\d{2}([.,]\d+)?)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$", re.I
)
#: The dates text may hold to be read as dates: those pandas 2 holds (as
#: nanoseconds, 1677 to 2262), so a column is the same kind under pandas 2 and
#: 3; a sentinel such as 9999-12-31 makes it text.
DATE_TEXT_RANGE = (
    pd.Timestamp.min.tz_localize("UTC"),
    pd.Timestamp.max.tz_localize("UTC"),
)


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
    #: Features that are neither numbers nor strings: "boolean" or "date".
    kinds: dict[str, str] = field(default_factory=dict)
    #: String features with more categories than were kept: the rest, and
    #: values never seen, share one more code, "other".
    other: list[str] = field(default_factory=list)
    #: The text a wrapped model's notebook filled categorical gaps with
    #: (`wrap --missing-category`): a missing category is given as it.
    missing_category: str | None = None
    #: Whether a request column may name a feature as LightGBM stores names
    #: (`stored_name`), as LightGBM's own predict allows: true for a wrapped
    #: model, whose file holds `monthly_income` for `monthly income`.
    stored_names: bool = False

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
        categories, kinds, other = {}, {}, []
        for name, kind in kinds_of(features).items():
            if kind != "string":
                if kind != "number":
                    kinds[name] = kind
                continue
            counts = frequent_categories(features[name])
            if max_categories is not None and len(counts) > max_categories:
                # The rare ones share the last code, "other".
                counts = counts.iloc[: max_categories - 1]
                other.append(name)
            categories[name] = counts.index.tolist()
        return cls(
            features=[str(name) for name in features.columns],
            categories=categories,
            optional=[str(name) for name in features.columns if name in optional],
            classes=np.unique(target.dropna()).tolist(),
            kinds=kinds,
            other=other,
        )

    @property
    def columns(self) -> list[str]:
        """The encoded matrix's columns: a feature each, a date three."""
        columns = []
        for name in self.features:
            columns.append(name)
            if self.kinds.get(name) == "date":
                columns.extend(f"{name} {part}" for part in DATE_PARTS)
        return columns

    def by_feature(self, values: np.ndarray) -> np.ndarray:
        """Sum per-column `values` into one per feature along the last axis.

        The last axis holds one value per encoded column (`columns`), then
        any extra (such as a bias), which stay as they are; a date's columns
        add up to the date's.
        """
        if "date" not in self.kinds.values():
            return values
        starts, position = [], 0
        for name in self.features:
            starts.append(position)
            position += 1 + len(DATE_PARTS) * (self.kinds.get(name) == "date")
        starts += range(position, values.shape[-1])
        return np.add.reduceat(values, starts, axis=-1)

    @property
    def categorical(self) -> list[bool]:
        """Which encoded columns hold category codes."""
        return [name in self.categories for name in self.columns]

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
        """Each feature's kind: "number", "string", "boolean" or "date"."""
        return {
            name: "string"
            if name in self.categories
            else self.kinds.get(name, "number")
            for name in self.features
        }

    def metadata(self) -> dict[str, Any]:
        """Return what the logged model's `MLmodel` metadata says of its inputs."""
        return {"input_types": self.input_types(), "optional_inputs": self.optional}

    def canonical(self, frame: pd.DataFrame, typed: bool = False) -> pd.DataFrame:
        """Return the features of `frame` as a client sends them: floats, strings.

        Numbers become float64 (missing: NaN), strings objects (missing: None),
        booleans True/False (missing: None; as a `typed` signature declares
        them, 1.0/0.0 and NaN) and dates ISO 8601 text (missing: None).
        """
        columns = {}
        for name in self.features:
            column = frame[name]
            kind = self.kinds.get(name)
            if name in self.categories:
                column = column.astype(object).where(column.notna(), None)
            elif kind == "boolean":
                flags = pd.Series(as_booleans(name, column), index=frame.index)
                if typed:
                    column = flags.astype(np.float64)
                else:
                    column = (flags == 1).astype(object).where(flags.notna(), None)
            elif kind == "date":
                dates = as_dates(name, column)
                text = dates.dt.strftime("%Y-%m-%dT%H:%M:%S").astype(object)
                column = text.where(dates.notna(), None)
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
        if self.categories or self.kinds:
            frame = self._encoded(frame)
        try:
            matrix = frame.to_numpy(dtype=np.float32, na_value=np.nan)
        except CONVERSION_ERRORS:
            matrix = self._to_numeric(frame)
        return np.ascontiguousarray(matrix)

    def _encoded(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return `frame` encoded column by column, as `columns` lists them.

        Categories become codes, booleans 1/0, and a date its day count, month
        and day of the week.
        """
        columns: dict[str, Any] = {}
        for name in self.features:
            column = frame[name]
            kind = self.kinds.get(name)
            if name in self.categories:
                known = self.categories[name]
                columns[name] = encode_categories(
                    column, known, name in self.other, self.missing_category
                )
            elif kind == "boolean":
                columns[name] = as_booleans(name, column)
            elif kind == "date":
                columns.update(date_columns(name, column))
            else:
                columns[name] = column
        return pd.DataFrame(columns, index=frame.index)

    def _select(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the features of `frame` in order; absent optional ones missing."""
        if self.stored_names:
            frame = self._by_stored_names(frame)
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

    def _by_stored_names(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rename the columns that name an absent feature as LightGBM stores it.

        `monthly income` is the feature `monthly_income`, and the other way
        round; a column that is a feature itself keeps its name.
        """
        absent = {
            stored_name(name): name for name in self.features if name not in frame
        }
        renamed = {
            column: absent[stored_name(str(column))]
            for column in frame.columns
            if stored_name(str(column)) in absent and column not in self.features
        }
        return frame.rename(columns=renamed) if renamed else frame

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
                gap = np.nan if self.missing_category is None else self.missing_category
                columns[name] = text.where(column.notna(), gap)
                continue
            if self.kinds.get(name) == "boolean":
                numbers = as_booleans(name, column).astype(np.float64)
            else:
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


def encode_categories(
    column: pd.Series, known: list[str], other: bool = False, missing: str | None = None
) -> np.ndarray:
    """Return category codes as floats; missing values become NaN.

    So do unknown ones, unless the column has an `other` code (`len(known)`)
    for them. A `missing` category (a wrapped model's notebook token) is
    what a missing value counts as, when given.

    Values are compared as text (`category_strings`), so a number sent for a
    string column matches the category it prints as.
    """
    text = category_strings(column)
    if missing is not None:
        text = text.where(text.notna(), missing)
    codes = pd.Index(known).get_indexer(text).astype(np.float32)
    if other:
        codes[(codes < 0) & text.notna().to_numpy()] = len(known)
    codes[codes < 0] = np.nan
    return codes


def frequent_categories(values: pd.Series) -> pd.Series:
    """Count a string column's categories, most common first, ties by text.

    The order is the codes' (`Preprocessor.fit`): the same rows give the same
    codes, and the same categories kept, in any order.
    """
    counts = category_strings(values.dropna()).value_counts()
    order = np.lexsort((counts.index.to_numpy(dtype=str), -counts.to_numpy()))
    return counts.iloc[order]


def kinds_of(frame: pd.DataFrame) -> dict[str, str]:
    """Read each column's kind: "number", "boolean", "date" or "string".

    A column of any other type is refused, naming it.

    Booleans are a bool column, or one of True/False or "true"/"false" text
    with gaps (pandas reads those as objects); dates a datetime or date column,
    or text whose every value is an ISO 8601 date or timestamp from 1677 to
    2262 (`DATE_TEXT_RANGE`).
    """
    kinds = {}
    for name in frame.columns:
        column = frame[name]
        if is_bool_dtype(column) or is_boolean_text(column):
            kinds[str(name)] = "boolean"
        elif is_numeric_dtype(column):
            kinds[str(name)] = "number"
        elif is_datetime64_any_dtype(column) or is_date_text(column):
            kinds[str(name)] = "date"
        elif is_string_like(column):
            kinds[str(name)] = "string"
        else:
            raise ValueError(
                f"Column {name!r} has type {column.dtype}; features must be "
                "numbers, booleans, dates or strings"
            )
    return kinds


def is_boolean_text(column: pd.Series) -> bool:
    """Whether a text column holds only booleans, or "true"/"false" text."""
    if not is_string_like(column) or isinstance(column.dtype, pd.CategoricalDtype):
        return False
    if column.isna().all():
        return False
    values = column.dropna()
    if values.map(type).isin([bool, np.bool_]).all():
        return True
    return values.map(type).eq(str).all() and (
        values.str.strip().str.lower().isin(["true", "false"]).all()
    )


def is_date_text(column: pd.Series) -> bool:
    """Whether a text column holds only ISO 8601 dates, or date objects.

    Text must be within `DATE_TEXT_RANGE`.
    """
    if not is_string_like(column) or isinstance(column.dtype, pd.CategoricalDtype):
        return False
    values = column.dropna()
    if values.empty:
        return False
    if values.map(lambda value: hasattr(value, "isoformat")).all():
        return True
    if not values.map(type).eq(str).all():
        return False
    if not values.str.match(ISO_DATE).all():
        return False
    try:
        dates = pd.to_datetime(values, format="ISO8601", utc=True)
    except CONVERSION_ERRORS:
        return False
    first, last = DATE_TEXT_RANGE
    return bool(dates.min() >= first and dates.max() <= last)


def as_booleans(name: str, column: pd.Series) -> np.ndarray:
    """Return a boolean feature as float32 1/0, missing as NaN.

    Any other value is refused, naming the column.
    """
    if is_bool_dtype(column) or is_numeric_dtype(column):
        values = column.to_numpy(dtype=np.float32, na_value=np.nan)
        wrong = ~np.isnan(values) & (values != 0) & (values != 1)
        if wrong.any():
            raise InputError(
                f"Column {name!r} must hold booleans; got {column[wrong].tolist()[0]!r}"
            )
        return values
    text = column.astype(object).map(boolean_text, na_action="ignore")
    values = text.map(BOOLEAN_TEXT)
    wrong = text.notna() & values.isna()
    if wrong.any():
        raise InputError(
            f"Column {name!r} must hold booleans (True/False, 1/0, "
            f'"true"/"false"); got {column[wrong].tolist()[0]!r:.40}'
        )
    return values.to_numpy(dtype=np.float32, na_value=np.nan)


def boolean_text(value: object) -> str | None:
    """Return a boolean value as the text `BOOLEAN_TEXT` looks up; blank: None."""
    text = str(value).strip().lower()
    return text or None


def as_dates(name: str, column: pd.Series) -> pd.Series:
    """Return a date feature as naive UTC timestamps; missing as NaT.

    Time-zone-aware values are converted to UTC, naive ones taken as UTC.
    Refuses, naming the column, a value that is not a date or an ISO 8601
    string (a number is not a date).
    """
    if is_datetime64_any_dtype(column):
        dates = column
    else:
        values = column.astype(object).map(blank_as_missing, na_action="ignore")
        try:
            if values.map(is_not_date_like, na_action="ignore").any():
                raise ValueError("not a date")
            dates = parse_dates(values)
        except CONVERSION_ERRORS:
            raise InputError(
                f"Column {name!r} must hold dates (ISO 8601 text such as "
                f"2024-01-31 or 2024-01-31T09:30:00Z); got "
                f"{first_non_date(values)!r:.40}"
            ) from None
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_convert("UTC").dt.tz_localize(None)
    return dates


def parse_dates(values: pd.Series) -> pd.Series:
    """Return ISO 8601 text or date objects as UTC timestamps.

    Values with an offset and naive ones are parsed apart: pandas 2.2 reads
    a naive value that follows one with an offset in that offset.
    """
    zoned = values.map(has_offset, na_action="ignore").eq(True)
    if zoned.all() or not zoned.any():
        return pd.to_datetime(values, format="ISO8601", utc=True)
    parts = [
        pd.to_datetime(values[rows], format="ISO8601", utc=True)
        for rows in (zoned, ~zoned)
    ]
    return pd.concat(parts).reindex(values.index)


def has_offset(value: object) -> bool:
    """Whether a date value says its time zone (an offset, `Z`, a tzinfo)."""
    if isinstance(value, str):
        return ZONED_TIME.search(value.strip()) is not None
    return getattr(value, "tzinfo", None) is not None


def blank_as_missing(value: object) -> object:
    """Return `value`, or None for blank text (an empty CSV field)."""
    return None if isinstance(value, str) and not value.strip() else value


def is_not_date_like(value: object) -> bool:
    """Whether `value` is neither text nor a date (a number is not a date)."""
    return not isinstance(value, str) and not hasattr(value, "isoformat")


def first_non_date(values: pd.Series) -> object:
    """Return the first value of `values` that does not parse as a date."""
    for value in values.dropna():
        try:
            if is_not_date_like(value):
                return value
            pd.to_datetime(value, format="ISO8601")
        except CONVERSION_ERRORS:
            return value
    return values.dtype


def date_columns(name: str, column: pd.Series) -> dict[str, np.ndarray]:
    """Return a date feature's encoded columns: days since `EPOCH`, month, weekday."""
    dates = as_dates(name, column)
    days = (dates - EPOCH) / pd.Timedelta(days=1)
    parts = {"month": dates.dt.month, "weekday": dates.dt.day_of_week}
    return {
        name: days.to_numpy(dtype=np.float64, na_value=np.nan),
        **{
            f"{name} {part}": values.to_numpy(dtype=np.float64, na_value=np.nan)
            for part, values in parts.items()
        },
    }


def to_numbers(name: str, column: pd.Series, kind: str) -> np.ndarray:
    """Return a number, boolean or date feature as float64 (a date's day count)."""
    if kind == "boolean":
        return as_booleans(name, column).astype(np.float64)
    if kind == "date":
        return date_columns(name, column)[name]
    return as_numbers(name, column, np.float64)


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


def stored_name(name: str) -> str:
    """Return a feature name as LightGBM stores it: each space as "_"."""
    return name.replace(" ", "_")


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
