"""Measure the input contract's mechanisms on every path, and what wide inputs cost.

    python -m benchmarks.input_contract [--no-spark] [--calls N]

(from the repository root, in the environment of its test extra).

Renders a default project (XGBoost, binary, models from code), trains it on a
frame with a float column with gaps (`size cm`, declared optional), a gapless
integer column (`item count`) and a string column (`colour name`), and logs it
four times, each with another input signature:

- inferred: what MLflow infers from the training frame (the template's 0.2);
- typed: numbers `double`, strings `string`, optional as declared
  (`train --typed-signature`);
- any: columns of type `any`, optional as declared (the template before the
  contract's speed-up);
- none: no inputs, outputs and params kept; the model checks the contract
  itself (the template's default).

It sends every input variant through each path (in-process `pyfunc.predict`;
REST as JSON and as CSV, through the scoring server's own request handler,
`scoring_server.invocations`; Spark, through `spark_udf` with the columns in a
`struct`) and prints what happens, against the answer for the same rows as
canonical floats, with the length of each refusal's message. Then it times
one-row predictions of 30- and 500-column models, and of 10,000 rows, with
each signature.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Rows of the large frame timed per signature.
BIG_ROWS = 10_000


def render(root: Path) -> Path:
    """Render a default project from this checkout's working tree."""
    # Imported here: the part run inside the project's environment (this file as
    # a script, `--inside`) sees the project, not this repository.
    from generator_tests.helpers import copy_template
    from generator_tests.helpers import render as render_project

    template = copy_template(root / "template")
    return render_project(template, root / "project", {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-spark", action="store_true", help="skip the Spark path")
    parser.add_argument("--calls", type=int, default=300, help="one-row calls timed")
    parser.add_argument("--inside", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside is None:
        with tempfile.TemporaryDirectory() as directory:
            root = Path(directory)
            project = render(root)
            env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
            env["PYTHONPATH"] = str(project / "src")
            env["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"
            command = [sys.executable, __file__, "--inside", str(project)]
            command += ["--calls", str(args.calls)] + ["--no-spark"] * args.no_spark
            subprocess.run(command, cwd=root, env=env, check=True)
        return
    measure(args.no_spark, args.calls)


# --- Inside the rendered project's environment --------------------------------


def training_frame(rows: int = 400):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "size cm": rng.normal(10.0, 3.0, rows),
            "colour name": rng.choice(["red", "green", "blue"], rows).astype(object),
            "item count": rng.integers(0, 5, rows),
        }
    )
    frame.loc[::9, "size cm"] = np.nan
    signal = frame["size cm"].fillna(10.0) + 3.0 * (frame["colour name"] == "red")
    signal += frame["item count"]
    target = pd.Series(np.where(signal > signal.median(), "yes", "no"))
    return frame, target


def edited(canonical, column, dtype, row, value):
    """`canonical` with `column` as `dtype` and its value in `row` replaced."""
    frame = canonical.astype({column: dtype})
    frame.loc[row, column] = value
    return frame


def variants(canonical):
    """(name, frame or None when refused is right, column a refusal must name)."""
    import numpy as np
    import pandas as pd

    whole = canonical.assign(**{"size cm": canonical["size cm"].fillna(8.0).round()})
    gap = edited(canonical, "item count", object, 0, None)
    nullable = edited(canonical, "item count", "Int64", 0, pd.NA)
    # Not "n/a": pandas reads that as a missing value in a CSV request.
    text = edited(canonical, "item count", object, 1, "lots")
    unseen = canonical.copy()
    unseen.loc[0, "colour name"] = "purple"
    return [
        ("canonical floats", canonical, canonical, None),
        ("ints in a float column", whole.astype({"size cm": "int64"}), whole, None),
        (
            "floats in an int column",
            canonical.astype({"item count": "float64"}),
            canonical,
            None,
        ),
        (
            "gap in a gapless int column",
            gap,
            canonical.assign(**{"item count": gap["item count"].astype(float)}),
            None,
        ),
        (
            "nullable Int64 with NA",
            nullable,
            canonical.assign(**{"item count": nullable["item count"].astype(float)}),
            None,
        ),
        (
            "absent declared-optional column",
            canonical.drop(columns="size cm"),
            canonical.assign(**{"size cm": np.nan}),
            None,
        ),
        (
            "absent required column",
            canonical.drop(columns="item count"),
            None,
            "item count",
        ),
        ("text in a numeric column", text, None, "item count"),
        (
            "unseen category",
            unseen,
            unseen.assign(**{"colour name": [None, *unseen["colour name"][1:]]}),
            None,
        ),
        (
            "reordered + extra column",
            canonical[canonical.columns[::-1]].assign(id=1),
            canonical,
            None,
        ),
    ]


def outcome(predict, frame, expected, refused_for):
    """One cell of the matrix."""
    import numpy as np
    from mlflow.exceptions import MlflowException

    try:
        result = predict(frame)
    except MlflowException as error:
        message = error.message
        if refused_for is None:
            return "refused (wrong)"
        named = "" if refused_for in message else " NOT"
        return f"refused, names column{named} ({len(message)} chars)"
    except Exception as error:  # Spark wraps the model's refusal in its own error
        refusal = re.search(
            r"(?:MlflowException|InputError): (.+)", str(error), re.DOTALL
        )
        if refusal is None:
            return f"crash: {type(error).__name__}"
        if refused_for is None:
            return "refused (wrong)"
        message = refusal.group(1).strip().splitlines()[0]
        named = "" if refused_for in message else " NOT"
        return f"refused, names column{named} ({len(message)} chars)"
    if refused_for is not None:
        return "ACCEPTED (silent)"
    same = list(map(str, result.columns)) == list(map(str, expected.columns))
    same = same and np.array_equal(
        result.to_numpy(dtype=float), expected.to_numpy(dtype=float), equal_nan=True
    )
    return "ok" if same else "ok, answers DIFFER"


def rest_predict(uri, csv=False):
    """What `mlflow models serve` answers a JSON (or CSV) request for a frame."""
    import mlflow
    import pandas as pd
    from mlflow.pyfunc.scoring_server import invocations

    model = mlflow.pyfunc.load_model(uri)
    schema = model.metadata.get_input_schema()

    def predict(frame):
        if csv:
            body, content_type = frame.to_csv(index=False), "text/csv"
        else:
            split = json.loads(frame.to_json(orient="split", index=False))
            body = json.dumps({"dataframe_split": split})
            content_type = "application/json"
        answer = invocations(body, content_type, model, schema)
        return pd.DataFrame(json.loads(answer.response)["predictions"])

    return predict


def spark_predict(spark, uri, result_type):
    import mlflow
    from pyspark.sql import functions

    udf = mlflow.pyfunc.spark_udf(
        spark, uri, result_type=result_type, env_manager="local"
    )

    def predict(frame):
        import pandas as pd

        frame = frame.astype(object).where(frame.notna(), None)
        for name in frame.columns:  # a Spark column holds one type: text wins
            kinds = {type(value) for value in frame[name] if value is not None}
            if str in kinds and len(kinds) > 1:
                frame[name] = [None if v is None else str(v) for v in frame[name]]
        data = spark.createDataFrame(frame)
        columns = [functions.col(f"`{name}`") for name in data.columns]
        result = data.select(udf(functions.struct(*columns)).alias("p")).select("p.*")
        return pd.DataFrame(result.toPandas())

    return predict


def any_inputs(preprocessor):
    """Columns of MLflow's type `any`, optional ones not required."""
    from mlflow.types.schema import AnyType, ColSpec, Schema

    return Schema(
        [
            ColSpec(AnyType(), name, required=name not in preprocessor.optional)
            for name in preprocessor.features
        ]
    )


def log_four(model, frame):
    """Log `model` with the inferred, typed, `any` and no-input signatures."""
    import mlflow
    from mlflow.models import ModelSignature, infer_signature
    from my_model.logged_model import log_model
    from my_model.train import model_signature

    sample = model.preprocessor.canonical(frame)
    chosen = model_signature(model, sample.head(100))
    typed = model_signature(model, sample.head(100), typed=True)
    inferred_inputs = infer_signature(frame).inputs
    uris = {}
    with mlflow.start_run():
        for name, inputs, example in (
            ("inferred", inferred_inputs, frame.head(3)),
            ("typed", typed.inputs, sample.head(3)),
            ("any", any_inputs(model.preprocessor), sample.head(3)),
            ("none", chosen.inputs, sample.head(3)),
        ):
            signature = ModelSignature(inputs, chosen.outputs, chosen.params)
            info = log_model(model, signature, example, None)
            uris[name] = info.model_uri
    return uris


def interleaved_ms(fns, frame, calls, warmup=5):
    """Median ms of each `fns[name](frame)`, called in turn so noise hits all."""
    times = {name: [] for name in fns}
    for round_ in range(warmup + calls):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn(frame)
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(values) for name, values in times.items()}


def wide_latency(columns, calls):
    """One-row and 10,000-row ms: the model itself, pyfunc per signature."""
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow.models import ModelSignature
    from my_model.logged_model import log_model
    from my_model.train import fit_model, model_signature

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        rng.normal(size=(1000, columns)), columns=[f"f{i}" for i in range(columns)]
    )
    target = pd.Series(np.where(frame.iloc[:, :5].sum(axis=1) > 0, "yes", "no"))
    model = fit_model(frame, target)
    chosen = model_signature(model, frame.head(100))
    typed_signature = model_signature(model, frame.head(100), typed=True)
    any_signature = ModelSignature(
        any_inputs(model.preprocessor), chosen.outputs, chosen.params
    )
    with mlflow.start_run():
        any_uri = log_model(model, any_signature, frame.head(2), None).model_uri
        typed_uri = log_model(model, typed_signature, frame.head(2), None).model_uri
        bare_uri = log_model(model, chosen, frame.head(2), None).model_uri
    one = frame.head(1)
    big = frame.sample(BIG_ROWS, replace=True, random_state=0).reset_index(drop=True)
    fns = {
        "in-memory": model.predict,
        "pyfunc, any": mlflow.pyfunc.load_model(any_uri).predict,
        "pyfunc, double": mlflow.pyfunc.load_model(typed_uri).predict,
        "pyfunc, none": mlflow.pyfunc.load_model(bare_uri).predict,
    }
    timing = interleaved_ms(fns, one, calls)
    # `any` takes seconds for a large frame: fewer rounds for it alone.
    slow = {"pyfunc, any": fns.pop("pyfunc, any")}
    big_timing = {**interleaved_ms(fns, big, 15, 2), **interleaved_ms(slow, big, 3, 1)}
    return {
        **timing,
        **{f"big {name}": big_timing[name] for name in timing},
    }


