"""The Spark scoring engine: the model run by `mlflow.pyfunc.spark_udf`.

The model is fetched once: the driver predicts the first rows with it (for the
result's columns and types) and the UDF ships the same copy to the executors,
so an alias that moves meanwhile cannot mix two versions. Spark needs pyspark,
which is imported only here, when this engine runs.
"""

import os
import re
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException

from ..errors import first_line
from ..model.kinds import BOOLEAN_TEXT
from .drift import DriftMonitor
from .files import (
    CSV_SUFFIXES,
    LOAD_ERRORS,
    WHOLE_NUMBER_TEXT,
    ScoringError,
    cannot_load,
    load_model,
    local_path,
    remove,
    replace,
    typed_params,
)

SPARK_APP_NAME = "churn_risk-score"
#: How a Spark date or timestamp reaches a date feature (see `feature_columns`).
ISO_TIMESTAMP = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"
#: Prefix of the feature columns carried next to the predictions for `--drift`.
DRIFT_PREFIX = "__drift__"


class PartitionCounts:
    """Accumulator parameter: the drift counts of each partition, in a list."""

    def zero(self, value: list) -> list:  # noqa: ARG002 (Spark's signature)
        """Return the counts before any partition: none."""
        return []

    def addInPlace(self, first: list, second: list) -> list:  # noqa: N802 (Spark's)
        """Return both lists of counts as one."""
        return first + second


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

    Whole numbers, and Spark booleans of a boolean feature, are cast to double:
    a model logged with a typed signature (`double`) is refused integers and
    booleans, and the model reads them as floats; so is the text of a boolean
    feature (a CSV's) when the signature is typed. Spark dates and timestamps of
    a date feature become ISO 8601 text in the session's time zone (UTC in
    the session `score` starts), which a typed signature declares.
    """
    from pyspark.sql import functions, types

    kinds = model.metadata.metadata["input_types"]
    typed = model.metadata.get_input_schema() is not None
    columns = []
    for name in feature_names(model, frame):
        column = functions.col(f"`{name}`")
        data_type = frame.schema[name].dataType
        if kinds[name] in ("number", "boolean") and isinstance(
            data_type, types.IntegralType | types.BooleanType
        ):
            column = column.cast("double").alias(name)
        elif kinds[name] == "boolean" and typed and data_type == types.StringType():
            column = boolean_text(column, name).alias(name)
        elif kinds[name] == "date" and isinstance(
            data_type, types.DateType | types.TimestampType | types.TimestampNTZType
        ):
            column = functions.date_format(column, ISO_TIMESTAMP).alias(name)
        columns.append(column)
    return columns


def boolean_text(column: Any, name: str) -> Any:
    """Return a boolean feature's text as 1.0/0.0, as a typed signature wants it.

    Text that is not a boolean fails the job, naming the column (Spark's own
    cast would make it null).
    """
    from pyspark.sql import functions

    text = functions.lower(functions.trim(column))
    meaning = functions.when(column.isNull() | (text == ""), None)
    for value, number in BOOLEAN_TEXT.items():
        meaning = meaning.when(text == value, number)
    refusal = functions.concat(
        functions.lit(f"InputError: Column {name!r} must hold booleans; got "),
        column,
    )
    return meaning.otherwise(functions.raise_error(refusal)).cast("double")


def feature_names(model: mlflow.pyfunc.PyFuncModel, frame: Any) -> list[str]:
    """Return the features of the model that `frame` has, in the model's order."""
    kinds = model.metadata.metadata["input_types"]
    return [name for name in kinds if name in frame.columns]


def write(result: Any, output_path: str) -> None:
    """Write `result` as CSV or Parquet (by suffix) to `output_path`.

    A local output is written beside it first and renamed on success; a URI is
    written in place.
    """
    as_csv = Path(output_path).suffix in CSV_SUFFIXES
    output = local_path(output_path)
    if output is None:
        save(result, output_path, as_csv)
        return
    temporary = output.with_name(f".{output.name}.{uuid.uuid4().hex}.tmp")
    try:
        save(result, str(temporary), as_csv)
        replace(temporary, output)
    finally:
        remove(temporary)


def save(result: Any, target: str, as_csv: bool) -> None:
    """Run the scoring job, writing to `target`; the model's refusal is a line."""
    writer = result.write.mode("overwrite")
    try:
        if as_csv:
            writer.csv(target, header=True)
        else:
            writer.parquet(target)
    except Exception as error:  # Spark wraps the model's error in its own
        refusal = re.search(r"(?:MlflowException|InputError): (.+)", str(error))
        if refusal is None:
            raise
        raise ScoringError(refusal.group(1).strip()) from error


def read_input(
    spark: Any, input_path: str, model: mlflow.pyfunc.PyFuncModel, keep: list[str]
) -> tuple[Any, list[Any]]:
    """Read the input as a Spark DataFrame; return it and its `keep` columns.

    A Parquet file's columns keep their types. Spark infers a CSV column's
    type from the whole file: a string feature of digits would become numbers
    (101.0 is not the category "101"). So every column but the number features
    is read as the text in the file, the model reads its features as it
    declares them, and each kept column is the type inferred for the whole
    column, as the local engine keeps it (`kept_type`).
    """
    from pyspark.sql import functions, types

    casts: dict[str, str | None] = {}
    if Path(input_path).suffix in CSV_SUFFIXES:
        kinds = model.metadata.metadata["input_types"]
        inferred = spark.read.csv(input_path, header=True, inferSchema=True).schema
        schema = types.StructType(
            [
                field
                if kinds.get(field.name) == "number"
                else types.StructField(field.name, types.StringType())
                for field in inferred.fields
            ]
        )
        frame = spark.read.csv(input_path, header=True, schema=schema)
        casts = {field.name: kept_type(field.dataType) for field in inferred.fields}
        numbers = [name for name in keep if casts.get(name) in ("long", "double")]
        text = spark.read.csv(input_path, header=True)
        casts.update(dict.fromkeys(identifiers(text, numbers)))
    else:
        frame = spark.read.parquet(input_path)
    missing = [name for name in keep if name not in frame.columns]
    if missing:
        raise ScoringError(f"--keep column(s) {missing} are not in the input")
    kept = []
    for name in keep:
        column = functions.col(f"`{name}`")
        kind = casts.get(name)
        kept.append(column.cast(kind).alias(name) if kind else column)
    return frame, kept


