"""Score a CSV or Parquet file with a logged model: locally in batches, or with Spark.

    python -m my_model.score
        --model-uri URI --input PATH --output PATH [--engine local|spark]
        [--batch-size N] [--method NAME] [--param NAME=VALUE ...]
        [--keep COLUMN ...] [--spark-master URL] [--drift] [--fail-on-drift]

The local engine (`local_scoring.py`) streams the input (Parquet record
batches, CSV chunks), so memory stays flat however large the file; the Spark
engine (`spark_scoring.py`) runs the same model through
`mlflow.pyfunc.spark_udf`. Both write next to the prediction columns the
`--keep` columns (ids) with their own types, to a temporary path first,
renamed only on success; neither writes over its input. A problem (unknown
model, unreadable input, a batch the model refuses) is one line on stderr
and exit status 2.

`--drift` compares the scored input and its predictions with
the training profile the model carries (`scoring/drift/`): a table on stderr, and
`<output>.drift.json` and `.drift.png` beside the output, logged to a run of
the `DRIFT_EXPERIMENT` experiment when `MLFLOW_TRACKING_URI` is set.
`--fail-on-drift` also exits with status 3 when a column drifted, after
writing everything, so a scheduled job stops there.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import mlflow

from .errors import without_progress_bars
from .model import METHODS
from .scoring.drift import DriftError, DriftMonitor, DriftReport, place_beside, stem
from .scoring.files import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    ScoringError,
    load_model,
    same_file,
)
from .scoring.local_scoring import DEFAULT_BATCH_SIZE, local_files, score_batches
from .scoring.spark_scoring import score_spark

#: Experiment of the runs `--drift` logs (when MLFLOW_TRACKING_URI is set).
DRIFT_EXPERIMENT = "my_model-drift"
#: Exit status of `--fail-on-drift` when a column drifted (2: an error).
DRIFT_EXIT_STATUS = 3


def parse_param(text: str) -> tuple[str, str]:
    """Split `NAME=VALUE` (the `--param` argument)."""
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE; got {text!r}")
    return name, value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model-uri", required=True, help="e.g. models:/m-... or models:/NAME@champion"
    )
    parser.add_argument(
        "--input", required=True, help="CSV or Parquet file: a path or a URI"
    )
    parser.add_argument(
        "--output",
        required=True,
        help="CSV or Parquet (by suffix), not the input: a path or a URI",
    )
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
        "--keep",
        nargs="+",
        action="extend",
        default=[],
        metavar="COLUMN",
        help="input columns to copy to the output, such as ids (repeatable)",
    )
    parser.add_argument(
        "--spark-master", default="local[*]", help="Spark master (default: %(default)s)"
    )
    parser.add_argument(
        "--drift",
        action="store_true",
        help="compare the input and predictions with the training profile",
    )
    parser.add_argument(
        "--fail-on-drift",
        action="store_true",
        help=f"with --drift: exit {DRIFT_EXIT_STATUS} when a column drifted",
    )
    args = parser.parse_args(argv)
    args.drift = args.drift or args.fail_on_drift
    for name in ("input", "output"):
        path = getattr(args, name)
        if Path(path).suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
            parser.error(f"--{name} must end in .csv or .parquet; got {path}")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    args = parse_args(argv)
    without_progress_bars()
    params = {"method": args.method, **dict(args.param)}
    start = time.monotonic()
    monitor = None
    try:
        if same_file(args.input, args.output):
            raise ScoringError(
                f"--output {args.output} is the input: write the scores elsewhere"
            )
        if args.engine == "spark":
            if args.drift:
                monitor = DriftMonitor.for_model_uri(args.model_uri)
            rows = score_spark(
                args.model_uri,
                args.input,
                args.output,
                params,
                args.keep,
                args.spark_master,
                monitor,
            )
        else:
            source, target = local_files(args.input, args.output)
            model = load_model(args.model_uri)
            if args.drift:
                monitor = DriftMonitor.for_model(model)
            rows = score_batches(
                model,
                source,
                target,
                args.batch_size,
                params,
                args.keep,
                monitor,
            )
    except (ScoringError, DriftError) as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    elapsed = time.monotonic() - start
    rate = rows / max(elapsed, 1e-9)
    print(f"scored {rows:,} rows in {elapsed:.1f} s ({rate:,.0f} rows/s)")
    print(args.output)
    if monitor is not None:
        report_drift(monitor.report(), args)


def report_drift(report: DriftReport, args: argparse.Namespace) -> None:
    """Print, write and log the drift report; exit 3 on drift if asked to."""
    print(report.table(), file=sys.stderr)
    if not report.prediction:
        print("predictions not compared: a param changes them", file=sys.stderr)
    with tempfile.TemporaryDirectory() as directory:
        files = report.save(Path(directory), stem(args.output))
        if os.environ.get("MLFLOW_TRACKING_URI"):
            mlflow.set_experiment(DRIFT_EXPERIMENT)
            with mlflow.start_run(run_name=Path(args.input).name):
                mlflow.log_params({"model_uri": args.model_uri, "input": args.input})
                report.log(files)
        for location in place_beside(files, args.output):
            print(location)
    if report.drifted and args.fail_on_drift:
        print(f"drift: {', '.join(report.drifted)}", file=sys.stderr)
        raise SystemExit(DRIFT_EXIT_STATUS)


if __name__ == "__main__":
    main()
