"""Promotion: a new version takes @champion only when it is at least as good."""

import logging
import subprocess
import time
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models.model import ModelInfo
from mlflow.protos.databricks_pb2 import TEMPORARILY_UNAVAILABLE

from wine_grade.making.data import DataError, load_data
from wine_grade.making.evaluation import metrics
from wine_grade.model import Model
from wine_grade.registry import gate, promotion
from wine_grade.registry.gate import (
    CHALLENGER_ALIAS,
    CHAMPION_ALIAS,
    FLOOR,
    PROMOTION_METRIC,
    Challenger,
    improvement,
)
from wine_grade.registry.promotion import (
    PromotionError,
    decide,
    promote,
)
from wine_grade.registry.promotion_lock import (
    OWNER_TAG,
    lock_name,
    promotion_lock,
)
from wine_grade.train import split, train

pytestmark = pytest.mark.registry

#: The registered model the tests promote versions of.
CHAMPION_MODEL = "promotion-check"


@pytest.fixture(scope="module")
def data_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The bundled data as CSV: training rows, the same with shuffled labels,
    and evaluation rows."""
    features, target = load_data(None, "target")
    train_features, eval_features, train_target, eval_target = split(features, target)
    shuffled = np.random.default_rng(0).permutation(train_target.to_numpy())
    everything = np.random.default_rng(1).permutation(target.to_numpy())
    frames = {
        "clean": train_features.assign(target=train_target),
        "noisy": train_features.assign(target=shuffled),
        "eval": eval_features.assign(target=eval_target),
        # Every row with shuffled labels: its held-out rows are shuffled too.
        "noisy everywhere": features.assign(target=everything),
        # The labels' meaning changed, in training and evaluation data alike.
        "relabelled": train_features.assign(target=relabelled(train_target)),
        "relabelled eval": eval_features.assign(target=relabelled(eval_target)),
    }
    directory = tmp_path_factory.mktemp("promotion")
    for name, frame in frames.items():
        frame.to_csv(directory / f"{name}.csv", index=False)
    return {name: directory / f"{name}.csv" for name in frames}


def relabelled(target: pd.Series) -> pd.Series:
    """The target with another meaning: classes rotated, or values negated."""
    classes = sorted(target.unique())
    return target.map(dict(zip(classes, classes[1:] + classes[:1], strict=True)))


@pytest.fixture(scope="module")
def champion(data_files: dict[str, Path]) -> ModelInfo:
    """The first version of model `promotion-check`, trained on the clean rows:
    @champion, which the tests' later versions challenge."""
    return train(
        data_files["clean"],
        registered_model_name=CHAMPION_MODEL,
        eval_data=data_files["eval"],
    )


@pytest.fixture(scope="module")
def noisy(champion: ModelInfo, data_files: dict[str, Path]) -> ModelInfo:
    """The second version of `promotion-check`, trained on shuffled labels."""
    return train(
        data_files["noisy"],
        registered_model_name=CHAMPION_MODEL,
        eval_data=data_files["eval"],
    )


@pytest.fixture(autouse=True)
def promotion_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """What the package logs, from INFO up (train's CLI prints it)."""
    caplog.set_level(logging.INFO, logger="wine_grade")
    return caplog


def test_a_worse_version_stays_challenger(
    champion: ModelInfo, noisy: ModelInfo
) -> None:
    second = noisy
    client = MlflowClient()
    current = client.get_model_version_by_alias(CHAMPION_MODEL, CHAMPION_ALIAS)
    challenger = client.get_model_version_by_alias(CHAMPION_MODEL, CHALLENGER_ALIAS)
    assert current.version == champion.registered_model_version
    assert challenger.version == second.registered_model_version
    first_tags = client.get_model_version(CHAMPION_MODEL, current.version).tags
    tags = challenger.tags
    assert first_tags["promotion.decision"] == "promoted"
    assert tags["promotion.decision"] == "not promoted"
    assert tags["promotion.champion_version"] == str(current.version)
    # The champion, scored again by its own code on the same data, says the
    # same as when it was new, and the shuffled labels made a worse model.
    champion_value = float(tags["promotion.champion_value"])
    assert champion_value == pytest.approx(
        float(first_tags["promotion.challenger_value"])
    )
    assert improvement(float(tags["promotion.challenger_value"]), champion_value) < 0


