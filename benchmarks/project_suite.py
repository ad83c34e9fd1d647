"""The generated project's own `pytest`: this checkout against a baseline commit.

    python -m benchmarks.project_suite [--baseline REV] [--repeats 3]

(from the repository root, in the environment of its test extra).

Renders the default project from this checkout and from the template at
`--baseline` (default: HEAD~1), then runs each project's whole `pytest`
(servers included) in turn, `--repeats` times, alternating the two, and
prints every run's wall time, the medians and their ratio. This machine is
noisy: read the ratio, measured in the same minutes, more than the seconds.
It also times a fixed pure-Python loop before and after, so that a reader can
tell a slow hour from a slow suite.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from generator_tests.helpers import REPO, TEMPLATE_PARTS, copy_template, render

from .run import benchmark_env, machine, print_table, run, timed


def template_at(revision: str, target: Path) -> Path:
    """What Copier reads from this repository at `revision`, in `target`."""
    target.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", revision, *TEMPLATE_PARTS],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def suite_env(project: Path) -> dict[str, str]:
    """The environment a user runs the project's tests in: its code on the path,
    no tracking store set (the suite makes its own), bytecode written."""
    env = benchmark_env(project, project / "unused.db")
    del env["MLFLOW_TRACKING_URI"]
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def reference_loop_seconds() -> float:
    """A fixed pure-Python loop: how fast this machine is right now."""
    start = time.perf_counter()
    total = 0
    for number in range(20_000_000):
        total += number
    return time.perf_counter() - start


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--baseline",
        default="HEAD~1",
        help="commit whose template is the baseline (default: %(default)s)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="runs of each suite, alternating (default: %(default)s)",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        templates = {
            f"baseline ({args.baseline})": template_at(args.baseline, root / "base"),
            "this checkout": copy_template(root / "current"),
        }
        projects = {
            name: render(template, root / f"project-{index}", {})
            for index, (name, template) in enumerate(templates.items())
        }
        loops = [reference_loop_seconds()]
        seconds: dict[str, list[float]] = {name: [] for name in projects}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        for _ in range(args.repeats):
            for name, project in projects.items():
                seconds[name].append(
                    timed(partial(run, command, project, suite_env(project)))
                )
                print(f"  {name}: {seconds[name][-1]:.1f} s", file=sys.stderr)
        loops.append(reference_loop_seconds())
    print(f"\nMachine: {machine()}")
    print(
        "Reference loop (20,000,000 additions), before / after: "
        + " / ".join(f"{value:.2f} s" for value in loops)
    )
    table = [["suite", "runs (s, in order)", "median (s)"]]
    for name, values in seconds.items():
        runs = ", ".join(f"{value:.1f}" for value in values)
        table.append([name, runs, f"{statistics.median(values):.1f}"])
    print()
    print_table(table)
    baseline, current = (statistics.median(values) for values in seconds.values())
    print(f"\nthis checkout / baseline: {current / baseline:.2f}")


if __name__ == "__main__":
    main()
