"""Benchmark generated models against raw framework calls and MLflow's own flavors.

One command, one run, ratios against baselines measured in the same run:

    python -m benchmarks.run [--frameworks xgboost lightgbm sklearn]
                             [--packaging models_from_code|flavor|...]
                             [--generator-suite] [--quick] [--no-scoring]

(from the repository root, in the environment of its test extra).

For each framework it renders a binary-classification project (`probabilities`,
`--packaging`, default `models_from_code`), fits the estimator the project
builds, and times on the same fitted model and the same data:

- raw: the framework's own `predict_proba` on a pandas DataFrame;
- native: MLflow's flavor (`mlflow.<framework>.log_model` with a signature),
  loaded with `mlflow.pyfunc.load_model`;
- generated: the project's pyfunc, logged by the project's own `log_model`;
- unwrapped: the same model's own `predict` (`logged_model.unwrap`): the
  model itself, input contract included, without pyfunc around it;
- flavor (with `--packaging flavor`): `<package>.load_model(uri).predict`, the
  flavor's own loader, against the pyfunc and raw paths;
- wrapped: the same estimator fitted on a DataFrame as a notebook does, saved
  with its framework's API and wrapped by the project's `wrap`, against the
  native flavor (1 row) and that estimator's own `predict_proba` (100,000 rows).

Also: cold load in a fresh interpreter, logged model size, `copier copy` time,
the generated project's own test suite, the score CLI's rows per second with the
local and Spark (local[2]) engines and each engine's cost per row once it runs
(the slope between a small and a large file, so Spark's start-up drops out),
and optionally the whole generator test suite.
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
from typing import NamedTuple

from generator_tests.answer_sets import FRAMEWORKS as ALL_FRAMEWORKS
from generator_tests.answer_sets import PACKAGINGS, TEMPLATE, declared
from generator_tests.helpers import REPO, copy_template, package_name, render

#: Programs run inside a rendered project's environment.
SCRIPTS = Path(__file__).resolve().parent / "scripts"
ROWS_LARGE = 100_000
ROWS_SCORING = 500_000
#: The small file whose time, subtracted, removes each engine's start-up.
ROWS_SCORING_SMALL = 50_000
#: Frameworks whose MLflow flavor can score the same frames (their files say).
FRAMEWORKS = [
    name for name in ALL_FRAMEWORKS if declared("frameworks", name, "benchmarked")
]


class Repeats(NamedTuple):
    """How many times each measurement is taken."""

    one_row_calls: int
    large_calls: int
    cold_loads: int
    copier_copies: int


FULL = Repeats(one_row_calls=300, large_calls=9, cold_loads=5, copier_copies=7)
QUICK = Repeats(one_row_calls=50, large_calls=2, cold_loads=1, copier_copies=3)


class Measured(NamedTuple):
    """One framework's results: `measure.py`'s JSON, cold loads, project tests."""

    framework: str
    measured: dict
    cold: dict[str, float]
    tests: float


#: A row of the printed table: framework, measure, raw, native flavor,
#: generated, gen/native, gen/raw, target.
Row = tuple[str, str, str, str, str, str, str, str]
HEADER: Row = (
    "framework",
    "measure",
    "raw",
    "native flavor",
    "generated",
    "gen/native",
    "gen/raw",
    "target",
)


def run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(command[:4])} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout


def run_script(name: str, *args: str, cwd: Path, env: dict[str, str]) -> str:
    """Run `scripts/NAME.py ARGS`; what it printed."""
    return run([sys.executable, str(SCRIPTS / f"{name}.py"), *args], cwd, env)


def last_line(output: str) -> str:
    """The last line a program printed: what a script reports to its caller."""
    return output.strip().splitlines()[-1]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def benchmark_env(project: Path, database: Path) -> dict[str, str]:
    """Environment to run a rendered project's code, tracking to `database`.

    Unlike the tests' `helpers.project_env`, it lets Python write bytecode, so
    cold loads are timed as a project's users see them.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PYTHONPATH"] = str(project / "src")
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{database}"
    return env


