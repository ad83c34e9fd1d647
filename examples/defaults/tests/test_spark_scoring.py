"""The Spark engine, where pyspark (the `spark` extra) and Java are installed.

Elsewhere this file is not collected, and pytest's header says so (conftest).
"""

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import test_score

from my_model.scoring.spark_scoring import score_spark

#: test_score's fixtures and kept columns, shared.
scoring_input = test_score.scoring_input
with_ids = test_score.with_ids
KEPT = test_score.KEPT
identifier_rows = test_score.identifier_rows


def test_the_spark_engine_keeps_kept_csv_columns_types(
    cli_model_uri: str, with_ids: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "rows.csv"
    sample = with_ids.head(50)
    sample.to_csv(source, index=False)
    output = tmp_path / "scored.parquet"
    rows = score_spark(
        cli_model_uri, str(source), str(output), keep=list(KEPT), master="local[1]"
    )
    assert rows == len(sample)
    schema = pq.read_table(output).schema
    assert {name: schema.field(name).type for name in KEPT} == KEPT


def test_the_spark_engine_keeps_identifiers_as_their_text(
    cli_model_uri: str, with_ids: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "rows.csv"
    identifier_rows(with_ids.head(20)).to_csv(source, index=False)
    output = tmp_path / "scored.parquet"
    score_spark(
        cli_model_uri,
        str(source),
        str(output),
        keep=["id", "code", "big"],
        master="local[1]",
    )
    scored = pd.read_parquet(output).sort_values("id")
    text = pd.read_csv(source, dtype=str)
    assert scored["id"].tolist() == text["id"].astype(int).tolist()
    assert scored["code"].tolist() == text["code"].tolist()
    assert scored["big"].tolist() == text["big"].tolist()
