"""Give a new version the `champion` alias only when it is at least as good.

Every new version gets the alias `challenger`. It also takes `champion` when
there is none yet, or when it scores at least as well as the champion by
PROMOTION_METRIC on the same evaluation rows (better by MIN_IMPROVEMENT or
more, when that is above 0), unless `train --promote never` or `always` says
otherwise. The decision is recorded as tags on the new version, with the
digest of the evaluation data and the rows it compared.

Fair comparison: the rows the champion was trained on (their hashes are
stored with its training run, see `rows.py`) are left out, and both models
are scored on the rest. A champion whose training rows were not recorded is
compared on all rows, and the reason says so.

Safety: only "no such alias" means there is no champion. Any other registry
error (an outage, a permission) stops promotion with a `PromotionError`, and
the version stays a challenger. Trainings promote one at a time: each holds a
lock in the registry (`promotion_lock`) from reading the champion to moving
the alias, so two racing trainings cannot both replace it.

The champion is scored by its own logged code, in a Python process of its own
(`champion_scores.py`): in this process, which has imported this version of
the package, loading another version would silently run this one's modules.
"""

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from . import rows
from .errors import first_line
from .evaluation import metrics
from .model import Model

logger = logging.getLogger(__name__)

CHAMPION_ALIAS = "champion"
CHALLENGER_ALIAS = "challenger"
#: The metric that decides, whether more of it is better, and the smallest
#: improvement over the champion that counts (0.0: at least as good).
PROMOTION_METRIC = "test_rmse"
GREATER_IS_BETTER = False
MIN_IMPROVEMENT = 0.0
#: Values of `train --promote`.
MODES = ("auto", "always", "never")
#: Fewest evaluation rows the champion was not trained on that can decide.
MIN_COMPARISON_ROWS = 10
CHAMPION_SCORES = Path(__file__).with_name("champion_scores.py")
#: The `MLmodel` metadata key that names a model's training data, and how the
#: bundled demo data is named there (`train` without `--data`).
TRAINING_DATA_KEY = "training_data"
DEMO_SOURCE = "sklearn.datasets."
#: How long the champion may take to load and score the evaluation data.
CHAMPION_TIMEOUT_SECONDS = 600
#: The lock: a registered model of this name suffix; how long a training may
#: hold it before another takes it over (it died), and how often to look.
LOCK_SUFFIX = "_promotion_lock"
LOCK_SECONDS = CHAMPION_TIMEOUT_SECONDS + 120
LOCK_POLL_SECONDS = 1.0


class ChampionError(RuntimeError):
    """The champion cannot score the evaluation data."""


class PromotionError(RuntimeError):
    """The registry failed during promotion; the version stays a challenger."""


@dataclass(frozen=True)
class Challenger:
    """A new version, in this process, with its evaluation data and metric."""

    name: str
    version: str
    model: Model
    features: pd.DataFrame
    truth: np.ndarray
    value: float
    #: Digest of the evaluation data (`mlflow.data` dataset digest).
    digest: str = ""