def copier_seconds(template: Path, root: Path, repeats: int) -> float:
    times = []
    for index in range(repeats):
        start = time.perf_counter()
        render(template, root / f"scaffold-{index}", {})
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_framework(
    template: Path, root: Path, framework: str, repeats: Repeats, packaging: str
) -> Measured:
    """Render a project for `framework` and take its measurements."""
    answers = {"framework": framework, "packaging": packaging}
    project = render(template, root / framework, answers)
    env = benchmark_env(project, root / f"{framework}.db")
    report = run_script(
        "measure",
        package_name(project),
        framework,
        "--one-row-calls",
        str(repeats.one_row_calls),
        "--large-repeats",
        str(repeats.large_calls),
        "--rows-large",
        str(ROWS_LARGE),
        cwd=root,
        env=env,
    )
    measured = json.loads(last_line(report))
    cold = {
        name: statistics.median(
            float(last_line(run_script("cold_load", uri, cwd=root, env=env)))
            for _ in range(repeats.cold_loads)
        )
        for name, uri in measured["uris"].items()
    }
    tests = timed(
        lambda: run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            project,
            env,
        )
    )
    return Measured(framework, measured, cold, tests)


def scoring_rates(root: Path, uri: str) -> tuple[dict[str, float], dict[str, float]]:
    """The xgboost project's score CLI: rows/s per engine, and cost per row.

    Rows/s time the whole command on the large file. The cost per row (us) is
    the slope between the small and the large file in one process with a
    running SparkSession (`scripts/spark_per_row.py`), so start-up drops out;
    it includes Spark copying the file without any model, Spark's own floor.
    """
    project = root / "xgboost"
    env = benchmark_env(project, root / "xgboost.db")
    sources = {}
    for rows in (ROWS_SCORING_SMALL, ROWS_SCORING):
        sources[rows] = root / f"scoring-{rows}.parquet"
        run_script(
            "write_scoring_input", str(sources[rows]), str(rows), cwd=root, env=env
        )
    engines = {
        "local": [],
        "spark (local[2])": ["--engine", "spark", "--spark-master", "local[2]"],
    }
    rates = {}
    for engine, extra in engines.items():
        output = root / f"scored-{engine.split()[0]}.parquet"
        command = [sys.executable, "-m", f"{package_name(project)}.score"]
        command += ["--model-uri", uri, "--input", str(sources[ROWS_SCORING])]
        command += ["--output", str(output), "--keep", "row_id", *extra]
        rates[engine] = ROWS_SCORING / timed(
            lambda command=command: run(command, root, env)
        )
    per_row = run_script(
        "spark_per_row",
        package_name(project),
        uri,
        str(sources[ROWS_SCORING_SMALL]),
        str(sources[ROWS_SCORING]),
        cwd=root,
        env=env,
    )
    return rates, json.loads(last_line(per_row))


def generator_suite_seconds() -> float:
    """Wall time of this repository's whole test suite."""
    return timed(
        lambda: run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            REPO,
            dict(os.environ),
        )
    )


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


def compared(
    framework: str,
    measure: str,
    values: dict[str, float],
    name: str,
    digits: int,
    target: str,
    *,
    baselines: bool = True,
) -> Row:
    """`values[name]` against the native flavor and, when measured, the raw call;
    the baselines' own values too when `baselines`."""

    def number(key: str) -> str:
        return f"{values[key]:.{digits}f}"

    has_raw = "raw" in values
    return (
        framework,
        measure,
        number("raw") if baselines and has_raw else "",
        number("native") if baselines else "",
        number(name),
        f"{values[name] / values['native']:.2f}",
        f"{values[name] / values['raw']:.2f}" if has_raw else "",
        target,
    )


def framework_rows(result: Measured) -> list[Row]:
    """The table's rows for one framework."""
    framework, m = result.framework, result.measured
    one, large, size = m["one_row_ms"], m["large_s"], m["size_kb"]
    many = f"{ROWS_LARGE:,} rows"
    return [
        compared(
            framework, "1 row (ms, median)", one, "generated", 3, "gen/native <= 0.50"
        ),
        compared(
            framework,
            "1 row, unwrapped (ms, median)",
            one,
            "unwrapped",
            3,
            "",
            baselines=False,
        ),
        *flavor_rows(framework, one, large),
        over_model(
            compared(framework, f"{many} (s, median)", large, "generated", 3, ""),
            large,
        ),
        compared(
            framework,
            f"{many}, unwrapped (s, median)",
            large,
            "unwrapped",
            3,
            "gen/raw <= 1.05",
            baselines=False,
        ),
        compared(
            framework,
            "1 row, wrapped (ms, median)",
            one,
            "wrapped",
            3,
            "wrapped/native <= 0.50",
            baselines=False,
        ),
        over_own_model(
            compared(
                framework,
                f"{many}, wrapped (s, median)",
                large,
                "wrapped",
                3,
                "",
                baselines=False,
            ),
            large,
        ),
        compared(
            framework,
            "cold load (s)",
            result.cold,
            "generated",
            2,
            "gen/native <= 1.10",
        ),
        compared(framework, "logged size (KB)", size, "generated", 0, ""),
        (framework, "project tests (s)", "", "", f"{result.tests:.1f}", "", "", "< 30"),
    ]


