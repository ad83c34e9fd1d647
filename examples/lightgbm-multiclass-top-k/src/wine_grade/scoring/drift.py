"""Data drift: how far scored data is from the data the model was trained on.

At training, `profile` summarises the training features in buckets: per
numeric column, up to ten quantile bins and missing values; per date column,
its months and days of the week and missing values (not its place in time:
rows scored after training are later, which is no drift by itself), with its
first and last date; per string column, its most common categories, the
other categories (the rest seen in training and, in a column with an "other"
code, every value the model scores as "other"), unseen ones and missing
values. It also keeps the target's distribution and the predictions' on
held-out data: new data should look like that, so the rows the model was
trained on may well show prediction drift (a model is surer of them). The
profile is a JSON string in the logged model's `MLmodel` metadata
(`drift_profile`): a few kilobytes, however many rows.

`DriftMonitor` counts scored batches into the same buckets, in memory bounded
by the number of buckets, and `report` compares each column with training by
its population stability index over the buckets' shares of rows,

    PSI = sum of (batch - training) * ln(batch / training)

read as usual: under 0.1 stable, 0.1 to 0.25 a moderate shift worth a look,
0.25 or more a significant shift, which is flagged as drift.
"""

import json
import logging
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
import pyarrow
import pyarrow.fs
from pandas.api.types import is_float_dtype

from ..errors import first_line
from ..model import Model
from ..model.preprocessing import DATE_PARTS, as_dates, category_strings, to_numbers
from .files import LOAD_ERRORS, cannot_load, local_path

