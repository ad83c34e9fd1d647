"""Call a logged model's `spark_udf` the wrong way: columns as separate arguments.

Runs in a rendered project's environment (needs pyspark and Java):

    python spark_udf_by_position.py MODEL_URI SOURCE

Without an input schema, `udf(col_a, col_b)` hands the model columns numbered
0, 1, ...; the model must refuse them and name the call that works. Scores
SOURCE (Parquet) that way and prints the refusal's line from Spark's error.
"""

import argparse
import os
import re
import sys

import mlflow
from pyspark.sql import SparkSession, functions, types


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_uri", help="the logged model")
    parser.add_argument("source", help="Parquet file of feature columns")
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = SparkSession.builder.master("local[1]").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    frame = spark.read.parquet(args.source)
    udf = mlflow.pyfunc.spark_udf(
        spark, args.model_uri, result_type=types.DoubleType(), env_manager="local"
    )
    columns = [functions.col(f"`{name}`") for name in frame.columns]
    try:
        frame.select(udf(*columns)).collect()
    except Exception as error:  # Spark wraps the model's refusal in its own error
        refusal = re.search(r"(?:MlflowException|InputError): (.+)", str(error))
        print(refusal.group(1).strip() if refusal else f"no refusal in: {error}")
    else:
        print("scored: the model took numbered columns")
    spark.stop()


if __name__ == "__main__":
    main()
