"""Time a rendered project's pyfunc against the raw framework call and MLflow's
own flavor of the same fitted estimator.

Runs in the rendered project's environment, logging to MLFLOW_TRACKING_URI:

    python measure.py PACKAGE FRAMEWORK [--one-row-calls N] [--large-repeats N]
                      [--rows-large N]

Fits the estimator the project builds, logs it with the project's `log_model`
(generated) and with `mlflow.FRAMEWORK.log_model` (native), checks that the
generated model answers what the estimator answers, and prints one JSON line:
median seconds per call of one row (`one_row_ms`, in ms) and of a large frame
(`large_s`) for raw, native, generated and unwrapped (and, for a flavor
package, `flavor`: its own `load_model(uri).predict`), and for `wrapped`, the
same estimator fitted on a DataFrame as a notebook does, saved natively and
wrapped by the project's `wrap`, with `wrapped_raw`, that estimator's own
`predict_proba` on the same frame; the logged sizes
(`size_kb`) and the model URIs (`uris`) of native and generated.
"""

import argparse
import importlib
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature


@dataclass
class Fitted:
    """The project's model and the framework's estimator inside it, fitted once."""

    features: pd.DataFrame
    test_x: pd.DataFrame
    preprocessor: object
    estimator: object
    model: object
    sample: pd.DataFrame
    train_x: pd.DataFrame
    train_y: pd.Series


def fit(package: str) -> Fitted:
    """Fit the project's estimator on its default data, as its `train` would."""
    estimator = importlib.import_module(f"{package}.model.estimator")
    train = importlib.import_module(f"{package}.train")
    preprocessing = importlib.import_module(f"{package}.model.preprocessing")
    model_module = importlib.import_module(f"{package}.model")
    data = importlib.import_module(f"{package}.making.data")
    features, target = data.load_data(None, "target")
    train_x, test_x, train_y, _ = train.split(features, target)
    preprocessor = preprocessing.Preprocessor.fit(
        train_x, train_y, max_categories=estimator.MAX_CATEGORIES
    )
    fitted = estimator.build_estimator()
    native_model = estimator.fit(
        fitted,
        preprocessor.transform(train_x),
        preprocessor.encode_target(train_y),
        preprocessor.categorical,
    )
    model = model_module.Model(preprocessor, native_model)
    sample = preprocessor.canonical(train_x)
    return Fitted(
        features, test_x, preprocessor, fitted, model, sample, train_x, train_y
    )


def native_flavor_options(framework: str, estimator: object) -> dict:
    """What MLflow's flavor needs beyond the defaults to score probabilities."""
    if framework != "sklearn":
        return {}
    import skops.io

    return {
        "pyfunc_predict_fn": "predict_proba",
        "serialization_format": "skops",
        "skops_trusted_types": skops.io.get_untrusted_types(
            data=skops.io.dumps(estimator)
        ),
    }


def log_both(package: str, framework: str, fitted: Fitted) -> dict[str, str]:
    """Log the generated pyfunc and MLflow's flavor; their model URIs."""
    logged_model = importlib.import_module(f"{package}.making.logged_model")
    pipeline = importlib.import_module(f"{package}.making.pipeline")
    sample = fitted.sample
    mlflow.set_experiment("benchmark")
    with mlflow.start_run():
        signature = pipeline.model_signature(fitted.model, sample.head(100))
        generated_info = logged_model.log_model(
            fitted.model,
            signature=signature,
            input_example=sample.head(5),
            registered_model_name=None,
        )
        flavor = getattr(mlflow, framework)
        native_signature = infer_signature(
            sample, fitted.estimator.predict_proba(sample.head(100))
        )
        native_info = flavor.log_model(
            fitted.estimator,
            name="native",
            signature=native_signature,
            input_example=sample.head(5),
            **native_flavor_options(framework, fitted.estimator),
        )
    return {"native": native_info.model_uri, "generated": generated_info.model_uri}


