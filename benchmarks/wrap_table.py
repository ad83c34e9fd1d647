"""What a wrapped notebook model answers, per framework, against the notebook.

    python -m benchmarks.wrap_table [--frameworks xgboost lightgbm ...]

(from the repository root, in the environment of its test extra). For each
framework it renders a binary-classification project, fits a notebook model
on a frame with a pandas categorical in a non-alphabetical order, gaps and an
integer column (`generator_tests/scripts/notebook_model.py`), wraps it with
the project's `wrap`, and prints one row per framework: the largest
difference from the notebook's own `predict_proba` for categories sent as
strings, as a categorical in another category order, integers sent as
floats, an unseen category; then what an absent column and a wrap without
`--data` give.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from generator_tests.answer_sets import FRAMEWORKS
from generator_tests.helpers import SCRIPTS, copy_template, package_name, render


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", nargs="+", default=list(FRAMEWORKS))
    args = parser.parse_args()
    rows = [
        (
            "framework",
            "strings",
            "reordered categoricals",
            "ints as floats",
            "unseen",
            "absent column",
            "no --data",
        )
    ]
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        template = copy_template(root / "template")
        for framework in args.frameworks:
            project = render(template, root / framework, {"framework": framework})
            work = root / f"{framework}-work"
            work.mkdir()
            env = {
                "PYTHONPATH": str(project / "src"),
                "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
                "PATH": str(Path(sys.executable).parent),
            }
            model_file = subprocess.run(
                [sys.executable, str(SCRIPTS / "notebook_model.py"), framework]
                + ["binary", str(work)],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()[-1]
            result = subprocess.run(
                [sys.executable, "-c", PROBE_ROWS, package_name(project), framework]
                + [model_file, str(work / "data.csv")],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                print(result.stderr[-3000:], file=sys.stderr)
                raise SystemExit(1)
            rows.append(tuple(result.stdout.strip().splitlines()[-1].split("\t")))
    print_table(rows)


def print_table(rows: list) -> None:
    """Print rows of cells in aligned columns, a rule under the first."""
    widths = [max(len(row[index]) for row in rows) for index in range(len(rows[0]))]
    for number, row in enumerate(rows):
        print(
            "  ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )
        if number == 0:
            print("  ".join("-" * width for width in widths))


#: The probe: each shape's largest |difference| from the notebook's own call.
PROBE_ROWS = """
import importlib
import sys
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

package, framework, model_file, data = sys.argv[1:]
wrap = importlib.import_module(f"{package}.wrap")
unwrap = importlib.import_module(f"{package}.making.logged_model").unwrap
colours = ["red", "green", "blue"]
frame = pd.read_csv(data)
features = frame.drop(columns="target").head(200)
trained = features.astype({"colour": pd.CategoricalDtype(colours)})


def native(rows):
    if framework == "xgboost":
        import xgboost as xgb
        model = xgb.XGBClassifier()
        model.load_model(model_file)
        return model.predict_proba(rows)
    if framework == "lightgbm":
        import lightgbm as lgb
        booster = lgb.Booster(model_file=model_file)
        positive = booster.predict(rows)
        return np.column_stack((1 - positive, positive))
    if framework == "catboost":
        import catboost
        model = catboost.CatBoostClassifier().load_model(model_file)
        return model.predict_proba(rows.assign(colour=rows["colour"].astype(str)))
    import skops.io
    return skops.io.load(model_file, trusted=skops.io.get_untrusted_types(
        file=model_file)).predict_proba(rows.astype({"colour": object}))


wrapped = mlflow.pyfunc.load_model(
    wrap.wrap(Path(model_file), Path(data), registered_model_name="").model_uri
)
own = unwrap(wrapped)
expected = native(trained)


def gap(shaped, against=expected):
    return f"{np.abs(own.scores(shaped) - against).max():.1e}"


unseen = trained.astype({"colour": object}).assign(colour="purple")
if framework in ("xgboost", "lightgbm"):
    missing = trained.assign(colour=pd.Categorical([None] * len(trained), colours))
    unseen_cell = gap(unseen, native(missing)) + " (as missing)"
else:
    unseen_cell = gap(unseen, native(unseen)) + " (model's rule)"
try:
    wrapped.predict(features.drop(columns="size cm"))
    absent = "scored!"
except MlflowException as error:
    absent = f"{type(error).__name__} {error.get_http_status_code()}"
bare = mlflow.pyfunc.load_model(
    wrap.wrap(Path(model_file), registered_model_name="").model_uri
)
try:
    names = unwrap(bare).preprocessor.features
    shaped = trained
    if framework == "lightgbm":  # it stores `size cm` as `size_cm`
        shaped = trained.rename(columns=lambda name: name.replace(" ", "_"))
    no_data = f"logged; {np.abs(unwrap(bare).scores(shaped[names]) - expected).max():.1e}"
except MlflowException as error:
    no_data = str(error)[:40]
print(
    "\\t".join(
        [
            framework,
            gap(trained.astype({"colour": object})),
            gap(trained.assign(colour=trained["colour"].cat.reorder_categories(
                sorted(colours)))),
            gap(trained.astype({"items": "float64"})),
            unseen_cell,
            absent,
            no_data,
        ]
    )
)
"""


if __name__ == "__main__":
    main()
