"""What `score --drift` costs, and what it says about a shifted batch.

    python -m benchmarks.drift [--rows 1000000] [--repeats 3]

(from the repository root, in the environment of its test extra).

Renders the default project, trains it on the bundled breast cancer data and
writes the million-row Parquet file the scale tests use (resampled rows). It
then times the whole `score` command on it without and with `--drift`,
alternating the two `--repeats` times (this machine is noisy: read the ratio
of medians), with a tracking store set, so `--drift` also logs its run.

Last, it trains the project once more on the bundled data plus a `colour`
string column, and scores 100,000 of its rows with `mean radius` shifted by
two standard deviations, `worst area` emptied and `purple`, a colour never
seen, in 80% of the rows; it prints the drift table the command printed.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer

from generator_tests.helpers import copy_template, package_name, render

from .run import benchmark_env, last_line, machine, print_table, run, run_script, timed

SHIFTED_ROWS = 100_000


def train(project: Path, root: Path, env: dict[str, str], *args: str) -> str:
    """Train the project's model with `args`; its model URI."""
    command = [sys.executable, "-m", f"{package_name(project)}.train"]
    return last_line(run([*command, "--registered-model-name", "", *args], root, env))


def score_command(project: Path, uri: str, source: Path, *args: str) -> list[str]:
    """The score CLI on `source`, writing `<source stem>-out.parquet` beside it."""
    command = [sys.executable, "-m", f"{package_name(project)}.score"]
    command += ["--model-uri", uri, "--input", str(source)]
    command += ["--output", str(source.with_name(f"{source.stem}-out.parquet"))]
    return [*command, *args]


def score(
    project: Path, root: Path, env: dict[str, str], uri: str, source: Path, *args: str
) -> str:
    """Run the score CLI on `source`; what it printed."""
    return run(
        score_command(project, uri, source, "--keep", "row_id", *args), root, env
    )


def drift_table(
    project: Path, root: Path, env: dict[str, str], uri: str, source: Path
) -> str:
    """The drift table `score --drift` prints for `source`."""
    command = score_command(project, uri, source, "--drift")
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    return "\n".join(
        line
        for line in result.stderr.splitlines()
        if not line.startswith(("20", "\r", "Downloading"))
    )


def with_colours(frame: pd.DataFrame, dominant: str | None, seed: int) -> pd.DataFrame:
    """`frame` with a `colour` string feature: three colours, or mostly `dominant`."""
    rng = np.random.default_rng(seed)
    colours = rng.choice(["red", "green", "blue"], len(frame)).astype(object)
    if dominant is not None:
        colours[rng.random(len(frame)) < 0.8] = dominant
    return frame.assign(colour=colours)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        project = render(copy_template(root / "template"), root / "project", {})
        env = benchmark_env(project, root / "mlflow.db")
        uri = train(project, root, env)
        source = root / "rows.parquet"
        run_script(
            "write_scoring_input", str(source), str(args.rows), cwd=root, env=env
        )
        seconds = {"without --drift": [], "with --drift": []}
        for _ in range(args.repeats):
            seconds["without --drift"].append(
                timed(lambda: score(project, root, env, uri, source))
            )
            seconds["with --drift"].append(
                timed(lambda: score(project, root, env, uri, source, "--drift"))
            )
        plain = statistics.median(seconds["without --drift"])
        table = [["score CLI, local engine", "median s", "rows/s", "ratio"]]
        for name, times in seconds.items():
            median = statistics.median(times)
            table.append(
                [
                    f"{args.rows:,} rows {name}",
                    f"{median:.1f}",
                    f"{args.rows / median:,.0f}",
                    f"{median / plain:.2f}",
                ]
            )
        print(machine())
        print_table(table)

        # A shifted batch, on a model that also has a string feature.
        data = root / "training.csv"
        bundled = load_breast_cancer(as_frame=True).frame
        with_colours(bundled, None, 0).to_csv(data, index=False)
        coloured = train(project, root, env, "--data", str(data))
        batch = bundled.drop(columns="target").sample(
            SHIFTED_ROWS, replace=True, random_state=1
        )
        batch = with_colours(batch.reset_index(drop=True), "purple", 1)
        batch["mean radius"] += 2 * bundled["mean radius"].std()
        batch["worst area"] = np.nan
        batch.insert(0, "row_id", np.arange(len(batch)))
        shifted = root / "shifted.parquet"
        batch.to_parquet(shifted, index=False)
        print()
        print(f"`score --drift` on {SHIFTED_ROWS:,} shifted rows:")
        print(drift_table(project, root, env, coloured, shifted))


if __name__ == "__main__":
    main()