def over_model(row: Row, values: dict[str, float]) -> Row:
    """`row` with the generated pyfunc against the model itself as its target."""
    ratio = values["generated"] / values["unwrapped"]
    return (*row[:7], f"gen/unwrapped {ratio:.2f} (<= 1.10)")


def over_own_model(row: Row, values: dict[str, float]) -> Row:
    """`row` with the wrapped model against its notebook estimator's own call."""
    ratio = values["wrapped"] / values["wrapped_raw"]
    return (*row[:7], f"wrapped/own {ratio:.2f} (<= 1.10)")


def flavor_rows(
    framework: str, one: dict[str, float], large: dict[str, float]
) -> list[Row]:
    """`<package>.load_model(uri).predict` against the pyfunc and raw paths."""
    if "flavor" not in one:
        return []
    many = f"{ROWS_LARGE:,} rows"
    rows = []
    for measure, values, digits in (
        ("1 row, flavor load_model (ms, median)", one, 3),
        (f"{many}, flavor load_model (s, median)", large, 3),
    ):
        row = compared(framework, measure, values, "flavor", digits, "")
        pyfunc = f"flavor/pyfunc {values['flavor'] / values['generated']:.2f}"
        rows.append((*row[:7], pyfunc))
    return rows


def table_rows(
    results: list[Measured],
    scaffold: float,
    scoring: tuple[dict[str, float], dict[str, float]] | None,
    suite: float | None,
) -> list[Row]:
    """Every row of the table, header first."""
    table = [HEADER]
    for result in results:
        table.extend(framework_rows(result))
    table.append(
        ("all", "copier copy (s, median)", "", "", f"{scaffold:.2f}", "", "", "< 1")
    )
    if scoring is not None:
        rates, per_row = scoring
        for engine, rate in rates.items():
            measure = f"score CLI {engine} (rows/s)"
            target = f"{ROWS_SCORING:,} rows, whole command"
            table.append(("xgboost", measure, "", "", f"{rate:,.0f}", "", "", target))
        ratio = per_row["spark"] / per_row["local"]
        floor = per_row["spark_copy"] / per_row["local"]
        measure = "score cost per row once started (us): local / spark / Spark copy"
        costs = " / ".join(f"{per_row[name]:.2f}" for name in per_row)
        target = f"spark/local {ratio:.2f} (<= 1.50); copy/local {floor:.2f}"
        table.append(("xgboost", measure, "", "", costs, "", "", target))
    if suite is not None:
        table.append(
            ("all", "generator_tests (s)", "", "", f"{suite:.0f}", "", "", "< 900")
        )
    return table


def print_table(table: list[Row] | list[list[str]]) -> None:
    """Columns padded to their widest cell, a rule under the header."""
    widths = [max(len(str(row[i])) for row in table) for i in range(len(table[0]))]
    for index, row in enumerate(table):
        print(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )
        if index == 0:
            print("  ".join("-" * width for width in widths))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--frameworks",
        nargs="+",
        default=FRAMEWORKS,
        choices=FRAMEWORKS,
        help="frameworks to measure (those whose file declares `benchmarked`)",
    )
    parser.add_argument(
        "--packaging",
        default=TEMPLATE.context({})["packaging"],
        choices=PACKAGINGS,
        help="packaging of the generated projects (flavor adds the rows of "
        "<package>.load_model; default: %(default)s)",
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
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    repeats = QUICK if args.quick else FULL
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        template = copy_template(root / "template-src")
        scaffold = copier_seconds(template, root, repeats.copier_copies)
        results = [
            measure_framework(template, root, framework, repeats, args.packaging)
            for framework in args.frameworks
        ]
        scoring = None
        if not args.no_scoring and "xgboost" in args.frameworks:
            (xgboost,) = [r for r in results if r.framework == "xgboost"]
            scoring = scoring_rates(root, xgboost.measured["uris"]["generated"])
        suite = generator_suite_seconds() if args.generator_suite else None

    print(f"\nMachine: {machine()}")
    print(
        f"Binary classification on breast cancer features (30 numeric columns); {ROWS_LARGE:,}-row frame sampled from it.\n"
    )
    print_table(table_rows(results, scaffold, scoring, suite))


if __name__ == "__main__":
    main()
