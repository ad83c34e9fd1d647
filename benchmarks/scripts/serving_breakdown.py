"""Where a scoring-server request's time goes, step by step, in one process.

Runs in a rendered project's environment, against MLFLOW_TRACKING_URI:

    python serving_breakdown.py PACKAGE FRAMEWORK NATIVE_URI GENERATED_URI BODIES_JSON

BODIES_JSON maps a row count to the JSON body `mlflow models serve` receives.
For each model and body it times, as the scoring server runs them: parsing the
body against the model's input schema, `pyfunc.predict` (MLflow's checks of the
input and params, then the model), the model alone (the estimator method the
native flavor's pyfunc calls, `predict_proba` for scikit-learn's
`pyfunc_predict_fn`, else `predict`; the generated model's own `predict`), and
writing the JSON
answer. Prints one JSON line: median milliseconds per step, by model and rows.
"""

import argparse
import importlib
import io
import json
import statistics
import time
from collections.abc import Callable

import mlflow
from mlflow.pyfunc.scoring_server import (
    _split_data_and_params,
    infer_and_parse_data,
    predictions_to_json,
)

REPEATS = 300


def median_ms(fn: Callable[[], object]) -> float:
    for _ in range(30):
        fn()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def steps(model: mlflow.pyfunc.PyFuncModel, alone: Callable, body: str) -> dict:
    """Median milliseconds of each step the scoring server takes for `body`."""
    schema = model.metadata.get_input_schema()
    raw, params = _split_data_and_params(body)
    data = infer_and_parse_data(raw, schema)
    predictions = model.predict(data, params=params)
    return {
        "parse": median_ms(lambda: infer_and_parse_data(raw, schema)),
        "pyfunc_predict": median_ms(lambda: model.predict(data, params=params)),
        "model_alone": median_ms(lambda: alone(data)),
        "to_json": median_ms(lambda: predictions_to_json(predictions, io.StringIO())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", help="the rendered project's package")
    parser.add_argument("framework", help="MLflow flavor of the estimator")
    parser.add_argument("native", help="URI of MLflow's flavor of the estimator")
    parser.add_argument("generated", help="URI of the generated model")
    parser.add_argument("bodies", help="JSON file: row count -> request body")
    args = parser.parse_args()
    logged_model = importlib.import_module(f"{args.package}.making.logged_model")
    native = mlflow.pyfunc.load_model(args.native)
    generated = mlflow.pyfunc.load_model(args.generated)
    method = "predict_proba" if args.framework == "sklearn" else "predict"
    models = {
        "native": (native, getattr(native.get_raw_model(), method)),
        "generated": (generated, logged_model.unwrap(generated).predict),
    }
    with open(args.bodies) as bodies_file:
        bodies = json.load(bodies_file)
    result = {
        name: {rows: steps(model, alone, body) for rows, body in bodies.items()}
        for name, (model, alone) in models.items()
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
