"""Check a registered model's champion against the same model trained in memory.

Runs in a rendered project's environment, against the tracking server in
MLFLOW_TRACKING_URI:

    python champion_matches_local.py PACKAGE NAME URI

Checks that `models:/NAME@champion` is ready, comes from the logged model URI,
and predicts what the project's default model fitted in this process predicts.
Prints `version N`, the champion's version.
"""

import argparse
import importlib

import mlflow
import pandas as pd
from mlflow import MlflowClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", help="the rendered project's package")
    parser.add_argument("name", help="registered model name")
    parser.add_argument("uri", help="logged model URI the champion must come from")
    args = parser.parse_args()
    train = importlib.import_module(f"{args.package}.train")

    version = MlflowClient().get_model_version_by_alias(args.name, "champion")
    assert version.status == "READY", version
    assert version.source == args.uri, (version.source, args.uri)
    champion = mlflow.pyfunc.load_model(f"models:/{args.name}@champion")
    data = importlib.import_module(f"{args.package}.making.data")
    train_x, test_x, train_y, _ = train.split(*data.load_data(None, "target"))
    local = train.fit_model(train_x, train_y)
    pd.testing.assert_frame_equal(champion.predict(test_x), local.predict(test_x))
    print("version", version.version)


if __name__ == "__main__":
    main()