@pytest.mark.parametrize("first", ["own data", "demo data"])
def test_other_input_columns_are_a_change_of_schema_not_a_worse_model(
    data_files: dict[str, Path],
    tmp_path: Path,
    promotion_log: pytest.LogCaptureFixture,
    first: str,
) -> None:
    name = f"promotion-schema-{first.replace(' ', '-')}"
    # The clean rows are the demo's training split: none would be held out.
    evaluation = {"eval_data": data_files["eval"]}
    if first == "demo data":  # the README's first step: train without --data
        train(registered_model_name=name)
    else:
        train(data_files["clean"], registered_model_name=name, **evaluation)
    fewer = tmp_path / "fewer columns.csv"
    frame = pd.read_csv(data_files["clean"])
    frame.drop(columns=frame.columns[:3]).to_csv(fewer, index=False)
    train(fewer, registered_model_name=name, **evaluation)
    client = MlflowClient()
    tags = client.get_model_version(name, "2").tags
    (line,) = [
        record.getMessage()
        for record in promotion_log.records
        if f"{name} version 2" in record.getMessage()
    ]
    if first == "demo data":
        assert tags["promotion.decision"] == "promoted", tags
        assert "the model of the bundled demo data" in tags["promotion.reason"]
        assert "is now @champion" in line
        return
    assert tags["promotion.decision"] == "not promoted", tags
    assert "a change of schema, not a worse model" in line
    assert "--promote always" in line and "gone: [" in line
    train(fewer, registered_model_name=name, promote="always", **evaluation)
    assert str(client.get_model_version_by_alias(name, CHAMPION_ALIAS).version) == "3"


def test_a_champion_too_slow_to_score_keeps_its_alias(
    champion: ModelInfo,
    model: Model,
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
    monkeypatch: pytest.MonkeyPatch,
    promotion_log: pytest.LogCaptureFixture,
) -> None:
    # A second version of the champion's own model challenges it, and the
    # champion cannot be scored in time.
    version = mlflow.register_model(champion.model_uri, CHAMPION_MODEL).version
    monkeypatch.setattr(promotion, "CHAMPION_TIMEOUT_SECONDS", 0.01)
    commands = []
    real_run = subprocess.run

    def run(command: list[str], **options: Any) -> subprocess.CompletedProcess:
        commands.append((command, options["env"]))
        return real_run(command, **options)

    monkeypatch.setattr(promotion.subprocess, "run", run)
    _, eval_features, _, eval_target = splits
    measured = evaluated(model, splits)[2]
    decision = promotion.promote(
        CHAMPION_MODEL, str(version), model, eval_features, eval_target, measured
    )
    assert not decision.promoted
    assert "did not finish within 0.01 s" in promotion_log.text
    # The tracking URI, which may hold a password, is not on the command line.
    ((command, environment),) = commands
    assert mlflow.get_tracking_uri() not in " ".join(command)
    assert environment["MLFLOW_TRACKING_URI"] == mlflow.get_tracking_uri()
    client = MlflowClient()
    current = client.get_model_version_by_alias(CHAMPION_MODEL, CHAMPION_ALIAS)
    challenger = client.get_model_version_by_alias(CHAMPION_MODEL, CHALLENGER_ALIAS)
    assert current.version == champion.registered_model_version
    assert challenger.version == version
    tags = challenger.tags
    assert tags["promotion.decision"] == "not promoted"
    assert tags["promotion.champion_version"] == str(current.version)
    assert "did not finish within 0.01 s" in tags["promotion.reason"]


@pytest.mark.parametrize(
    ("mode", "labels", "promoted"),
    [
        ("auto", "true", True),
        ("always", "true", True),
        ("never", "true", False),
        ("auto", "shuffled", False),
        ("always", "shuffled", True),
    ],
)
def test_the_first_version_is_promoted_above_the_floor_unless_never(
    model: Model,
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
    mode: str,
    labels: str,
    promoted: bool,
) -> None:
    features, target, measured = evaluated(model, splits)
    truth = model.preprocessor.encode_target(target)
    if labels == "shuffled":  # judged against labels it cannot know
        truth = np.random.default_rng(0).permutation(truth)
        measured = metrics(truth, model.scores(features))
    challenger = Challenger("first", "1", model, features, truth, measured)
    decision = decide(challenger, mode, None)
    assert decision.promoted is promoted, decision.reason
    assert decision.champion_version is None
    if mode == "auto" and labels == "shuffled":
        assert "floor" in decision.reason or "shuffled labels reach" in decision.reason


