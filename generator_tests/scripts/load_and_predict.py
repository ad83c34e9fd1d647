"""Load each model URI, predict the same rows, and print a summary per URI.

Runs in a fresh interpreter with a rendered project's environment (every project
names its package my_model, so loading several in the tests' process would mix
them up):

    python load_and_predict.py ROWS_JSON URI [URI ...]

ROWS_JSON holds a DataFrame in pandas' `split` orientation. Prints one line: a
JSON list with, per URI in order, the output's columns, rows and missing values.
"""

import argparse
import json

import mlflow
import pandas as pd


def summary(result: pd.DataFrame) -> dict:
    """The output's column names, row count and number of missing values."""
    return {
        "columns": list(map(str, result.columns)),
        "rows": len(result),
        "nulls": int(result.isna().sum().sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", help="JSON file of rows (pandas `split` orientation)")
    parser.add_argument("uris", nargs="+", help="model URIs to load")
    args = parser.parse_args()
    rows = pd.read_json(args.rows, orient="split")
    summaries = [
        summary(mlflow.pyfunc.load_model(uri).predict(rows)) for uri in args.uris
    ]
    print(json.dumps(summaries))


if __name__ == "__main__":
    main()
