"""What a trained model answers for each column kind, in each form, on each path.

    python -m benchmarks.kinds_table [--spark]

(from the repository root, in the environment of its test extra; `--spark`
needs Java). It renders the default project (XGBoost, binary), trains it on a
churn-like table with a boolean with gaps, ISO dates and a city column cut to
10 categories, and prints the matrix of `benchmarks/scripts/kinds_paths.py`:
per kind and form (booleans as True/False, 1/0, text, a gap, "yes"; dates as
ISO text with and without zones, datetimes, after training, a gap, a date
that is not ISO; kept, rare ("other"), unseen and missing categories), what
the model answers in-process, over `mlflow models serve` (JSON and CSV), in
the `score` CLI (CSV and Parquet) and on Spark: `=` when it equals the answer
for what the form means.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.wrap_table import print_table
from generator_tests.helpers import copy_template, package_name, render

SCRIPT = Path(__file__).parent / "scripts" / "kinds_paths.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spark", action="store_true", help="add the Spark engine")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        project = render(copy_template(root / "template"), root / "project", {})
        work = root / "work"
        work.mkdir()
        env = {
            "PYTHONPATH": str(project / "src"),
            "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
            "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        }
        result = subprocess.run(
            [sys.executable, str(SCRIPT), package_name(project)]
            + ["--spark"] * args.spark,
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        print(result.stderr[-3000:], file=sys.stderr)
        raise SystemExit(1)
    rows = [line.split("\t") for line in result.stdout.strip().splitlines()]
    print_table(rows[next(i for i, row in enumerate(rows) if row[0] == "kind") :])


if __name__ == "__main__":
    main()