def wrapped_notebook_model(
    package: str, framework: str, fitted: Fitted, directory: Path
) -> tuple[object, object]:
    """Fit the project's estimator on a DataFrame as a notebook does, save it
    natively and wrap it with the project's `wrap`; return the notebook's
    estimator and the wrapped model, loaded."""
    estimator = importlib.import_module(f"{package}.model.estimator")
    wrap = importlib.import_module(f"{package}.wrap")
    notebook = estimator.build_estimator().fit(fitted.train_x, fitted.train_y)
    if framework == "xgboost":
        path = directory / "notebook.json"
        notebook.save_model(path)
    elif framework == "lightgbm":
        path = directory / "notebook.txt"
        notebook.booster_.save_model(path)
    elif framework == "catboost":
        path = directory / "notebook.cbm"
        notebook.save_model(str(path))
    else:
        import skops.io

        path = directory / "notebook.skops"
        skops.io.dump(notebook, path)
    data = directory / "data.csv"
    fitted.train_x.assign(target=fitted.train_y).to_csv(data, index=False)
    info = wrap.wrap(path, data, registered_model_name="")
    return notebook, mlflow.pyfunc.load_model(info.model_uri)


def check_same_answers(generated: object, fitted: Fitted, frame: pd.DataFrame) -> None:
    """The generated model returns what the fitted estimator returns for the
    float32 matrix it was trained on (native xgboost/lightgbm pyfuncs return
    labels)."""
    np.testing.assert_allclose(
        generated.predict(frame).to_numpy(),
        fitted.estimator.predict_proba(fitted.preprocessor.transform(frame)),
        rtol=1e-5,
        atol=1e-6,
    )


def median_seconds(
    calls: dict[str, Callable[[pd.DataFrame], object]],
    frame: pd.DataFrame,
    repeats: int,
    warmup: int,
) -> dict[str, float]:
    """Median wall time of each `calls[name](frame)` over `repeats` rounds.

    Each round calls every one in turn, so the machine's noise hits them alike.
    """
    times: dict[str, list[float]] = {name: [] for name in calls}
    for round_ in range(warmup + repeats):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn(frame)
            if round_ >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def logged_kb(uri: str) -> float:
    """Size of a logged model's files, in KB."""
    local = Path(mlflow.artifacts.download_artifacts(uri))
    return sum(p.stat().st_size for p in local.rglob("*") if p.is_file()) / 1024


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", help="the rendered project's package")
    parser.add_argument("framework", help="MLflow flavor of the project's estimator")
    parser.add_argument("--one-row-calls", type=int, default=300)
    parser.add_argument("--large-repeats", type=int, default=5)
    parser.add_argument("--rows-large", type=int, default=100_000)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    logged_model = importlib.import_module(f"{args.package}.making.logged_model")
    fitted = fit(args.package)
    uris = log_both(args.package, args.framework, fitted)
    generated = mlflow.pyfunc.load_model(uris["generated"])
    native = mlflow.pyfunc.load_model(uris["native"])
    preprocessor, features = fitted.preprocessor, fitted.features
    one = preprocessor.canonical(fitted.test_x.head(1))
    picks = np.random.default_rng(0).integers(0, len(features), args.rows_large)
    large = preprocessor.canonical(features.iloc[picks].reset_index(drop=True))
    calls = {
        "raw": fitted.estimator.predict_proba,
        "native": native.predict,
        "generated": generated.predict,
        # The model's own predict, without pyfunc around it: what the generated
        # pyfunc costs on top of the model itself.
        "unwrapped": logged_model.unwrap(generated).predict,
    }
    package = importlib.import_module(args.package)
    if hasattr(package, "load_model"):  # packaging: flavor
        calls["flavor"] = package.load_model(uris["generated"]).predict
    with tempfile.TemporaryDirectory() as directory:
        notebook, wrapped = wrapped_notebook_model(
            args.package, args.framework, fitted, Path(directory)
        )
    # The wrapped model against its own notebook estimator on a DataFrame.
    calls["wrapped"] = wrapped.predict
    calls["wrapped_raw"] = notebook.predict_proba
    np.testing.assert_allclose(
        wrapped.predict(large.head(1000)).to_numpy(),
        notebook.predict_proba(large.head(1000)),
        rtol=1e-4,
        atol=1e-5,
    )
    check_same_answers(generated, fitted, large.head(1000))
    one_row = median_seconds(calls, one, args.one_row_calls, warmup=20)
    result = {
        "one_row_ms": {name: 1e3 * seconds for name, seconds in one_row.items()},
        "large_s": median_seconds(calls, large, args.large_repeats, warmup=1),
    }
    result["size_kb"] = {name: logged_kb(uri) for name, uri in uris.items()}
    result["uris"] = uris
    print(json.dumps(result))


if __name__ == "__main__":
    main()
