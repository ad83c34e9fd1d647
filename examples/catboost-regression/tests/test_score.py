"""The batch scoring CLI with the local engine: streaming, kept columns and
their types, atomic output, file URIs, progress and errors that name the
failing rows; where the Spark engine writes, and the kept columns' types it
gives."""

import io
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from claim_cost.making.logged_model import unwrap
from claim_cost.model import METHODS, Model
from claim_cost.score import main
from claim_cost.scoring.drift import DriftMonitor
from claim_cost.scoring.files import (
    ScoringError,
    local_path,
    replace,
)
from claim_cost.scoring.local_scoring import (
    AtomicWriter,
    progress_bar,
    score_batches,
    score_local,
)


@pytest.fixture
def scoring_input(test_features: pd.DataFrame) -> pd.DataFrame:
    """Held-out features with an id column the model does not use."""
    frame = test_features.reset_index(drop=True)
    return frame.assign(row_id=range(len(frame)))


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_score_local_matches_predict_and_keeps_ids(
    cli_model_uri: str,
    model: Model,
    scoring_input: pd.DataFrame,
    tmp_path: Path,
    suffix: str,
) -> None:
    source = tmp_path / f"input{suffix}"
    if suffix == ".csv":
        scoring_input.to_csv(source, index=False)
    else:
        scoring_input.to_parquet(source, index=False)
    output = tmp_path / f"scored{suffix}"
    rows = score_local(cli_model_uri, source, output, batch_size=17, keep=["row_id"])
    assert rows == len(scoring_input)
    result = pd.read_csv(output) if suffix == ".csv" else pd.read_parquet(output)
    features = scoring_input.drop(columns="row_id")
    expected = model.predict(features).reset_index(drop=True)
    assert list(result.columns) == ["row_id", *map(str, expected.columns)]
    assert result["row_id"].tolist() == list(range(len(scoring_input)))
    pd.testing.assert_frame_equal(
        result.drop(columns="row_id"),
        expected.set_axis(list(map(str, expected.columns)), axis=1),
        check_dtype=False,
    )
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []


def test_score_local_scores_integers_for_a_typed_signature(
    typed_logged_uri: str,
    typed_logged_model: mlflow.pyfunc.PyFuncModel,
    mixed_frame: pd.DataFrame,
    tmp_path: Path,
) -> None:
    features = mixed_frame.drop(columns="target").head(40)
    assert features["item count"].dtype == "int64"
    source = tmp_path / "input.parquet"
    features.to_parquet(source, index=False)
    output = tmp_path / "scored.parquet"
    assert score_local(typed_logged_uri, source, output) == len(features)
    expected = unwrap(typed_logged_model).predict(features)
    pd.testing.assert_frame_equal(
        pd.read_parquet(output),
        expected.set_axis(list(map(str, expected.columns)), axis=1),
        check_dtype=False,
    )


@pytest.mark.parametrize("method", METHODS)
def test_score_runs_every_method(
    cli_model_uri: str,
    model: Model,
    scoring_input: pd.DataFrame,
    tmp_path: Path,
    method: str,
) -> None:
    source = tmp_path / "input.parquet"
    scoring_input.to_parquet(source, index=False)
    output = tmp_path / "scored.parquet"
    score_local(cli_model_uri, source, output, params={"method": method})
    expected = model.predict(scoring_input.drop(columns="row_id"), {"method": method})
    assert list(pd.read_parquet(output).columns) == list(map(str, expected.columns))


def test_a_bad_batch_stops_with_its_row_range_and_column(
    cli_model_uri: str, scoring_input: pd.DataFrame, tmp_path: Path
) -> None:
    column = scoring_input.columns[2]
    broken = scoring_input.astype({column: object})
    broken.loc[15, column] = "not a number"
    source = tmp_path / "input.csv"
    broken.to_csv(source, index=False)
    output = tmp_path / "scored.csv"
    with pytest.raises(ScoringError) as error:
        score_local(cli_model_uri, source, output, batch_size=10)
    assert str(error.value).startswith("rows 10-19: ")
    assert column in str(error.value)
    assert not output.exists()
    assert [path.name for path in tmp_path.iterdir()] == ["input.csv"]


