"""Drift reports: each column's PSI against training, read and written.

A report is a table, a plot, files beside the output and an MLflow run.
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

from ...errors import first_line
from ..files import local_path
from .profile import (
    EPSILON,
    MODERATE,
    SIGNIFICANT,
    bucket_groups,
    bucket_labels,
    bucket_shares,
    iso_date,
)

logger = logging.getLogger(__name__)


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
                drift.batch_dates = [iso_date(date) for date in dates]
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


def _percent(share: float) -> str:
    return f"{share * 100:.1f}%"


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