@dataclass(frozen=True)
class Decision:
    """What became of one new version, and why."""

    promoted: bool
    reason: str
    champion_version: str | None = None
    champion_value: float | None = None
    #: The challenger's metric on the rows compared, and how many they were;
    #: rows left out because the champion was trained on them ("unknown" when
    #: its training rows were not recorded).
    challenger_value: float | None = None
    rows: int | None = None
    left_out: str | None = None

    def tags(self, challenger: Challenger) -> dict[str, str]:
        """Return the decision as tags of the new model version."""
        value = self.challenger_value
        tags = {
            "promotion.metric": PROMOTION_METRIC,
            "promotion.challenger_value": repr(
                challenger.value if value is None else value
            ),
            "promotion.decision": "promoted" if self.promoted else "not promoted",
            "promotion.reason": self.reason,
            "promotion.eval_digest": challenger.digest,
            "promotion.eval_rows": str(
                len(challenger.features) if self.rows is None else self.rows
            ),
        }
        if self.champion_version is not None:
            tags["promotion.champion_version"] = self.champion_version
        if self.champion_value is not None:
            tags["promotion.champion_value"] = repr(self.champion_value)
        if self.left_out is not None:
            tags["promotion.rows_left_out"] = self.left_out
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
    digest: str = "",
) -> Decision:
    """Decide whether `version` of `name` takes `champion`, and record it.

    `model` is that version, in this process; `features` and `target` are the
    evaluation data (of `digest`) both it and the champion are judged on, and
    `value` is its PROMOTION_METRIC there (what `evaluation.log_evaluation`
    returned). Raises a `PromotionError` when the registry fails.
    """
    if mode not in MODES:
        raise ValueError(f"promote mode must be one of {list(MODES)}; got {mode!r}")
    truth = model.preprocessor.encode_target(target)
    challenger = Challenger(name, version, model, features, truth, value, digest)
    client = MlflowClient()
    try:
        client.set_registered_model_alias(name, CHALLENGER_ALIAS, version)
        with promotion_lock(client, name):
            champion = current_champion(client, name)
            decision = decide(challenger, mode, champion)
            if decision.promoted and current_champion(client, name) != champion:
                decision = Decision(False, f"@{CHAMPION_ALIAS} was moved meanwhile")
            record(client, challenger, decision)
    except (MlflowException, OSError) as error:
        raise PromotionError(
            f"registry error, {name} version {version} is not @{CHAMPION_ALIAS}: "
            f"{first_line(error)}"
        ) from error
    logger.info(decision.line(challenger))
    return decision


def record(client: MlflowClient, challenger: Challenger, decision: Decision) -> None:
    """Move `champion` to the challenger if promoted; tag it with the decision."""
    if decision.promoted:
        client.set_registered_model_alias(
            challenger.name, CHAMPION_ALIAS, challenger.version
        )
    for key, tag in decision.tags(challenger).items():
        client.set_model_version_tag(challenger.name, challenger.version, key, tag)


@contextmanager
def promotion_lock(client: MlflowClient, name: str) -> Iterator[None]:
    """Hold the lock on promotions of `name`: one training at a time.

    The lock is a registered model named `<name>_promotion_lock`, which exists
    only while a training holds it: creating a name that exists fails in every
    registry, so two trainings cannot both hold it. One left by a training
    that died is taken over after LOCK_SECONDS.
    """
    lock = f"{name}{LOCK_SUFFIX}"
    while True:
        try:
            client.create_registered_model(
                lock, description=f"Held while a training promotes {name}."
            )
            break
        except MlflowException as error:
            # MLflow's SQL store, refused the name, looks the holder up to say
            # so: one that released it meanwhile is "not found". Try again.
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                continue
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        try:
            created = client.get_registered_model(lock).creation_timestamp
        except MlflowException as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                continue  # released meanwhile
            raise
        if time.time() * 1000 - created > LOCK_SECONDS * 1000:
            logger.warning("taking over %s, held for over %d s", lock, LOCK_SECONDS)
            client.delete_registered_model(lock)
            continue
        time.sleep(LOCK_POLL_SECONDS)
    try:
        yield
    finally:
        try:
            client.delete_registered_model(lock)
        except MlflowException as error:
            logger.warning(
                "cannot release %s (%s): the next training takes it over after %d s",
                lock,
                first_line(error),
                LOCK_SECONDS,
            )


def current_champion(client: MlflowClient, name: str) -> str | None:
    """Return the version that has the `champion` alias; None if no version has.

    Any registry error is raised: it does not mean there is no champion.
    """
    version = client.get_registered_model(name).aliases.get(CHAMPION_ALIAS)
    return None if version is None else str(version)


