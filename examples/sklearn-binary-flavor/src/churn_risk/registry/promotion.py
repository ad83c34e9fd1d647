"""Give a new version the `champion` alias only when it is good enough.

Every new version gets the alias `challenger`. It also takes `champion` when
it scores above FLOOR by FLOOR_METRIC (a metric on an absolute scale: a model
no better than chance never becomes champion) and either there is no
champion yet, or it scores at least as well as the champion by
PROMOTION_METRIC on the same evaluation rows (better by MIN_IMPROVEMENT or
more, when that is above 0), unless `train --promote never` or `always` says
otherwise. When the champion scores far below its own recorded FLOOR_METRIC
on the evaluation data (more than MAX_CHAMPION_DROP), the data or its labels
changed: the champion is kept and the reason says so. The decision is
recorded as tags on the new version, with the digest of the evaluation data
and the rows it compared, before any alias moves: a failure on the way
leaves the champion where it was.

Fair comparison: the rows the champion was trained on (their hashes are
stored with its training run, see `rows.py`) are left out, and both models
are scored on the rest. A champion whose training rows were not recorded is
compared on all rows, and the reason says so.

Safety: only "no such alias" means there is no champion. Any other registry
error (an outage, a permission) stops promotion with a `PromotionError`, and
the version stays a challenger. Trainings promote one at a time, holding
`promotion_lock` from reading the champion to moving the alias, so two racing
trainings cannot both replace it; `--promote never` takes no lock.

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
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ..errors import first_line
from ..making.evaluation import metrics
from ..model import Model
from . import rows
from .gate import (
    CHALLENGER_ALIAS,
    CHAMPION_ALIAS,
    DECISION_TAG,
    FLOOR_METRIC,
    MAX_CHAMPION_DROP,
    MIN_COMPARISON_ROWS,
    MIN_IMPROVEMENT,
    PROMOTION_METRIC,
    REASON_TAG,
    Challenger,
    Decision,
    first_version,
    improvement,
    not_above_floor,
)
from .promotion_lock import promotion_lock, still_held

logger = logging.getLogger(__name__)


#: Values of `train --promote`.
MODES = ("auto", "always", "never")
CHAMPION_SCORES = Path(__file__).with_name("champion_scores.py")
#: The `MLmodel` metadata key that names a model's training data, and how the
#: bundled demo data is named there (`train` without `--data`).
TRAINING_DATA_KEY = "training_data"
DEMO_SOURCE = "sklearn.datasets."
#: How long the champion may take to load and score the evaluation data.
CHAMPION_TIMEOUT_SECONDS = 600
PENDING = "pending"
LOCK_LOST = (
    "lost the promotion lock while deciding (its heartbeat stopped, and another "
    "training took it over): this version moves no alias; train again"
)


class ChampionError(RuntimeError):
    """The champion cannot score the evaluation data."""


class PromotionError(RuntimeError):
    """The registry failed during promotion; the version stays a challenger."""


def promote(
    name: str,
    version: str,
    model: Model,
    features: pd.DataFrame,
    target: pd.Series,
    measured: dict[str, float],
    mode: str = "auto",
    digest: str = "",
    publish: Callable[[dict[str, str]], object] | None = None,
) -> Decision:
    """Decide whether `version` of `name` takes `champion`, and record it.

    `model` is that version, in this process; `features` and `target` are the
    evaluation data (of `digest`) both it and the champion are judged on, and
    `measured` its metrics there (what `evaluation.log_evaluation` returned;
    empty when it was not evaluated). `publish` (the card) gets the decision's
    tags; see `settle` for the order. A failure on the way raises a
    `PromotionError` and moves no alias.
    """
    if mode not in MODES:
        raise ValueError(f"promote mode must be one of {list(MODES)}; got {mode!r}")
    truth = model.preprocessor.encode_target(target)
    challenger = Challenger(name, version, model, features, truth, measured, digest)
    client = MlflowClient()
    try:
        if mode == "never":
            decision = decide(challenger, mode, None)
            settle(client, challenger, decision, publish)
        else:
            with promotion_lock(client, name) as token:
                champion = current_champion(client, name)
                decision = decide(challenger, mode, champion)
                if decision.promoted and current_champion(client, name) != champion:
                    decision = Decision(False, f"@{CHAMPION_ALIAS} was moved meanwhile")
                if not still_held(client, name, token):
                    decision = Decision(False, LOCK_LOST)
                settle(client, challenger, decision, publish)
    except (MlflowException, OSError) as error:
        raise PromotionError(
            f"registry error, {name} version {version} is not @{CHAMPION_ALIAS}: "
            f"{first_line(error)}"
        ) from error
    logger.info(decision.line(challenger))
    return decision


def settle(
    client: MlflowClient,
    challenger: Challenger,
    decision: Decision,
    publish: Callable[[dict[str, str]], object] | None,
) -> None:
    """Record the decision and move the aliases, in an order that cannot lie.

    The tags go first, with `promotion.decision` "pending"; then the card,
    which shows the decision; then the aliases; last the decision itself. A
    training killed on the way leaves "pending", never a decision that did
    not happen; a registry error leaves the reason in the tags, and is raised.
    """
    tags = decision.tags(challenger)
    for key, tag in {**tags, DECISION_TAG: PENDING}.items():
        client.set_model_version_tag(challenger.name, challenger.version, key, tag)
    try:
        if publish is not None:
            publish(tags)
        client.set_registered_model_alias(
            challenger.name, CHALLENGER_ALIAS, challenger.version
        )
        if decision.promoted:
            client.set_registered_model_alias(
                challenger.name, CHAMPION_ALIAS, challenger.version
            )
        client.set_model_version_tag(
            challenger.name, challenger.version, DECISION_TAG, tags[DECISION_TAG]
        )
    except (MlflowException, OSError) as error:
        failed = replace(
            decision,
            promoted=False,
            reason=f"registry error after the decision ({decision.reason}): "
            f"{first_line(error)}",
        ).tags(challenger)
        try:
            for key in (DECISION_TAG, REASON_TAG):
                client.set_model_version_tag(
                    challenger.name, challenger.version, key, failed[key]
                )
        except MlflowException:
            pass  # the registry is down: the error below says what happened
        raise


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
        return first_version(challenger, mode)
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
        theirs = metrics(compared.truth, champion_scores(uri, compared))
        our_scores = compared.model.scores(compared.features)
        ours = metrics(compared.truth, our_scores)
    except (ChampionError, ValueError) as error:
        reason = f"version {champion} cannot score the evaluation data: {error}"
        return Decision(mode == "always", reason, champion)
    if left_out is None:
        rows_note = f"version {champion} recorded no training rows to leave out"
    else:
        rows_note = f"{left_out} it was trained on left out"
    value, our_value = theirs[PROMOTION_METRIC], ours[PROMOTION_METRIC]
    reason = (
        f"{PROMOTION_METRIC} {our_value:.4f} vs {value:.4f} of @{CHAMPION_ALIAS} "
        f"version {champion} on {len(compared.features)} rows; {rows_note}"
    )
    counted = {
        "champion_value": value,
        "challenger_value": our_value,
        "rows": len(compared.features),
        "left_out": "unknown" if left_out is None else str(left_out),
        "floor_value": ours[FLOOR_METRIC],
    }
    if mode == "always":
        return Decision(True, f"--promote always; {reason}", champion, **counted)
    short = not_above_floor(compared.truth, our_scores, ours[FLOOR_METRIC])
    if short is not None:
        return Decision(False, f"{short}; {reason}", champion, **counted)
    recorded = recorded_floor_value(challenger.name, champion)
    if recorded is not None and theirs[FLOOR_METRIC] < recorded - MAX_CHAMPION_DROP:
        reason = (
            f"@{CHAMPION_ALIAS} version {champion} scores {FLOOR_METRIC} "
            f"{theirs[FLOOR_METRIC]:.4f} on this evaluation data against the "
            f"{recorded:.4f} it recorded on its own: the data or its labels "
            "changed, or the champion decayed, so the comparison is not trusted; "
            f"check the evaluation data, or pass --promote always; {reason}"
        )
        return Decision(False, reason, champion, **counted)
    return Decision(
        improvement(our_value, value) >= MIN_IMPROVEMENT, reason, champion, **counted
    )


def recorded_floor_value(name: str, version: str) -> float | None:
    """Return the FLOOR_METRIC a version's run logged on data it did not learn.

    None when it logged none, or when it was wrapped and evaluated on its
    reference data, which may be its training rows (an optimistic number).
    """
    client = MlflowClient()
    run_id = client.get_model_version(name, version).run_id
    if not run_id:
        return None
    run = client.get_run(run_id)
    tags = run.data.tags
    wrapped = tags.get("lineage.made_by") == "wrap"
    if wrapped and tags.get("lineage.evaluation_sha256") == tags.get(
        "lineage.reference_sha256"
    ):
        return None
    return run.data.metrics.get(FLOOR_METRIC)


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
    return in_class_order(scores, answer["classes"], challenger.model)


def in_class_order(scores: np.ndarray, classes: list, model: Model) -> np.ndarray:
    """Return the champion's class columns in the order of `model`'s classes."""
    theirs = [str(label) for label in classes]
    ours = [str(label) for label in model.preprocessor.classes]
    if sorted(theirs) != sorted(ours):
        raise ChampionError(f"its classes {theirs} differ from {ours}")
    return scores[:, [theirs.index(label) for label in ours]]
