"""Rows known by their content: the held-out split and the rows a model saw.

A row's hash depends on its feature values only, not on its position, its
index or the order of the columns, so the same row is held out (or trained
on) whatever file it comes from and wherever it sits in it. Numbers hash by
their value as the model reads it, a 32-bit float (1, 1.0 and True alike; a
float32 column and its CSV text alike), booleans and dates as the model reads them
(true/1/True alike; a date by its instant, whether a CSV's text or a
Parquet timestamp), categories by their text as the model compares them.
Each column's kind is read once, by `preprocessing.kinds_of`, the rule the
model is fitted with. `promotion.py` leaves the rows the champion was trained
on out of the comparison; each training run stores them as
TRAINING_ROWS_ARTIFACT.
"""

import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient

from ..model.contract import InputError
from ..model.kinds import category_strings, kinds_of, to_numbers

#: The training run's artifact that holds its training rows' hashes.
TRAINING_ROWS_FOLDER = "promotion"
TRAINING_ROWS_ARTIFACT = f"{TRAINING_ROWS_FOLDER}/training_rows.npz"
#: A row is held out when its hash falls in this share of the hash space.
HASH_BUCKETS = 10_000
#: How the stored hashes were made: before version 2, numbers hashed as
#: 64-bit floats and dates as text (the kinds "number64" and "date_text"
#: reproduce that for a champion trained then).
HASHING_VERSION = 2
LEGACY_KINDS = {"number": "number64", "date": "date_text"}


def hashes(frame: pd.DataFrame, kinds: dict[str, str]) -> np.ndarray:
    """Return one unsigned 64-bit hash per row of the `kinds` columns of `frame`.

    `kinds` maps each column to how the model reads it (`kinds_of`): numbers,
    booleans and dates by value, strings by their text; a column that `frame`
    lacks counts as missing, and a value the kind cannot read hashes as text.
    """
    columns = {}
    for name in sorted(kinds):
        values = (
            frame[name]
            if name in frame.columns
            else pd.Series(None, index=frame.index, dtype=object)
        )
        kind = kinds[name]
        if kind in ("number", "number64"):
            numbers = pd.to_numeric(values, errors="coerce").astype(np.float64)
            if kind == "number":
                numbers = numbers.astype(np.float32).astype(np.float64)
            columns[name] = numbers
            continue
        if kind in ("boolean", "date"):
            try:
                columns[name] = to_numbers(name, values, kind)
                continue
            except InputError:
                pass
        columns[name] = category_strings(values)
    canonical = pd.DataFrame(columns, index=frame.index)
    return pd.util.hash_pandas_object(canonical, index=False).to_numpy(np.uint64)


def held_out(frame: pd.DataFrame, share: float) -> np.ndarray:
    """Return which rows of `frame` belong to the held-out split (about `share`)."""
    buckets = hashes(frame, kinds_of(frame)) % np.uint64(HASH_BUCKETS)
    return buckets < np.uint64(round(share * HASH_BUCKETS))


def log_training_rows(frame: pd.DataFrame, kinds: dict[str, str]) -> None:
    """Store the hashes of the training rows with the active run."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / Path(TRAINING_ROWS_ARTIFACT).name
        np.savez_compressed(
            path,
            hashes=np.unique(hashes(frame, kinds)),
            columns=np.array(list(kinds)),
            kinds=np.array(list(kinds.values())),
            version=np.array(HASHING_VERSION),
        )
        mlflow.log_artifact(str(path), TRAINING_ROWS_FOLDER)


def training_rows(run_id: str) -> tuple[np.ndarray, dict[str, str]] | None:
    """Return a run's training rows' hashes and their column kinds; None if unrecorded.

    Runs of versions made before the hashes were stored have none.
    """
    listed = MlflowClient().list_artifacts(run_id, TRAINING_ROWS_FOLDER)
    if not any(item.path == TRAINING_ROWS_ARTIFACT for item in listed):
        return None
    with tempfile.TemporaryDirectory() as directory:
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=TRAINING_ROWS_ARTIFACT, dst_path=directory
        )
        with np.load(path, allow_pickle=False) as stored:
            columns = stored["columns"].tolist()
            kinds = stored["kinds"].tolist()
            if "version" not in stored:
                kinds = [LEGACY_KINDS.get(kind, kind) for kind in kinds]
            return stored["hashes"], dict(zip(columns, kinds, strict=True))