def decide(challenger: Challenger, mode: str, champion: str | None) -> Decision:
    """Compare the challenger with the `champion` version as `mode` says."""
    if mode == "never":
        return Decision(False, "--promote never")
    if champion is None:
        return Decision(True, f"no {CHAMPION_ALIAS} yet")
    changed = schema_change(challenger, mode, champion)
    if changed is not None:
        return changed
    if not len(challenger.features):
        reason = (
            f"no evaluation data to compare with @{CHAMPION_ALIAS} version "
            f"{champion} on (wrap with --data or --eval-data)"
        )
        return Decision(mode == "always", reason, champion)
    try:
        compared, left_out = unseen_by_champion(challenger, champion)
    except ChampionError as error:
        return Decision(mode == "always", str(error), champion)
    uri = f"models:/{challenger.name}/{champion}"
    try:
        scores = champion_scores(uri, compared)
        value = metrics(compared.truth, scores)[PROMOTION_METRIC]
        ours = compared.value
        if left_out:
            ours = metrics(compared.truth, compared.model.scores(compared.features))[
                PROMOTION_METRIC
            ]
    except (ChampionError, ValueError) as error:
        reason = f"version {champion} cannot score the evaluation data: {error}"
        return Decision(mode == "always", reason, champion)
    if left_out is None:
        rows_note = f"version {champion} recorded no training rows to leave out"
    else:
        rows_note = f"{left_out} it was trained on left out"
    reason = (
        f"{PROMOTION_METRIC} {ours:.4f} vs {value:.4f} of @{CHAMPION_ALIAS} "
        f"version {champion} on {len(compared.features)} rows; {rows_note}"
    )
    counted = {
        "champion_value": value,
        "challenger_value": ours,
        "rows": len(compared.features),
        "left_out": "unknown" if left_out is None else str(left_out),
    }
    if mode == "always":
        return Decision(True, f"--promote always; {reason}", champion, **counted)
    return Decision(
        improvement(ours, value) >= MIN_IMPROVEMENT, reason, champion, **counted
    )


def schema_change(challenger: Challenger, mode: str, champion: str) -> Decision | None:
    """Return the decision when the champion reads other columns; else None.

    A challenger with other input columns is a change of schema, not a worse
    model: it takes the champion only with `--promote always`, once every
    caller sends its columns. The bundled demo model (a project's first
    `train` without `--data`) is replaced by the first model of another schema.
    """
    uri = f"models:/{challenger.name}/{champion}"
    metadata = mlflow.models.get_model_info(uri).metadata or {}
    theirs = metadata.get("input_types")
    ours = challenger.model.preprocessor.input_types()
    if theirs is None or set(theirs) == set(ours):
        return None
    if str(metadata.get(TRAINING_DATA_KEY, "")).startswith(DEMO_SOURCE):
        reason = (
            f"replaces @{CHAMPION_ALIAS} version {champion}, the model of the "
            "bundled demo data"
        )
        return Decision(True, reason, champion)
    added = sorted(set(ours) - set(theirs))
    removed = sorted(set(theirs) - set(ours))
    reason = (
        f"its input columns differ from @{CHAMPION_ALIAS} version {champion}'s "
        f"(new: {added}, gone: {removed}): a change of schema, not a worse model; "
        "train with --promote always once every caller sends the new columns"
    )
    return Decision(mode == "always", reason, champion)


def unseen_by_champion(
    challenger: Challenger, champion: str
) -> tuple[Challenger, int | None]:
    """Return the challenger on the evaluation rows the champion was not trained on.

    Also returns how many rows were left out (None: the champion's training
    rows were not recorded). Raises a `ChampionError` when too few are left.
    """
    run_id = MlflowClient().get_model_version(challenger.name, champion).run_id
    stored = rows.training_rows(run_id) if run_id else None
    if stored is None:
        return challenger, None
    hashes, kinds = stored
    seen = np.isin(rows.hashes(challenger.features, kinds), hashes)
    if not seen.any():
        return challenger, 0
    if (~seen).sum() < MIN_COMPARISON_ROWS:
        raise ChampionError(
            f"version {champion} was trained on {int(seen.sum())} of the "
            f"{len(seen)} evaluation rows, too few are left to compare: "
            "evaluate on other data (--eval-data)"
        )
    compared = replace(
        challenger,
        features=challenger.features[~seen],
        truth=challenger.truth[~seen],
    )
    return compared, int(seen.sum())


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
            model_uri,
            str(features),
            str(output),
        ]
        # The URIs may hold a password: in the environment, not the command
        # line that `ps` shows to every user.
        environment = {
            **os.environ,
            "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri(),
            "MLFLOW_REGISTRY_URI": mlflow.get_registry_uri(),
        }
        try:
            result = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=CHAMPION_TIMEOUT_SECONDS,
                env=environment,
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
    return scores
