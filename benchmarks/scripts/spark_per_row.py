"""Cost per row of the score CLI's engines once they run, in one process.

Runs in a rendered project's environment (needs pyspark and Java):

    python spark_per_row.py PACKAGE MODEL_URI SMALL LARGE

SMALL and LARGE are Parquet files of the same columns. Starts one local[2]
SparkSession, then scores both files with `score_local` and `score_spark`
(which reuses the session) and copies them with Spark alone (read and write,
no model): each engine's cost per row is the slope between the two files, so
start-up drops out. Every measurement runs twice; the first warms up. Prints
one JSON line of microseconds per row: local, spark, spark_copy.
"""

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
from pyspark.sql import SparkSession


def slope(run, small: Path, large: Path) -> float:
    """Microseconds per row between the two files, after a warm-up round."""
    seconds = {}
    for _ in range(2):
        for source in (small, large):
            start = time.perf_counter()
            run(source)
            seconds[source] = time.perf_counter() - start
    rows = {source: pq.ParquetFile(source).metadata.num_rows for source in seconds}
    return 1e6 * (seconds[large] - seconds[small]) / (rows[large] - rows[small])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", help="the rendered project's package")
    parser.add_argument("model_uri", help="the logged model")
    parser.add_argument("small", type=Path, help="the smaller Parquet file")
    parser.add_argument("large", type=Path, help="the larger Parquet file")
    args = parser.parse_args()
    score = importlib.import_module(f"{args.package}.score")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = SparkSession.builder.master("local[2]").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    output = Path(tempfile.mkdtemp())

    def local(source: Path) -> None:
        score.score_local(args.model_uri, source, output / "local.parquet")

    def spark_engine(source: Path) -> None:
        score.score_spark(
            args.model_uri,
            str(source),
            str(output / "spark.parquet"),
            master="local[2]",
        )

    def spark_copy(source: Path) -> None:
        frame = spark.read.parquet(str(source))
        frame.write.mode("overwrite").parquet(str(output / "copy.parquet"))

    result = {
        "local": slope(local, args.small, args.large),
        "spark": slope(spark_engine, args.small, args.large),
        "spark_copy": slope(spark_copy, args.small, args.large),
    }
    spark.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
