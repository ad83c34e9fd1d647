"""Serving under load: the generated model against MLflow's own flavor, per server.

    python -m benchmarks.serving [--frameworks xgboost sklearn] [--seconds 10]
                                 [--clients 8] [--quick]

(from the repository root, in the environment of its test extra).

For each framework it renders a binary-classification project (`probabilities`,
`models_from_code`), fits its estimator once and logs it twice, as the generated
pyfunc and with MLflow's flavor (`benchmarks/scripts/measure.py`; for
scikit-learn that flavor is MLflow's no-code alternative,
`mlflow.sklearn.log_model(..., pyfunc_predict_fn="predict_proba")`). Then, for
1-row and 100-row requests, `--clients` threads send requests for `--seconds`
each (keep-alive connections, after a warm-up) to:

- `mlflow models serve` with 1 and 2 workers, the native flavor and the
  generated model (the same JSON bodies);
- MLServer (`python -m <package>.kserve --workers N`, then `mlserver start`),
  the generated model over the V2 protocol, with inference in the server's
  process and in 1 and 2 worker processes.

Every answer is checked (HTTP 200 and one prediction per row); a request that
gets no answer counts as lost. It prints requests/s, p50 and p99 latency,
errors and lost requests per server, the generated model's requests/s and p99
against the native flavor's behind the same server (targets: gen/native
requests/s >= 1.3, p99 <= 0.8, 0 errors, 0 lost), MLServer's requests/s
against `mlflow models serve`'s at equal workers (target >= 1.0; inference in
MLServer's own process counts as one worker), and where a request's time
goes (`scripts/serving_breakdown.py`: the scoring server's steps timed in one
process). It exits with status 1 if any request failed or was lost.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path

from generator_tests.helpers import (
    copy_template,
    free_port,
    package_name,
    render,
    running_server,
)

from .run import (
    FRAMEWORKS,
    benchmark_env,
    last_line,
    machine,
    print_table,
    run,
    run_script,
)

BIN = Path(sys.executable).parent
ROW_COUNTS = (1, 100)
TARGETS = {"rps": 1.3, "p99": 0.8}
#: MLServer's `parallel_workers`: 0 runs inference in the server's process.
MLSERVER_WORKERS = (0, 1, 2)
#: The V2 server's requests/s against `mlflow models serve` at equal workers.
V2_TARGET = 1.0


def mlflow_label(workers: int) -> str:
    """The table's name for `mlflow models serve` with `workers` workers."""
    return f"mlflow models serve, {workers} worker{'s' if workers > 1 else ''}"


def mlserver_label(workers: int) -> str:
    """The table's name for MLServer with `parallel_workers` = `workers`."""
    if workers == 0:
        return "MLServer V2, inference in its process"
    return f"MLServer V2, {workers} worker{'s' if workers > 1 else ''}"


