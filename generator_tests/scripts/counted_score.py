"""Run the scoring CLI, counting what it does more than once at a cost.

Runs in a rendered project's environment (needs pyspark and Java):

    python counted_score.py MODULE [ARGS ...]

Runs `python -m MODULE ARGS` in this process and prints, last, a JSON object:
`downloads` (the model fetched from the tracking store, `models:/` URIs),
`loads` (`mlflow.pyfunc.load_model` calls in this, the driver's, process) and
`counts` (Spark `DataFrame.count` calls).
"""

import argparse
import functools
import json
import runpy
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

import mlflow
from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

try:
    from pyspark.sql.classic.dataframe import DataFrame
except ImportError:  # pyspark 3.5
    from pyspark.sql import DataFrame

CALLS: Counter = Counter()


def counted(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap `function` so each call adds one to CALLS[name]."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        CALLS[name] += 1
        return function(*args, **kwargs)

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="module to run, e.g. my_model.score")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    args = parser.parse_args()
    ModelsArtifactRepository.download_artifacts = counted(
        "downloads", ModelsArtifactRepository.download_artifacts
    )
    mlflow.pyfunc.load_model = counted("loads", mlflow.pyfunc.load_model)
    DataFrame.count = counted("counts", DataFrame.count)
    sys.argv = [args.module, *args.args]
    runpy.run_module(args.module, run_name="__main__")
    print(json.dumps({name: CALLS[name] for name in ("downloads", "loads", "counts")}))


if __name__ == "__main__":
    main()
