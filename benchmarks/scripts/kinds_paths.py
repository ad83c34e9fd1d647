"""Send each column kind in each form down each path of a trained model.

Runs in a rendered project's environment (its `src/` on PYTHONPATH), in an
empty working directory:

    python kinds_paths.py PACKAGE [--spark]

Trains the project on a churn-like CSV (a boolean with gaps, ISO dates, a city
column of 40 categories under `--max-categories 10`, a number), then scores
one row per (kind, form): the reference row with one cell changed. Each path
answers: the model in-process (`mlflow.pyfunc`), `mlflow models serve` with a
JSON and a CSV request, the `score` CLI on a CSV and on a Parquet file (where
booleans and dates keep their types), and with `--spark` the Spark engine on
that Parquet file. Prints one tab-separated line per form: kind, form, what
it should mean, then per path `=` when the answer equals the answer for what
it means (with the answer: the first output of `predict`), the answer and
the expected one otherwise, or `refused: <reason>`.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

ROWS = 400


def training_frame() -> pd.DataFrame:
    """A churn-like table: boolean with gaps, ISO dates, many cities, spend."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "member": rng.choice([True, False], ROWS).astype(object),
            "signup": (
                pd.Timestamp("2023-01-01")
                + pd.to_timedelta(rng.integers(0, 600, ROWS), unit="D")
            ).strftime("%Y-%m-%d"),
            "city": [f"city {n}" for n in rng.integers(0, 40, ROWS)],
            "spend": rng.normal(50.0, 10.0, ROWS),
        }
    )
    frame.loc[::5, "member"] = None
    signal = (
        frame["spend"] / 10
        + 2.0 * (frame["member"] == True)  # noqa: E712 (objects)
        + (frame["signup"] > "2024-01-01")
    )
    frame["target"] = np.where(signal > signal.median(), "yes", "no")
    return frame


#: (kind, form, the cell sent, the cell it means); the reference row is
#: member True, signup 2024-03-04, city "city 3", spend 55.
FORMS = [
    ("boolean", "True", True, True),
    ("boolean", "False", False, False),
    ("boolean", "1", 1, True),
    ("boolean", "0.0", 0.0, False),
    ("boolean", '"true"', "true", True),
    ("boolean", '"FALSE"', "FALSE", False),
    ("boolean", "gap", None, None),
    ("boolean", '"yes"', "yes", "refused"),
    ("date", "ISO date", "2024-03-04", "2024-03-04"),
    ("date", "ISO UTC", "2024-03-04T00:00:00Z", "2024-03-04"),
    ("date", "ISO +02:00", "2024-03-04T02:00:00+02:00", "2024-03-04"),
    ("date", "datetime", pd.Timestamp("2024-03-04"), "2024-03-04"),
    (
        "date",
        "datetime tz-aware",
        pd.Timestamp("2024-03-04 02:00", tz="Europe/Paris"),
        "2024-03-04 01:00",
    ),
    ("date", "after training", "2031-06-01", "2031-06-01"),
    ("date", "gap", None, None),
    ("date", '"31/01/2024"', "31/01/2024", "refused"),
    ("string", "kept", "city 3", "city 3"),
    ("string", "other (rare)", "RARE", "RARE"),
    ("string", "unseen", "never seen", "never seen"),
    ("string", "gap", None, None),
]
COLUMN = {"boolean": "member", "date": "signup", "string": "city"}
REFERENCE = {
    "member": True,
    "signup": "2024-03-04",
    "city": "city 3",
    "spend": 55.0,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, body: bytes, content_type: str) -> object:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())["predictions"]
    except urllib.error.HTTPError as error:
        return RuntimeError(json.loads(error.read())["message"])


