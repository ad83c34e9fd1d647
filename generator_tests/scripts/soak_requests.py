"""Write good scoring-server requests and the answers the logged model gives in-process.

Runs in a rendered project's environment, against MLFLOW_TRACKING_URI:

    python soak_requests.py PACKAGE URI OUTPUT [--count N]

Draws N requests from the project's bundled data (1 to 20 rows each, a random
method and, where the model declares it, a random threshold), predicts each with
`mlflow.pyfunc.load_model(URI)` and writes `[{"body": ..., "expected": ...}]`
to OUTPUT as JSON, `expected` in the scoring server's `predictions` format.
Prints "ok".
"""

import argparse
import importlib
import json

import mlflow
import numpy as np
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", help="the rendered project's package")
    parser.add_argument("uri", help="the logged model")
    parser.add_argument("output", help="JSON file to write")
    parser.add_argument("--count", type=int, default=40)
    args = parser.parse_args()
    methods = importlib.import_module(f"{args.package}.model").METHODS
    model = mlflow.pyfunc.load_model(args.uri)
    declared = {param.name for param in model.metadata.get_params_schema().params}
    features, _ = importlib.import_module(f"{args.package}.making.data").load_data(
        None, "target"
    )
    rng = np.random.default_rng(7)
    requests = []
    for _ in range(args.count):
        rows = features.sample(int(rng.integers(1, 21)), random_state=rng)
        params = {"method": str(rng.choice(methods))}
        if "threshold" in declared:
            params["threshold"] = round(float(rng.uniform(0.05, 0.95)), 3)
        split = json.loads(rows.to_json(orient="split", index=False))
        expected = model.predict(pd.DataFrame(**split), params=params)
        expected.columns = [str(column) for column in expected.columns]
        requests.append(
            {
                "body": {"dataframe_split": split, "params": params},
                "expected": json.loads(expected.to_json(orient="records")),
            }
        )
    with open(args.output, "w") as output:
        json.dump(requests, output)
    print("ok")


if __name__ == "__main__":
    main()