@dataclass
class Load:
    """What the clients saw in one run."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    lost: int = 0
    first_error: str = ""

    def record(self, seconds: float, ok: bool, detail: str) -> None:
        self.latencies.append(seconds)
        if not ok:
            self.errors += 1
            self.first_error = self.first_error or detail


@dataclass
class Target:
    """A server under test: where to POST, what to send, how to count rows."""

    port: int
    path: str
    bodies: dict[int, bytes]
    v2: bool

    def rows_in(self, answer: dict) -> int:
        if self.v2:
            return len(answer["outputs"][0]["data"])
        return len(answer["predictions"])


def client(
    target: Target, rows: int, stop_at: float, load: Load, lock: threading.Lock
) -> None:
    """Send requests on one keep-alive connection until `stop_at`."""
    body = target.bodies[rows]
    headers = {"Content-Type": "application/json"}
    connection = HTTPConnection("127.0.0.1", target.port, timeout=60)
    while time.perf_counter() < stop_at:
        start = time.perf_counter()
        try:
            connection.request("POST", target.path, body, headers)
            response = connection.getresponse()
            payload = response.read()
        except OSError as error:
            with lock:
                load.lost += 1
                load.first_error = load.first_error or repr(error)
            connection.close()
            connection = HTTPConnection("127.0.0.1", target.port, timeout=60)
            continue
        seconds = time.perf_counter() - start
        ok = response.status == 200 and target.rows_in(json.loads(payload)) == rows
        with lock:
            load.record(seconds, ok, f"{response.status}: {payload[:200]!r}")
    connection.close()


def drive(target: Target, rows: int, clients: int, seconds: float) -> Load:
    """`clients` threads for `seconds` (after a warm-up of a quarter of that)."""
    for phase_seconds, keep in ((max(1.0, seconds / 4), False), (seconds, True)):
        load, lock = Load(), threading.Lock()
        stop_at = time.perf_counter() + phase_seconds
        threads = [
            threading.Thread(target=client, args=(target, rows, stop_at, load, lock))
            for _ in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if keep:
            return load
    raise AssertionError("unreachable")


def request_bodies(example: dict) -> tuple[dict[int, bytes], dict[int, bytes]]:
    """MLflow and V2 bodies of 1 and 100 rows, cycling the logged example's rows."""
    split = example["dataframe_split"]
    columns, data = split["columns"], split["data"]
    mlflow_bodies, v2_bodies = {}, {}
    for rows in ROW_COUNTS:
        picked = [data[index % len(data)] for index in range(rows)]
        mlflow_bodies[rows] = json.dumps(
            {"dataframe_split": {"columns": columns, "data": picked}}
        ).encode()
        inputs = [
            {
                "name": name,
                "datatype": "FP64",
                "shape": [rows, 1],
                "data": [row[i] for row in picked],
            }
            for i, name in enumerate(columns)
        ]
        v2_bodies[rows] = json.dumps({"inputs": inputs}).encode()
    return mlflow_bodies, v2_bodies


def summary(load: Load, seconds: float) -> dict[str, float]:
    latencies = sorted(load.latencies)
    return {
        "rps": len(latencies) / seconds,
        "p50": 1e3 * statistics.median(latencies),
        "p99": 1e3 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "errors": load.errors,
        "lost": load.lost,
        "first_error": load.first_error,
    }


def write_kserve_folder(
    package: str, uri: str, folder: Path, env: dict[str, str], workers: int
) -> None:
    """`python -m PACKAGE.kserve` with MLServer's inference workers set to `workers`."""
    command = [sys.executable, "-m", f"{package}.kserve", "--model-uri", uri]
    command += ["--output", str(folder), "--name", "bench", "--workers", str(workers)]
    run(command, folder.parent, env)


@dataclass
class Config:
    """One server to start and load: what it is, how to start it, where to send."""

    server: str
    model: str
    #: `mlflow models serve --workers` or MLServer's `parallel_workers`.
    workers: int
    command: list[str]
    env: dict[str, str]
    ready: str
    target: Target


def mlflow_servers(
    uris: dict[str, str], env: dict[str, str], bodies: dict[int, bytes]
) -> Iterator[Config]:
    """`mlflow models serve` with 1 and 2 workers, for the native and generated models."""
    for workers in (1, 2):
        for model in ("native", "generated"):
            port = free_port()
            command = [sys.executable, "-m", "mlflow", "models", "serve"]
            command += ["-m", uris[model], "--env-manager", "local", "-w", str(workers)]
            command += ["-h", "127.0.0.1", "-p", str(port)]
            yield Config(
                mlflow_label(workers),
                model,
                workers,
                command,
                env,
                f"http://127.0.0.1:{port}/ping",
                Target(port, "/invocations", bodies, v2=False),
            )


def mlservers(
    package: str, uri: str, root: Path, env: dict[str, str], bodies: dict[int, bytes]
) -> Iterator[Config]:
    """MLServer on the folder `python -m PACKAGE.kserve` writes, with inference in
    the server's process (0 workers) and in 1 and 2 worker processes."""
    for workers in MLSERVER_WORKERS:
        folder = root / f"kserve-{workers}"
        write_kserve_folder(package, uri, folder, env, workers)
        port = free_port()
        server_env = {
            **env,
            "MLSERVER_HTTP_PORT": str(port),
            "MLSERVER_GRPC_PORT": str(free_port()),
            "MLSERVER_METRICS_PORT": str(free_port()),
        }
        yield Config(
            mlserver_label(workers),
            "generated",
            workers,
            [str(BIN / "mlserver"), "start", str(folder)],
            server_env,
            f"http://127.0.0.1:{port}/v2/models/bench/ready",
            Target(port, "/v2/models/bench/infer", bodies, v2=True),
        )


