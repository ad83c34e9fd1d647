"""The drift profile: training data and predictions in buckets, logged with a model.

What the buckets are, and how drift is read from them: the package's docstring.
"""

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_float_dtype

from ...model import Model
from ...model.kinds import DATE_PARTS, as_dates, category_strings, to_numbers

#: Key of the profile in the logged model's `MLmodel` metadata.
PROFILE_KEY = "drift_profile"
#: Quantile bins of a numeric column, fewer when a bin would hold fewer than
#: MIN_BIN_ROWS rows: a small held-out set must not make sampling noise look
#: like drift.
BINS = 10
MIN_BIN_ROWS = 10
#: Categories of a string column counted one by one; the other categories
#: seen in training share one bucket.
TOP_CATEGORIES = 20
#: A date's buckets: each month, then each day of the week (a row counts in
#: both), then missing; its PSI is the larger of its months' and its days'.
DATE_BUCKETS = {
    "month": (
        "Jan", "Feb", "Mar", "Apr", "May", "Jun",
        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ),
    "weekday": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}  # fmt: skip
#: The kinds of feature counted into quantile bins of numbers (booleans as 1/0).
NUMBER_KINDS = ("number", "boolean")
#: PSI from which a shift is moderate, and significant (drift).
MODERATE = 0.1
SIGNIFICANT = 0.25
#: Rows each class of a label output counts more in the held-out predictions.
CLASS_PRIOR = 0.5
#: Share an empty bucket counts as, so that PSI stays finite.
EPSILON = 1e-4


class DriftError(ValueError):
    """A model or batch drift cannot be measured for, in one line."""


def as_metadata(profile: dict[str, Any]) -> dict[str, str]:
    """Return the `MLmodel` metadata that stores `profile`.

    One JSON string: MLflow parses it at every load far faster than the same
    profile as nested YAML (15 ms against 53 ms for 30 columns).
    """
    return {PROFILE_KEY: json.dumps(profile, separators=(",", ":"))}


def profile(
    model: Model,
    features: pd.DataFrame,
    target: pd.Series,
    held_out: pd.DataFrame,
) -> dict[str, Any]:
    """Summarise training data and held-out predictions for the model's metadata.

    The profile holds the `features` and `target` the model was trained on
    and its predictions (default params) on the `held_out` features.
    """
    preprocessor = model.preprocessor
    kinds = preprocessor.input_types()
    numbers = {name: kind for name, kind in kinds.items() if kind in NUMBER_KINDS}
    matrix = numbers_of(features, numbers)
    summaries = {
        name: {**number_summary(matrix[:, position]), "kind": numbers[name]}
        for position, name in enumerate(numbers)
    }
    for name, kind in kinds.items():
        if kind == "date":
            summaries[name] = date_summary(as_dates(name, features[name]))
    for name, known in preprocessor.categories.items():
        other = name in preprocessor.other
        summaries[name] = string_summary(as_strings(features[name]), known, other)
    predictions = model.predict(held_out)
    return {
        "rows": len(features),
        "features": {name: summaries[name] for name in preprocessor.features},
        "target": number_summary(target.to_numpy(dtype=np.float64, na_value=np.nan)),
        "prediction": {
            str(name): output_summary(predictions[name]) for name in predictions
        },
    }


