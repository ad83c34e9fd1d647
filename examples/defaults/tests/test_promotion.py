"""Promotion: a new version takes @champion only when it is at least as good."""

import logging
import subprocess
import threading
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

from my_model import promotion
from my_model.evaluation import metrics
from my_model.model import Model
from my_model.promotion import (
    CHALLENGER_ALIAS,
    CHAMPION_ALIAS,
    LOCK_SUFFIX,
    PROMOTION_METRIC,
    Challenger,
    PromotionError,
    decide,
    improvement,
    promote,
    promotion_lock,
)
from my_model.train import load_data, split, train

#: The registered model the tests promote versions of.
CHAMPION_MODEL = "promotion-check"


@pytest.fixture(scope="module")
def data_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The bundled data as CSV: training rows, the same with shuffled labels,
    and evaluation rows."""
    features, target = load_data(None, "target")
    train_features, eval_features, train_target, eval_target = split(features, target)
    shuffled = np.random.default_rng(0).permutation(train_target.to_numpy())
    frames = {
        "clean": train_features.assign(target=train_target),
        "noisy": train_features.assign(target=shuffled),
        "eval": eval_features.assign(target=eval_target),
    }
    directory = tmp_path_factory.mktemp("promotion")
    for name, frame in frames.items():
        frame.to_csv(directory / f"{name}.csv", index=False)
    return {name: directory / f"{name}.csv" for name in frames}


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
    caplog.set_level(logging.INFO, logger="my_model")
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
    decision = promotion.promote(
        CHAMPION_MODEL, str(version), model, eval_features, eval_target, 1.0
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
    ("mode", "promoted"), [("auto", True), ("always", True), ("never", False)]
)
def test_the_first_version_is_promoted_unless_never(
    model: Model, test_features: pd.DataFrame, mode: str, promoted: bool
) -> None:
    challenger = Challenger("first", "1", model, test_features, np.empty(0), 0.5)
    decision = decide(challenger, mode, None)
    assert decision.promoted is promoted
    assert decision.champion_version is None


def evaluated(
    model: Model, splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]
) -> tuple[pd.DataFrame, pd.Series, float]:
    """The held-out features and target, and `model`'s metric on them."""
    _, features, _, target = splits
    truth = model.preprocessor.encode_target(target)
    return features, target, metrics(truth, model.scores(features))[PROMOTION_METRIC]


def test_a_better_version_replaces_a_worse_champion(
    champion: ModelInfo,
    noisy: ModelInfo,
    model: Model,
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
) -> None:
    name = "promotion-better"
    features, target, value = evaluated(model, splits)
    worse = mlflow.register_model(noisy.model_uri, name).version
    assert promote(name, str(worse), model, features, target, 0.0).promoted
    better = mlflow.register_model(champion.model_uri, name).version
    decision = promote(name, str(better), model, features, target, value)
    assert decision.promoted, decision.reason
    assert decision.champion_version == str(worse)
    assert improvement(value, decision.champion_value) > 0
    client = MlflowClient()
    assert client.get_model_version_by_alias(name, CHAMPION_ALIAS).version == better


def test_a_registry_error_stops_promotion_and_keeps_the_champion(
    champion: ModelInfo,
    model: Model,
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    version = mlflow.register_model(champion.model_uri, CHAMPION_MODEL).version
    features, target, value = evaluated(model, splits)
    real = MlflowClient.get_registered_model
    real_alias = MlflowClient.set_registered_model_alias
    outage = []

    def set_alias(client: MlflowClient, name: str, alias: str, number: str) -> None:
        real_alias(client, name, alias, number)
        outage.append(alias)  # the registry fails from here on

    def unavailable(client: MlflowClient, name: str, *args: Any) -> Any:
        if outage:
            raise MlflowException(
                "Service unavailable", error_code=TEMPORARILY_UNAVAILABLE
            )
        return real(client, name, *args)

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", set_alias)
    monkeypatch.setattr(MlflowClient, "get_registered_model", unavailable)
    monkeypatch.setattr(MlflowClient, "get_model_version_by_alias", unavailable)
    with pytest.raises(PromotionError, match="is not @champion: Service unavailable"):
        promote(CHAMPION_MODEL, str(version), model, features, target, value)
    assert outage == [CHALLENGER_ALIAS], "the champion alias was never moved"
    monkeypatch.undo()
    client = MlflowClient()
    current = client.get_model_version_by_alias(CHAMPION_MODEL, CHAMPION_ALIAS)
    assert current.version == champion.registered_model_version
    latest = client.get_model_version_by_alias(CHAMPION_MODEL, CHALLENGER_ALIAS)
    assert latest.version == version
    assert "promotion.decision" not in latest.tags
    # The lock may be left held, since the outage outlasted its release.
    lock = f"{CHAMPION_MODEL}{LOCK_SUFFIX}"
    if client.search_registered_models(f"name = '{lock}'"):
        client.delete_registered_model(lock)


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


def test_promotions_take_turns(
    champion: ModelInfo,
    model: Model,
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(promotion, "LOCK_POLL_SECONDS", 0.05)
    version = mlflow.register_model(champion.model_uri, CHAMPION_MODEL).version
    features, target, value = evaluated(model, splits)
    arguments = (CHAMPION_MODEL, str(version), model, features, target, value, "never")
    client = MlflowClient()
    with promotion_lock(client, CHAMPION_MODEL):
        waiting = threading.Thread(target=promote, args=arguments)
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive(), "a second promotion waits for the first"
    waiting.join(60.0)
    assert not waiting.is_alive()
    tags = client.get_model_version(CHAMPION_MODEL, version).tags
    assert tags["promotion.reason"] == "--promote never"
    # A lock left by a training that died is taken over once it is old.
    client.create_registered_model(f"{CHAMPION_MODEL}{LOCK_SUFFIX}")
    monkeypatch.setattr(promotion, "LOCK_SECONDS", 0)
    assert not promote(*arguments).promoted
    with pytest.raises(MlflowException):
        client.get_registered_model(f"{CHAMPION_MODEL}{LOCK_SUFFIX}")
