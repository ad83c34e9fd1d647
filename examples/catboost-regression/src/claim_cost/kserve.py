"""Write a folder MLServer serves over the V2 protocol, and its KServe manifest.

    python -m claim_cost.kserve
        --model-uri URI --output DIR [--name NAME] [--storage-uri URI]
        [--workers N] [--host HOST]

DIR holds everything the server needs, so it can be uploaded as it is, and
`request.json`, a V2 request of the rows of the model's input example that
the served model answers as written:
`settings.json` (MLServer's server settings for a local `mlserver start DIR`:
--host, default 127.0.0.1, and --workers inference processes), NAME/ (the
model's own folder: `model-settings.json`, which serves `model/` as NAME with
this package's runtime, `model/`, the logged model, downloaded, and the
runtime module, `mlserver_runtime.py` copied under the package's name) and
`inferenceservice.yaml` (a KServe InferenceService, protocol v2, reading DIR
from --storage-uri and serving NAME/ on the addresses KServe needs).

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

from .errors import first_line, without_progress_bars

DEFAULT_NAME = "claim_cost"
RUNTIME_MODULE = "claim_cost_runtime"
#: What model-settings.json and the manifest name as the implementation.
RUNTIME_CLASS = f"{RUNTIME_MODULE}.Runtime"
RUNTIME_SOURCE = Path(__file__).parent / "serving" / "mlserver_runtime.py"
#: The placeholder written when no --storage-uri is given.
STORAGE_PLACEHOLDER = "s3://BUCKET/PATH"
#: Where KServe mounts the folder.
KSERVE_MOUNT = "/mnt/models"
#: Inference processes MLServer starts by default, besides the one that answers
#: HTTP and gRPC.
DEFAULT_WORKERS = 1
DEFAULT_HOST = "127.0.0.1"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
#: The V2 datatype of each kind of input, as the MLServer runtime declares it.
V2_DATATYPES = {"number": "FP64", "string": "BYTES", "boolean": "BOOL", "date": "BYTES"}
REQUEST_FILE = "request.json"


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


def server_settings(workers: int, host: str) -> dict[str, Any]:
    """Return MLServer's server settings for `mlserver start` on this machine."""
    return {"host": host, "parallel_workers": workers}


def inference_service(name: str, storage_uri: str, workers: int) -> dict[str, Any]:
    """Return a KServe InferenceService serving the folder at `storage_uri` over V2.

    KServe mounts the folder at KSERVE_MOUNT; MLServer's image serves
    `MLSERVER_MODELS_DIR`, here the model's own folder, so that the local
    `settings.json` (which binds 127.0.0.1) stays out and the server listens on
    every interface of the pod.
    """
    environment = {
        "MLSERVER_MODELS_DIR": f"{KSERVE_MOUNT}/{name}",
        "MLSERVER_HOST": "0.0.0.0",
        "MLSERVER_PARALLEL_WORKERS": str(workers),
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


def v2_request(example: dict[str, Any], kinds: dict[str, str]) -> dict[str, Any]:
    """Return the rows of a serving input example as a V2 request.

    One input a column, typed by its kind, and `predict` as the method.
    """
    split = example["dataframe_split"]
    inputs = []
    for position, name in enumerate(split["columns"]):
        values = [row[position] for row in split["data"]]
        inputs.append(
            {
                "name": name,
                "datatype": V2_DATATYPES[kinds.get(name, "number")],
                "shape": [len(values), 1],
                "data": values,
            }
        )
    return {"inputs": inputs, "parameters": {"method": "predict"}}


def write_request(model: Path, path: Path) -> bool:
    """Write the V2 request of the downloaded `model`'s input example to `path`.

    Returns False, writing nothing, when the model was logged without one.
    """
    example = model / "serving_input_example.json"
    if not example.is_file():
        return False
    metadata = yaml.safe_load((model / "MLmodel").read_text()).get("metadata") or {}
    kinds = metadata.get("input_types") or {}
    request = v2_request(json.loads(example.read_text()), kinds)
    path.write_text(json.dumps(request, indent=2) + "\n")
    return True


def write_folder(
    model_uri: str,
    output: Path,
    name: str,
    storage_uri: str,
    workers: int = DEFAULT_WORKERS,
    host: str = DEFAULT_HOST,
) -> None:
    """Download the model and write the settings, runtime and manifest to `output`.

    The model's files go to `output / name`: MLServer expects a model's folder
    to be named after it.
    """
    if not NAME_PATTERN.match(name):
        raise KServeError(
            f"--name {name!r} is not allowed: use letters, digits, '_', '.' and '-',"
            " starting with a letter or digit"
        )
    if workers < 0:
        raise KServeError(f"--workers {workers} is not allowed: use 0 or more")
    if output.exists() and any(output.iterdir()):
        raise KServeError(f"{output} is not empty; choose a new folder")
    model_folder = output / name
    model_folder.mkdir(parents=True, exist_ok=True)
    try:
        mlflow.artifacts.download_artifacts(
            artifact_uri=model_uri, dst_path=str(model_folder / "model")
        )
    except (MlflowException, OSError) as error:
        shutil.rmtree(model_folder, ignore_errors=True)
        raise KServeError(
            f"cannot download model {model_uri}: {first_line(error)}"
        ) from error
    write_request(model_folder / "model", output / REQUEST_FILE)
    (model_folder / "model-settings.json").write_text(
        json.dumps(model_settings(name), indent=2) + "\n"
    )
    shutil.copyfile(RUNTIME_SOURCE, model_folder / f"{RUNTIME_MODULE}.py")
    (output / "settings.json").write_text(
        json.dumps(server_settings(workers, host), indent=2) + "\n"
    )
    (output / "inferenceservice.yaml").write_text(
        yaml.safe_dump(inference_service(name, storage_uri, workers), sort_keys=False)
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m claim_cost.kserve",
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
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help="inference processes besides the server's own; 0 runs inference in"
        f" the server's process (default: {DEFAULT_WORKERS})",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address a local `mlserver start` binds (default: {DEFAULT_HOST})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    args = parse_args(argv)
    without_progress_bars()
    try:
        write_folder(
            args.model_uri,
            args.output,
            args.name,
            args.storage_uri,
            workers=args.workers,
            host=args.host,
        )
    except KServeError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"serve it here:  mlserver start {args.output}")
    print(f"on KServe:      upload {args.output} to {args.storage_uri}, then")
    print(f"                kubectl apply -f {args.output / 'inferenceservice.yaml'}")
    print(f"predict:        POST /v2/models/{args.name}/infer")
    request = args.output / REQUEST_FILE
    if request.is_file():
        print(f"a request:      {request} (the rows of the model's input example)")
    else:
        print("a request:      none (the model was logged without an input example)")


if __name__ == "__main__":
    main()
