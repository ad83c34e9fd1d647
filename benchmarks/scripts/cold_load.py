"""Cold load: import MLflow and load a model in a fresh interpreter.

Runs in a rendered project's environment:

    python cold_load.py URI

Prints the seconds from before `import mlflow` to the loaded model (the
arguments are read before the clock starts).
"""

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uri", help="model URI to load")
    args = parser.parse_args()
    start = time.perf_counter()
    import mlflow

    mlflow.pyfunc.load_model(args.uri)
    print(time.perf_counter() - start)


if __name__ == "__main__":
    main()
