"""Drift checks: the training profile, and what a scored batch is compared to."""

import copy
import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from churn_risk import score
from churn_risk.making.logged_model import log_model
from churn_risk.making.pipeline import model_signature
from churn_risk.model import Model
from churn_risk.model.kinds import to_numbers
from churn_risk.scoring import drift
from churn_risk.scoring.files import ScoringError
from churn_risk.train import fit_model


@pytest.fixture(scope="module")
def features(mixed_frame: pd.DataFrame) -> pd.DataFrame:
    return mixed_frame.drop(columns="target")


@pytest.fixture(scope="module")
def profile(
    mixed_model: Model, mixed_frame: pd.DataFrame, features: pd.DataFrame
) -> dict:
    return drift.profile(mixed_model, features, mixed_frame["target"], features)


def drift_of(model: Model, profile: dict, batch: pd.DataFrame) -> drift.DriftReport:
    """Report on `batch` counted in two halves, as scoring streams it."""
    monitor = drift.DriftMonitor(profile)
    for half in np.array_split(np.arange(len(batch)), 2):
        rows = batch.iloc[half]
        monitor.update(rows, model.predict(rows))
    return monitor.report()


def drawn_from(features: pd.DataFrame, rows: int = 3000) -> pd.DataFrame:
    return features.sample(rows, replace=True, random_state=1).reset_index(drop=True)


def test_the_profile_is_small_json_of_every_feature_and_prediction(
    profile: dict, mixed_model: Model
) -> None:
    assert list(profile["features"]) == mixed_model.preprocessor.features
    assert profile["features"]["size cm"]["kind"] == "number"
    assert len(profile["features"]["size cm"]["edges"]) == drift.BINS - 1
    colours = profile["features"]["colour name"]
    assert sorted(colours["categories"]) == ["blue", "green", "red"]
    # Shares of red, green, blue, other, unseen, missing: the rows' shares.
    assert len(colours["shares"]) == 3 + 3
    assert colours["shares"][-1] == pytest.approx(1 / 11, abs=0.01)
    assert profile["target"]["shares"]
    assert profile["prediction"]
    assert len(json.dumps(profile)) < 20_000


def test_a_batch_drawn_from_training_flags_nothing(
    mixed_model: Model, profile: dict, features: pd.DataFrame
) -> None:
    report = drift_of(mixed_model, profile, drawn_from(features))
    assert report.rows == 3000
    assert report.drifted == []
    assert all(column.psi < drift.MODERATE for column in report.features)
    assert report.prediction, "predictions with default params are compared"


def test_a_shifted_column_a_new_category_and_a_missing_column_are_flagged(
    mixed_model: Model, profile: dict, features: pd.DataFrame
) -> None:
    batch = drawn_from(features)
    batch["size cm"] = batch["size cm"] + 2 * features["size cm"].std()
    batch.loc[batch.index % 5 != 0, "colour name"] = "purple"
    batch["item count"] = np.nan
    report = drift_of(mixed_model, profile, batch)
    flagged = {column.name: column for column in report.features}
    assert [name for name, column in flagged.items() if column.status == "drift"] == [
        "size cm",
        "colour name",
        "item count",
    ]
    assert flagged["colour name"].bucket == "unseen"
    assert flagged["colour name"].batch_share == pytest.approx(0.8, abs=0.03)
    assert flagged["item count"].bucket == "missing"
    assert flagged["item count"].batch_missing == 1.0
    table = report.table()
    assert table.splitlines()[0].split() == [
        "column",
        "kind",
        "PSI",
        "status",
        "missing",
        "largest",
        "move",
        "dates",
    ]
    assert "colour name" in table and "unseen: 0.0% -> 80" in table


def test_an_absent_optional_column_counts_as_missing(
    mixed_model: Model, profile: dict, features: pd.DataFrame
) -> None:
    monitor = drift.DriftMonitor(profile)
    batch = drawn_from(features).drop(columns="size cm")
    monitor.update(batch, pd.DataFrame())
    report = monitor.report()
    (size,) = [column for column in report.features if column.name == "size cm"]
    assert size.batch_missing == 1.0 and size.status == "drift"
    assert report.prediction == [], "other predictions than profiled are skipped"


