"""Check a scored Parquet file against the model trained in memory.

Runs in a rendered project's environment:

    python check_sample.py PACKAGE SCORED SOURCE

SCORED is what `PACKAGE.score --keep row_id` wrote for SOURCE. Checks that every
row was scored in order, then compares 2,000 sampled rows with the predictions
of the project's default model fitted in this process. Prints "ok".
"""

import argparse
import importlib

import numpy as np
import pandas as pd

SAMPLED_ROWS = 2_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", help="the rendered project's package")
    parser.add_argument("scored", help="Parquet file the score CLI wrote")
    parser.add_argument("source", help="Parquet file it scored")
    args = parser.parse_args()
    train = importlib.import_module(f"{args.package}.train")

    scored = pd.read_parquet(args.scored)
    source = pd.read_parquet(args.source)
    assert len(scored) == len(source), (len(scored), len(source))
    assert scored["row_id"].is_monotonic_increasing
    rows = np.random.default_rng(1).choice(len(source), SAMPLED_ROWS, replace=False)
    data = importlib.import_module(f"{args.package}.making.data")
    train_x, _, train_y, _ = train.split(*data.load_data(None, "target"))
    model = train.fit_model(train_x, train_y)
    expected = model.predict(source.iloc[rows].drop(columns="row_id"))
    actual = scored.iloc[rows].drop(columns="row_id")
    np.testing.assert_allclose(actual.to_numpy(), expected.to_numpy(), rtol=1e-6)
    print("ok")


if __name__ == "__main__":
    main()
