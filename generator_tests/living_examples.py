"""The living examples: generated projects kept in `examples/`, one per answers.

    python -m generator_tests.living_examples          # re-render every example

from the repository root. Each `examples/<name>/` is what `copier copy` makes
from this checkout with the answers of EXAMPLES; its `.copier-answers.yml` is
kept without `_src_path` (a path on the machine that rendered it).
`generator_tests/test_examples.py` fails when an example differs from a fresh
render, so a template change shows its effect on real output in the same
commit.
"""

import shutil
import tempfile
from pathlib import Path

try:  # as a module of the tests (pytest puts generator_tests/ on sys.path)
    from helpers import REPO, copy_template, render
except ImportError:  # as `python -m generator_tests.living_examples`
    from generator_tests.helpers import REPO, copy_template, render

EXAMPLES_DIR = REPO / "examples"
#: The defaults, and one non-default project per framework family.
EXAMPLES = {
    "defaults": {},
    "lightgbm-multiclass-top-k": {
        "project_name": "Wine Grade",
        "framework": "lightgbm",
        "task": "multiclass",
        "predict_output": "top_k",
        "packaging": "loader_module",
        "extra_methods": ["predict_proba", "explain"],
    },
    "catboost-regression": {
        "project_name": "Claim Cost",
        "framework": "catboost",
        "task": "regression",
        "predict_output": "value",
        "packaging": "wrapper",
        "extra_methods": ["predict_batch"],
    },
    "sklearn-binary-flavor": {
        "project_name": "Churn Risk",
        "framework": "sklearn",
        "task": "binary",
        "predict_output": "thresholded_label",
        "packaging": "flavor",
        "extra_methods": ["predict_proba"],
        "registered_model_prefix": "retention.",
    },
}

#: Examples whose own suite runs in `test_examples.py`; their answers count
#: toward the end-to-end coverage (`answer_sets.END_TO_END`), so the sets that
#: run there add only what these leave.
RUN_OWN_TESTS = ["lightgbm-multiclass-top-k", "sklearn-binary-flavor"]


def render_example(template: Path, answers: dict, destination: Path) -> Path:
    """Render `answers` into `destination` as an example is kept."""
    render(template, destination, answers)
    answers_file = destination / ".copier-answers.yml"
    kept = [
        line
        for line in answers_file.read_text().splitlines(keepends=True)
        if not line.startswith("_src_path:")
    ]
    answers_file.write_text("".join(kept))
    return destination


def main() -> None:
    """Re-render every example from this checkout."""
    with tempfile.TemporaryDirectory() as directory:
        template = copy_template(Path(directory) / "template")
        for name, answers in EXAMPLES.items():
            target = EXAMPLES_DIR / name
            shutil.rmtree(target, ignore_errors=True)
            render_example(template, answers, target)
            print(f"rendered examples/{name}")


if __name__ == "__main__":
    main()
