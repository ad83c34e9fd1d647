"""The column report: how `train` read each column, printed before it fits.

One row per feature: the kind it was read as (number, boolean, date or
string), the share of missing values, for strings the categories kept of
those seen and the share of rows the kept ones cover, and notes on columns
that are rarely features as they are (an identifier, free text, a constant,
all missing). The same rows are logged with the model (`column_report` in
the `MLmodel` metadata, `column_report.txt` in the run's artifacts).
"""

from typing import Any

import pandas as pd

from ..model.kinds import category_strings
from ..model.preprocessing import Preprocessor

#: Metadata key and artifact of the report.
REPORT_KEY = "column_report"
REPORT_ARTIFACT = "column_report.txt"
#: A string or whole-number column with at least this many rows, nearly all
#: of them distinct, looks like an identifier.
ID_MIN_ROWS = 50
ID_DISTINCT_SHARE = 0.95
#: A string column whose values average this many characters is free text.
FREE_TEXT_LENGTH = 40


def report(features: pd.DataFrame, preprocessor: Preprocessor) -> list[dict[str, Any]]:
    """Return one row per feature of how `preprocessor` reads `features`."""
    kinds = preprocessor.input_types()
    rows = []
    for name in preprocessor.features:
        column = features[name]
        present = column.dropna()
        row: dict[str, Any] = {
            "column": name,
            "kind": kinds[name],
            "missing": round(float(column.isna().mean()), 4) if len(column) else 0.0,
        }
        notes = []
        if present.empty:
            notes.append("all missing")
        elif present.nunique() == 1:
            notes.append("constant")
        if kinds[name] == "string":
            text = category_strings(present)
            counts = text.value_counts()
            kept = preprocessor.categories[name]
            row["categories_kept"] = len(kept)
            row["categories_seen"] = len(counts)
            covered = counts.reindex(kept).sum() / len(present) if len(present) else 1
            row["rows_covered"] = round(float(covered), 4)
            if name in preprocessor.other:
                notes.append(
                    f"{len(counts) - len(kept)} rarer categories score as one "
                    '"other" category (--max-categories)'
                )
            if text.str.len().mean() >= FREE_TEXT_LENGTH:
                notes.append("free text: --exclude it, or derive features from it")
        if looks_like_id(present, kinds[name]):
            notes.append("nearly one value per row, like an id: --exclude it")
        row["notes"] = "; ".join(notes)
        rows.append(row)
    return rows


def looks_like_id(present: pd.Series, kind: str) -> bool:
    """Whether a column holds nearly all distinct strings, or row numbers.

    Row numbers are distinct whole numbers that fill most of their range. It
    takes `ID_MIN_ROWS` present values to tell.
    """
    if kind not in ("string", "number") or len(present) < ID_MIN_ROWS:
        return False
    distinct = present.nunique()
    if kind == "number":
        # Numbered rows: whole numbers that fill most of their range (a
        # measure such as a population is whole and distinct, but sparse).
        numbers = pd.to_numeric(present, errors="coerce")
        if not (numbers % 1 == 0).all():
            return False
        if numbers.max() - numbers.min() + 1 > 2 * distinct:
            return False
    return distinct >= ID_DISTINCT_SHARE * len(present)


def table(rows: list[dict[str, Any]]) -> str:
    """Return the report as a fixed-width table."""
    header = ("column", "kind", "missing", "categories kept/seen", "notes")
    lines = [header]
    for row in rows:
        categories = ""
        if "categories_kept" in row:
            categories = (
                f"{row['categories_kept']}/{row['categories_seen']} "
                f"({percent(row['rows_covered'])} of rows)"
            )
        lines.append(
            (
                row["column"],
                row["kind"],
                percent(row["missing"]),
                categories,
                row["notes"],
            )
        )
    widths = [max(len(line[index]) for line in lines) for index in range(4)]
    return "\n".join(
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(line, widths, strict=False))]
            + [line[4]]
        ).rstrip()
        for line in lines
    )


def percent(share: float) -> str:
    """Return a share as a whole percentage."""
    return f"{share * 100:.0f}%"
