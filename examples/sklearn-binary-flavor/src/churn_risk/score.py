"""Score a CSV or Parquet file with a logged model: locally in batches, or with Spark.

    python -m churn_risk.score
        --model-uri URI --input PATH --output PATH [--engine local|spark]
        [--batch-size N] [--method NAME] [--param NAME=VALUE ...]
        [--keep COLUMN ...] [--spark-master URL]

The local engine streams the input (Parquet record batches, CSV chunks), so
memory stays flat however large the file; the Spark engine runs the same model
through `mlflow.pyfunc.spark_udf`. Both write next to the prediction columns the
`--keep` columns (ids), to a temporary path first, renamed only on success.
A problem (unknown model, unreadable input, a batch the model refuses) is one
line on stderr and exit status 2.
"""

import argparse
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import mlflow
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from mlflow.exceptions import MlflowException
from mlflow.types.schema import ParamSchema
from tqdm import tqdm

from .logged_model import unwrap
from .model import METHODS

DEFAULT_BATCH_SIZE = 50_000
SPARK_APP_NAME = "churn_risk-score"
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
#: How a `--param` value of each declared type is described in an error.
PARAM_KINDS = {int: "whole number", float: "number", bool: "boolean (true or false)"}


class ScoringError(Exception):
    """Scoring stopped; the message says where and why."""


def read_batches(path: Path, batch_size: int) -> Iterator[pd.DataFrame]:
    """Yield the input `batch_size` rows at a time."""
    try:
        if path.suffix in CSV_SUFFIXES:
            yield from pd.read_csv(path, chunksize=batch_size)
        else:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size):
                yield batch.to_pandas()
    except (OSError, ValueError, pa.ArrowException) as error:
        raise ScoringError(f"cannot read {path}: {first_line(error)}") from error


def first_line(error: BaseException) -> str:
    """Return the gist of an error in one line.

    MLflow's schema errors quote the whole batch before the reason
    (`... Error: Model is missing inputs [...]`); keep the reason only. A first
    line that ends in a colon only introduces the details, whose last line is
    the cause (`... downloading ... from /models: ... No such artifact: 'm'`).
    """
    message = getattr(error, "message", None) or str(error)
    reason = message.rpartition("Error: ")[2]
    lines = [line.strip() for line in reason.splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if lines[0].endswith(":") and len(lines) > 1:
        return f"{lines[0]} {lines[-1]}"
    return lines[0]


def load_model(model_uri: str) -> mlflow.pyfunc.PyFuncModel:
    """Load a logged model; an unknown or unreadable one is a `ScoringError`."""
    try:
        return mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as error:
        raise ScoringError(
            f"cannot load model {model_uri}: {first_line(error)}"
        ) from error


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


def typed_params(schema: ParamSchema | None, params: dict[str, Any]) -> dict[str, Any]:
    """Convert text values (`--param NAME=VALUE`) to the types the model declares."""
    declared = {spec.name: spec for spec in schema.params} if schema else {}
    typed = {}
    for name, value in params.items():
        if name not in declared:
            raise ScoringError(
                f"unknown param {name!r}; the model declares {sorted(declared)}"
            )
        kind = declared[name].dtype.to_python()
        if not isinstance(value, str) or kind is str:
            typed[name] = value
        elif kind is bool and value.lower() in ("true", "false"):
            typed[name] = value.lower() == "true"
        else:
            try:
                typed[name] = kind(value)
            except ValueError:
                raise ScoringError(
                    f"param {name!r} must be a {PARAM_KINDS.get(kind, kind.__name__)}; "
                    f"got {value!r}"
                ) from None
    return typed


def parse_param(text: str) -> tuple[str, str]:
    """Split `NAME=VALUE` (the `--param` argument)."""
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE; got {text!r}")
    return name, value


def count_rows(path: Path) -> int:
    """Rows in the input: Parquet metadata, or newlines of a CSV (minus the header)."""
    try:
        if path.suffix in PARQUET_SUFFIXES:
            return pq.ParquetFile(path).metadata.num_rows
        lines = 0
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 24):
                lines += chunk.count(b"\n")
    except (OSError, pa.ArrowException) as error:
        raise ScoringError(f"cannot read {path}: {first_line(error)}") from error
    return max(lines - 1, 0)


def progress_bar(total: int, stream: TextIO = sys.stderr) -> tqdm:
    """Return a progress bar (rows, rows/s, time left), shown on a terminal only."""
    return tqdm(total=total, unit=" rows", file=stream, disable=not stream.isatty())


class AtomicWriter:
    """Write batches to a temporary file beside `output`; rename it on success."""

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
        table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
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
    keep = keep or []
    model = load_model(model_uri)
    params = typed_params(model.metadata.get_params_schema(), params or {})
    predict = direct_predict(model)
    start = 0
    with progress_bar(count_rows(input_path)) as progress:
        with AtomicWriter(output_path) as writer:
            for batch in read_batches(input_path, batch_size):
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


def spark_type(dtype: Any) -> Any:
    """Return the Spark SQL type of a pandas result column."""
    from pyspark.sql import types

    if pd.api.types.is_bool_dtype(dtype):
        return types.BooleanType()
    if pd.api.types.is_integer_dtype(dtype):
        return types.LongType()
    if pd.api.types.is_float_dtype(dtype):
        return types.DoubleType()
    return types.StringType()