def log_both(root: Path, framework: str, env: dict[str, str], package: str) -> dict:
    """`scripts/measure.py`: the two loggings' URIs and their in-process 1-row times."""
    options = ["--one-row-calls", "200", "--large-repeats", "1", "--rows-large", "1000"]
    output = run_script("measure", package, framework, *options, cwd=root, env=env)
    return json.loads(last_line(output))


def example_of(uri: str, root: Path, env: dict[str, str]) -> dict:
    """The serving input example logged with the model at `uri`."""
    folder = root / "example"
    command = [sys.executable, "-m", "mlflow", "artifacts", "download"]
    run([*command, "--artifact-uri", uri, "--dst-path", str(folder)], root, env)
    return json.loads((folder / "serving_input_example.json").read_text())


def measure_framework(
    template: Path, root: Path, framework: str, args: argparse.Namespace
) -> tuple[list[dict], dict]:
    """Serve both loggings of one fitted estimator; a result per server, model, rows."""
    project = render(template, root / "project", {"framework": framework})
    package = package_name(project)
    env = benchmark_env(project, root / "mlflow.db")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    report = log_both(root, framework, env, package)
    uris = report["uris"]
    mlflow_bodies, v2_bodies = request_bodies(example_of(uris["generated"], root, env))
    configs = [
        *mlflow_servers(uris, env, mlflow_bodies),
        *mlservers(package, uris["generated"], root, env, v2_bodies),
    ]
    results = []
    for config in configs:
        with running_server(config.command, root, config.env, config.ready):
            for rows in ROW_COUNTS:
                load = drive(config.target, rows, args.clients, args.seconds)
                result = summary(load, args.seconds)
                results.append(
                    {
                        "framework": framework,
                        "server": config.server,
                        "model": config.model,
                        "workers": config.workers,
                        "v2": config.target.v2,
                        "rows": rows,
                        **result,
                    }
                )
                print(
                    f"  {framework}, {config.server}, {config.model}, {rows} rows: "
                    f"{result['rps']:.0f} req/s, p99 {result['p99']:.1f} ms",
                    file=sys.stderr,
                )
    bodies = root / "bodies.json"
    bodies.write_text(
        json.dumps({rows: body.decode() for rows, body in mlflow_bodies.items()})
    )
    breakdown = run_script(
        "serving_breakdown",
        package,
        framework,
        uris["native"],
        uris["generated"],
        str(bodies),
        cwd=root,
        env=env,
    )
    return results, report["one_row_ms"], json.loads(last_line(breakdown))


def tables(
    results: list[dict], in_process: dict[str, dict]
) -> tuple[list[list[str]], list[list[str]]]:
    """The measurements, and the generated/native ratios behind the same server."""
    measured = [
        [
            "framework",
            "rows",
            "server",
            "model",
            "req/s",
            "p50 (ms)",
            "p99 (ms)",
            "errors",
            "lost",
        ]
    ]
    for r in results:
        measured.append(
            [
                r["framework"],
                str(r["rows"]),
                r["server"],
                r["model"],
                f"{r['rps']:.0f}",
                f"{r['p50']:.1f}",
                f"{r['p99']:.1f}",
                str(r["errors"]),
                str(r["lost"]),
            ]
        )
    for framework, one_row in in_process.items():
        for model in ("native", "generated"):
            measured.append(
                [
                    framework,
                    "1",
                    "in-process pyfunc predict",
                    model,
                    f"{1e3 / one_row[model]:.0f}",
                    f"{one_row[model]:.2f}",
                    "",
                    "",
                    "",
                ]
            )
    ratios = [
        [
            "framework",
            "rows",
            "server",
            "gen/native req/s",
            "gen/native p99",
            f"targets (>= {TARGETS['rps']}, <= {TARGETS['p99']})",
        ]
    ]
    by_key = {(r["framework"], r["rows"], r["server"], r["model"]): r for r in results}
    for (framework, rows, label, model), generated in by_key.items():
        native = by_key.get((framework, rows, label, "native"))
        if model != "generated" or native is None:
            continue
        rps, p99 = generated["rps"] / native["rps"], generated["p99"] / native["p99"]
        met = rps >= TARGETS["rps"] and p99 <= TARGETS["p99"]
        ratios.append(
            [
                framework,
                str(rows),
                label,
                f"{rps:.2f}",
                f"{p99:.2f}",
                "met" if met else "missed",
            ]
        )
    return measured, ratios