def measure(no_spark: bool, calls: int) -> None:
    import mlflow
    from my_model.train import fit_model

    mlflow.set_experiment("input-contract")
    frame, target = training_frame()
    model = fit_model(frame, target, optional=["size cm"])
    uris = log_four(model, frame)
    canonical = model.preprocessor.canonical(frame.head(8))
    paths = {}
    for name, uri in uris.items():
        loaded = mlflow.pyfunc.load_model(uri)
        paths[("in-process", name)] = loaded.predict
        paths[("REST JSON", name)] = rest_predict(uri)
        paths[("REST CSV", name)] = rest_predict(uri, csv=True)
    if not no_spark:
        from pyspark.sql import SparkSession, types

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        spark = SparkSession.builder.master("local[1]").getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        result_type = types.StructType(
            [types.StructField(label, types.DoubleType()) for label in ("no", "yes")]
        )
        for name, uri in uris.items():
            paths[("Spark", name)] = spark_predict(spark, uri, result_type)
    print(
        "\n| input variant | path | inferred (0.2) | typed (--typed-signature) "
        "| any (before) | no input schema (default) |"
    )
    print("|---|---|---|---|---|---|")
    for variant, sent, expected, refused_for in variants(canonical):
        want = None if expected is None else model.predict(expected)
        for path in ("in-process", "REST JSON", "REST CSV", "Spark"):
            if (path, "any") not in paths:
                continue
            cells = [
                outcome(paths[(path, name)], sent, want, refused_for) for name in uris
            ]
            print(f"| {variant} | {path} | {' | '.join(cells)} |")
    print(
        "\n| columns | in-memory | pyfunc, any | pyfunc, double | pyfunc, none | 10,000 rows: in-memory | pyfunc, any | pyfunc, double | pyfunc, none |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for columns in (30, 500):
        timing = wide_latency(columns, calls)
        print(
            f"| {columns} | "
            + " | ".join(f"{value:.2f} ms" for value in timing.values())
            + " |"
        )


if __name__ == "__main__":
    main()
