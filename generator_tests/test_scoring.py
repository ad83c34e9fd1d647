"""Batch scoring at scale: a million-row Parquet file in bounded memory (drift
checks included), the Spark engine giving the same output as the local one, and
a file scored alike at every batch size by every framework."""

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from answer_sets import FRAMEWORKS
from frames import TARGET, messy_frame
from helpers import PYTHON, last_line, package_name, project_env, run, run_script

#: Peak RSS allowed for scoring 1,000,000 rows above scoring 100,000 rows with the
#: same batch size: streaming means the input size must not show up in memory.
#: Measured here, with --drift: about 740 MB for both (MLflow, pandas, XGBoost
#: and matplotlib loaded).
MEMORY_GROWTH_LIMIT_MB = 150
MEMORY_LIMIT_MB = 1_000
BATCH_SIZE = 50_000


def write_rows(path: Path, rows: int) -> None:
    """Breast-cancer features resampled to `rows` rows, plus an id column."""
    from sklearn.datasets import load_breast_cancer

    features = load_breast_cancer(as_frame=True).frame.drop(columns="target")
    picks = np.random.default_rng(0).integers(0, len(features), rows)
    frame = features.iloc[picks].reset_index(drop=True)
    frame.insert(0, "row_id", np.arange(rows))
    frame.to_parquet(path, index=False, row_group_size=100_000)


def score(project: Path, env: dict[str, str], cwd: Path, *args: str) -> float:
    """Run `python -m <package>.score ARGS`; return its peak resident memory in MB."""
    module = f"{package_name(project)}.score"
    result = run_script("measured_score", module, *args, cwd=cwd, env=env)
    last = last_line(result)
    assert last.startswith("peak_rss_kb "), result.stdout
    return int(last.split()[1]) / 1024


@pytest.fixture(scope="module")
def scoring_project(
    rendered: Callable[[dict], Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str], str]:
    """A default project with a trained model: (project, env, model URI)."""
    project = rendered({})
    root = tmp_path_factory.mktemp("scoring")
    env = project_env(project, MLFLOW_TRACKING_URI=f"sqlite:///{root / 'mlflow.db'}")
    result = run(
        [PYTHON, "-m", f"{package_name(project)}.train", "--registered-model-name", ""],
        cwd=root,
        env=env,
    )
    return project, env, result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "answers",
    [{"framework": framework} for framework in FRAMEWORKS]
    + [
        {"framework": "lightgbm", "task": "multiclass", "predict_output": "top_k"},
        {"framework": "catboost", "task": "regression"},
    ],
    ids=lambda answers: "-".join(answers.values()),
)
def test_a_file_scores_alike_at_every_batch_size(
    rendered: Callable[[dict], Path], tmp_path: Path, answers: dict
) -> None:
    """Hypothesis draws files with string categories of digits and gaps; batch
    sizes 1, 2, 3 and whole give the same predictions and drift counts."""
    project = rendered(answers)
    env = project_env(
        project, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}"
    )
    task = answers.get("task", "binary")
    result = run_script(
        "batch_invariance",
        package_name(project),
        task,
        str(tmp_path),
        cwd=tmp_path,
        env=env,
    )
    assert last_line(result) == "examples 25"


