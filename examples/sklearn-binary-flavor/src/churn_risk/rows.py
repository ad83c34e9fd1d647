"""Rows known by their content: the held-out split and the rows a model saw.

A row's hash depends on its feature values only, not on its position, its
index or the order of the columns, so the same row is held out (or trained
on) whatever file it comes from and wherever it sits in it. Numbers hash by
value (1, 1.0 and True alike), categories by their text as the model compares
them. `promotion.py` leaves the rows the champion was trained on out of the
comparison; each training run stores them as TRAINING_ROWS_ARTIFACT.
"""

import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from .preprocessing import as_booleans, category_strings

#: The training run's artifact that holds its training rows' hashes.
TRAINING_ROWS_FOLDER = "promotion"
TRAINING_ROWS_ARTIFACT = f"{TRAINING_ROWS_FOLDER}/training_rows.npz"
#: A row is held out when its hash falls in this share of the hash space.
HASH_BUCKETS = 10_000


def hashes(frame: pd.DataFrame, kinds: dict[str, str]) -> np.ndarray:
    """Return one unsigned 64-bit hash per row of the `kinds` columns of `frame`.

    `kinds` maps each column to how the model reads it: numbers and booleans
    by value, the rest (strings, dates) by their text; a column that `frame`
    lacks counts as missing.
    """
    columns = {}
    for name in sorted(kinds):
        values = (
            frame[name]
            if name in frame.columns
            else pd.Series(None, index=frame.index, dtype=object)
        )
        if kinds[name] == "number":
            columns[name] = pd.to_numeric(values, errors="coerce").astype(np.float64)
        elif kinds[name] == "boolean":
            columns[name] = as_booleans(name, values).astype(np.float64)
        else:
            columns[name] = category_strings(values)
    canonical = pd.DataFrame(columns, index=frame.index)
    return pd.util.hash_pandas_object(canonical, index=False).to_numpy(np.uint64)


def kinds_of(frame: pd.DataFrame) -> dict[str, str]:
    """Each column's kind read from its dtype, before any model is fitted."""
    return {
        str(name): "number"
        if is_bool_dtype(frame[name]) or is_numeric_dtype(frame[name])
        else "string"
        for name in frame.columns
    }


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
            return stored["hashes"], dict(zip(columns, kinds, strict=True))
