"""Rebuild a logged model's environment with uv from its requirements and predict
its serving input example there.

Runs with MLflow, without the rendered project's source on the path:

    python predict_in_rebuilt_env.py URI OUTPUT

Writes the predictions, as JSON, to OUTPUT, with the example's row count
(`example_rows`).
"""

import argparse
import json
from pathlib import Path

import mlflow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uri", help="logged model URI")
    parser.add_argument("output", help="JSON file to write the predictions to")
    args = parser.parse_args()
    local = Path(mlflow.artifacts.download_artifacts(args.uri))
    mlflow.models.predict(
        model_uri=args.uri,
        input_path=str(local / "serving_input_example.json"),
        content_type="json",
        env_manager="uv",
        output_path=args.output,
    )
    example = json.loads((local / "serving_input_example.json").read_text())
    written = json.loads(Path(args.output).read_text())
    written["example_rows"] = len(example["dataframe_split"]["data"])
    Path(args.output).write_text(json.dumps(written))


if __name__ == "__main__":
    main()
