"""What the command-line tools print: one line per error, no download bars.

`registry/champion_scores.py` keeps a one-line version of its own: it runs as an
isolated script that must not import this package (see its docstring).
"""

import logging
import os
import sys


def without_progress_bars() -> None:
    """Leave MLflow's artifact download bars out of a command's output.

    Logging and loading a model draw one bar per download, which buries what
    the command prints; `MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=true` brings
    them back.
    """
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def first_line(error: BaseException) -> str:
    """Return the gist of an error in one line.

    MLflow's schema errors quote the whole batch before the reason
    (`... Error: Model is missing inputs [...]`); keep the reason only. A first
    line that ends in a colon only introduces the details, whose last line is
    the cause (`... downloading ... from /models: ... No such artifact: 'm'`).
    """
    message = getattr(error, "message", None) or str(error)
    reason = message.rpartition("Error: ")[2]
    lines = [line.strip() for line in reason.splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if lines[0].endswith(":") and len(lines) > 1:
        return f"{lines[0]} {lines[-1]}"
    return lines[0]


def show_progress() -> None:
    """Print this package's progress messages (metrics, promotion) on stdout.

    Run with `python -m`, the command's own module logs as `__main__`.
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in (__package__, "__main__"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)
