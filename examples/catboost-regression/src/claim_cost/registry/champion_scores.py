"""Score data with a registered model's own logged code, in a process of its own.

    python -I champion_scores.py MODEL_URI FEATURES OUTPUT

`promotion.py` runs this file as a script, never imports it: a process that has
imported this package already would run its modules for any other version of
it too. So this file imports nothing of the package, not even
`errors.first_line`. Reads FEATURES (Parquet) and writes OUTPUT (JSON:
`scores`, their `dtype`, `classes`). A model that cannot be loaded or refuses
the data is one line on stderr, exit status 2; any other error ends in its
traceback, whose last line (`ValueError: ...`) `promotion.py` reports.
The tracking and registry URIs come from the environment (MLFLOW_TRACKING_URI,
MLFLOW_REGISTRY_URI), never the command line: they may hold a password.
"""

import json
import sys

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException


def raw_model(loaded: mlflow.pyfunc.PyFuncModel) -> object:
    """Return the project's model inside a loaded pyfunc, whatever its packaging."""
    try:
        return loaded.unwrap_python_model().model
    except MlflowException:
        return loaded.get_raw_model()


def main(argv: list[str]) -> None:
    """Score the features file with the model and write what it says."""
    model_uri, features_path, output_path = argv
    try:
        # No dependency check: promotion.py shows only this process's errors,
        # and the check reads every installed distribution (1.5 s).
        loaded = mlflow.pyfunc.load_model(model_uri, suppress_warnings=True)
        model = raw_model(loaded)
        scores = model.scores(pd.read_parquet(features_path))
    except MlflowException as error:  # no such model, or the data refused
        lines = error.message.strip().splitlines()
        print(lines[0] if lines else type(error).__name__, file=sys.stderr)
        raise SystemExit(2) from None
    answer = {
        "scores": scores.tolist(),
        "dtype": str(scores.dtype),
        "classes": getattr(model.preprocessor, "classes", None),
    }
    with open(output_path, "w") as output:
        json.dump(answer, output)


if __name__ == "__main__":
    main(sys.argv[1:])
