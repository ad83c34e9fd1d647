"""Every kind of column: booleans, dates, many-valued strings, and the column
report `train` prints before it fits."""

import datetime
import json
from dataclasses import asdict
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from wine_grade.making import columns
from wine_grade.model import Model
from wine_grade.model.kinds import kinds_of
from wine_grade.model.preprocessing import Preprocessor
from wine_grade.train import fit_model, fit_preprocessor
from wine_grade.train import main as train_main

ROWS = 60
#: 2025-06-01 (a Sunday) at midnight UTC, in every form a client sends it.
SUNDAY = {
    "ISO date": "2025-06-01",
    "ISO timestamp, UTC": "2025-06-01T00:00:00Z",
    "ISO timestamp, offset": "2025-06-01T02:00:00+02:00",
    "datetime": pd.Timestamp("2025-06-01"),
    "time-zone aware": pd.Timestamp("2025-06-01 02:00", tz="Europe/Paris"),
    "date": datetime.date(2025, 6, 1),
}


def target(rows: int = ROWS) -> pd.Series:
    """A target of `rows` values of the project's task."""
    return pd.Series(np.resize(["low", "mid", "high"], rows))


def fitted(frame: pd.DataFrame, **kwargs: object) -> Preprocessor:
    """The preprocessing `train` fits on `frame`."""
    return fit_preprocessor(frame, target(len(frame)), **kwargs)