def test_a_version_no_better_than_chance_never_takes_champion(
    champion: ModelInfo, data_files: dict[str, Path]
) -> None:
    # The review's case: trained on shuffled labels and judged on its own
    # held-out rows, whose labels are shuffled too, it may beat the champion
    # there by luck; it is no better than chance, so it stays a challenger.
    shuffled = train(
        data_files["noisy everywhere"], registered_model_name=CHAMPION_MODEL
    )
    client = MlflowClient()
    tags = client.get_model_version(
        CHAMPION_MODEL, shuffled.registered_model_version
    ).tags
    assert tags["promotion.decision"] == "not promoted", tags
    # Below the floor; or, where luck lifts it above, below what shuffled
    # labels reach on these rows, or the champion's fall on these shuffled
    # labels stops the comparison.
    reason = tags["promotion.reason"]
    if float(tags["promotion.floor_value"]) <= FLOOR:
        assert "is not above the floor" in reason
    else:
        assert (
            "that shuffled labels reach" in reason
            or "the data or its labels changed" in reason
        ), reason
    current = client.get_model_version_by_alias(CHAMPION_MODEL, CHAMPION_ALIAS)
    assert current.version == champion.registered_model_version


def test_a_champion_far_below_its_own_record_is_kept_and_the_reason_says_so(
    data_files: dict[str, Path],
) -> None:
    # The evaluation data's labels mean something else now: the champion
    # scores far below what it recorded, and a challenger trained on the new
    # labels looks better. The gate does not trust the comparison.
    name = "promotion-relabelled"
    first = train(
        data_files["clean"], registered_model_name=name, eval_data=data_files["eval"]
    )
    second = train(
        data_files["relabelled"],
        registered_model_name=name,
        eval_data=data_files["relabelled eval"],
    )
    client = MlflowClient()
    tags = client.get_model_version(name, second.registered_model_version).tags
    assert tags["promotion.decision"] == "not promoted", tags
    assert "the data or its labels changed" in tags["promotion.reason"]
    current = client.get_model_version_by_alias(name, CHAMPION_ALIAS)
    assert current.version == first.registered_model_version