def v2_table(results: list[dict]) -> list[list[str]]:
    """MLServer against `mlflow models serve` at equal workers, generated model.

    Inference in MLServer's own process counts as one worker.
    """
    table = [
        [
            "framework",
            "rows",
            "MLServer",
            "against",
            "V2/mlflow req/s",
            "V2/mlflow p99",
            f"target (>= {V2_TARGET})",
        ]
    ]
    baselines = {
        (r["framework"], r["rows"], r["workers"]): r
        for r in results
        if not r["v2"] and r["model"] == "generated"
    }
    for v2 in (r for r in results if r["v2"]):
        baseline = baselines.get((v2["framework"], v2["rows"], max(v2["workers"], 1)))
        if baseline is None:
            continue
        rps = v2["rps"] / baseline["rps"]
        table.append(
            [
                v2["framework"],
                str(v2["rows"]),
                v2["server"].removeprefix("MLServer V2, "),
                baseline["server"],
                f"{rps:.2f}",
                f"{v2['p99'] / baseline['p99']:.2f}",
                "met" if rps >= V2_TARGET else "missed",
            ]
        )
    return table


def breakdown_table(steps: dict[str, dict]) -> list[list[str]]:
    """`serving_breakdown.py`'s steps per framework, model and rows."""
    table = [
        [
            "framework",
            "model",
            "rows",
            "parse JSON",
            "MLflow's checks",
            "model alone",
            "to JSON",
            "total",
        ]
    ]
    for framework, models in steps.items():
        for model, by_rows in models.items():
            for rows, step in by_rows.items():
                checks = step["pyfunc_predict"] - step["model_alone"]
                total = step["parse"] + step["pyfunc_predict"] + step["to_json"]
                table.append(
                    [framework, model, rows]
                    + [
                        f"{value:.2f}"
                        for value in (
                            step["parse"],
                            checks,
                            step["model_alone"],
                            step["to_json"],
                            total,
                        )
                    ]
                )
    return table


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--frameworks",
        nargs="+",
        default=FRAMEWORKS,
        choices=FRAMEWORKS,
        help="frameworks to measure (those whose file declares `benchmarked`)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        help="measured load per run (default: %(default)s)",
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=8,
        help="concurrent clients (default: %(default)s)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="3 seconds per run (a smoke run)"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.quick:
        args.seconds = 3.0
    results, in_process, steps = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        template = copy_template(root / "template-src")
        for framework in args.frameworks:
            work = root / framework
            work.mkdir()
            measured, one_row, steps[framework] = measure_framework(
                template, work, framework, args
            )
            results += measured
            in_process[framework] = one_row
    print(f"\nMachine: {machine()}")
    print(
        f"{args.clients} clients, {args.seconds:g} s per run; breast cancer features (30 numeric columns).\n"
    )
    measured, ratios = tables(results, in_process)
    print_table(measured)
    print()
    print_table(ratios)
    print("\nThe V2 server against `mlflow models serve` at equal workers:\n")
    print_table(v2_table(results))
    print(
        "\nWhere a request's time goes, in one process (median ms; MLflow's checks = pyfunc predict - model alone):\n"
    )
    print_table(breakdown_table(steps))
    failures = [r for r in results if r["errors"] or r["lost"]]
    for r in failures:
        print(
            f"\n{r['framework']} {r['server']} {r['model']} {r['rows']} rows: {r['errors']} errors, {r['lost']} lost; first: {r['first_error']}"
        )
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