def test_a_million_rows_score_in_bounded_memory(
    scoring_project: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    project, env, uri = scoring_project
    small, large = tmp_path / "small.parquet", tmp_path / "large.parquet"
    write_rows(small, 100_000)
    write_rows(large, 1_000_000)
    # --drift: the drift counts must stay bounded too.
    common = [
        *("--model-uri", uri, "--batch-size", str(BATCH_SIZE), "--keep", "row_id"),
        "--drift",
    ]
    small_peak = score(
        project,
        env,
        tmp_path,
        *common,
        "--input",
        str(small),
        "--output",
        str(tmp_path / "small-out.parquet"),
    )
    large_peak = score(
        project,
        env,
        tmp_path,
        *common,
        "--input",
        str(large),
        "--output",
        str(tmp_path / "large-out.parquet"),
    )
    print(f"peak RSS: 100k rows {small_peak:.0f} MB, 1M rows {large_peak:.0f} MB")
    assert large_peak < small_peak + MEMORY_GROWTH_LIMIT_MB, (small_peak, large_peak)
    assert large_peak < MEMORY_LIMIT_MB, large_peak
    # 2,000 sampled output rows against the model trained in memory.
    check = run_script(
        "check_sample",
        package_name(project),
        str(tmp_path / "large-out.parquet"),
        str(large),
        cwd=tmp_path,
        env=env,
    )
    assert last_line(check) == "ok"
    # Rows resampled from the data the model was trained on: no feature drifts.
    report = json.loads((tmp_path / "large-out.drift.json").read_text())
    assert report["rows"] == 1_000_000
    features = {column["name"]: column for column in report["features"]}
    assert not [name for name in report["drifted"] if name in features], report


@pytest.mark.spark
def test_spark_engine_matches_local(
    scoring_project: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    """Needs pyspark (this repository's test extra) and a Java runtime. Both
    engines check drift too, and count the same rows into the same buckets."""
    project, env, uri = scoring_project
    source = tmp_path / "rows.parquet"
    write_rows(source, 100_000)
    common = ["--model-uri", uri, "--input", str(source), "--keep", "row_id", "--drift"]
    score(project, env, tmp_path, *common, "--output", str(tmp_path / "local.parquet"))
    score(
        project,
        env,
        tmp_path,
        *common,
        "--output",
        str(tmp_path / "spark.parquet"),
        "--engine",
        "spark",
        "--spark-master",
        "local[2]",
    )
    local = pd.read_parquet(tmp_path / "local.parquet")
    spark = pd.read_parquet(tmp_path / "spark.parquet").sort_values("row_id")
    assert list(spark.columns) == list(local.columns)
    pd.testing.assert_frame_equal(
        spark.reset_index(drop=True), local, check_dtype=False
    )
    local_drift = json.loads((tmp_path / "local.drift.json").read_text())
    assert local_drift["rows"] == 100_000
    assert json.loads((tmp_path / "spark.drift.json").read_text()) == local_drift


@pytest.mark.spark
@pytest.mark.parametrize("signature", ["default", "typed"])
def test_spark_engine_keeps_the_input_contract(
    rendered: Callable[[dict], Path], tmp_path: Path, signature: str
) -> None:
    """Gaps in a gapless integer column, integers in a float column, an
    absent optional column, Spark booleans and time-zone-aware timestamps (and
    the same as CSV text) score on Spark exactly as locally, with the default
    signature and with `train --typed-signature`'s."""
    project = rendered({})
    env = project_env(
        project, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}"
    )
    data = tmp_path / "customers.csv"
    frame = messy_frame("binary")
    frame.to_csv(data, index=False)
    trained = run(
        [PYTHON, "-m", f"{package_name(project)}.train", "--data", str(data)]
        + ["--target", TARGET, "--optional", "customer age"]
        + ["--registered-model-name", ""]
        + ["--typed-signature"] * (signature == "typed"),
        cwd=tmp_path,
        env=env,
    )
    uri = trained.stdout.strip().splitlines()[-1]
    rows = frame.drop(columns=[TARGET, "customer age"]).head(300)
    rows = rows.astype({"support calls": "Int64"})
    rows.loc[::4, "support calls"] = pd.NA
    rows["monthly spend"] = rows["monthly spend"].round().astype("int64")
    rows.insert(0, "row_id", range(len(rows)))
    rows["auto renew"] = rows["auto renew"].astype("boolean")
    rows["signup date"] = pd.to_datetime(rows["signup date"]).dt.tz_localize(
        "America/New_York"
    )
    source = tmp_path / "rows.parquet"
    rows.to_parquet(source, index=False)
    # The same rows as text: "True"/"False"/"" and "2023-05-01 00:00:00-04:00".
    as_text = tmp_path / "rows.csv"
    rows.to_csv(as_text, index=False)
    outputs = {}
    spark_args = ["--engine", "spark", "--spark-master", "local[2]"]
    for name, path, engine in [
        ("local", source, []),
        ("spark", source, spark_args),
        ("spark csv", as_text, spark_args),
    ]:
        output = tmp_path / f"{name}.parquet"
        common = ["--model-uri", uri, "--input", str(path), "--keep", "row_id"]
        score(project, env, tmp_path, *common, "--output", str(output), *engine)
        # A kept column keeps its type: the whole CSV column's, or Parquet's.
        scored = pd.read_parquet(output)
        assert scored["row_id"].dtype == "int64", (name, scored.dtypes)
        outputs[name] = scored.sort_values("row_id").reset_index(drop=True)
    for name in ("spark", "spark csv"):
        pd.testing.assert_frame_equal(
            outputs[name], outputs["local"], check_dtype=False, obj=name
        )


@pytest.mark.spark
def test_spark_engine_fetches_the_model_once_and_counts_rows_as_it_writes(
    scoring_project: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    """One download serves the driver's first rows and the UDF (so an alias
    that moves meanwhile cannot mix two versions), and the row count comes
    from the write, not from reading the input again. The output is a
    `file:/...` URI, a scheme and one slash as `dbfs:/...` is: it lands where
    the URI points, not in a folder named `file:`."""
    project, env, uri = scoring_project
    source = tmp_path / "rows.parquet"
    write_rows(source, 300)
    common = ["--model-uri", uri, "--input", str(source), "--keep", "row_id"]
    score(project, env, tmp_path, *common, "--output", str(tmp_path / "local.parquet"))
    output = tmp_path / "spark.parquet"
    result = run_script(
        "counted_score",
        f"{package_name(project)}.score",
        *common,
        "--output",
        f"file:{output}",
        "--engine",
        "spark",
        "--spark-master",
        "local[1]",
        cwd=tmp_path,
        env=env,
    )
    assert json.loads(last_line(result)) == {"downloads": 1, "loads": 1, "counts": 0}
    assert "scored 300 rows" in result.stdout
    local = pd.read_parquet(tmp_path / "local.parquet")
    spark = pd.read_parquet(output).sort_values("row_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(spark, local, check_dtype=False)
    assert not (tmp_path / "file:").exists()
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


@pytest.mark.spark
def test_spark_engine_refuses_an_absent_required_column_in_one_line(
    scoring_project: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    """The first rows, predicted on the driver, name the absent column: exit
    status 2, one line, no output. (Either signature's refusal takes this path;
    the project's own tests hold both to naming the column.)"""
    project, env, uri = scoring_project
    source = tmp_path / "rows.parquet"
    write_rows(source, 50)
    pd.read_parquet(source).drop(columns="mean radius").to_parquet(source, index=False)
    output = tmp_path / "refused.parquet"
    refused = subprocess.run(
        [PYTHON, "-m", f"{package_name(project)}.score", "--model-uri", uri]
        + ["--input", str(source), "--output", str(output)]
        + ["--engine", "spark", "--spark-master", "local[1]"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert refused.returncode == 2, refused.stderr[-3000:]
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "mean radius" in last, refused.stderr[-3000:]
    assert not output.exists()


@pytest.mark.spark
def test_spark_udf_called_with_separate_columns_says_how_to_call_it(
    scoring_project: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    """`udf(col_a, col_b)` numbers the columns; the refusal shows `struct`."""
    project, env, uri = scoring_project
    source = tmp_path / "rows.parquet"
    write_rows(source, 50)
    pd.read_parquet(source).drop(columns="row_id").to_parquet(source, index=False)
    result = run_script(
        "spark_udf_by_position", uri, str(source), cwd=tmp_path, env=env
    )
    line = last_line(result)
    assert "None of the feature columns" in line, result.stdout[-3000:]
    assert "udf(struct(*columns))" in line, line


def test_the_mlserver_runtime_keeps_a_server_fault_a_server_error(
    scoring_project: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    """A refused request is 400; an MLflow fault of the server's own stays 5xx."""
    project, env, uri = scoring_project
    result = run_script(
        "runtime_faults",
        package_name(project),
        uri,
        str(tmp_path / "serving"),
        cwd=tmp_path,
        env=env,
    )
    answers = json.loads(last_line(result))
    assert answers["good"] == {"raised": None, "status": 200}
    assert answers["missing column"] == {"raised": "MLServerError", "status": 400}
    assert answers["server fault"] == {"raised": "MlflowException", "status": 500}