def test_a_parquet_copy_of_the_training_data_is_not_evaluation_data(
    mixed_frame: pd.DataFrame, tmp_path: Path
) -> None:
    # A CSV holds dates and booleans as text, Parquet as timestamps and
    # booleans: the same rows, read as the model reads them.
    csv = tmp_path / "rows.csv"
    mixed_frame.to_csv(csv, index=False)
    parquet = tmp_path / "rows.parquet"
    typed = pd.read_csv(csv)
    typed["signup date"] = pd.to_datetime(typed["signup date"])
    typed["is member"] = typed["is member"].map({True: True, False: False})
    typed["size cm"] = typed["size cm"].astype("float32")  # as the model reads it
    typed.to_parquet(parquet)
    with pytest.raises(
        DataError, match="every row of --eval-data .* is also a training row"
    ):
        train(csv, registered_model_name="", eval_data=parquet)
    # A part of it is left out of the evaluation, and the rest evaluates.
    later = typed.assign(**{"size cm": typed["size cm"] + 100.0})
    pd.concat([typed.iloc[: len(typed) // 2], later]).to_parquet(parquet)
    info = train(csv, registered_model_name="", eval_data=parquet)
    facts = mlflow.models.get_model_info(info.model_uri).metadata["lineage"]
    # Rows whose size was missing are unchanged: training rows, left out.
    assert facts["evaluation_rows"] == str(later["size cm"].notna().sum())


def evaluated(
    model: Model, splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]
) -> tuple[pd.DataFrame, pd.Series, dict[str, float]]:
    """The held-out features and target, and `model`'s metrics on them."""
    _, features, _, target = splits
    truth = model.preprocessor.encode_target(target)
    return features, target, metrics(truth, model.scores(features))


def test_a_better_version_replaces_a_worse_champion(
    champion: ModelInfo,
    noisy: ModelInfo,
    model: Model,
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
) -> None:
    name = "promotion-better"
    features, target, measured = evaluated(model, splits)
    worse = mlflow.register_model(noisy.model_uri, name).version
    assert promote(name, str(worse), model, features, target, {}, "always").promoted
    better = mlflow.register_model(champion.model_uri, name).version
    decision = promote(name, str(better), model, features, target, measured)
    assert decision.promoted, decision.reason
    assert decision.champion_version == str(worse)
    assert improvement(measured[PROMOTION_METRIC], decision.champion_value) > 0
    client = MlflowClient()
    assert client.get_model_version_by_alias(name, CHAMPION_ALIAS).version == better


def test_a_registry_error_stops_promotion_and_keeps_the_champion(
    champion: ModelInfo,
    model: Model,
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    version = mlflow.register_model(champion.model_uri, CHAMPION_MODEL).version
    features, target, measured = evaluated(model, splits)
    real = MlflowClient.get_registered_model

    def unavailable(*_args: Any) -> Any:
        raise MlflowException("Service unavailable", error_code=TEMPORARILY_UNAVAILABLE)

    monkeypatch.setattr(MlflowClient, "get_registered_model", unavailable)
    with pytest.raises(PromotionError, match="is not @champion: Service unavailable"):
        promote(CHAMPION_MODEL, str(version), model, features, target, measured)
    monkeypatch.setattr(MlflowClient, "get_registered_model", real)
    client = MlflowClient()
    # The outage outlasted the lock's release: the next training would wait
    # for its heartbeat to go stale.
    lock = lock_name(CHAMPION_MODEL)
    if client.search_registered_models(f"name = '{lock}'"):
        client.delete_registered_model(lock)
    current = client.get_model_version_by_alias(CHAMPION_MODEL, CHAMPION_ALIAS)
    assert current.version == champion.registered_model_version
    tags = client.get_model_version(CHAMPION_MODEL, version).tags
    assert "promotion.decision" not in tags


def test_a_failure_after_the_decision_moves_no_alias(
    champion: ModelInfo,
    model: Model,
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
) -> None:
    # The card cannot be published (the registry refused the description):
    # the aliases stay where they were and the version's tags say why.
    version = mlflow.register_model(champion.model_uri, CHAMPION_MODEL).version
    features, target, measured = evaluated(model, splits)

    def refused(_decided: dict[str, str]) -> None:
        raise MlflowException("value too long for type character varying(5000)")

    with pytest.raises(PromotionError, match="character varying"):
        promote(
            CHAMPION_MODEL,
            str(version),
            model,
            features,
            target,
            measured,
            publish=refused,
        )
    client = MlflowClient()
    aliases = client.get_registered_model(CHAMPION_MODEL).aliases
    assert str(aliases[CHAMPION_ALIAS]) == str(champion.registered_model_version)
    assert str(aliases.get(CHALLENGER_ALIAS)) != str(version)
    tags = client.get_model_version(CHAMPION_MODEL, version).tags
    assert tags["promotion.decision"] == "not promoted"
    assert "character varying" in tags["promotion.reason"]


def test_the_champion_is_compared_on_rows_it_was_not_trained_on(
    store_data: Path, tmp_path: Path
) -> None:
    # The champion is trained on all of one file. The file grows by other
    # rows and is shuffled; the next training holds out a split of it, which
    # holds rows the champion was trained on: they are left out.
    name = "promotion-rows"
    frame = pd.read_csv(store_data, dtype={"store": str})
    first, later = frame.iloc[:600], frame.iloc[600:]
    paths = {part: tmp_path / f"{part}.csv" for part in ("first", "later", "grown")}
    first.to_csv(paths["first"], index=False)
    later.to_csv(paths["later"], index=False)
    origin = pd.Series("first", index=frame.index).where(frame.index < 600, "later")
    grown = frame.assign(origin=origin).sample(frac=1.0, random_state=0)
    grown.to_csv(paths["grown"], index=False)
    train(paths["first"], registered_model_name=name, eval_data=paths["later"])
    second = train(paths["grown"], registered_model_name=name, exclude=["origin"])
    held_out = split(*load_data(paths["grown"], "target", ["origin"]))[1]
    origin = pd.read_csv(paths["grown"]).loc[held_out.index, "origin"]
    client = MlflowClient()
    tags = client.get_model_version(name, second.registered_model_version).tags
    assert int(tags["promotion.rows_left_out"]) == (origin == "first").sum() > 0
    assert int(tags["promotion.eval_rows"]) == (origin == "later").sum()
    assert f"on {(origin == 'later').sum()} rows" in tags["promotion.reason"]
    # The evaluation data is recorded with the run, by its digest.
    inputs = mlflow.get_run(second.run_id).inputs.dataset_inputs
    contexts = {
        tag.value: dataset_input.dataset
        for dataset_input in inputs
        for tag in dataset_input.tags
        if tag.key == "mlflow.data.context"
    }
    assert contexts["evaluation"].digest == tags["promotion.eval_digest"]
    assert contexts["training"].digest != contexts["evaluation"].digest


def test_promote_never_does_not_wait_for_the_lock(
    champion: ModelInfo,
    model: Model,
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
) -> None:
    version = mlflow.register_model(champion.model_uri, CHAMPION_MODEL).version
    features, target, measured = evaluated(model, splits)
    client = MlflowClient()
    with promotion_lock(client, CHAMPION_MODEL):
        started = time.monotonic()
        decision = promote(
            CHAMPION_MODEL, str(version), model, features, target, measured, "never"
        )
        assert time.monotonic() - started < 10
    assert not decision.promoted
    tags = client.get_model_version(CHAMPION_MODEL, version).tags
    assert tags["promotion.reason"] == "--promote never"
    aliases = client.get_registered_model(CHAMPION_MODEL).aliases
    assert str(aliases[CHALLENGER_ALIAS]) == str(version)


def test_a_holder_that_lost_the_lock_moves_no_alias(
    champion: ModelInfo,
    model: Model,
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # While this training decided, its machine slept past STALE_SECONDS and
    # another training took the lock over: this one moves nothing.
    version = mlflow.register_model(champion.model_uri, CHAMPION_MODEL).version
    features, target, measured = evaluated(model, splits)
    client = MlflowClient()
    real_decide = promotion.decide

    def decide_then_lose_the_lock(*args: Any) -> gate.Decision:
        decision = real_decide(*args)
        lock = lock_name(CHAMPION_MODEL)
        client.set_registered_model_tag(lock, OWNER_TAG, "another training")
        return decision

    monkeypatch.setattr(promotion, "decide", decide_then_lose_the_lock)
    decision = promote(
        CHAMPION_MODEL, str(version), model, features, target, measured, "always"
    )
    assert not decision.promoted
    assert decision.reason == promotion.LOCK_LOST
    aliases = client.get_registered_model(CHAMPION_MODEL).aliases
    assert str(aliases[CHAMPION_ALIAS]) == str(champion.registered_model_version)
    lock = lock_name(CHAMPION_MODEL)
    client.delete_registered_model(lock)  # the other training's, left in place


def test_a_training_killed_before_the_aliases_leaves_pending_not_a_decision(
    champion: ModelInfo,
    model: Model,
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
) -> None:
    version = mlflow.register_model(champion.model_uri, CHAMPION_MODEL).version
    features, target, measured = evaluated(model, splits)

    def killed(decided: dict[str, str]) -> None:
        assert decided["promotion.decision"] == "promoted"  # what the card shows
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        promote(
            CHAMPION_MODEL,
            str(version),
            model,
            features,
            target,
            measured,
            "always",
            publish=killed,
        )
    client = MlflowClient()
    tags = client.get_model_version(CHAMPION_MODEL, version).tags
    assert tags["promotion.decision"] == promotion.PENDING
    aliases = client.get_registered_model(CHAMPION_MODEL).aliases
    assert str(aliases[CHAMPION_ALIAS]) == str(champion.registered_model_version)


def test_an_undefined_floor_metric_does_not_clear_the_floor() -> None:
    # NaN compares false with everything: it must refuse, not pass.
    truth = np.arange(40) % 2
    scores = np.random.default_rng(0).random((40, 2))
    short = gate.not_above_floor(truth, scores, float("nan"))
    assert short is not None and "is undefined on these 40 rows" in short


def test_luck_on_few_rows_is_not_better_than_chance(model: Model) -> None:
    # Random scores of random labels on 80 rows: the floor metric may clear
    # FLOOR by luck; it does not clear what shuffled labels reach there.
    classes = len(model.preprocessor.classes)
    truth = np.arange(80) % classes
    for seed in range(500):
        scores = np.random.default_rng(seed).dirichlet(np.ones(classes), size=80)
        value = metrics(truth, scores)[gate.FLOOR_METRIC]
        if value > FLOOR:
            break
    assert value > FLOOR, "no lucky draw in 500 seeds"
    short = gate.not_above_floor(truth, scores, value)
    assert short is not None and "that shuffled labels reach on these 80 rows" in short