def test_cli_is_quiet_without_a_terminal(
    cli_model_uri: str,
    scoring_input: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "input.parquet"
    scoring_input.to_parquet(source, index=False)
    output = tmp_path / "scored.parquet"
    main(
        ["--model-uri", cli_model_uri, "--input", str(source), "--output", str(output)]
    )
    captured = capsys.readouterr()
    assert "rows/s" not in captured.err
    assert captured.out.strip().splitlines()[-1] == str(output)


def test_chunks_with_different_dtypes_score_like_floats(
    cli_model_uri: str, model: Model, scoring_input: pd.DataFrame, tmp_path: Path
) -> None:
    column = scoring_input.columns[0]
    frame = scoring_input.head(40).copy()
    # Whole numbers (read back as int64) in the first chunk, a fraction and a
    # gap (float64) in the second.
    frame[column] = frame[column].round().astype("Int64").astype(object)
    frame.loc[25, column] = 3.5
    frame.loc[35, column] = None
    source = tmp_path / "input.csv"
    frame.to_csv(source, index=False)
    output = tmp_path / "scored.csv"
    score_local(cli_model_uri, source, output, batch_size=20, keep=["row_id"])
    features = frame.drop(columns="row_id").astype({column: "float64"})
    expected = model.predict(features).reset_index(drop=True)
    result = pd.read_csv(output).drop(columns="row_id")
    pd.testing.assert_frame_equal(
        result,
        expected.set_axis(list(map(str, expected.columns)), axis=1),
        check_dtype=False,
    )


def run_cli(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the score CLI expecting a one-line error with status 2; return it."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    assert error.startswith("error: ")
    return error


def test_an_unknown_model_is_a_one_line_error(
    scoring_input: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "input.parquet"
    scoring_input.to_parquet(source, index=False)
    uri = "models:/no_such_model@champion"
    arguments = ["--model-uri", uri, "--input", str(source), "--output", "o.csv"]
    assert uri in run_cli(arguments, capsys)


def test_an_unreadable_input_is_a_one_line_error(
    cli_model_uri: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "input.parquet"
    source.write_bytes(b"this is not parquet")
    output = tmp_path / "scored.parquet"
    arguments = ["--model-uri", cli_model_uri, "--input", str(source)]
    error = run_cli([*arguments, "--output", str(output)], capsys)
    assert f"cannot read {source}" in error
    assert not output.exists()


def test_a_missing_column_stops_scoring_with_a_one_line_error(
    cli_model_uri: str,
    scoring_input: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    column = scoring_input.columns[0]
    source = tmp_path / "input.parquet"
    scoring_input.drop(columns=column).to_parquet(source, index=False)
    arguments = ["--model-uri", cli_model_uri, "--input", str(source)]
    error = run_cli([*arguments, "--output", str(tmp_path / "o.csv")], capsys)
    assert error.startswith("error: rows 0-")
    assert column in error


def test_params_are_typed_by_the_signature(
    cli_model_uri: str,
    scoring_input: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "input.parquet"
    scoring_input.to_parquet(source, index=False)
    common = ["--model-uri", cli_model_uri, "--input", str(source)]
    output = tmp_path / "scored.parquet"
    main([*common, "--output", str(output), "--param", "method=predict"])
    assert len(pd.read_parquet(output)) == len(scoring_input)
    error = run_cli([*common, "--output", "o.csv", "--param", "colour=red"], capsys)
    assert "unknown param 'colour'" in error


def test_cli_refuses_an_unknown_format(tmp_path: Path) -> None:
    source = tmp_path / "input.json"
    source.write_text("{}")
    with pytest.raises(SystemExit):
        main(["--model-uri", "models:/x", "--input", str(source), "--output", "o.csv"])


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_shows_rows_rate_and_time_left_on_a_terminal(
    scoring_input: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "input.parquet"
    scoring_input.to_parquet(source)
    stream = Terminal()
    with progress_bar(source, stream=stream) as progress:
        progress.update(25)
    line = stream.getvalue()
    assert f"25/{len(scoring_input)}" in line
    assert "rows/s" in line
    assert "<" in line  # elapsed<remaining


def test_progress_of_a_csv_counts_rows_without_reading_it_twice(
    scoring_input: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "input.csv"
    scoring_input.to_csv(source, index=False)
    stream = Terminal()
    with progress_bar(source, stream=stream) as progress:
        progress.update(25)
    assert "25 rows" in stream.getvalue()
    with progress_bar(source, stream=io.StringIO()) as progress:
        assert progress.disable, "no bar, and no counting, off a terminal"


@pytest.mark.parametrize("batch_size", [1, 2, 3, 1_000])
def test_a_row_scores_the_same_in_any_batch(
    store_logged_uri: str, store_data: Path, tmp_path: Path, batch_size: int
) -> None:
    # Rows whose store is digits sit in batches with and without gaps.
    rows = pd.read_csv(store_data, dtype={"store": str}).head(40)
    source = tmp_path / "stores.csv"
    rows.to_csv(source, index=False)
    model = mlflow.pyfunc.load_model(store_logged_uri)
    output = tmp_path / f"scored-{batch_size}.parquet"
    monitor = DriftMonitor.for_model(model)
    score_batches(model, source, output, batch_size, drift=monitor)
    expected = unwrap(model).predict(rows.drop(columns="target"))
    pd.testing.assert_frame_equal(
        pd.read_parquet(output),
        expected.set_axis(list(map(str, expected.columns)), axis=1),
        check_dtype=False,
    )
    whole = DriftMonitor.for_model(model)
    whole.update(rows.drop(columns="target"), expected)
    assert monitor.report() == whole.report()
    assert monitor.feature_counts["store"][-2] == 0, "no store read as unseen"


def test_keep_is_repeatable(
    scoring_input: pd.DataFrame, tmp_path: Path, cli_model_uri: str
) -> None:
    source = tmp_path / "input.csv"
    scoring_input.assign(batch="b1").to_csv(source, index=False)
    output = tmp_path / "scored.csv"
    main(
        ["--model-uri", cli_model_uri, "--input", str(source), "--output", str(output)]
        + ["--keep", "row_id", "--keep", "batch"]
    )
    assert list(pd.read_csv(output).columns[:2]) == ["row_id", "batch"]


def test_kept_ids_numbers_then_text_write_one_parquet_file(
    cli_model_uri: str, scoring_input: pd.DataFrame, tmp_path: Path
) -> None:
    frame = scoring_input.head(6).astype({"row_id": object})
    frame.loc[4:, "row_id"] = ["id-4", "id-5"]
    source = tmp_path / "input.csv"
    frame.to_csv(source, index=False)
    output = tmp_path / "scored.parquet"
    score_local(cli_model_uri, source, output, batch_size=2, keep=["row_id"])
    assert pd.read_parquet(output)["row_id"].tolist() == [
        "0",
        "1",
        "2",
        "3",
        "id-4",
        "id-5",
    ]


def test_an_output_type_change_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ScoringError, match="type differs from the first batch"):
        with AtomicWriter(tmp_path / "out.parquet") as writer:
            writer.write(pd.DataFrame({"id": [1, 2]}))
            writer.write(pd.DataFrame({"id": ["a", "b"]}))
    assert list(tmp_path.iterdir()) == []


def test_a_spark_output_replaces_an_old_single_file(tmp_path: Path) -> None:
    output = tmp_path / "scored.parquet"
    output.write_text("an old local run's file")
    new = tmp_path / "new"
    new.mkdir()
    (new / "part-0.parquet").write_text("new results")
    replace(new, output)
    assert (output / "part-0.parquet").read_text() == "new results"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["scored.parquet"]


def test_a_failed_spark_replace_keeps_the_old_output(tmp_path: Path) -> None:
    output = tmp_path / "scored.parquet"
    output.write_text("old results")
    with pytest.raises(OSError):
        replace(tmp_path / "never written", output)
    assert output.read_text() == "old results"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["scored.parquet"]


@pytest.mark.parametrize(
    ("output", "local"),
    [
        ("scored.parquet", Path("scored.parquet")),
        ("/data/scored.parquet", Path("/data/scored.parquet")),
        ("C:\\data\\scored.parquet", Path("C:\\data\\scored.parquet")),
        ("file:/data/scored.parquet", Path("/data/scored.parquet")),
        ("file:///data/my%20scores.parquet", Path("/data/my scores.parquet")),
        ("dbfs:/mnt/scored.parquet", None),
        ("s3://bucket/scored.parquet", None),
        ("hdfs:///data/scored.parquet", None),
    ],
)
def test_the_spark_engine_writes_paths_locally_and_uris_in_place(
    output: str, local: Path | None
) -> None:
    assert local_path(output) == local


def test_file_uris_name_local_files_for_input_and_output(
    cli_model_uri: str, scoring_input: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "my rows.csv"
    scoring_input.to_csv(source, index=False)
    output = tmp_path / "my scores.parquet"
    main(
        ["--model-uri", cli_model_uri, "--input", source.as_uri()]
        + ["--output", output.as_uri(), "--keep", "row_id", "--drift"]
    )
    assert pd.read_parquet(output)["row_id"].tolist() == list(range(len(scoring_input)))
    assert (tmp_path / "my scores.drift.json").is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "my rows.csv",
        "my scores.drift.json",
        "my scores.drift.png",
        "my scores.parquet",
    ]


@pytest.mark.parametrize("spelling", ["as given", "relative", "file URI", "spark"])
def test_the_output_may_not_be_the_input(
    cli_model_uri: str,
    scoring_input: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    spelling: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "rows.csv"
    scoring_input.to_csv(source, index=False)
    before = source.read_bytes()
    output = {"relative": "./rows.csv", "file URI": source.as_uri()}.get(
        spelling, str(source)
    )
    engine = ["--engine", "spark"] if spelling == "spark" else []
    arguments = ["--model-uri", cli_model_uri, "--input", str(source)]
    error = run_cli([*arguments, "--output", output, *engine], capsys)
    assert error == f"error: --output {output} is the input: write the scores elsewhere"
    assert source.read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == ["rows.csv"]


def test_an_output_in_a_folder_that_does_not_exist_is_one_line(
    cli_model_uri: str,
    scoring_input: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "rows.csv"
    scoring_input.to_csv(source, index=False)
    output = tmp_path / "no such folder" / "scored.parquet"
    arguments = ["--model-uri", cli_model_uri, "--input", str(source)]
    error = run_cli([*arguments, "--output", str(output)], capsys)
    assert error == (
        f"error: --output {output}: its folder {output.parent} does not exist"
    )


def test_an_old_output_folder_is_replaced_leaving_no_temporary_file(
    cli_model_uri: str, scoring_input: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "rows.parquet"
    scoring_input.to_parquet(source, index=False)
    output = tmp_path / "scored.parquet"
    output.mkdir()  # what the Spark engine wrote there before
    (output / "part-00000.parquet").write_text("an old Spark run's part")
    arguments = ["--model-uri", cli_model_uri, "--input", str(source)]
    main([*arguments, "--output", str(output)])
    assert len(pd.read_parquet(output)) == len(scoring_input)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "rows.parquet",
        "scored.parquet",
    ]


@pytest.fixture
def with_ids(scoring_input: pd.DataFrame) -> pd.DataFrame:
    """Held-out rows with the columns a table has besides features: an integer
    id, an account number with gaps, a region and a flag."""
    rows = len(scoring_input)
    return scoring_input.assign(
        id=np.arange(100_000, 100_000 + rows),
        account=pd.array(
            [None if row % 7 == 3 else 5_000 + row for row in range(rows)],
            dtype="Int64",
        ),
        region=np.resize(["north", "south", "east"], rows),
        vip=np.resize([True, False, False], rows),
    )


#: The kept columns of `with_ids`, and their types in a CSV.
KEPT = {
    "id": pa.int64(),
    "account": pa.int64(),
    "region": pa.string(),
    "vip": pa.bool_(),
}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_kept_columns_keep_their_types_so_scores_join_back(
    cli_model_uri: str, with_ids: pd.DataFrame, tmp_path: Path, suffix: str
) -> None:
    source = tmp_path / f"rows{suffix}"
    if suffix == ".csv":
        with_ids.to_csv(source, index=False)
        expected = KEPT
    else:  # as Spark and other tools write Parquet: no pandas metadata
        table = pa.Table.from_pandas(with_ids, preserve_index=False)
        pq.write_table(table.replace_schema_metadata(None), source)
        schema = pq.read_schema(source)
        expected = {name: schema.field(name).type for name in KEPT}
    output = tmp_path / "scored.parquet"
    # Batches of 10: some accounts have gaps, some not.
    score_local(cli_model_uri, source, output, batch_size=10, keep=list(KEPT))
    schema = pq.read_schema(output)
    assert {name: schema.field(name).type for name in KEPT} == expected
    table = pd.read_csv(source) if suffix == ".csv" else pd.read_parquet(source)
    joined = table.merge(pd.read_parquet(output), on="id", validate="one_to_one")
    assert len(joined) == len(with_ids)
    assert (joined["account_x"].isna() == joined["account_y"].isna()).all()
    as_csv = tmp_path / "scored.csv"
    score_local(cli_model_uri, source, as_csv, batch_size=10, keep=list(KEPT))
    lines = as_csv.read_text().splitlines()
    assert lines[1].startswith("100000,5000,north,True,")
    assert lines[4].startswith("100003,,north,True,")


def identifier_rows(with_ids: pd.DataFrame) -> pd.DataFrame:
    """`with_ids` with identifiers a CSV holds as text: zero-padded account
    codes, and numbers beyond int64 (pandas reads them as uint64)."""
    rows = len(with_ids)
    return with_ids.assign(
        code=[f"{row:05d}" for row in range(rows)],
        big=[str(2**64 - 1 - row) for row in range(rows)],
    )


def test_identifiers_in_a_csv_are_kept_as_their_text(
    cli_model_uri: str, with_ids: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "rows.csv"
    identifier_rows(with_ids).to_csv(source, index=False)
    output = tmp_path / "scored.parquet"
    keep = ["id", "code", "big"]
    score_local(cli_model_uri, source, output, batch_size=10, keep=keep)
    scored = pd.read_parquet(output)
    text = pd.read_csv(source, dtype=str)
    assert scored["id"].tolist() == text["id"].astype(int).tolist()
    assert scored["code"].tolist() == text["code"].tolist()
    assert scored["big"].tolist() == text["big"].tolist()
    assert scored["big"].nunique() == len(text)
