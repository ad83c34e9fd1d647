"""Run a module as `python -m MODULE ARGS` would, then report this process's peak
resident memory.

Runs in a rendered project's environment:

    python measured_score.py MODULE [ARGS ...]

Prints, last, `peak_rss_kb N` (even when the module fails).
"""

import argparse
import resource
import runpy
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="module to run, e.g. my_model.score")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="its arguments")
    args = parser.parse_args()
    sys.argv = [args.module, *args.args]
    try:
        runpy.run_module(args.module, run_name="__main__")
    finally:
        print("peak_rss_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


if __name__ == "__main__":
    main()