def first_score(answer: object) -> object:
    """The first row's first output of an answer, or the refusal."""
    if isinstance(answer, Exception):
        return answer
    if isinstance(answer, pd.DataFrame):
        return answer.iloc[0, 0]
    row = answer[0]
    return next(iter(row.values())) if isinstance(row, dict) else row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package")
    parser.add_argument("--spark", action="store_true")
    args = parser.parse_args()
    work = Path.cwd()
    frame = training_frame()
    rare = frame["city"].value_counts().index[-1]
    frame.to_csv(work / "train.csv", index=False)
    trained = subprocess.run(
        [sys.executable, "-m", f"{args.package}.train", "--data", "train.csv"]
        + ["--max-categories", "10", "--registered-model-name", ""],
        capture_output=True,
        text=True,
        check=True,
    )
    uri = trained.stdout.strip().splitlines()[-1]
    model = mlflow.pyfunc.load_model(uri)

    rows, meant = [], []
    for kind, _, sent, meaning in FORMS:
        column = COLUMN[kind]
        sent = rare if sent == "RARE" else sent
        meaning = rare if meaning == "RARE" else meaning
        rows.append({**REFERENCE, column: sent})
        meant.append({**REFERENCE, column: meaning})
    results: dict[str, list[object]] = {}

    def each_row(predict) -> list[object]:
        answers = []
        for row in rows:
            try:
                answers.append(first_score(predict(pd.DataFrame([row]))))
            except Exception as error:  # the refusal, whatever raised it
                answers.append(error)
        return answers

    results["in-process"] = each_row(model.predict)
    expected = []
    for meaning in meant:
        if "refused" in meaning.values():
            expected.append(None)
            continue
        cleaned = {
            name: (
                pd.Timestamp(value).isoformat() if name == "signup" and value else value
            )
            for name, value in meaning.items()
        }
        expected.append(first_score(model.predict(pd.DataFrame([cleaned]))))

    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", uri]
        + ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/ping", timeout=2)
                break
            except OSError:
                time.sleep(0.5)

        def as_json(row_frame: pd.DataFrame) -> object:
            split = json.loads(
                row_frame.to_json(orient="split", index=False, date_format="iso")
            )
            return post(
                f"{url}/invocations",
                json.dumps({"dataframe_split": split}).encode(),
                "application/json",
            )

        def as_csv(row_frame: pd.DataFrame) -> object:
            return post(
                f"{url}/invocations",
                row_frame.to_csv(index=False).encode(),
                "text/csv",
            )

        results["REST JSON"] = each_row(as_json)
        results["REST CSV"] = each_row(as_csv)
    finally:
        server.terminate()
        server.wait(timeout=30)

    def score(path: Path, engine: list[str]) -> list[object]:
        answers = []
        for number, row in enumerate(rows):
            source = path.with_name(f"{path.stem}-{number}{path.suffix}")
            row_frame = pd.DataFrame([row])
            if source.suffix == ".csv":
                row_frame.to_csv(source, index=False)
            else:
                column = row_frame.columns[row_frame.columns.isin(["member"])]
                if isinstance(row["member"], bool):
                    row_frame = row_frame.astype(dict.fromkeys(column, "boolean"))
                if not isinstance(row["signup"], str) and row["signup"] is not None:
                    row_frame["signup"] = pd.Series([row["signup"]])
                try:
                    row_frame.to_parquet(source, index=False)
                except Exception as error:  # mixed types Parquet cannot hold
                    answers.append(f"n/a ({type(error).__name__})")
                    continue
            output = source.with_name(f"{source.stem}-scored.parquet")
            done = subprocess.run(
                [sys.executable, "-m", f"{args.package}.score", "--model-uri", uri]
                + ["--input", str(source), "--output", str(output), *engine],
                capture_output=True,
                text=True,
            )
            if done.returncode:
                answers.append(RuntimeError(done.stderr.strip().splitlines()[-1]))
            else:
                answers.append(first_score(pd.read_parquet(output)))
        return answers

    results["score CSV"] = score(work / "rows.csv", [])
    results["score Parquet"] = score(work / "rows.parquet", [])
    if args.spark:
        results["Spark Parquet"] = score(
            work / "spark.parquet", ["--engine", "spark", "--spark-master", "local[1]"]
        )

    print("\t".join(["kind", "form", "means", *results]))
    for index, (kind, form, _, meaning) in enumerate(FORMS):
        cells = []
        for answers in results.values():
            answer = answers[index]
            if isinstance(answer, Exception):
                reason = str(answer).rpartition("rows 0-0: ")[2]
                cells.append(f"refused: {reason[:44]}")
            elif isinstance(answer, str):
                cells.append(answer)
            elif expected[index] is not None and np.isclose(answer, expected[index]):
                cells.append(f"= {answer:.4f}")
            else:
                cells.append(f"{answer:.4f} (expected {expected[index]})")
        means = "gap" if meaning is None else str(meaning)
        print("\t".join([kind, form, means, *cells]))


if __name__ == "__main__":
    main()
