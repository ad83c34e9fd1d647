"""Migration to 0.3.0: champions logged before 0.3 stay scorable.

0.3.0 brought the promotion gate, whose `champion_scores.py` scores the
champion with the champion's own logged code by calling its `Model.scores`.
Versions 0.1.0 and 0.2.0 named that method `_scores`, so a champion logged by
a project before its update to 0.3 has no `scores`. After the update, this adds
to the project's `champion_scores.py` a fallback to `_scores`; a project
generated at 0.3 or later has no such champion and no fallback.

The edit replaces the one line that calls `scores`, so the owner's other edits
stay; running it again changes nothing. If the owner changed that line, it
prints what to add instead.

Usage (Copier runs it in the project, at both stages): python this.py before|after
"""

import sys
from pathlib import Path

import yaml

ANSWERS_FILE = ".copier-answers.yml"
SCORES_CALL = "        scores = model.scores(pd.read_parquet(features_path))\n"
WITH_FALLBACK = (
    "        # Models logged by template versions before 0.3 call it `_scores`.\n"
    '        score = getattr(model, "scores", None) or model._scores\n'
    "        scores = score(pd.read_parquet(features_path))\n"
)


def with_fallback(text: str) -> str | None:
    """`text` of champion_scores.py with the `_scores` fallback; None if its
    call to `scores` is not there to replace."""
    if WITH_FALLBACK in text:
        return text
    if text.count(SCORES_CALL) != 1:
        return None
    return text.replace(SCORES_CALL, WITH_FALLBACK)


def main(stage: str) -> None:
    """After the update, add the fallback to the project's champion_scores.py."""
    if stage not in ("before", "after"):
        raise SystemExit(f"unknown stage {stage!r}; expected 'before' or 'after'")
    if stage == "before":
        return
    answers = yaml.safe_load(Path(ANSWERS_FILE).read_text())
    package = Path("src") / answers["package_name"]
    # Where 0.4.0's layout keeps it, else where 0.3.0 did.
    scorer = package / "registry" / "champion_scores.py"
    if not scorer.is_file():
        scorer = package / "champion_scores.py"
    if not scorer.is_file():
        return
    text = scorer.read_text()
    updated = with_fallback(text)
    if updated is None:
        print(
            f"migration 0.3.0: {scorer} does not call `model.scores` as the template "
            "does; to score champions logged before 0.3, call "
            '`getattr(model, "scores", None) or model._scores` instead'
        )
    elif updated != text:
        scorer.write_text(updated)
        print(f"migration 0.3.0: {scorer} also scores champions logged before 0.3")


if __name__ == "__main__":
    main(*sys.argv[1:])
