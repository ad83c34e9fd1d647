"""Write a folder MLServer serves over the V2 protocol, and its KServe manifest.

    python -m churn_risk.kserve
        --model-uri URI --output DIR [--name NAME] [--storage-uri URI]

DIR holds everything the server needs, so it can be uploaded as it is: `model/`
(the logged model, downloaded), `model-settings.json` (serve `model/` as NAME
with this package's runtime), `settings.json` (MLServer's server settings), the
runtime module (`mlserver_runtime.py`, copied under the package's name) and
`inferenceservice.yaml` (a KServe InferenceService, protocol v2, reading DIR
from --storage-uri).

`mlserver start DIR` serves it on this machine (ports from MLSERVER_HTTP_PORT,
MLSERVER_GRPC_PORT and MLSERVER_METRICS_PORT); predictions are at
`/v2/models/NAME/infer`. A problem (existing output, unknown model, bad name) is
one line on stderr and exit status 2.
"""

import argparse
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import mlflow
import yaml
from mlflow.exceptions import MlflowException

from .score import first_line

DEFAULT_NAME = "churn_risk"
RUNTIME_MODULE = "churn_risk_runtime"
#: What model-settings.json and the manifest name as the implementation.
RUNTIME_CLASS = f"{RUNTIME_MODULE}.Runtime"
RUNTIME_SOURCE = Path(__file__).with_name("mlserver_runtime.py")
#: The placeholder written when no --storage-uri is given.
STORAGE_PLACEHOLDER = "s3://BUCKET/PATH"
#: Inference runs in the server's process. MLServer 1.7's worker processes do
#: not start with current uvloop ("There is no current event loop"), and for a
#: model this fast the hop to a worker would cost more than it saves.
PARALLEL_WORKERS = 0
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class KServeError(Exception):
    """The folder was not written; the message says why."""


def resource_name(name: str) -> str:
    """Return the Kubernetes name (a DNS-1123 label) for model `name`.

    A name NAME_PATTERN allows starts with a letter or digit, so it never comes
    out empty.
    """
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].strip("-")


def model_settings(name: str) -> dict[str, Any]:
    """Return MLServer's settings of the model in `model/`."""
    return {
        "name": name,
        "implementation": RUNTIME_CLASS,
        "parameters": {"uri": "./model"},
    }


def inference_service(name: str, storage_uri: str) -> dict[str, Any]:
    """Return a KServe InferenceService serving the folder at `storage_uri` over V2.

    KServe mounts the folder at /mnt/models; the environment points MLServer at
    the model, its name and this package's runtime.
    """
    environment = {
        "MLSERVER_MODEL_NAME": name,
        "MLSERVER_MODEL_IMPLEMENTATION": RUNTIME_CLASS,
        "MLSERVER_MODEL_URI": "/mnt/models/model",
        "MLSERVER_PARALLEL_WORKERS": str(PARALLEL_WORKERS),
        "PYTHONPATH": "/mnt/models",
    }
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": resource_name(name)},
        "spec": {
            "predictor": {
                "model": {
                    "modelFormat": {"name": "mlflow"},
                    "protocolVersion": "v2",
                    "runtime": "kserve-mlserver",
                    "storageUri": storage_uri,
                    "env": [
                        {"name": key, "value": value}
                        for key, value in environment.items()
                    ],
                }
            }
        },
    }


def write_folder(model_uri: str, output: Path, name: str, storage_uri: str) -> None:
    """Download the model and write the settings, runtime and manifest to `output`."""
    if not NAME_PATTERN.match(name):
        raise KServeError(
            f"--name {name!r} is not allowed: use letters, digits, '_', '.' and '-',"
            " starting with a letter or digit"
        )
    if output.exists() and any(output.iterdir()):
        raise KServeError(f"{output} is not empty; choose a new folder")
    output.mkdir(parents=True, exist_ok=True)
    try:
        mlflow.artifacts.download_artifacts(
            artifact_uri=model_uri, dst_path=str(output / "model")
        )
    except (MlflowException, OSError) as error:
        shutil.rmtree(output / "model", ignore_errors=True)
        raise KServeError(
            f"cannot download model {model_uri}: {first_line(error)}"
        ) from error
    (output / "model-settings.json").write_text(
        json.dumps(model_settings(name), indent=2) + "\n"
    )
    (output / "settings.json").write_text(
        json.dumps({"parallel_workers": PARALLEL_WORKERS}, indent=2) + "\n"
    )
    shutil.copyfile(RUNTIME_SOURCE, output / f"{RUNTIME_MODULE}.py")
    (output / "inferenceservice.yaml").write_text(
        yaml.safe_dump(inference_service(name, storage_uri), sort_keys=False)
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m churn_risk.kserve",
        description="Write a folder MLServer and KServe serve over the V2 protocol.",
    )
    parser.add_argument("--model-uri", required=True, help="the logged model")
    parser.add_argument("--output", required=True, type=Path, help="a new folder")
    parser.add_argument(
        "--name", default=DEFAULT_NAME, help=f"model name (default: {DEFAULT_NAME})"
    )
    parser.add_argument(
        "--storage-uri",
        default=STORAGE_PLACEHOLDER,
        help="where the folder will be uploaded, for the KServe manifest",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    args = parse_args(argv)
    try:
        write_folder(args.model_uri, args.output, args.name, args.storage_uri)
    except KServeError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"serve it here:  mlserver start {args.output}")
    print(f"on KServe:      upload {args.output} to {args.storage_uri}, then")
    print(f"                kubectl apply -f {args.output / 'inferenceservice.yaml'}")
    print(f"predict:        POST /v2/models/{args.name}/infer")


if __name__ == "__main__":
    main()
