"""Hold a rendered project's batch scoring to: one file, one answer, any batch size.

Runs in a rendered project's environment:

    python batch_invariance.py PACKAGE TASK DIRECTORY

Trains the project's model (its `train`, in this process) on a CSV whose string
feature `store` is mostly digits ("101", "7") with gaps, then lets Hypothesis
draw files of rows (known stores, unseen ones, digits and gaps mixed) and scores
each with the local engine at batch sizes 1, 2, 3 and the whole file: the
outputs and the drift counts must be identical, and equal to the model's own
`predict` on the file read as text. Prints `examples N` last.
"""

import argparse
import importlib
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

STORES = ["101", "7", "2050", "A7", "0"]
EXAMPLES = []


def training_frame(task: str) -> pd.DataFrame:
    """Rows whose target depends on the store and on `x`."""
    rng = np.random.default_rng(3)
    rows = 600
    frame = pd.DataFrame(
        {
            "store": rng.choice(STORES, rows).astype(object),
            "x": rng.normal(0.0, 1.0, rows),
            "count": rng.integers(0, 9, rows),
        }
    )
    signal = frame["x"] + 3.0 * frame["store"].isin(["101", "A7"])
    frame.loc[::6, "store"] = None
    if task == "binary":
        frame["target"] = np.where(signal > signal.median(), "yes", "no")
    elif task == "multiclass":
        frame["target"] = pd.qcut(signal, 3, labels=["lo", "mid", "hi"]).astype(str)
    else:
        frame["target"] = 2.0 * signal
    return frame


rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "store": st.one_of(
                st.sampled_from(STORES), st.none(), st.sampled_from(["99", "7.5"])
            ),
            "x": st.one_of(st.none(), st.floats(-3, 3, allow_nan=False)),
            "count": st.one_of(st.none(), st.integers(0, 9)),
        }
    ),
    min_size=1,
    max_size=12,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package")
    parser.add_argument("task")
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    train = importlib.import_module(f"{args.package}.train")
    local_scoring = importlib.import_module(f"{args.package}.scoring.local_scoring")
    drift = importlib.import_module(f"{args.package}.scoring.drift")
    unwrap = importlib.import_module(f"{args.package}.making.logged_model").unwrap

    data = args.directory / "stores.csv"
    training_frame(args.task).to_csv(data, index=False)
    info = train.train(data=data, registered_model_name="")
    model = mlflow.pyfunc.load_model(info.model_uri)
    own = unwrap(model)

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
        database=None,
    )
    @given(rows=rows_strategy)
    def scores_alike(rows: list[dict]) -> None:
        EXAMPLES.append(len(rows))
        with tempfile.TemporaryDirectory() as directory:
            source = Path(directory) / "input.csv"
            pd.DataFrame(rows, columns=["store", "x", "count"]).to_csv(
                source, index=False
            )
            text = pd.read_csv(source, dtype={"store": str})
            expected = own.predict(text).reset_index(drop=True)
            expected.columns = [str(name) for name in expected.columns]
            first_counts = None
            for batch_size in (1, 2, 3, len(rows)):
                output = Path(directory) / f"scored-{batch_size}.parquet"
                monitor = drift.DriftMonitor.for_model(model)
                local_scoring.score_batches(
                    model, source, output, batch_size, drift=monitor
                )
                scored = pd.read_parquet(output)
                assert len(scored) == len(rows)
                pd.testing.assert_frame_equal(
                    scored,
                    expected,
                    check_dtype=False,
                    obj=f"batch size {batch_size}",
                )
                counts = {
                    name: counts.tolist()
                    for name, counts in monitor.feature_counts.items()
                }
                if first_counts is None:
                    first_counts = counts
                assert counts == first_counts, f"drift counts at {batch_size}"
                # Digits read as text are known stores: only "99" and "7.5"
                # count as unseen.
                unseen = sum(row["store"] in ("99", "7.5") for row in rows)
                assert counts["store"][-2] == unseen, counts["store"]

    scores_alike()
    print(f"examples {len(EXAMPLES)}")


if __name__ == "__main__":
    main()
