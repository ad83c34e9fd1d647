"""Benchmark generated models against raw framework calls and MLflow's own flavors.

One command, one run, ratios against baselines measured in the same run:

    python benchmarks/run.py [--frameworks xgboost lightgbm sklearn]
                             [--generator-suite] [--quick] [--no-scoring]

For each framework it renders a binary-classification project (`probabilities`,
`models_from_code`), fits the estimator the project builds, and times on the same
fitted model and the same data:

- raw: the framework's own `predict_proba` on a pandas DataFrame;
- native: MLflow's flavor (`mlflow.<framework>.log_model` with a signature),
  loaded with `mlflow.pyfunc.load_model`;
- generated: the project's pyfunc, logged by the project's own `log_model`;
- unwrapped: the same model's own `predict` (`logged_model.unwrap`), which
  checks the same input contract without MLflow's per-value pass.

Also: cold load in a fresh interpreter, logged model size, `copier copy` time,
the generated project's own test suite, the score CLI's rows per second with the
local and Spark (local[2]) engines, and optionally the whole generator test
suite.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "generator_tests"))
from conftest import copy_template  # noqa: E402  (the tests' copy of the template)

ROWS_LARGE = 100_000
ROWS_SCORING = 500_000

#: Writes a Parquet file of resampled breast-cancer rows with an id column.
WRITE_SCORING_INPUT = r"""
import sys
import numpy as np
from sklearn.datasets import load_breast_cancer
features = load_breast_cancer(as_frame=True).frame.drop(columns="target")
rows = int(sys.argv[2])
frame = features.iloc[np.random.default_rng(0).integers(0, len(features), rows)]
frame = frame.reset_index(drop=True)
frame.insert(0, "row_id", np.arange(rows))
frame.to_parquet(sys.argv[1], index=False, row_group_size=100_000)
"""

#: Runs inside the rendered project's environment: fits, logs both models,
#: times everything and prints one JSON line.
MEASURE = r"""
import json, os, statistics, sys, time, tempfile
from pathlib import Path
import numpy as np, pandas as pd, mlflow
from mlflow.models import infer_signature

framework, one_row_calls, large_repeats, rows_large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
from my_model import estimator
from my_model.logged_model import log_model, unwrap
from my_model.model import Model
from my_model.preprocessing import Preprocessor
from my_model.train import load_data, model_signature, split

features, target = load_data(None, "target")
train_x, test_x, train_y, _ = split(features, target)
preprocessor = Preprocessor.fit(train_x, train_y, max_categories=estimator.MAX_CATEGORIES)
fitted = estimator.build_estimator()
native_model = estimator.fit(fitted, preprocessor.transform(train_x), preprocessor.encode_target(train_y), preprocessor.categorical)
model = Model(preprocessor, native_model)
sample = preprocessor.canonical(train_x)

mlflow.set_experiment("benchmark")
with mlflow.start_run():
    signature = model_signature(model, sample.head(100))
    generated_info = log_model(model, signature=signature, input_example=sample.head(5), registered_model_name=None)
    flavor = getattr(mlflow, framework)
    native_signature = infer_signature(sample, fitted.predict_proba(sample.head(100)))
    kwargs = {}
    if framework == "sklearn":
        import skops.io
        kwargs = {
            "pyfunc_predict_fn": "predict_proba",
            "serialization_format": "skops",
            "skops_trusted_types": skops.io.get_untrusted_types(data=skops.io.dumps(fitted)),
        }
    native_info = flavor.log_model(fitted, name="native", signature=native_signature, input_example=sample.head(5), **kwargs)

generated = mlflow.pyfunc.load_model(generated_info.model_uri)
native = mlflow.pyfunc.load_model(native_info.model_uri)
one = preprocessor.canonical(test_x.head(1))
rng = np.random.default_rng(0)
large = preprocessor.canonical(features.iloc[rng.integers(0, len(features), rows_large)].reset_index(drop=True))

def raw(frame):
    return fitted.predict_proba(frame)

