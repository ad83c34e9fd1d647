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

from .monitor import DriftMonitor, check
from .profile import (
    BINS,
    MODERATE,
    PROFILE_KEY,
    SIGNIFICANT,
    DriftError,
    as_metadata,
    bucket_labels,
    number_summary,
    output_summary,
    profile,
)
from .report import DriftReport, place_beside, psi, stem

__all__ = [
    "BINS",
    "MODERATE",
    "PROFILE_KEY",
    "SIGNIFICANT",
    "DriftError",
    "DriftMonitor",
    "DriftReport",
    "as_metadata",
    "bucket_labels",
    "check",
    "number_summary",
    "output_summary",
    "place_beside",
    "profile",
    "psi",
    "stem",
]
