"""The promotion gate's rule: when a new version is good enough to be champion.

This is the file to edit to change the rule: the metric versions are compared
by (PROMOTION_METRIC, and whether greater is better), the improvement a
challenger needs (MIN_IMPROVEMENT), the floor on an absolute scale every
champion must clear (FLOOR_METRIC above FLOOR, and above chance on the same
rows) and how far a champion may fall below its own record before its data is
suspect (MAX_CHAMPION_DROP). The decisions here are pure: `promotion.py` reads
the registry, scores the champion and moves the aliases.
"""

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..making.evaluation import metrics
from ..model import Model

#: The aliases a registered version takes, and the tags that record the
#: decision (the decision is "pending" until the aliases have moved).
CHAMPION_ALIAS = "champion"
CHALLENGER_ALIAS = "challenger"
DECISION_TAG = "promotion.decision"
REASON_TAG = "promotion.reason"
#: The metric that decides, whether more of it is better, and the smallest
#: improvement over the champion that counts (0.0: at least as good).
PROMOTION_METRIC = "test_rmse"
GREATER_IS_BETTER = False
MIN_IMPROVEMENT = 0.0
#: The floor: a version takes @champion only when its FLOOR_METRIC (higher is
#: better) is above FLOOR. The champion is not trusted to compare when it
#: scores more than MAX_CHAMPION_DROP below its own recorded FLOOR_METRIC.
FLOOR_METRIC = "test_r2"
FLOOR = 0.0
MAX_CHAMPION_DROP = 0.1
#: Shuffles of the labels that say what chance reaches on the deciding rows.
CHANCE_SHUFFLES = 100
#: Fewest evaluation rows the champion was not trained on that can decide.
MIN_COMPARISON_ROWS = 10


@dataclass(frozen=True)
class Challenger:
    """A new version, in this process, with its evaluation data and metrics."""

    name: str
    version: str
    model: Model
    features: pd.DataFrame
    truth: np.ndarray
    #: Its metrics on all the evaluation data (empty: not evaluated).
    measured: dict[str, float]
    #: Digest of the evaluation data (`mlflow.data` dataset digest).
    digest: str = ""

    @property
    def value(self) -> float:
        """Its PROMOTION_METRIC on all the evaluation data (NaN: not evaluated)."""
        return self.measured.get(PROMOTION_METRIC, math.nan)


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
    #: The challenger's FLOOR_METRIC on the rows that decided (None: unknown).
    floor_value: float | None = None

    def tags(self, challenger: Challenger) -> dict[str, str]:
        """Return the decision as tags of the new model version."""
        value = self.challenger_value
        tags = {
            "promotion.metric": PROMOTION_METRIC,
            "promotion.challenger_value": repr(
                challenger.value if value is None else value
            ),
            DECISION_TAG: "promoted" if self.promoted else "not promoted",
            REASON_TAG: self.reason,
            "promotion.floor": f"{FLOOR_METRIC} > {FLOOR}",
            "promotion.eval_digest": challenger.digest,
            "promotion.eval_rows": str(
                len(challenger.features) if self.rows is None else self.rows
            ),
        }
        if self.floor_value is not None:
            tags["promotion.floor_value"] = repr(self.floor_value)
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


def first_version(challenger: Challenger, mode: str) -> Decision:
    """Decide for a version with no champion to compare with: the floor alone."""
    if mode == "always":
        floor_value = challenger.measured.get(FLOOR_METRIC)
        return Decision(True, "--promote always", floor_value=floor_value)
    if not len(challenger.features) or FLOOR_METRIC not in challenger.measured:
        reason = f"no {CHAMPION_ALIAS} yet; not evaluated, so not held to the floor"
        return Decision(True, reason)
    scores = challenger.model.scores(challenger.features)
    floor_value = metrics(challenger.truth, scores)[FLOOR_METRIC]
    short = not_above_floor(challenger.truth, scores, floor_value)
    if short is not None:
        reason = f"no {CHAMPION_ALIAS} yet, but {short}"
        return Decision(False, reason, floor_value=floor_value)
    return Decision(True, f"no {CHAMPION_ALIAS} yet", floor_value=floor_value)


def not_above_floor(truth: np.ndarray, scores: np.ndarray, value: float) -> str | None:
    """Say why a FLOOR_METRIC of `value` does not clear the floor; None if it does.

    It must be above FLOOR, and above what chance gives on these rows: the
    best of CHANCE_SHUFFLES scorings against shuffled labels. On few rows,
    luck alone lifts a useless model above FLOOR one time in a few.
    """
    if np.isnan(value):
        return (
            f"{FLOOR_METRIC} is undefined on these {len(truth)} rows (too few, "
            "or a class missing): not shown better than chance; evaluate on "
            "other rows, or --promote always overrides"
        )
    if value <= FLOOR:
        return (
            f"{FLOOR_METRIC} {value:.4f} is not above the floor {FLOOR} (FLOOR in "
            "registry/gate.py): no better than chance; --promote always overrides"
        )
    chance = chance_level(truth, scores)
    if value <= chance:
        return (
            f"{FLOOR_METRIC} {value:.4f} is not above the {chance:.4f} that "
            f"shuffled labels reach on these {len(truth)} rows: not shown better "
            "than chance; evaluate on more rows, or --promote always overrides"
        )
    return None


def chance_level(truth: np.ndarray, scores: np.ndarray) -> float:
    """Return the best FLOOR_METRIC of `scores` against CHANCE_SHUFFLES shuffles."""
    rng = np.random.default_rng(0)
    shuffled = [
        metrics(rng.permutation(truth), scores, only=FLOOR_METRIC)[FLOOR_METRIC]
        for _ in range(CHANCE_SHUFFLES)
    ]
    return float(np.nanmax(shuffled))


def improvement(challenger: float, champion: float) -> float:
    """Return how much better the challenger's metric is than the champion's."""
    return challenger - champion if GREATER_IS_BETTER else champion - challenger
