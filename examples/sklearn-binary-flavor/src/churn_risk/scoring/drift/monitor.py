"""`DriftMonitor` counts scored batches into the profile's buckets.

Its memory is bounded by their number; `check` counts an iterable of batches.
"""

import json
from collections.abc import Iterable, Sequence
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from ...model.kinds import as_dates
from ..files import LOAD_ERRORS, cannot_load
from .profile import (
    NUMBER_KINDS,
    PROFILE_KEY,
    DriftError,
    as_strings,
    column_of,
    date_counts,
    number_counts,
    numbers_of,
    readable,
    string_counts,
)
from .report import ColumnDrift, DriftReport


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
        matrix = numbers_of(features, self.numbers)
        summaries = self.profile["features"]
        for position, name in enumerate(self.numbers):
            self.feature_counts[name] += number_counts(
                summaries[name], matrix[:, position]
            )
        for name in self.dates:
            dates = as_dates(name, column_of(features, name))
            self.feature_counts[name] += date_counts(summaries[name], dates)
            self._widen(name, [dates.min(), dates.max()])
        for name in self.strings:
            values = as_strings(column_of(features, name))
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
                counts = string_counts(summary, as_strings(values))
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
