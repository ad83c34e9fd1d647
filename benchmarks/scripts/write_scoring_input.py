"""Write a Parquet file of resampled breast-cancer rows with an id column.

Runs in a rendered project's environment (scikit-learn holds the data):

    python write_scoring_input.py OUTPUT ROWS
"""

import argparse

import numpy as np
from sklearn.datasets import load_breast_cancer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="Parquet file to write")
    parser.add_argument("rows", type=int, help="rows to write")
    args = parser.parse_args()
    features = load_breast_cancer(as_frame=True).frame.drop(columns="target")
    picks = np.random.default_rng(0).integers(0, len(features), args.rows)
    frame = features.iloc[picks].reset_index(drop=True)
    frame.insert(0, "row_id", np.arange(args.rows))
    frame.to_parquet(args.output, index=False, row_group_size=100_000)


if __name__ == "__main__":
    main()