def feature_columns(model: mlflow.pyfunc.PyFuncModel, frame: Any) -> list[Any]:
    """Return the Spark columns of `frame` the model reads, to pass in a `struct`.

    Whole numbers are cast to double: a model logged with a typed signature
    (`double`) is refused integers, and the model reads every number as a float.
    """
    from pyspark.sql import functions, types

    kinds = model.metadata.metadata["input_types"]
    columns = []
    for name in (name for name in kinds if name in frame.columns):
        column = functions.col(f"`{name}`")
        if kinds[name] == "number" and isinstance(
            frame.schema[name].dataType, types.IntegralType
        ):
            column = column.cast("double").alias(name)
        columns.append(column)
    return columns


def score_spark(
    model_uri: str,
    input_path: str,
    output_path: str,
    params: dict[str, Any] | None = None,
    keep: list[str] | None = None,
    master: str = "local[*]",
) -> int:
    """Score with `mlflow.pyfunc.spark_udf`; `output_path` becomes a Spark dataset.

    Paths may be local or any URI Spark reads (hdfs://, s3://, dbfs:/). The
    result columns and their types come from predicting the first rows on the
    driver, so every method (whatever columns it returns) works.
    """
    from pyspark.sql import SparkSession, functions, types

    keep = keep or []
    model = load_model(model_uri)
    params = typed_params(model.metadata.get_params_schema(), params or {})
    # Local workers run this interpreter (its packages); clusters set their own.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = SparkSession.builder.master(master).appName(SPARK_APP_NAME).getOrCreate()
    if Path(input_path).suffix in CSV_SUFFIXES:
        frame = spark.read.csv(input_path, header=True, inferSchema=True)
    else:
        frame = spark.read.parquet(input_path)
    missing = [name for name in keep if name not in frame.columns]
    if missing:
        raise ScoringError(f"--keep column(s) {missing} are not in the input")
    features = feature_columns(model, frame)
    try:
        sample = model.predict(
            frame.select(*features).limit(100).toPandas(), params=params
        )
    except MlflowException as error:
        raise ScoringError(f"first rows: {first_line(error)}") from error
    result_type = types.StructType(
        [
            types.StructField(str(name), spark_type(dtype))
            for name, dtype in sample.dtypes.items()
        ]
    )
    udf = mlflow.pyfunc.spark_udf(
        spark, model_uri, result_type=result_type, env_manager="local", params=params
    )
    kept = [functions.col(f"`{name}`") for name in keep]
    prediction = udf(functions.struct(*features))
    result = frame.select(*kept, prediction.alias("prediction")).select(
        *kept, "prediction.*"
    )
    local = "://" not in output_path
    target = output_path
    if local:
        output = Path(output_path)
        target = str(output.with_name(f".{output.name}.{uuid.uuid4().hex}.tmp"))
    writer = result.write.mode("overwrite")
    try:
        try:
            if Path(output_path).suffix in CSV_SUFFIXES:
                writer.csv(target, header=True)
            else:
                writer.parquet(target)
        except Exception as error:  # Spark wraps the model's error in its own
            refusal = re.search(r"(?:MlflowException|InputError): (.+)", str(error))
            if refusal is None:
                raise
            raise ScoringError(refusal.group(1).strip()) from error
        if local:
            shutil.rmtree(output_path, ignore_errors=True)
            os.replace(target, output_path)
    finally:
        if local:
            shutil.rmtree(target, ignore_errors=True)
    return frame.count()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model-uri", required=True, help="e.g. models:/m-... or models:/NAME@champion"
    )
    parser.add_argument("--input", required=True, help="CSV or Parquet file")
    parser.add_argument("--output", required=True, help="CSV or Parquet (by suffix)")
    parser.add_argument("--engine", choices=("local", "spark"), default="local")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help="rows per batch with the local engine (default: %(default)s)",
    )
    parser.add_argument("--method", choices=METHODS, default="predict")
    parser.add_argument(
        "--param",
        type=parse_param,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="inference param, typed as the model declares it (repeatable)",
    )
    parser.add_argument(
        "--keep", nargs="*", default=[], help="input columns to copy to the output"
    )
    parser.add_argument(
        "--spark-master", default="local[*]", help="Spark master (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    for name in ("input", "output"):
        path = getattr(args, name)
        if Path(path).suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
            parser.error(f"--{name} must end in .csv or .parquet; got {path}")
    if args.engine == "local" and not Path(args.input).is_file():
        parser.error(f"--input {args.input} does not exist")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    args = parse_args(argv)
    params = {"method": args.method, **dict(args.param)}
    start = time.monotonic()
    try:
        if args.engine == "spark":
            rows = score_spark(
                args.model_uri,
                args.input,
                args.output,
                params,
                args.keep,
                args.spark_master,
            )
        else:
            rows = score_local(
                args.model_uri,
                Path(args.input),
                Path(args.output),
                args.batch_size,
                params,
                args.keep,
            )
    except ScoringError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    elapsed = time.monotonic() - start
    rate = rows / max(elapsed, 1e-9)
    print(f"scored {rows:,} rows in {elapsed:.1f} s ({rate:,.0f} rows/s)")
    print(args.output)


if __name__ == "__main__":
    main()
