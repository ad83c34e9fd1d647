"""Promotion: a new version takes @champion only when it is at least as good."""

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.models.model import ModelInfo

from claim_cost import promotion
from claim_cost.model import Model
from claim_cost.promotion import (
    CHALLENGER_ALIAS,
    CHAMPION_ALIAS,
    Challenger,
    decide,
    improvement,
)
from claim_cost.train import load_data, split, train

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


def test_a_worse_version_stays_challenger(
    champion: ModelInfo,
    data_files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    second = train(
        data_files["noisy"],
        registered_model_name=CHAMPION_MODEL,
        eval_data=data_files["eval"],
    )
    assert "stays @challenger" in capsys.readouterr().out
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


def test_a_champion_too_slow_to_score_keeps_its_alias(
    champion: ModelInfo,
    model: Model,
    splits: tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A second version of the champion's own model challenges it, and the
    # champion cannot be scored in time.
    version = mlflow.register_model(champion.model_uri, CHAMPION_MODEL).version
    monkeypatch.setattr(promotion, "CHAMPION_TIMEOUT_SECONDS", 0.01)
    _, eval_features, _, eval_target = splits
    decision = promotion.promote(
        CHAMPION_MODEL, str(version), model, eval_features, eval_target, 1.0
    )
    assert not decision.promoted
    assert "did not finish within 0.01 s" in capsys.readouterr().out
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
