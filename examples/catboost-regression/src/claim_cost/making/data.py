"""The data a model is made from, read and checked; evaluation rows kept apart.

`train` and `wrap` read theirs here.
"""

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes

from ..errors import first_line
from ..model.kinds import kinds_of
from ..registry import rows

logger = logging.getLogger(__name__)


class DataError(ValueError):
    """The training data cannot be used as given."""


def load_data(
    path: Path | None, target: str, exclude: Sequence[str] = (), flag: str = "--data"
) -> tuple[pd.DataFrame, pd.Series]:
    """Read features and target from a CSV or Parquet file, or the bundled data.

    Rows without a target are dropped (and counted on stdout); `exclude` names
    columns, such as ids, that are not features.
    """
    if path is None:
        frame = load_diabetes(as_frame=True).frame
        source = "the bundled dataset"
    else:
        frame = read_table(path, flag)
        source = str(path)
    if target not in frame.columns:
        raise DataError(
            f"Target column {target!r} is not in {source}; "
            f"columns: {list(frame.columns)}"
        )
    check_columns(
        "--exclude", exclude, [name for name in frame.columns if name != target]
    )
    unlabelled = int(frame[target].isna().sum())
    if unlabelled:
        logger.info(
            f"dropped {unlabelled} of {len(frame)} rows without a {target!r} value"
        )
        frame = frame.dropna(subset=[target])
    if frame.empty:
        raise DataError(f"{source} has no rows with a {target!r} value")
    if not pd.api.types.is_numeric_dtype(frame[target]):
        raise DataError(f"Regression needs a numeric target; {target!r} is not")
    return frame.drop(columns=[target, *exclude]), frame[target]


def check_columns(flag: str, names: Sequence[str], allowed: list[str]) -> None:
    """Refuse `names` given with `flag` that are not among the `allowed` columns."""
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise DataError(
            f"{flag} {unknown} must name feature columns; features: {allowed}"
        )


def read_table(path: Path, flag: str = "--data") -> pd.DataFrame:
    """Read a CSV or Parquet file, refusing anything else with a `DataError`."""
    if path.suffix not in (".csv", ".parquet", ".pq"):
        raise DataError(f"{flag} must be a .csv or .parquet file; got {path}")
    if not path.is_file():
        raise DataError(f"{flag} {path} does not exist")
    try:
        if path.suffix == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except (OSError, ValueError) as error:
        raise DataError(f"cannot read {path}: {first_line(error)}") from error


def evaluation_data(
    path: Path,
    target: str,
    exclude: Sequence[str],
    features: pd.DataFrame,
    optional: Sequence[str],
    seen: str = "training",
) -> tuple[pd.DataFrame, pd.Series]:
    """Read `--eval-data`, refusing it without a required training feature.

    The `exclude` columns (ids) are dropped where the file has them, and so
    are rows of `features` (the `seen` rows: training, or a wrapped model's
    reference data).
    """
    eval_features, eval_labels = load_data(path, target, flag="--eval-data")
    eval_features = eval_features.drop(
        columns=[name for name in exclude if name in eval_features.columns]
    )
    missing = [
        name
        for name in features.columns
        if name not in eval_features.columns and name not in optional
    ]
    if missing:
        raise DataError(f"--eval-data {path} lacks the feature column(s) {missing}")
    # Rows are compared as the model reads them: a date is the same date in a
    # CSV's text and a Parquet timestamp.
    try:
        kinds = kinds_of(features)
    except ValueError as error:
        raise DataError(str(error)) from error
    trained = np.isin(rows.hashes(eval_features, kinds), rows.hashes(features, kinds))
    if trained.all():
        raise DataError(f"every row of --eval-data {path} is also a {seen} row")
    if trained.any():
        logger.info(
            f"left out {trained.sum()} of {len(trained)} --eval-data rows that "
            f"are also {seen} rows"
        )
    return eval_features[~trained], eval_labels[~trained]
