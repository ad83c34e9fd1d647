"""Write the data files the promotion tests train and evaluate on.

Runs in a rendered project's environment:

    python promotion_data.py PACKAGE DIRECTORY

From the project's bundled dataset, split as its train CLI splits it, writes
`clean.csv` (training rows), `noisy.csv` (the same rows with shuffled labels),
`eval.csv` (the held-out rows) and `eval_without_first.csv` (those without the
first feature). Prints the name of that first feature.
"""

import argparse
import importlib
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", help="the rendered project's package")
    parser.add_argument("directory", type=Path, help="where to write the files")
    args = parser.parse_args()
    train = importlib.import_module(f"{args.package}.train")
    data = importlib.import_module(f"{args.package}.making.data")
    features, target = data.load_data(None, "target")
    train_x, eval_x, train_y, eval_y = train.split(features, target)
    shuffled = np.random.default_rng(0).permutation(train_y.to_numpy())
    first = str(features.columns[0])
    frames = {
        "clean": train_x.assign(target=train_y),
        "noisy": train_x.assign(target=shuffled),
        "eval": eval_x.assign(target=eval_y),
        "eval_without_first": eval_x.drop(columns=first).assign(target=eval_y),
    }
    for name, frame in frames.items():
        frame.to_csv(args.directory / f"{name}.csv", index=False)
    print(first)


if __name__ == "__main__":
    main()