logger = logging.getLogger(__name__)

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
    matrix = _numbers(features, numbers)
    summaries = {
        name: {**number_summary(matrix[:, position]), "kind": numbers[name]}
        for position, name in enumerate(numbers)
    }
    for name, kind in kinds.items():
        if kind == "date":
            summaries[name] = date_summary(as_dates(name, features[name]))
    for name, known in preprocessor.categories.items():
        other = name in preprocessor.other
        summaries[name] = string_summary(_strings(features[name]), known, other)
    predictions = model.predict(held_out)
    classes = _strings(pd.Series(preprocessor.classes, dtype=object)).tolist()
    return {
        "rows": len(features),
        "features": {name: summaries[name] for name in preprocessor.features},
        "target": string_summary(_strings(target), classes),
        "prediction": {
            str(name): output_summary(predictions[name], classes)
            for name in predictions
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
        "first": _iso_date(present.min()) if len(present) else None,
        "last": _iso_date(present.max()) if len(present) else None,
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
    strings = _strings(values)
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


def psi(expected: list[float], observed: list[float]) -> float:
    """Return the population stability index of two lists of bucket shares."""
    expected_shares = np.maximum(np.asarray(expected), EPSILON)
    observed_shares = np.maximum(np.asarray(observed), EPSILON)
    return float(
        np.sum(
            (observed_shares - expected_shares)
            * np.log(observed_shares / expected_shares)
        )
    )


def status(value: float) -> str:
    """How a PSI reads: `stable`, `moderate` or `drift`."""
    if value >= SIGNIFICANT:
        return "drift"
    return "moderate" if value >= MODERATE else "stable"


@dataclass
class ColumnDrift:
    """One column's shift: PSI, status, missing shares and its largest move."""

    name: str
    kind: str
    psi: float
    status: str
    training_missing: float
    batch_missing: float
    #: The bucket whose share moved most, and its shares in training and batch.
    bucket: str
    training_share: float
    batch_share: float
    #: A date column's first and last dates (ISO 8601) in training and in the
    #: batch; None for other columns, and where unknown.
    training_dates: list[str] | None = None
    batch_dates: list[str] | None = None

    @classmethod
    def compare(
        cls,
        name: str,
        summary: dict[str, Any],
        counts: np.ndarray,
        dates: Sequence[pd.Timestamp | None] = (None, None),
    ) -> "ColumnDrift":
        """Compare a column's counts with its training summary.

        `dates` are the first and last dates counted of a date column.
        """
        expected = summary["shares"]
        observed = bucket_shares(summary, counts)
        moved = int(np.argmax(np.abs(np.subtract(observed, expected))))
        value = max(
            psi([expected[i] for i in group], [observed[i] for i in group])
            for group in bucket_groups(summary, len(expected))
        )
        drift = cls(
            name=name,
            kind=summary["kind"],
            psi=round(value, 4),
            status=status(value),
            training_missing=expected[-1],
            batch_missing=observed[-1],
            bucket=bucket_labels(summary)[moved],
            training_share=expected[moved],
            batch_share=observed[moved],
        )
        if summary["kind"] == "date":
            if summary["first"] is not None:
                drift.training_dates = [summary["first"], summary["last"]]
            if dates[0] is not None:
                drift.batch_dates = [_iso_date(date) for date in dates]
        return drift


@dataclass
class DriftReport:
    """Per-feature and per-prediction-column drift of the rows counted."""

    rows: int
    features: list[ColumnDrift]
    #: Empty when the predictions counted differ from those profiled (a
    #: `method` or another param changes what predict returns).
    prediction: list[ColumnDrift]

    @property
    def drifted(self) -> list[str]:
        """Return the columns flagged as drift (`prediction.<name>` for outputs)."""
        return [drift.name for drift in self.features if drift.status == "drift"] + [
            f"prediction.{drift.name}"
            for drift in self.prediction
            if drift.status == "drift"
        ]

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data, thresholds included."""
        return {
            "rows": self.rows,
            "thresholds": {"moderate": MODERATE, "significant": SIGNIFICANT},
            "drifted": self.drifted,
            "features": [asdict(drift) for drift in self.features],
            "prediction": [asdict(drift) for drift in self.prediction],
        }

    def table(self) -> str:
        """Return a fixed-width table, most shifted columns first.

        With date features, a last column gives their first and last dates in
        training and in the batch.
        """
        header = ("column", "kind", "PSI", "status", "missing", "largest move")
        dated = any(drift.kind == "date" for drift in self.features)
        lines = []
        for section, drifts in (("", self.features), ("prediction.", self.prediction)):
            for drift in sorted(drifts, key=lambda drift: -drift.psi):
                line = (
                    f"{section}{drift.name}",
                    drift.kind,
                    f"{drift.psi:.3f}",
                    drift.status,
                    f"{_percent(drift.training_missing)} -> "
                    f"{_percent(drift.batch_missing)}",
                    f"{drift.bucket}: {_percent(drift.training_share)} -> "
                    f"{_percent(drift.batch_share)}",
                )
                if dated:
                    line += (_date_span(drift),)
                lines.append(line)
        rows = [header + ("dates",) * dated, *lines]
        widths = [max(map(len, cells)) for cells in zip(*rows, strict=True)]
        return "\n".join(
            "  ".join(map(str.ljust, row, widths)).rstrip() for row in rows
        )

    def plot(self, path: Path) -> None:
        """Save a bar chart of every column's PSI against the thresholds."""
        drifts = [(drift.name, drift) for drift in self.features] + [
            (f"prediction.{drift.name}", drift) for drift in self.prediction
        ]
        drifts.sort(key=lambda item: item[1].psi)
        colours = {"stable": "tab:green", "moderate": "tab:orange", "drift": "tab:red"}
        figure, axes = plt.subplots(figsize=(8, 1.5 + 0.3 * len(drifts)))
        axes.barh(
            [name for name, _ in drifts],
            [drift.psi for _, drift in drifts],
            color=[colours[drift.status] for _, drift in drifts],
        )
        for threshold in (MODERATE, SIGNIFICANT):
            axes.axvline(threshold, color="grey", linestyle="--", linewidth=1)
        # Linear up to the drift threshold, logarithmic beyond: a PSI of 10
        # does not flatten the ones near the thresholds.
        axes.set_xscale("symlog", linthresh=SIGNIFICANT)
        axes.set_xlabel(f"PSI ({MODERATE} moderate, {SIGNIFICANT} drift)")
        axes.set_title(f"Drift of {self.rows:,} scored rows from training")
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)

    def save(self, directory: Path, stem: str) -> list[Path]:
        """Write `<stem>.drift.json` and `<stem>.drift.png` into `directory`."""
        paths = [directory / f"{stem}.drift.json", directory / f"{stem}.drift.png"]
        paths[0].write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        self.plot(paths[1])
        return paths

    def write(self, output: str | Path) -> list[str]:
        """Write the JSON and the plot beside `output`; return where they went.

        `output` is a local path or a URI (see `place_beside`).
        """
        with tempfile.TemporaryDirectory() as directory:
            return place_beside(self.save(Path(directory), stem(output)), output)

    def log(self, artifacts: Iterable[Path] = ()) -> None:
        """Log the report to the active MLflow run.

        Metrics: each column's PSI (`psi.<column>`, `psi.prediction.<column>`)
        and `drifted_columns`; `artifacts` (the JSON and the plot) go under
        `drift/`.
        """
        metrics = {
            f"psi.{_metric_name(drift.name)}": drift.psi for drift in self.features
        }
        metrics.update(
            {
                f"psi.prediction.{_metric_name(drift.name)}": drift.psi
                for drift in self.prediction
            }
        )
        metrics["drifted_columns"] = len(self.drifted)
        mlflow.log_metrics(metrics)
        for path in artifacts:
            mlflow.log_artifact(str(path), artifact_path="drift")


class DriftMonitor:
    """Counts scored batches into a profile's buckets; `report` compares."""

    def __init__(self, profile: dict[str, Any], model_uuid: str | None = None):
        self.profile = readable(profile)
        #: The logged model the profile is from.
        self.model_uuid = model_uuid
        kinds = {
            name: summary["kind"] for name, summary in self.profile["features"].items()
        }
        #: Numbers and booleans (1/0), by their kind.
        self.numbers = {
            name: kind for name, kind in kinds.items() if kind in NUMBER_KINDS
        }
        self.dates = [name for name, kind in kinds.items() if kind == "date"]
        self.strings = [name for name, kind in kinds.items() if kind == "string"]
        self.rows = 0
        self.feature_counts = {
            name: np.zeros(len(summary["shares"]), dtype=np.int64)
            for name, summary in self.profile["features"].items()
        }
        #: Each date column's first and last date counted (None before any).
        self.date_spans: dict[str, list[pd.Timestamp | None]] = {
            name: [None, None] for name in self.dates
        }
        self.prediction_counts = {
            name: np.zeros(len(summary["shares"]), dtype=np.int64)
            for name, summary in profile["prediction"].items()
        }
        self.predictions_match = True

    @classmethod
    def for_model(cls, loaded: mlflow.pyfunc.PyFuncModel) -> "DriftMonitor":
        """Return the monitor of a loaded model, from its `MLmodel` metadata."""
        return cls._from(loaded.metadata)

    @classmethod
    def for_model_uri(cls, model_uri: str) -> "DriftMonitor":
        """Return the monitor of the model at `model_uri` from its `MLmodel` alone.

        The Spark engine loads the model itself, once.
        """
        try:
            return cls._from(mlflow.models.get_model_info(model_uri))
        except LOAD_ERRORS as error:
            raise cannot_load(model_uri, error) from error

    @classmethod
    def _from(cls, metadata: Any) -> "DriftMonitor":
        stored = (metadata.metadata or {}).get(PROFILE_KEY)
        if stored is None:
            raise DriftError(
                "the model has no drift profile: it was logged before drift "
                "checks, or wrapped without --data; train it again, or wrap it "
                "with --data, to add one"
            )
        return cls(json.loads(stored), metadata.model_uuid)

    def update(self, features: pd.DataFrame, predictions: pd.DataFrame) -> None:
        """Count a batch of features and the predictions made for it."""
        self.rows += len(features)
        matrix = _numbers(features, self.numbers)
        summaries = self.profile["features"]
        for position, name in enumerate(self.numbers):
            self.feature_counts[name] += number_counts(
                summaries[name], matrix[:, position]
            )
        for name in self.dates:
            dates = as_dates(name, _column(features, name))
            self.feature_counts[name] += date_counts(summaries[name], dates)
            self._widen(name, [dates.min(), dates.max()])
        for name in self.strings:
            values = _strings(_column(features, name))
            self.feature_counts[name] += string_counts(summaries[name], values)
        outputs = {str(name): values for name, values in predictions.items()}
        if outputs.keys() != self.prediction_counts.keys():
            self.predictions_match = False
            return
        for name, values in outputs.items():
            summary = self.profile["prediction"][name]
            if summary["kind"] == "number":
                values = values.to_numpy(dtype=np.float64, na_value=np.nan)
                counts = number_counts(summary, values)
            else:
                counts = string_counts(summary, _strings(values))
            self.prediction_counts[name] += counts

    def counts(self) -> dict[str, Any]:
        """Return what was counted, for `add` on another monitor of the profile."""
        return {
            "rows": self.rows,
            "features": self.feature_counts,
            "prediction": self.prediction_counts,
            "predictions_match": self.predictions_match,
            "date_spans": self.date_spans,
        }

    def add(self, counts: dict[str, Any]) -> None:
        """Add what another monitor of the same profile counted (a Spark task)."""
        self.rows += counts["rows"]
        for name, values in counts["features"].items():
            self.feature_counts[name] += values
        for name, values in counts["prediction"].items():
            self.prediction_counts[name] += values
        self.predictions_match = self.predictions_match and counts["predictions_match"]
        for name, span in counts["date_spans"].items():
            self._widen(name, span)

    def _widen(self, name: str, span: Sequence[pd.Timestamp | None]) -> None:
        """Widen a date column's first and last dates to take in `span`."""
        first, last = span
        if first is None or pd.isna(first):
            return
        low, high = self.date_spans[name]
        self.date_spans[name] = [
            first if low is None else min(low, first),
            last if high is None else max(high, last),
        ]

    def report(self) -> DriftReport:
        """Compare everything counted so far with the profile."""
        features = [
            ColumnDrift.compare(
                name,
                summary,
                self.feature_counts[name],
                self.date_spans.get(name, (None, None)),
            )
            for name, summary in self.profile["features"].items()
        ]
        prediction = []
        if self.predictions_match and self.rows:
            prediction = [
                ColumnDrift.compare(name, summary, self.prediction_counts[name])
                for name, summary in self.profile["prediction"].items()
            ]
        return DriftReport(self.rows, features, prediction)


def check(model_uri: str, batches: Iterable[pd.DataFrame]) -> DriftReport:
    """Score `batches` with the model at `model_uri` and report their drift.

    For batch code of your own; the score CLI's `--drift` does the same.
    """
    loaded = mlflow.pyfunc.load_model(model_uri)
    monitor = DriftMonitor.for_model(loaded)
    for batch in batches:
        monitor.update(batch, loaded.predict(batch))
    return monitor.report()


def stem(output: str | Path) -> str:
    """Return the name of an output path or URI without its suffix."""
    local = local_path(str(output))
    name = local.name if local else str(output).rstrip("/").rpartition("/")[2]
    return name.removesuffix(Path(name).suffix)


def place_beside(files: list[Path], output: str | Path) -> list[str]:
    """Copy `files` beside `output`, a local path or a URI; return where they went.

    A URI (`s3://`, `gs://`, `hdfs://`, ...) is written through pyarrow's file
    system for its scheme. Where pyarrow has none, or it cannot write there,
    the files go to the working directory instead, with a warning: the scores
    are written by then, and a report must not be lost for its location.
    """
    local = local_path(str(output))
    if local is not None:
        targets = [local.with_name(file.name) for file in files]
    else:
        parent = str(output).rstrip("/").rpartition("/")[0]
        try:
            filesystem, folder = pyarrow.fs.FileSystem.from_uri(parent)
            for file in files:
                with filesystem.open_output_stream(f"{folder}/{file.name}") as stream:
                    stream.write(file.read_bytes())
            return [f"{parent}/{file.name}" for file in files]
        except (pyarrow.ArrowException, OSError, ValueError) as error:
            logger.warning(
                "cannot write the drift report beside %s (%s); "
                "it goes to the working directory",
                output,
                first_line(error),
            )
            targets = [Path.cwd() / file.name for file in files]
    for file, target in zip(files, targets, strict=True):
        shutil.copyfile(file, target)
    return [str(target) for target in targets]


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    if not total:
        return [0.0] * len(counts)
    return [round(float(count / total), 6) for count in counts]


def _numbers(frame: pd.DataFrame, kinds: dict[str, str]) -> np.ndarray:
    """Return the number and boolean columns as one float64 matrix.

    Each is read as the model reads it (a boolean as 1/0); an absent column
    is missing.
    """
    if all(kind == "number" for kind in kinds.values()):
        return frame.reindex(columns=list(kinds)).to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    return np.column_stack(
        [to_numbers(name, _column(frame, name), kind) for name, kind in kinds.items()]
    ).reshape(len(frame), len(kinds))


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """Return a column of `frame`, all missing when absent (an optional one)."""
    if name in frame.columns:
        return frame[name]
    return pd.Series(None, index=frame.index, dtype=object)


def _strings(values: pd.Series) -> pd.Series:
    """Values compared as text, as the model compares categories."""
    return category_strings(values)


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def _iso_date(date: pd.Timestamp) -> str:
    return date.date().isoformat()


def _date_part(dates: pd.Series, part: str) -> np.ndarray:
    """Return the month (0 = January) or the day of the week (0 = Monday)."""
    if part == "month":
        return dates.dt.month.to_numpy(dtype=np.int64) - 1
    return dates.dt.day_of_week.to_numpy(dtype=np.int64)


def _date_span(drift: ColumnDrift) -> str:
    """Return a date column's first..last dates, in training -> in the batch."""
    if drift.kind != "date":
        return ""
    spans = [
        "..".join(dates) if dates else "?"
        for dates in (drift.training_dates, drift.batch_dates)
    ]
    return " -> ".join(spans)


def _metric_name(name: str) -> str:
    """Return a column name as MLflow accepts it in a metric key."""
    return re.sub(r"[^\w\-. /]", "_", name)
