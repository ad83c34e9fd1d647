"""Load a rendered project's MLServer runtime in this process and break its model.

Runs in a rendered project's environment (needs the `kserve` extra):

    python runtime_faults.py PACKAGE MODEL_URI FOLDER

Writes the V2 folder with the package's `kserve` command, loads its runtime as
MLServer would, then sends it a request missing a column and, with the model's
`predict` made to fail as MLflow fails on a fault of its own, a good request.
Prints one JSON line: the status each raised exception carries.
"""

import argparse
import asyncio
import importlib
import json
from pathlib import Path

from mlflow.exceptions import MlflowException
from mlserver.errors import MLServerError
from mlserver.settings import ModelParameters, ModelSettings
from mlserver.types import InferenceRequest


def status_of(runtime: object, request: InferenceRequest) -> dict:
    """Return the exception `runtime.predict(request)` raises and its HTTP status."""
    try:
        asyncio.run(runtime.predict(request))
    except MLServerError as error:
        return {"raised": type(error).__name__, "status": error.status_code}
    except MlflowException as error:
        return {"raised": type(error).__name__, "status": error.get_http_status_code()}
    return {"raised": None, "status": 200}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package")
    parser.add_argument("model_uri")
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    kserve = importlib.import_module(f"{args.package}.kserve")
    runtime_module = importlib.import_module(f"{args.package}.serving.mlserver_runtime")
    kserve.main(["--model-uri", args.model_uri, "--output", str(args.folder)])
    model_path = args.folder / kserve.DEFAULT_NAME / "model"
    settings = ModelSettings(
        name=kserve.DEFAULT_NAME,
        implementation=runtime_module.Runtime,
        parameters=ModelParameters(uri=str(model_path)),
    )
    runtime = runtime_module.Runtime(settings)
    asyncio.run(runtime.load())
    kinds = runtime._kinds
    row = {name: "a" if kind == "string" else 1.0 for name, kind in kinds.items()}
    inputs = [
        {
            "name": name,
            "datatype": "BYTES" if kinds[name] == "string" else "FP64",
            "shape": [1, 1],
            "data": [value],
        }
        for name, value in row.items()
    ]
    answers = {"good": status_of(runtime, InferenceRequest(inputs=inputs))}
    answers["missing column"] = status_of(runtime, InferenceRequest(inputs=inputs[1:]))

    def broken(*args: object, **kwargs: object) -> None:
        raise MlflowException("the artifact store is unreachable")

    runtime._model.predict = broken
    answers["server fault"] = status_of(runtime, InferenceRequest(inputs=inputs))
    print(json.dumps(answers))


if __name__ == "__main__":
    main()
