"""How the model reads a column: its kind and its values as that kind.

A kind is number, boolean, date or string; a column reads the same in
training, serving and scoring.
"""

import re

import numpy as np
import pandas as pd
from pandas.api.types import (
    is_bool_dtype,
    is_datetime64_any_dtype,
    is_numeric_dtype,
)

from .contract import InputError

#: Errors numpy and pandas raise when a value cannot become a float.
CONVERSION_ERRORS = (TypeError, ValueError, OverflowError)
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


def category_text(value: object) -> str:
    """Return one value as category text: whole floats without `.0`."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


def first_non_number(column: pd.Series) -> object:
    """Return the first value of `column` that is neither missing nor a number."""
    for value in column:
        try:
            float(value)
        except CONVERSION_ERRORS:
            if not any(value is missing for missing in (None, pd.NA, pd.NaT)):
                return value
    return column.dtype