def test_the_report_is_written_as_json_and_a_plot(
    mixed_model: Model, profile: dict, features: pd.DataFrame, tmp_path: Path
) -> None:
    report = drift_of(mixed_model, profile, drawn_from(features))
    paths = [Path(path) for path in report.write(tmp_path / "scores.parquet")]
    assert [path.name for path in paths] == [
        "scores.drift.json",
        "scores.drift.png",
    ]
    written = json.loads(paths[0].read_text())
    assert written["thresholds"] == {
        "moderate": drift.MODERATE,
        "significant": drift.SIGNIFICANT,
    }
    assert [column["name"] for column in written["features"]] == list(features)
    assert paths[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_logged_model_carries_its_profile(
    mixed_logged_uri: str, mixed_frame: pd.DataFrame
) -> None:
    loaded = mlflow.pyfunc.load_model(mixed_logged_uri)
    stored = json.loads(loaded.metadata.metadata[drift.PROFILE_KEY])
    assert {name: summary["kind"] for name, summary in stored["features"].items()} == {
        "size cm": "number",
        "colour name": "string",
        "item count": "number",
        "is member": "boolean",
        "signup date": "date",
    }
    features = mixed_frame.drop(columns="target")
    report = drift.check(mixed_logged_uri, [drawn_from(features)])
    # Training rows may shift the predictions (the model is surer of them).
    assert [name for name in report.drifted if name in stored["features"]] == []


# --- The score CLI's --drift ---------------------------------------------------------


@pytest.fixture
def training_like(splits: tuple, tmp_path: Path) -> Path:
    """3,000 rows drawn from the training split of the bundled data."""
    source = tmp_path / "training like.parquet"
    drawn_from(splits[0]).to_parquet(source, index=False)
    return source


def test_score_drift_writes_a_report_beside_the_output_and_logs_a_run(
    cli_model_uri: str,
    training_like: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "scored.parquet"
    arguments = ["--input", str(training_like), "--output", str(output)]
    score.main(["--model-uri", cli_model_uri, *arguments, "--drift"])
    captured = capsys.readouterr()
    assert captured.err.splitlines()[0].startswith("column ")
    report = json.loads((tmp_path / "scored.drift.json").read_text())
    assert report["rows"] == 3000
    # Predictions are compared with held-out ones, which training rows need
    # not match (a model is surer of the rows it was trained on).
    features = [column["name"] for column in report["features"]]
    assert [name for name in report["drifted"] if name in features] == []
    assert (tmp_path / "scored.drift.png").is_file()
    assert captured.out.splitlines()[-1] == str(tmp_path / "scored.drift.png")
    (run,) = mlflow.search_runs(
        experiment_names=[score.DRIFT_EXPERIMENT],
        filter_string=f"params.input = '{training_like}'",
        output_format="list",
    )
    assert run.data.metrics["drifted_columns"] == len(report["drifted"])
    first = report["features"][0]["name"]
    assert run.data.metrics[f"psi.{first}"] == report["features"][0]["psi"]
    logged = mlflow.artifacts.list_artifacts(
        run_id=run.info.run_id, artifact_path="drift"
    )
    assert sorted(Path(item.path).name for item in logged) == [
        "scored.drift.json",
        "scored.drift.png",
    ]


def test_fail_on_drift_exits_3_after_writing_everything(
    cli_model_uri: str,
    splits: tuple,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    batch = drawn_from(splits[0])
    shifted = batch.columns[0]
    batch[shifted] = batch[shifted] + 3 * batch[shifted].std()
    source = tmp_path / "input.csv"
    batch.to_csv(source, index=False)
    output = tmp_path / "scored.csv"
    arguments = ["--input", str(source), "--output", str(output), "--fail-on-drift"]
    with pytest.raises(SystemExit) as exit_:
        score.main(["--model-uri", cli_model_uri, *arguments])
    assert exit_.value.code == score.DRIFT_EXIT_STATUS
    assert len(pd.read_csv(output)) == len(batch)
    report = json.loads((tmp_path / "scored.drift.json").read_text())
    assert shifted in report["drifted"]
    assert capsys.readouterr().err.splitlines()[-1].startswith(f"drift: {shifted}")


def test_drift_needs_a_profile(
    mixed_model: Model,
    mixed_frame: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "input.parquet"
    features = mixed_frame.drop(columns="target")
    features.to_parquet(source, index=False)
    arguments = ["--input", str(source), "--output", str(tmp_path / "o.parquet")]
    with mlflow.start_run():
        info = log_model(
            mixed_model,
            signature=model_signature(mixed_model, features.head(10)),
            input_example=features.head(3),
            registered_model_name=None,
        )
    with pytest.raises(SystemExit) as exit_:
        score.main(["--model-uri", info.model_uri, *arguments, "--drift"])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("error: the model has no drift profile")
    # What the Spark engine reads instead of loading the model twice.
    with pytest.raises(drift.DriftError, match="no drift profile"):
        drift.DriftMonitor.for_model_uri(info.model_uri)
    with pytest.raises(ScoringError, match="cannot load model models:/m-1"):
        drift.DriftMonitor.for_model_uri("models:/m-1")


def test_the_report_goes_beside_a_file_uri(
    mixed_model: Model, profile: dict, features: pd.DataFrame, tmp_path: Path
) -> None:
    report = drift_of(mixed_model, profile, drawn_from(features))
    written = report.write(f"file://{tmp_path}/my%20scores.parquet")
    assert written == [
        str(tmp_path / "my scores.drift.json"),
        str(tmp_path / "my scores.drift.png"),
    ]
    assert json.loads(Path(written[0]).read_text())["rows"] == report.rows


@pytest.mark.parametrize(
    "output", ["dbfs:/mnt/scores.parquet", "hdfs://no-such-host/data/scores.parquet"]
)
def test_a_report_that_cannot_go_beside_its_uri_goes_to_the_working_directory(
    mixed_model: Model,
    profile: dict,
    features: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    output: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    report = drift_of(mixed_model, profile, drawn_from(features))
    written = report.write(output)
    assert written == [
        str(tmp_path / "scores.drift.json"),
        str(tmp_path / "scores.drift.png"),
    ]
    assert "cannot write the drift report beside" in caplog.text


def test_a_class_the_held_out_rows_never_got_is_not_drift_by_itself() -> None:
    held_out = pd.Series(["a"] * 30 + ["b"] * 30)
    summary = drift.output_summary(held_out, ["a", "b", "c"])
    assert drift.bucket_labels(summary)[:3] == ["'a'", "'b'", "'c'"]
    batch = pd.Series(["a"] * 48 + ["b"] * 48 + ["c"] * 4)
    monitor = drift.DriftMonitor(
        {"features": {}, "prediction": {"label": summary}, "rows": 60}
    )
    monitor.update(pd.DataFrame(index=batch.index), batch.to_frame("label"))
    (label,) = monitor.report().prediction
    assert label.status != "drift", label
    assert label.bucket == "'c'"
    # A batch of nothing but that class still is.
    monitor.update(
        pd.DataFrame(index=range(400)), pd.Series(["c"] * 400).to_frame("label")
    )
    assert monitor.report().prediction[0].status == "drift"


def a_year_later(features: pd.DataFrame) -> pd.DataFrame:
    """Rows drawn from `features` with their signup dates 52 weeks later: the
    same months and days of the week."""
    batch = drawn_from(features)
    later = pd.to_datetime(batch["signup date"]) + pd.Timedelta(weeks=52)
    batch["signup date"] = later.dt.strftime("%Y-%m-%d").astype(object)
    return batch


def test_dates_a_year_later_do_not_drift_and_show_their_range_as_dates(
    mixed_model: Model, profile: dict, features: pd.DataFrame
) -> None:
    summary = profile["features"]["signup date"]
    assert summary["parts"] == ["month", "weekday"]
    assert len(summary["shares"]) == 12 + 7 + 1
    dates = pd.to_datetime(features["signup date"])
    first, last = (day.date().isoformat() for day in (dates.min(), dates.max()))
    assert (summary["first"], summary["last"]) == (first, last)
    batch = a_year_later(features)
    report = drift_of(mixed_model, profile, batch)
    (signup,) = [column for column in report.features if column.name == "signup date"]
    assert signup.status == "stable", signup
    assert signup.training_dates == [first, last]
    later = pd.to_datetime(batch["signup date"])
    assert signup.batch_dates == [
        later.min().date().isoformat(),
        later.max().date().isoformat(),
    ]
    assert f"{first}..{last} -> {signup.batch_dates[0]}.." in report.table()


@pytest.mark.parametrize(
    ("change", "bucket"),
    [
        ("all on Saturdays", "weekday Sat"),
        ("all in March", "month Mar"),
        ("half missing", "missing"),
    ],
)
def test_a_date_drifts_by_its_days_of_the_week_months_or_gaps(
    mixed_model: Model,
    profile: dict,
    features: pd.DataFrame,
    change: str,
    bucket: str,
) -> None:
    batch = drawn_from(features)
    dates = pd.to_datetime(batch["signup date"])
    if change == "all on Saturdays":
        dates = dates + pd.to_timedelta((5 - dates.dt.day_of_week) % 7, unit="D")
    elif change == "all in March":
        dates = dates.map(lambda date: date.replace(month=3), na_action="ignore")
    else:
        dates[dates.index % 2 == 0] = pd.NaT
    batch["signup date"] = dates.dt.strftime("%Y-%m-%d").astype(object)
    report = drift_of(mixed_model, profile, batch)
    (signup,) = [column for column in report.features if column.name == "signup date"]
    assert (signup.status, signup.bucket) == ("drift", bucket)


def test_a_model_logged_with_day_count_date_bins_scores_with_drift(
    mixed_model: Model,
    profile: dict,
    features: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The profile the previous release logged: dates in quantile bins of
    # their day counts, no "other" flag on string columns.
    old = copy.deepcopy(profile)
    days = to_numbers("signup date", features["signup date"], "date")
    old["features"]["signup date"] = {**drift.number_summary(days), "kind": "date"}
    del old["features"]["colour name"]["other"]
    with mlflow.start_run():
        info = log_model(
            mixed_model,
            signature=model_signature(mixed_model, features.head(10)),
            input_example=features.head(3),
            registered_model_name=None,
            metadata=drift.as_metadata(old),
        )
    source = tmp_path / "a year later.csv"
    a_year_later(features).to_csv(source, index=False)
    output = tmp_path / "scored.parquet"
    arguments = ["--input", str(source), "--output", str(output), "--drift"]
    score.main(["--model-uri", info.model_uri, *arguments])
    report = json.loads((tmp_path / "scored.drift.json").read_text())
    signup = {column["name"]: column for column in report["features"]}["signup date"]
    assert signup["status"] == "stable", signup
    assert signup["bucket"] in ("any date", "missing")
    assert signup["training_dates"] is None
    assert signup["batch_dates"][0].startswith("2024-12")
    assert [name for name in report["drifted"] if name in features] == []
    assert " -> 2024-12" in capsys.readouterr().err


def test_rare_training_categories_count_as_other_not_unseen(splits: tuple) -> None:
    # A string column of many categories from the bundled data: its first
    # feature's values, to three significant digits.
    train_features, _, train_target, _ = splits
    first = train_features.columns[0]
    features = train_features.assign(
        code=train_features[first].map(lambda value: f"{value:.3g}")
    )
    model = fit_model(features, train_target, max_categories=10)
    assert model.preprocessor.other == ["code"]
    kept = model.preprocessor.categories["code"]
    summary = drift.profile(model, features, train_target, features)["features"]["code"]
    shares = dict(zip(drift.bucket_labels(summary), summary["shares"], strict=True))
    assert shares["unseen"] == 0.0
    rare = (~features["code"].isin(kept)).mean()
    assert shares["other"] == pytest.approx(rare, abs=1e-6) and rare > 0.2
    monitor = drift.DriftMonitor({"features": {"code": summary}, "prediction": {}})
    # A value never seen scores as "other", so it counts there too.
    monitor.update(
        pd.DataFrame({"code": [kept[0], "never seen", None]}), pd.DataFrame()
    )
    assert monitor.feature_counts["code"][-3:].tolist() == [1, 0, 1]
