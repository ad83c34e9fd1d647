"""The local scoring engine: the input streamed in batches through the model.

Parquet record batches or CSV chunks go through the model one at a time, so
memory stays flat however large the file; the results go to a temporary file
beside the output, renamed only on success.
"""

import os
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from mlflow.exceptions import MlflowException
from tqdm import tqdm

from .drift import DriftMonitor
from .errors import first_line
from .logged_model import unwrap
from .scoring import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    ScoringError,
    load_model,
    typed_params,
)

DEFAULT_BATCH_SIZE = 50_000


def read_batches(
    path: Path, batch_size: int, kinds: dict[str, str]
) -> Iterator[pd.DataFrame]:
    """Yield the input `batch_size` rows at a time, read as the model declares.

    A CSV has no types, and pandas would guess them chunk by chunk: a string
    feature of digits with a gap would read as floats in one chunk only. So
    every column but the number features (`kinds`) is read as the text in the
    file, and a row scores the same in whatever batch it lands.
    """
    try:
        if path.suffix in CSV_SUFFIXES:
            columns = pd.read_csv(path, nrows=0).columns
            text = {name: str for name in columns if kinds.get(name) != "number"}
            yield from pd.read_csv(path, chunksize=batch_size, dtype=text)
        else:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size):
                yield batch.to_pandas()
    except (OSError, ValueError, pa.ArrowException) as error:
        raise ScoringError(f"cannot read {path}: {first_line(error)}") from error


def direct_predict(
    loaded: mlflow.pyfunc.PyFuncModel,
) -> Callable[[pd.DataFrame, dict[str, Any]], pd.DataFrame]:
    """Return the model's own `predict`, which checks the input contract itself.

    It scores a model logged with `train --typed-signature` as it scores the
    default one: MLflow's typed checks would refuse integer columns. A model
    this project's packaging cannot unwrap is called through MLflow.
    """
    try:
        return unwrap(loaded).predict
    except (AttributeError, MlflowException, NotImplementedError):
        return loaded.predict


def progress_bar(path: Path, stream: TextIO = sys.stderr) -> tqdm:
    """Return a progress bar (rows, rows/s), shown on a terminal only.

    A Parquet file's metadata gives its rows, and so the time left; a CSV's
    would take reading the whole file once more, so its bar counts without.
    """
    shown = stream.isatty()
    total = None
    if shown and path.suffix in PARQUET_SUFFIXES:
        try:
            total = pq.ParquetFile(path).metadata.num_rows
        except (OSError, pa.ArrowException) as error:
            raise ScoringError(f"cannot read {path}: {first_line(error)}") from error
    return tqdm(total=total, unit=" rows", file=stream, disable=not shown)


class AtomicWriter:
    """Write batches to a temporary file beside `output`; rename it on success."""

    def __init__(self, output: Path, numbers: Sequence[str] = ()) -> None:
        self.output = output
        #: Columns written to Parquet as floats whatever a batch holds: a
        #: number column of whole numbers reads as integers, with a gap as floats.
        self.numbers = list(numbers)
        self.temporary = output.with_name(f".{output.name}.{uuid.uuid4().hex}.tmp")
        self.parquet: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None
        self.csv_header = True

    def __enter__(self) -> "AtomicWriter":
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append one batch of results."""
        if self.output.suffix in CSV_SUFFIXES:
            frame.to_csv(self.temporary, mode="a", header=self.csv_header, index=False)
            self.csv_header = False
            return
        numbers = [name for name in self.numbers if name in frame.columns]
        if numbers:
            frame = frame.astype(dict.fromkeys(numbers, np.float64))
        try:
            table = pa.Table.from_pandas(
                frame, schema=self.schema, preserve_index=False
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise ScoringError(
                "an output column's type differs from the first batch's: "
                f"{first_line(error)}"
            ) from error
        if self.parquet is None:
            self.schema = table.schema
            self.parquet = pq.ParquetWriter(self.temporary, self.schema)
        self.parquet.write_table(table)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.parquet is not None:
            self.parquet.close()
        if kind is None:
            if not self.temporary.exists():  # the input had no rows
                if self.output.suffix in CSV_SUFFIXES:
                    self.temporary.write_text("")
                else:
                    pq.write_table(pa.table({}), self.temporary)
            os.replace(self.temporary, self.output)
        else:
            self.temporary.unlink(missing_ok=True)


def score_local(
    model_uri: str,
    input_path: Path,
    output_path: Path,
    batch_size: int = DEFAULT_BATCH_SIZE,
    params: dict[str, Any] | None = None,
    keep: list[str] | None = None,
) -> int:
    """Score `input_path` batch by batch into `output_path`; return the row count.

    `params` are inference params (`method`, ...); text values are converted to
    the types the model's signature declares.
    """
    model = load_model(model_uri)
    return score_batches(model, input_path, output_path, batch_size, params, keep)


def score_batches(
    model: mlflow.pyfunc.PyFuncModel,
    input_path: Path,
    output_path: Path,
    batch_size: int = DEFAULT_BATCH_SIZE,
    params: dict[str, Any] | None = None,
    keep: list[str] | None = None,
    drift: DriftMonitor | None = None,
) -> int:
    """Score with a model already loaded, as `score_local` does.

    Each batch and its predictions are also counted into `drift` when given.
    """
    keep = keep or []
    params = typed_params(model.metadata.get_params_schema(), params or {})
    predict = direct_predict(model)
    kinds = (model.metadata.metadata or {}).get("input_types", {})
    numbers = [name for name in keep if kinds.get(name) == "number"]
    start = 0
    with progress_bar(input_path) as progress:
        with AtomicWriter(output_path, numbers) as writer:
            for batch in read_batches(input_path, batch_size, kinds):
                end = start + len(batch) - 1
                missing = [name for name in keep if name not in batch.columns]
                if missing:
                    raise ScoringError(
                        f"--keep column(s) {missing} are not in the input"
                    )
                try:
                    predictions = predict(batch, params)
                except MlflowException as error:
                    raise ScoringError(
                        f"rows {start}-{end}: {first_line(error)}"
                    ) from error
                writer.write(with_kept_columns(batch, predictions, keep))
                if drift is not None:
                    drift.update(batch, predictions)
                progress.update(len(batch))
                start = end + 1
    return start


def with_kept_columns(
    batch: pd.DataFrame, predictions: pd.DataFrame, keep: list[str]
) -> pd.DataFrame:
    """Put the kept input columns in front of the prediction columns."""
    clash = [name for name in keep if name in predictions.columns]
    if clash:
        raise ScoringError(f"--keep column(s) {clash} clash with prediction columns")
    kept = batch[keep].reset_index(drop=True)
    return pd.concat([kept, predictions.reset_index(drop=True)], axis=1)