@pytest.mark.parametrize("gaps", [False, True], ids=["bool dtype", "with gaps"])
def test_booleans_take_every_form_alike_with_or_without_gaps_in_training(
    gaps: bool,
) -> None:
    flags = pd.Series(np.tile([True, False], ROWS // 2))
    if gaps:  # pandas reads True/False with blanks as objects
        flags = flags.astype(object)
        flags[::7] = None
    preprocessor = fitted(pd.DataFrame({"flag": flags, "x": np.arange(ROWS)}))
    assert preprocessor.input_types()["flag"] == "boolean"
    sent = [True, False, 1, 0, 1.0, 0.0, "true", "FALSE", " True ", None, np.nan, ""]
    matrix = preprocessor.transform(
        pd.DataFrame({"flag": pd.Series(sent, dtype=object), "x": 1.0})
    )
    np.testing.assert_array_equal(
        matrix[:, 0], [1, 0, 1, 0, 1, 0, 1, 0, 1, np.nan, np.nan, np.nan]
    )


@pytest.mark.parametrize("value", ["yes", 2, -1.0, "t"])
def test_a_value_that_is_not_a_boolean_is_refused_naming_the_column(
    value: object,
) -> None:
    preprocessor = fitted(pd.DataFrame({"flag": np.tile([True, False], ROWS // 2)}))
    with pytest.raises(MlflowException) as refusal:
        preprocessor.transform(pd.DataFrame({"flag": [True, value]}))
    assert "'flag' must hold booleans" in refusal.value.message
    assert "\n" not in refusal.value.message


@pytest.mark.parametrize(
    "trained_on", ["ISO text", "datetime", "time-zone aware", "date objects"]
)
def test_dates_read_alike_in_every_form(trained_on: str) -> None:
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(ROWS), unit="D")
    training = {
        "ISO text": pd.Series(days.strftime("%Y-%m-%d"), dtype=object),
        "datetime": pd.Series(days),
        "time-zone aware": pd.Series(days.tz_localize("UTC")),
        "date objects": pd.Series(days.date, dtype=object),
    }[trained_on]
    preprocessor = fitted(pd.DataFrame({"signup": training}))
    assert preprocessor.input_types() == {"signup": "date"}
    assert preprocessor.columns == ["signup", "signup month", "signup weekday"]
    # A date after training is a date, not an unseen category.
    expected = [(pd.Timestamp("2025-06-01") - pd.Timestamp("1970-01-01")).days, 6, 6]
    for form, value in SUNDAY.items():
        matrix = preprocessor.transform(
            pd.DataFrame({"signup": pd.Series([value, None], dtype=object)})
        )
        np.testing.assert_array_equal(matrix[0], expected, err_msg=form)
        assert np.isnan(matrix[1]).all(), form


def test_naive_dates_beside_dates_with_offsets_are_read_as_utc() -> None:
    # pandas 2.2 alone read the naive value in the offset of the one before it.
    dates = pd.Series(pd.date_range("2024-01-01", periods=ROWS).strftime("%Y-%m-%d"))
    preprocessor = fitted(pd.DataFrame({"signup": dates.astype(object)}))
    sent = ["2000-01-01T00:00:00+00:00", "1999-12-31T19:00:00-05:00"]
    sent += ["2000-01-02T19:00:00", "2000-01-02 19:00:00Z", "2000-01-03"]
    matrix = preprocessor.transform(pd.DataFrame({"signup": pd.Series(sent)}))
    day = (pd.Timestamp("2000-01-01") - pd.Timestamp("1970-01-01")).days
    np.testing.assert_allclose(
        matrix[:, 0], [day, day, day + 1 + 19 / 24, day + 1 + 19 / 24, day + 2]
    )


@pytest.mark.parametrize("value", ["31/01/2024", "soon", 20240131, 3.5])
def test_a_value_that_is_not_a_date_is_refused_naming_the_column(
    value: object,
) -> None:
    dates = pd.Series(pd.date_range("2024-01-01", periods=ROWS).strftime("%Y-%m-%d"))
    preprocessor = fitted(pd.DataFrame({"signup": dates.astype(object)}))
    with pytest.raises(MlflowException) as refusal:
        preprocessor.transform(
            pd.DataFrame({"signup": pd.Series(["2024-02-01", value], dtype=object)})
        )
    assert "'signup' must hold dates" in refusal.value.message
    assert str(value) in refusal.value.message


def test_rare_categories_score_as_other_and_unseen_ones_too() -> None:
    # Ten categories, the first most common; a column of three stays whole.
    many = pd.Series([f"c{n % 10}" if n % 3 else "c0" for n in range(ROWS)])
    few = pd.Series(np.resize(["a", "b", "c"], ROWS))
    preprocessor = fitted(pd.DataFrame({"many": many, "few": few}), max_categories=4)
    assert preprocessor.other == ["many"]
    kept = preprocessor.categories["many"]
    assert len(kept) == 3 and kept[0] == "c0"
    rare = next(name for name in many.unique() if name not in kept)
    sent = pd.DataFrame(
        {"many": [kept[0], rare, "never seen", None], "few": ["a", "b", "zzz", None]}
    )
    matrix = preprocessor.transform(sent)
    np.testing.assert_array_equal(matrix[:, 0], [0, 3, 3, np.nan])
    # Without "other", an unseen category is missing.
    assert np.isnan(matrix[2, 1]) and np.isnan(matrix[3, 1])


@pytest.mark.parametrize("order", ["as drawn", "reversed", "sorted"])
def test_the_categories_kept_do_not_depend_on_row_order(order: str) -> None:
    # Five categories: "a" the most common, then "b" and "c" tied, "d" and
    # "e" tied.
    values = pd.Series(np.resize(["c", "a", "b", "a", "b", "c", "e", "d"], ROWS))
    values = {
        "as drawn": values,
        "reversed": values[::-1],
        "sorted": values.sort_values(),
    }[order].reset_index(drop=True)
    preprocessor = fitted(pd.DataFrame({"many": values}), max_categories=3)
    # Most common first, ties by their text.
    assert preprocessor.categories["many"] == ["a", "b"]
    whole = fitted(pd.DataFrame({"many": values}))
    assert whole.categories["many"] == ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["2024-01-31", "2024-02-29T10:30:00+01:00", None], "date"),
        (["1677-09-22", "2262-04-10"], "date"),
        (["2024-01-31", "9999-12-31", None], "string"),
        (["1066-10-14", "2024-01-31"], "string"),
    ],
)
def test_date_text_is_a_date_within_what_every_pandas_holds(
    values: list, kind: str
) -> None:
    # pandas 2 holds 1677-09-21 to 2262-04-11, pandas 3 more: a sentinel such
    # as 9999-12-31 keeps the column text under both.
    frame = pd.DataFrame({"ends": pd.Series(values, dtype=object)})
    assert kinds_of(frame) == {"ends": kind}


def test_max_categories_out_of_range_is_refused_naming_the_range() -> None:
    with pytest.raises(ValueError, match="--max-categories 1 is out of range: 2 to"):
        fitted(pd.DataFrame({"x": np.arange(ROWS)}), max_categories=1)


def test_a_model_logged_before_column_kinds_loads_and_predicts_as_before(
    mixed_frame: pd.DataFrame, tmp_path: Path
) -> None:
    features = mixed_frame[["size cm", "colour name", "item count"]]
    model = fit_model(features, mixed_frame["target"])
    state = asdict(model.preprocessor)
    del state["kinds"], state["other"]  # what an older version wrote
    path = tmp_path / "preprocessing.json"
    path.write_text(json.dumps(state))
    older = Model(Preprocessor.load(path), model.native)
    pd.testing.assert_frame_equal(older.predict(features), model.predict(features))


@pytest.fixture
def churn_csv(tmp_path: Path) -> Path:
    """A churn-like table as teams have it: an id, a date, a boolean with
    gaps, free text, a constant and a many-valued column."""
    rng = np.random.default_rng(3)
    rows = 300
    signup = pd.Timestamp("2023-01-01") + pd.to_timedelta(
        rng.integers(0, 500, rows), unit="D"
    )
    frame = pd.DataFrame(
        {
            "customer id": [f"C{100000 + n}" for n in range(rows)],
            "signup date": signup.strftime("%Y-%m-%d"),
            "has promo": rng.choice([True, False], rows).astype(object),
            "comment": [
                f"customer wrote about order {n} and delivery {n * 7} at length"
                for n in range(rows)
            ],
            "region": "north",
            "city": [f"city {n}" for n in rng.integers(0, 60, rows)],
            "spend": rng.normal(50.0, 10.0, rows),
            "row number": np.arange(rows),
            "visits": rng.permutation(rows) * 1_000,  # distinct, not an id
        }
    )
    frame.loc[::6, "has promo"] = None
    signal = frame["spend"] + 20.0 * (frame["has promo"] == True)  # noqa: E712
    frame["target"] = pd.qcut(signal, 3, labels=["low", "mid", "high"]).astype(str)
    path = tmp_path / "churn.csv"
    frame.to_csv(path, index=False)
    return path


def test_train_prints_the_column_report_before_it_fits_and_logs_it(
    churn_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train_main(
        ["--data", str(churn_csv), "--max-categories", "20"]
        + ["--registered-model-name", ""]
    )
    out = capsys.readouterr().out
    lines = {line.split("  ")[0]: line for line in out.splitlines()}
    assert lines["signup date"].split()[2] == "date"
    assert lines["has promo"].split()[2] == "boolean"
    # A sixth of the rows are missing (of the training split the report reads).
    assert 10 <= int(lines["has promo"].split()[3].rstrip("%")) <= 25
    assert "like an id: --exclude it" in lines["customer id"]
    assert "like an id" in lines["row number"] and "id" not in lines["visits"]
    assert "free text" in lines["comment"]
    assert "constant" in lines["region"]
    assert " 19/" in lines["city"] and '"other"' in lines["city"]
    assert out.index("signup date") < out.index("test_")  # before the metrics
    info = mlflow.models.get_model_info(out.strip().splitlines()[-1])
    report = info.metadata[columns.REPORT_KEY]
    assert {row["column"]: row["kind"] for row in report}["signup date"] == "date"
    run = mlflow.get_run(info.run_id)
    text = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/column_report.txt")
    assert text == columns.table(report)


def test_a_data_error_found_before_training_leaves_no_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "durations.parquet"
    pd.DataFrame(
        {
            "wait": pd.to_timedelta(np.arange(ROWS), unit="h"),
            "target": target(),
        }
    ).to_parquet(data)
    experiment = f"no-run-{tmp_path.name}"
    with pytest.raises(SystemExit) as exit_info:
        train_main(
            ["--data", str(data), "--experiment", experiment]
            + ["--registered-model-name", ""]
        )
    assert exit_info.value.code == 2
    assert "'wait' has type timedelta64" in capsys.readouterr().err
    found = mlflow.get_experiment_by_name(experiment)
    assert found is None or not mlflow.search_runs([found.experiment_id]).shape[0]
