"""Give a new version the `champion` alias only when it is at least as good.

Every new version gets the alias `challenger`. It also takes `champion` when
there is none yet, or when it scores at least as well as the champion by
PROMOTION_METRIC on the same evaluation data (better by MIN_IMPROVEMENT or
more, when that is above 0), unless `train --promote never` or `always` says
otherwise. The decision is recorded as tags on the new version.

The champion is scored by its own logged code, in a Python process of its own
(`champion_scores.py`): in this process, which has imported this version of
the package, loading another version would silently run this one's modules.
"""

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from .evaluation import metrics
from .model import Model

CHAMPION_ALIAS = "champion"
CHALLENGER_ALIAS = "challenger"
#: The metric that decides, whether more of it is better, and the smallest
#: improvement over the champion that counts (0.0: at least as good).
PROMOTION_METRIC = "test_roc_auc"
GREATER_IS_BETTER = True
MIN_IMPROVEMENT = 0.0
#: Values of `train --promote`.
MODES = ("auto", "always", "never")
#: Comparisons made again when another run moves `champion` meanwhile.
ATTEMPTS = 3
CHAMPION_SCORES = Path(__file__).with_name("champion_scores.py")
#: How long the champion may take to load and score the evaluation data.
CHAMPION_TIMEOUT_SECONDS = 600


class ChampionError(RuntimeError):
    """The champion cannot score the evaluation data."""


@dataclass(frozen=True)
class Challenger:
    """A new version, in this process, with its evaluation data and metric."""

    name: str
    version: str
    model: Model
    features: pd.DataFrame
    truth: np.ndarray
    value: float


@dataclass(frozen=True)
class Decision:
    """What became of one new version, and why."""

    promoted: bool
    reason: str
    champion_version: str | None = None
    champion_value: float | None = None

    def tags(self, challenger: Challenger) -> dict[str, str]:
        """Return the decision as tags of the new model version."""
        tags = {
            "promotion.metric": PROMOTION_METRIC,
            "promotion.challenger_value": repr(challenger.value),
            "promotion.decision": "promoted" if self.promoted else "not promoted",
            "promotion.reason": self.reason,
        }
        if self.champion_version is not None:
            tags["promotion.champion_version"] = self.champion_version
        if self.champion_value is not None:
            tags["promotion.champion_value"] = repr(self.champion_value)
        return tags

    def line(self, challenger: Challenger) -> str:
        """Return the decision as one line of the training log."""
        alias = CHAMPION_ALIAS if self.promoted else CHALLENGER_ALIAS
        verb = "is now" if self.promoted else "stays"
        return (
            f"promotion: {challenger.name} version {challenger.version} {verb} "
            f"@{alias} ({self.reason})"
        )


def promote(
    name: str,
    version: str,
    model: Model,
    features: pd.DataFrame,
    target: pd.Series,
    value: float,
    mode: str = "auto",
) -> Decision:
    """Decide whether `version` of `name` takes `champion`; print and record it.

    `model` is that version, in this process; `features` and `target` are the
    evaluation data both it and the champion are judged on, and `value` is its
    PROMOTION_METRIC there (what `evaluation.log_evaluation` returned).
    """
    if mode not in MODES:
        raise ValueError(f"promote mode must be one of {list(MODES)}; got {mode!r}")
    client = MlflowClient()
    client.set_registered_model_alias(name, CHALLENGER_ALIAS, version)
    truth = model.preprocessor.encode_target(target)
    challenger = Challenger(name, version, model, features, truth, value)
    for _ in range(ATTEMPTS):
        champion = current_champion(client, name)
        decision = decide(challenger, mode, champion)
        # Move the alias only if no other run moved it since the comparison.
        if not decision.promoted or current_champion(client, name) == champion:
            break
    else:
        decision = Decision(False, f"{CHAMPION_ALIAS} moved during each comparison")
    if decision.promoted:
        client.set_registered_model_alias(name, CHAMPION_ALIAS, version)
    for key, tag in decision.tags(challenger).items():
        client.set_model_version_tag(name, version, key, tag)
    print(decision.line(challenger))
    return decision


def current_champion(client: MlflowClient, name: str) -> str | None:
    """Return the version that has the `champion` alias, if any."""
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION_ALIAS).version)
    except MlflowException:
        return None


def decide(challenger: Challenger, mode: str, champion: str | None) -> Decision:
    """Compare the challenger with the `champion` version as `mode` says."""
    if mode == "never":
        return Decision(False, "--promote never")
    if champion is None:
        return Decision(True, f"no {CHAMPION_ALIAS} yet")
    uri = f"models:/{challenger.name}/{champion}"
    try:
        scores = champion_scores(uri, challenger)
    except ChampionError as error:
        reason = f"version {champion} cannot score the evaluation data: {error}"
        return Decision(mode == "always", reason, champion)
    value = metrics(challenger.truth, scores)[PROMOTION_METRIC]
    reason = (
        f"{PROMOTION_METRIC} {challenger.value:.4f} vs {value:.4f} of "
        f"@{CHAMPION_ALIAS} version {champion}"
    )
    if mode == "always":
        return Decision(True, f"--promote always; {reason}", champion, value)
    return Decision(
        improvement(challenger.value, value) >= MIN_IMPROVEMENT,
        reason,
        champion,
        value,
    )


def improvement(challenger: float, champion: float) -> float:
    """Return how much better the challenger's metric is than the champion's."""
    return challenger - champion if GREATER_IS_BETTER else champion - challenger


def champion_scores(model_uri: str, challenger: Challenger) -> np.ndarray:
    """Score the evaluation data with the model at `model_uri`, by its own code."""
    with tempfile.TemporaryDirectory() as directory:
        features = Path(directory) / "features.parquet"
        output = Path(directory) / "scores.json"
        challenger.features.to_parquet(features)
        command = [
            sys.executable,
            "-I",
            str(CHAMPION_SCORES),
            mlflow.get_tracking_uri(),
            mlflow.get_registry_uri(),
            model_uri,
            str(features),
            str(output),
        ]
        try:
            result = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=CHAMPION_TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired:
            raise ChampionError(
                f"it did not finish within {CHAMPION_TIMEOUT_SECONDS} s"
            ) from None
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines() or [f"exit {result.returncode}"]
            raise ChampionError(lines[-1])
        answer = json.loads(output.read_text())
    scores = np.asarray(answer["scores"], dtype=answer["dtype"])
    return in_class_order(scores, answer["classes"], challenger.model)


def in_class_order(scores: np.ndarray, classes: list, model: Model) -> np.ndarray:
    """Return the champion's class columns in the order of `model`'s classes."""
    theirs = [str(label) for label in classes]
    ours = [str(label) for label in model.preprocessor.classes]
    if sorted(theirs) != sorted(ours):
        raise ChampionError(f"its classes {theirs} differ from {ours}")
    return scores[:, [theirs.index(label) for label in ours]]
