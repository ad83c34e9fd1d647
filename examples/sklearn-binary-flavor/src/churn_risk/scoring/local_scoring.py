"""The local scoring engine: the input streamed in batches through the model.

Parquet record batches or CSV chunks go through the model one at a time, so
memory stays flat however large the file; the results go to a temporary file
beside the output, renamed only on success.
"""

import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import mlflow
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from mlflow.exceptions import MlflowException
from tqdm import tqdm

from ..errors import first_line
from ..making.logged_model import unwrap
from .drift import DriftMonitor
from .files import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    WHOLE_NUMBER_TEXT,
    ScoringError,
    load_model,
    local_path,
    remove,
    replace,
    typed_params,
)

DEFAULT_BATCH_SIZE = 50_000
#: The types a kept CSV column may have, narrowest first (`csv_types`).
CSV_TYPES = (pa.int64(), pa.float64(), pa.bool_())
#: The text of a boolean CSV column: true or false, in any case.
BOOLEAN_CSV_TEXT = "^(true|false)$"


def local_files(input_path: str, output_path: str) -> tuple[Path, Path]:
    """Return the input and output files the local engine reads and writes.

    Paths and `file:` URIs name local files; other URIs (`s3://`, `dbfs:/`)
    are the Spark engine's. The input must exist; an output folder (a Spark
    engine's dataset) is replaced on success, as a file is.
    """
    files = []
    for option, name in (("--input", input_path), ("--output", output_path)):
        path = local_path(name)
        if path is None:
            raise ScoringError(
                f"{option} {name}: the local engine reads and writes local files "
                "(paths or file: URIs); score URIs with --engine spark"
            )
        files.append(path)
    if not files[0].is_file():
        raise ScoringError(f"--input {input_path} does not exist")
    if not files[1].parent.is_dir():
        raise ScoringError(
            f"--output {output_path}: its folder {files[1].parent} does not exist"
        )
    return files[0], files[1]


def read_batches(
    path: Path, batch_size: int, kinds: dict[str, str], keep: list[str]
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """Yield the input `batch_size` rows at a time, and its `keep` columns.

    A CSV has no types, and pandas would guess them chunk by chunk: a string
    feature of digits with a gap would read as floats in one chunk only. So
    every column but the number features (`kinds`) is read as the text in the
    file, and a row scores the same in whatever batch it lands. The kept
    columns keep their own types: a Parquet file's, or the type a CSV column
    has over the whole file (`csv_types`), as Arrow-backed columns.
    """
    try:
        if path.suffix in CSV_SUFFIXES:
            columns = pd.read_csv(path, nrows=0).columns
            check_kept(keep, columns)
            types = csv_types(path, keep, batch_size)
            text = {name: str for name in columns if kinds.get(name) != "number"}
            for chunk in pd.read_csv(path, chunksize=batch_size, dtype=text):
                kept = pa.table(
                    {
                        name: pa.array(chunk[name], from_pandas=True).cast(kind)
                        for name, kind in types.items()
                    }
                )
                yield chunk, kept.to_pandas(types_mapper=pd.ArrowDtype)
        else:
            parquet = pq.ParquetFile(path)
            check_kept(keep, parquet.schema_arrow.names)
            for batch in parquet.iter_batches(batch_size=batch_size):
                kept = batch.select(keep).to_pandas(types_mapper=pd.ArrowDtype)
                yield batch.to_pandas(), kept
    except (OSError, ValueError, pa.ArrowException) as error:
        raise ScoringError(f"cannot read {path}: {first_line(error)}") from error


def check_kept(keep: list[str], columns: Iterable[str]) -> None:
    """Refuse `--keep` columns the input does not have."""
    present = set(columns)
    missing = [name for name in keep if name not in present]
    if missing:
        raise ScoringError(f"--keep column(s) {missing} are not in the input")


def csv_types(path: Path, keep: list[str], batch_size: int) -> dict[str, pa.DataType]:
    """Return the type each `keep` column has over the whole CSV.

    As pandas reads a whole file: whole numbers (int64, with gaps too), other
    numbers (float64), true/false in any case (bool), or else the text. A
    column with a whole number that int64 would change (`00042`, `+7`, one
    beyond int64) is an identifier: its text is kept, so it joins back. The
    kept columns alone are read once more first, `batch_size` rows at a time.
    """
    if not keep:
        return {}
    fits = {name: list(CSV_TYPES) for name in keep}
    present = set()
    for chunk in pd.read_csv(path, usecols=keep, dtype=str, chunksize=batch_size):
        for name in keep:
            text = pa.array(chunk[name], type=pa.string(), from_pandas=True)
            text = text.drop_null()
            if len(text):
                present.add(name)
                fits[name] = [kind for kind in fits[name] if holds(text, kind)]
    return {
        name: fits[name][0] if name in present and fits[name] else pa.string()
        for name in keep
    }


def holds(text: pa.Array, kind: pa.DataType) -> bool:
    """Whether every value of `text` reads as a `kind` (whole numbers as the text)."""
    if kind == pa.bool_():
        booleans = pc.match_substring_regex(text, BOOLEAN_CSV_TEXT, ignore_case=True)
        return pc.all(booleans).as_py()
    text = pc.utf8_trim_whitespace(text)
    whole = text.filter(pc.match_substring_regex(text, WHOLE_NUMBER_TEXT))
    try:
        text.cast(kind)
        as_read = whole.cast(pa.int64()).cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return pc.all(pc.equal(as_read, whole)).as_py() is not False


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
    """Write batches to a temporary file beside `output`; put it there on success.

    An old output, file or folder (a Spark engine's dataset), is replaced
    then; the temporary file never outlives the writer.
    """

    def __init__(self, output: Path) -> None:
        self.output = output
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
            # Without pandas' metadata, the file reads as any Parquet file
            # does (kept columns as their types, not Arrow-backed ones).
            self.schema = table.schema.remove_metadata()
            self.parquet = pq.ParquetWriter(self.temporary, self.schema)
        self.parquet.write_table(table)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self.parquet is not None:
                self.parquet.close()
            if kind is None:
                if not self.temporary.exists():  # the input had no rows
                    if self.output.suffix in CSV_SUFFIXES:
                        self.temporary.write_text("")
                    else:
                        pq.write_table(pa.table({}), self.temporary)
                replace(self.temporary, self.output)
        finally:
            remove(self.temporary)


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
    keep = list(dict.fromkeys(keep or []))
    params = typed_params(model.metadata.get_params_schema(), params or {})
    predict = direct_predict(model)
    kinds = (model.metadata.metadata or {}).get("input_types", {})
    start = 0
    with progress_bar(input_path) as progress:
        with AtomicWriter(output_path) as writer:
            for batch, kept in read_batches(input_path, batch_size, kinds, keep):
                end = start + len(batch) - 1
                try:
                    predictions = predict(batch, params)
                except MlflowException as error:
                    raise ScoringError(
                        f"rows {start}-{end}: {first_line(error)}"
                    ) from error
                writer.write(with_kept_columns(kept, predictions))
                if drift is not None:
                    drift.update(batch, predictions)
                progress.update(len(batch))
                start = end + 1
    return start


def with_kept_columns(kept: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Put the kept input columns in front of the prediction columns."""
    clash = [name for name in kept.columns if name in predictions.columns]
    if clash:
        raise ScoringError(f"--keep column(s) {clash} clash with prediction columns")
    return pd.concat(
        [kept.reset_index(drop=True), predictions.reset_index(drop=True)], axis=1
    )
