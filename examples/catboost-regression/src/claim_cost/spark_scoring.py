"""The Spark scoring engine: the model run by `mlflow.pyfunc.spark_udf`.

The model is fetched once: the driver predicts the first rows with it (for the
result's columns and types) and the UDF ships the same copy to the executors,
so an alias that moves meanwhile cannot mix two versions. Spark needs pyspark,
which is imported only here, when this engine runs.
"""

import os
import re
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException

from .errors import first_line
from .scoring import CSV_SUFFIXES, ScoringError, load_model, typed_params

SPARK_APP_NAME = "claim_cost-score"


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


def local_path(output_path: str) -> Path | None:
    """Return the local path `output_path` names; None for a URI Spark writes to.

    A URI has a scheme of two letters or more (`dbfs:/`, `s3://`), so a
    Windows path (`C:` and a backslash) is a path; a `file:` URI names a local
    path.
    """
    parts = urlsplit(output_path)
    if len(parts.scheme) < 2:
        return Path(output_path)
    if parts.scheme == "file":
        return Path(url2pathname(parts.path))
    return None


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
        shutil.rmtree(output, ignore_errors=True)
        os.replace(temporary, output)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


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


def fetch_model(model_uri: str, directory: str) -> str:
    """Download the model at `model_uri` into `directory`; return its local path."""
    try:
        return mlflow.artifacts.download_artifacts(model_uri, dst_path=directory)
    except (MlflowException, OSError) as error:
        raise ScoringError(
            f"cannot load model {model_uri}: {first_line(error)}"
        ) from error


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
    driver, so every method (whatever columns it returns) works. Returns the
    number of rows scored.
    """
    from pyspark.sql import Observation, SparkSession, functions, types

    keep = keep or []
    with tempfile.TemporaryDirectory() as directory:
        fetched = fetch_model(model_uri, directory)
        model = load_model(fetched)
        params = typed_params(model.metadata.get_params_schema(), params or {})
        # Local workers run this interpreter (its packages); clusters set their own.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        spark = (
            SparkSession.builder.master(master).appName(SPARK_APP_NAME).getOrCreate()
        )
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
            spark, fetched, result_type=result_type, env_manager="local", params=params
        )
        kept = [functions.col(f"`{name}`") for name in keep]
        prediction = udf(functions.struct(*features))
        scored = Observation("scored")
        result = (
            frame.select(*kept, prediction.alias("prediction"))
            .select(*kept, "prediction.*")
            .observe(scored, functions.count(functions.lit(1)).alias("rows"))
        )
        write(result, output_path)
    return scored.get["rows"]