def number_summary(values: np.ndarray) -> dict[str, Any]:
    """Quantile bin edges of the present values, and each bucket's share."""
    present = values[~np.isnan(values)]
    bins = min(BINS, max(2, present.size // MIN_BIN_ROWS))
    quantiles = np.linspace(0, 1, bins + 1)[1:-1]
    edges = np.quantile(present, quantiles) if present.size else []
    # Six significant digits keep the metadata readable; the shares below are
    # counted with the rounded edges.
    edges = sorted({float(f"{edge:.6g}") for edge in edges})
    summary = {"kind": "number", "edges": edges}
    summary["shares"] = _shares(number_counts(summary, values))
    return summary


def string_summary(
    values: pd.Series, known: list[str], other: bool = False
) -> dict[str, Any]:
    """Count a string column into its buckets and return their shares.

    The buckets are the `TOP_CATEGORIES` first of `known` (the categories in
    descending frequency), "other", unseen values and missing ones. "Other"
    holds the rest of `known` and, in a column whose rare categories share
    the model's "other" code (`other`), every value outside `known`: the
    rare training categories and values never seen alike, as the model reads
    them. Elsewhere a value outside `known` is unseen (the model reads it as
    missing).
    """
    summary = {
        "kind": "string",
        "categories": known[:TOP_CATEGORIES],
        "others": known[TOP_CATEGORIES:],
        "other": other,
    }
    summary["shares"] = _shares(string_counts(summary, values))
    return summary


def date_summary(dates: pd.Series) -> dict[str, Any]:
    """Count a date column by month and day of the week; note its first and last.

    A date's place in time is not profiled: the rows scored after training are
    later, which is no drift by itself. Its months and days of the week are
    the parts of it that recur (and that the model reads besides its day
    count); the first and last dates show in the report.
    """
    present = dates.dropna()
    summary = {
        "kind": "date",
        "parts": list(DATE_PARTS),
        "first": iso_date(present.min()) if len(present) else None,
        "last": iso_date(present.max()) if len(present) else None,
    }
    summary["shares"] = bucket_shares(summary, date_counts(summary, dates))
    return summary


def output_summary(values: pd.Series, classes: Sequence[str] = ()) -> dict[str, Any]:
    """Summarise a prediction column: bins for scores, the classes for labels.

    A label column's buckets are the model's `classes`, each counted with
    CLASS_PRIOR rows more than the held-out predictions gave it: a class the
    few held-out rows never got is rare, not impossible, so predicting it later
    is not drift by itself.
    """
    if is_float_dtype(values):
        return number_summary(values.to_numpy(dtype=np.float64, na_value=np.nan))
    strings = as_strings(values)
    known = list(classes) or strings.value_counts().index.tolist()
    summary = {
        "kind": "string",
        "categories": known[:TOP_CATEGORIES],
        "others": known[TOP_CATEGORIES:],
    }
    counts = string_counts(summary, strings).astype(np.float64)
    if classes:
        counts[: len(summary["categories"])] += CLASS_PRIOR
        counts[len(summary["categories"])] += CLASS_PRIOR * len(summary["others"])
    summary["shares"] = _shares(counts)
    return summary


def number_counts(summary: dict[str, Any], values: np.ndarray) -> np.ndarray:
    """Rows per bin, then missing rows."""
    edges = np.asarray(summary["edges"])
    missing = np.isnan(values)
    bins = np.searchsorted(edges, values[~missing], side="right")
    return np.append(np.bincount(bins, minlength=len(edges) + 1), missing.sum())


def string_counts(summary: dict[str, Any], values: pd.Series) -> np.ndarray:
    """Rows per profiled category, then "other", unseen, missing.

    See `string_summary` for what "other" holds.
    """
    top = len(summary["categories"])
    codes = pd.Index([*summary["categories"], *summary["others"]]).get_indexer(values)
    missing = values.isna().to_numpy()
    if summary.get("other"):  # absent from profiles older than the "other" code
        codes[(codes < 0) & ~missing] = top
    counted = np.bincount(np.minimum(codes[codes >= 0], top), minlength=top + 1)
    unseen = int(((codes < 0) & ~missing).sum())
    return np.append(counted, [unseen, int(missing.sum())])


def date_counts(summary: dict[str, Any], dates: pd.Series) -> np.ndarray:
    """Rows per month, then per day of the week (a row counts in both), missing.

    A profile without parts (`readable`) counts present rows, then missing ones.
    """
    present = dates.dropna()
    counts = [
        np.bincount(_date_part(present, part), minlength=len(DATE_BUCKETS[part]))
        for part in summary["parts"]
    ] or [np.array([len(present)])]
    return np.concatenate([*counts, [len(dates) - len(present)]])


def bucket_groups(summary: dict[str, Any], size: int) -> list[list[int]]:
    """Return the positions of the buckets that share out a column's rows.

    One group of all `size` buckets; for a date, one per part, each with the
    missing bucket, as each part counts every row once.
    """
    if summary["kind"] != "date" or not summary["parts"]:
        return [list(range(size))]
    groups, start = [], 0
    for part in summary["parts"]:
        end = start + len(DATE_BUCKETS[part])
        groups.append([*range(start, end), size - 1])
        start = end
    return groups


def bucket_shares(summary: dict[str, Any], counts: np.ndarray) -> list[float]:
    """Return each bucket's share of the rows counted (see `bucket_groups`)."""
    rows = counts[bucket_groups(summary, len(counts))[0]].sum()
    if not rows:
        return [0.0] * len(counts)
    return [round(float(count / rows), 6) for count in counts]


def readable(profile: dict[str, Any]) -> dict[str, Any]:
    """Return `profile` in the buckets this version counts.

    A date profiled by an earlier version has quantile bins of day counts,
    which rows scored later always leave: it is compared by its missing share
    alone (buckets "any date" and "missing").
    """
    features = {}
    for name, summary in profile["features"].items():
        if summary["kind"] == "date" and "edges" in summary:
            missing = summary["shares"][-1]
            summary = {
                "kind": "date",
                "parts": [],
                "first": None,
                "last": None,
                "shares": [round(1 - missing, 6), missing],
            }
        features[name] = summary
    return {**profile, "features": features}


def bucket_labels(summary: dict[str, Any]) -> list[str]:
    """Return what each bucket of a summary holds, in its order."""
    if summary["kind"] == "string":
        return [*map(repr, summary["categories"]), "other", "unseen", "missing"]
    if summary["kind"] == "date":
        parts = [
            f"{part} {name}" for part in summary["parts"] for name in DATE_BUCKETS[part]
        ]
        return [*(parts or ["any date"]), "missing"]
    edges = [f"{edge:.4g}" for edge in summary["edges"]]
    if not edges:
        return ["any", "missing"]
    ranges = [f"[{low}, {high})" for low, high in zip(edges, edges[1:], strict=False)]
    return [f"< {edges[0]}", *ranges, f">= {edges[-1]}", "missing"]


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    if not total:
        return [0.0] * len(counts)
    return [round(float(count / total), 6) for count in counts]


def numbers_of(frame: pd.DataFrame, kinds: dict[str, str]) -> np.ndarray:
    """Return the number and boolean columns as one float64 matrix.

    Each is read as the model reads it (a boolean as 1/0); an absent column
    is missing.
    """
    if all(kind == "number" for kind in kinds.values()):
        return frame.reindex(columns=list(kinds)).to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    return np.column_stack(
        [to_numbers(name, column_of(frame, name), kind) for name, kind in kinds.items()]
    ).reshape(len(frame), len(kinds))


def column_of(frame: pd.DataFrame, name: str) -> pd.Series:
    """Return a column of `frame`, all missing when absent (an optional one)."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(None, index=frame.index, dtype=object)


def as_strings(values: pd.Series) -> pd.Series:
    """Values compared as text, as the model compares categories."""
    return category_strings(values)


def iso_date(date: pd.Timestamp) -> str:
    """Return the date of `date` as YYYY-MM-DD."""
    return date.date().isoformat()


def _date_part(dates: pd.Series, part: str) -> np.ndarray:
    """Return the month (0 = January) or the day of the week (0 = Monday)."""
    if part == "month":
        return dates.dt.month.to_numpy(dtype=np.int64) - 1
    return dates.dt.day_of_week.to_numpy(dtype=np.int64)