def identifiers(text: Any, names: list[str]) -> list[str]:
    """Return the `names` whose whole numbers would not read back as their text.

    `00042`, `+7` or a number beyond a long: identifiers, kept as text.
    """
    from pyspark.sql import functions

    if not names:
        return []
    changed = []
    for name in names:
        value = functions.trim(functions.col(f"`{name}`"))
        as_read = functions.expr(f"try_cast(trim(`{name}`) AS BIGINT)").cast("string")
        differs = value.rlike(WHOLE_NUMBER_TEXT) & ~as_read.eqNullSafe(value)
        changed.append(functions.max(differs.cast("int")).alias(name))
    row = text.agg(*changed).first()
    return [name for name in names if row[name]]


def kept_type(inferred: Any) -> str | None:
    """Return the type a kept CSV column is cast to from Spark's inferred one.

    Whole numbers are longs, other numbers doubles, true/false booleans (the
    local engine's int64, float64 and bool); None keeps the text (dates too).
    """
    from pyspark.sql import types

    if isinstance(inferred, types.IntegralType):
        return "long"
    if isinstance(inferred, types.FractionalType):
        return "double"
    if isinstance(inferred, types.BooleanType):
        return "boolean"
    return None


def fetch_model(model_uri: str, directory: str) -> str:
    """Download the model at `model_uri` into `directory`; return its local path."""
    try:
        return mlflow.artifacts.download_artifacts(model_uri, dst_path=directory)
    except LOAD_ERRORS as error:
        raise cannot_load(model_uri, error) from error


def score_spark(
    model_uri: str,
    input_path: str,
    output_path: str,
    params: dict[str, Any] | None = None,
    keep: list[str] | None = None,
    master: str = "local[*]",
    drift: DriftMonitor | None = None,
) -> int:
    """Score with `mlflow.pyfunc.spark_udf`; `output_path` becomes a Spark dataset.

    Paths may be local or any URI Spark reads (hdfs://, s3://, dbfs:/). The
    result columns and their types come from predicting the first rows on the
    driver, so every method (whatever columns it returns) works. Returns the
    number of rows scored. Each partition's rows and predictions are also
    counted into `drift` when given, in the same pass.
    """
    from pyspark.sql import Column, Observation, SparkSession, functions, types

    keep = keep or []
    with tempfile.TemporaryDirectory() as directory:
        fetched = fetch_model(model_uri, directory)
        model = load_model(fetched)
        if drift is not None and drift.model_uuid != model.metadata.model_uuid:
            raise ScoringError(f"{model_uri} changed as scoring started; run again")
        params = typed_params(model.metadata.get_params_schema(), params or {})
        # Local workers run this interpreter (its packages); clusters set their own.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        spark = (
            SparkSession.builder.master(master)
            .appName(SPARK_APP_NAME)
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        frame, kept = read_input(spark, input_path, model, keep)
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
            spark, fetched, result_type=result_type, env_manager="local", params=params
        )
        kept_names = [f"`{name}`" for name in keep]
        prediction = udf(functions.struct(*features))
        if drift is None:
            result = frame.select(*kept, prediction.alias("prediction")).select(
                *kept_names, "prediction.*"
            )
        else:
            names = feature_names(model, frame)
            carried = [f"{DRIFT_PREFIX}{name}" for name in names]
            schema = types.StructType(
                frame.select(*kept).schema.fields + result_type.fields
            )
            counted = spark.sparkContext.accumulator([], PartitionCounts())
            count = count_drift(
                drift.profile, names, result_type.fieldNames(), schema, counted
            )
            result = (
                frame.select(
                    *kept,
                    *map(Column.alias, features, carried),
                    prediction.alias("prediction"),
                )
                .select(*kept_names, *(f"`{name}`" for name in carried), "prediction.*")
                .mapInPandas(count, schema)
            )
        scored = Observation("scored")
        result = result.observe(scored, functions.count(functions.lit(1)).alias("rows"))
        write(result, output_path)
        if drift is not None:
            for counts in counted.value:
                drift.add(counts)
    return scored.get["rows"]


def count_drift(
    profile: dict[str, Any],
    names: list[str],
    predicted: list[str],
    schema: Any,
    counted: Any,
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """Return the `mapInPandas` function that counts partitions for drift.

    It counts each partition's features (`names`, carried with DRIFT_PREFIX)
    and `predicted` columns into a `DriftMonitor`, and passes the output
    columns (`schema`) on.

    Spark adds an accumulator's updates from a transformation again when it
    reruns a failed task: a retried partition is counted twice.
    """
    carried = [f"{DRIFT_PREFIX}{name}" for name in names]
    outputs = schema.fieldNames()

    def count(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        monitor = DriftMonitor(profile)
        for batch in batches:
            monitor.update(batch[carried].set_axis(names, axis=1), batch[predicted])
            yield batch[outputs]
        counted.add([monitor.counts()])

    return count