calls = {
    "raw": raw,
    "native": native.predict,
    "generated": generated.predict,
    # The model's own predict: the same input contract, without MLflow's
    # value-by-value check of `any` columns (what the score CLI calls).
    "unwrapped": unwrap(generated).predict,
}
# The generated model returns what the fitted estimator returns for the float32
# matrix it was trained on (native xgboost/lightgbm pyfuncs return labels).
check = large.head(1000)
np.testing.assert_allclose(
    generated.predict(check).to_numpy(),
    fitted.predict_proba(preprocessor.transform(check)),
    rtol=1e-5,
    atol=1e-6,
)

def median_seconds(fn, frame, repeats, warmup):
    for _ in range(warmup):
        fn(frame)
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); fn(frame); times.append(time.perf_counter() - start)
    return statistics.median(times)

result = {"one_row_ms": {}, "large_s": {}}
for name, fn in calls.items():
    result["one_row_ms"][name] = 1e3 * median_seconds(fn, one, one_row_calls, warmup=20)
    result["large_s"][name] = median_seconds(fn, large, large_repeats, warmup=1)

def size(uri):
    local = Path(mlflow.artifacts.download_artifacts(uri))
    return sum(p.stat().st_size for p in local.rglob("*") if p.is_file())

result["size_kb"] = {"native": size(native_info.model_uri) / 1024, "generated": size(generated_info.model_uri) / 1024}
result["uris"] = {"native": native_info.model_uri, "generated": generated_info.model_uri}
print(json.dumps(result))
"""

#: Cold load: a fresh interpreter imports mlflow and loads the model.
COLD_LOAD = r"""
import sys, time
start = time.perf_counter()
import mlflow
model = mlflow.pyfunc.load_model(sys.argv[1])
print(time.perf_counter() - start)
"""


def copier_seconds(template: Path, root: Path, repeats: int) -> float:
    import copier

    times = []
    for index in range(repeats):
        start = time.perf_counter()
        copier.run_copy(
            str(template), str(root / f"scaffold-{index}"), defaults=True, quiet=True
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(command[:4])} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import mlflow

    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"MLflow {mlflow.__version__}, {platform.system()} {platform.release()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--frameworks",
        nargs="+",
        default=["xgboost", "lightgbm", "sklearn"],
        choices=["xgboost", "lightgbm", "sklearn"],
        help="frameworks to measure (CatBoost is left out: its estimator is fitted"
        " on positional columns, so MLflow's flavor cannot score named ones)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions (a smoke run)"
    )
    parser.add_argument(
        "--no-scoring",
        action="store_true",
        help="skip the score CLI's rows/s (local and Spark engines)",
    )
    parser.add_argument(
        "--generator-suite",
        action="store_true",
        help="also time the whole generator test suite",
    )
    args = parser.parse_args()
    one_row_calls, large_repeats, cold_repeats = (
        (50, 2, 1) if args.quick else (300, 5, 5)
    )

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        template = copy_template(root / "template-src")
        scaffold = copier_seconds(template, root, 3 if args.quick else 7)
        for framework in args.frameworks:
            project = root / framework
            import copier

            copier.run_copy(
                str(template),
                str(project),
                data={"framework": framework},
                defaults=True,
                quiet=True,
            )
            env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
            env["PYTHONPATH"] = str(project / "src")
            env["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / (framework + '.db')}"
            measured = json.loads(
                run(
                    [
                        sys.executable,
                        "-c",
                        MEASURE,
                        framework,
                        str(one_row_calls),
                        str(large_repeats),
                        str(ROWS_LARGE),
                    ],
                    root,
                    env,
                )
                .strip()
                .splitlines()[-1]
            )
            cold = {}
            for name, uri in measured["uris"].items():
                cold[name] = statistics.median(
                    float(
                        run([sys.executable, "-c", COLD_LOAD, uri], root, env)
                        .strip()
                        .splitlines()[-1]
                    )
                    for _ in range(cold_repeats)
                )
            start = time.perf_counter()
            run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                project,
                env,
            )
            tests = time.perf_counter() - start
            rows.append((framework, measured, cold, tests))

        scoring = {}
        if not args.no_scoring and "xgboost" in args.frameworks:
            project = root / "xgboost"
            env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
            env["PYTHONPATH"] = str(project / "src")
            env["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'xgboost.db'}"
            uri = [row for row in rows if row[0] == "xgboost"][0][1]["uris"][
                "generated"
            ]
            source = root / "scoring.parquet"
            run(
                [
                    sys.executable,
                    "-c",
                    WRITE_SCORING_INPUT,
                    str(source),
                    str(ROWS_SCORING),
                ],
                root,
                env,
            )
            engines = {
                "local": [],
                "spark (local[2])": ["--engine", "spark", "--spark-master", "local[2]"],
            }
            for engine, extra in engines.items():
                output = root / f"scored-{engine.split()[0]}.parquet"
                start = time.perf_counter()
                run(
                    [
                        sys.executable,
                        "-m",
                        "my_model.score",
                        "--model-uri",
                        uri,
                        "--input",
                        str(source),
                        "--output",
                        str(output),
                        "--keep",
                        "row_id",
                        *extra,
                    ],
                    root,
                    env,
                )
                scoring[engine] = ROWS_SCORING / (time.perf_counter() - start)

        suite = None
        if args.generator_suite:
            suite = timed(
                lambda: run(
                    [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                    REPO,
                    dict(os.environ),
                )
            )

    print(f"\nMachine: {machine()}")
    print(
        f"Binary classification on breast cancer features (30 numeric columns); {ROWS_LARGE:,}-row frame sampled from it.\n"
    )
    header = (
        "framework",
        "measure",
        "raw",
        "native flavor",
        "generated",
        "gen/native",
        "gen/raw",
        "target",
    )
    table = [header]
    for framework, m, cold, tests in rows:
        one, large, size = m["one_row_ms"], m["large_s"], m["size_kb"]
        table.append(
            (
                framework,
                "1 row (ms, median)",
                f"{one['raw']:.3f}",
                f"{one['native']:.3f}",
                f"{one['generated']:.3f}",
                f"{one['generated'] / one['native']:.2f}",
                f"{one['generated'] / one['raw']:.2f}",
                "gen/native <= 0.60",
            )
        )
        table.append(
            (
                framework,
                "1 row, unwrapped (ms, median)",
                "",
                "",
                f"{one['unwrapped']:.3f}",
                f"{one['unwrapped'] / one['native']:.2f}",
                f"{one['unwrapped'] / one['raw']:.2f}",
                "",
            )
        )
        table.append(
            (
                framework,
                f"{ROWS_LARGE:,} rows (s, median)",
                f"{large['raw']:.3f}",
                f"{large['native']:.3f}",
                f"{large['generated']:.3f}",
                f"{large['generated'] / large['native']:.2f}",
                f"{large['generated'] / large['raw']:.2f}",
                "gen/raw <= 1.05",
            )
        )
        table.append(
            (
                framework,
                f"{ROWS_LARGE:,} rows, unwrapped (s, median)",
                "",
                "",
                f"{large['unwrapped']:.3f}",
                f"{large['unwrapped'] / large['native']:.2f}",
                f"{large['unwrapped'] / large['raw']:.2f}",
                "gen/raw <= 1.05",
            )
        )
        table.append(
            (
                framework,
                "cold load (s)",
                "",
                f"{cold['native']:.2f}",
                f"{cold['generated']:.2f}",
                f"{cold['generated'] / cold['native']:.2f}",
                "",
                "gen/native <= 1.10",
            )
        )
        table.append(
            (
                framework,
                "logged size (KB)",
                "",
                f"{size['native']:.0f}",
                f"{size['generated']:.0f}",
                f"{size['generated'] / size['native']:.2f}",
                "",
                "",
            )
        )
        table.append(
            (framework, "project tests (s)", "", "", f"{tests:.1f}", "", "", "< 30")
        )
    table.append(
        ("all", "copier copy (s, median)", "", "", f"{scaffold:.2f}", "", "", "< 1")
    )
    for engine, rate in scoring.items():
        table.append(
            (
                "xgboost",
                f"score CLI {engine} (rows/s)",
                "",
                "",
                f"{rate:,.0f}",
                "",
                "",
                f"{ROWS_SCORING:,} rows, whole command",
            )
        )
    if suite is not None:
        table.append(
            ("all", "generator_tests (s)", "", "", f"{suite:.0f}", "", "", "< 900")
        )
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for index, row in enumerate(table):
        print(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )
        if index == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    main()
