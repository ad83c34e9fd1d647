"""The model card: what a logged model is, where it came from, how good it is.

    python -m wine_grade.card --model-uri URI

prints the card of any logged model: `models:/NAME/VERSION` or
`models:/NAME@ALIAS` (a registered version, with its promotion decision) or
`models:/m-...`. `train` and `wrap` log it as the run's `model_card.md` and
set it as the registered version's description, which the MLflow UI shows.
It is built from what MLflow stores (the `MLmodel` metadata, the run's
metrics, the version's tags): a model logged before cards says what it
lacks. Errors are one line on stderr, exit status 2.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from .errors import first_line, without_progress_bars
from .kserve import DEFAULT_NAME, v2_request
from .making import columns, lineage
from .model import METHODS
from .scoring import drift

CARD_ARTIFACT = "model_card.md"
#: Most characters of a version's description: MLflow's SQL stores (PostgreSQL,
#: MySQL) hold 5,000 (SQLite does not check). The sections shortened to fit,
#: in turn, by name and heading.
DESCRIPTION_LIMIT = 5000
#: Longest line kept when sections alone do not make the card fit (a reason
#: naming a hundred columns).
LONGEST_LINE = 600
SHORTENED = {
    "inputs": "Inputs",
    "requests": "How to call it",
    "lineage": "Lineage",
    "drift": "Drift profile",
}
#: What `predict` returns, and each extra method.
PREDICTS = (
    "`label_1..label_k` and `score_1..score_k`, scores descending; param `k` (default "
    "min(3, number of classes))"
)
METHOD_SUMMARIES = {
    "predict_proba": (
        "Return one probability column per class, named by the class label."
    ),
    "explain": (
        "Return per-feature contributions plus `bias`, summing to the raw score."
    ),
}
NOT_RECORDED = "not recorded (logged before model cards)"
NO_PROFILE = "logged before drift checks, or wrapped without --data"
SERVE_URL = "http://127.0.0.1:5000/invocations"
V2_URL = f"http://127.0.0.1:8080/v2/models/{DEFAULT_NAME}/infer"
#: What the model does with values it did not see in training.
UNSEEN = (
    "Every feature must be present unless listed as optional; any value may be "
    "missing. Booleans take True/False, 1/0 or true/false text; dates ISO 8601 "
    "text or datetimes (UTC without a zone). Unseen categories score as missing"
    ' (as "other" in a column whose rare categories were merged into it); a '
    "value of the wrong kind is refused (HTTP 400) naming its column."
)


def sections(model_uri: str, decided: dict[str, str] | None = None) -> dict[str, str]:
    """Return the card of the model at `model_uri`: Markdown sections by name.

    `decided` are promotion tags that replace the version's own (its decision,
    before the registry holds it: see `promotion.settle`).
    """
    version = registered_version(model_uri)
    info = mlflow.models.get_model_info(
        f"models:/{version.name}/{version.version}" if version else model_uri
    )
    metadata = info.metadata or {}
    run = MlflowClient().get_run(info.run_id)
    title = (
        f"{version.name} version {version.version}"
        if version
        else f"{__package__} model {info.model_id or info.model_uri}"
    )
    return {
        "title": f"# {title}",
        "predicts": predicts(info),
        "inputs": inputs(metadata),
        "data": data(metadata),
        "metrics": measured(metadata, run.data.metrics),
        "promotion": promotion(version, decided),
        "drift": drift_brief(metadata),
        "lineage": lineage_list(metadata),
        "requests": requests(info, version),
    }


def render(model_uri: str) -> str:
    """Return the card of the model at `model_uri`, as Markdown."""
    return joined(sections(model_uri))


def joined(parts: dict[str, str]) -> str:
    """Return the card's sections as one Markdown text."""
    return "\n\n".join(part.strip() for part in parts.values()) + "\n"


def description(parts: dict[str, str], run_id: str) -> str:
    """Return the card as a registered version's description: at most DESCRIPTION_LIMIT.

    MLflow's SQL stores hold 5,000 characters; the sections in SHORTENED are
    replaced, one by one, by a pointer to the whole card, the run's artifact;
    then long lines are cut, and last the text.
    """
    pointer = f"the whole card is `{CARD_ARTIFACT}` in the artifacts of run {run_id}"
    parts = dict(parts)
    for name, heading in SHORTENED.items():
        text = joined(parts)
        if len(text) <= DESCRIPTION_LIMIT:
            return text
        parts[name] = f"## {heading}\n\nShortened to fit the registry: {pointer}."
    text = "\n".join(
        line if len(line) <= LONGEST_LINE else f"{line[:LONGEST_LINE]} ..."
        for line in joined(parts).splitlines()
    )
    if len(text) <= DESCRIPTION_LIMIT:
        return text + "\n"
    note = f"\n\n(cut to fit the registry: {pointer})\n"
    kept = text[: DESCRIPTION_LIMIT - len(note)].rsplit("\n", 1)[0]
    return kept + note


def registered_version(model_uri: str) -> ModelVersion | None:
    """Return the registered version `model_uri` names; None for `models:/m-...`."""
    if not model_uri.startswith("models:/") or model_uri.startswith("models:/m-"):
        return None
    name, _, rest = model_uri.removeprefix("models:/").partition("/")
    client = MlflowClient()
    if "@" in name and not rest:
        name, alias = name.split("@", 1)
        return client.get_model_version_by_alias(name, alias)
    return client.get_model_version(name, rest)


def predicts(info: Any) -> str:
    """Return what `predict` returns, its params and extra methods."""
    lines = [
        "## What it predicts",
        "",
        f"Multiclass, LightGBM. `predict` returns {PREDICTS}.",
    ]
    params = info.signature.params if info.signature else None
    if params:
        listed = ", ".join(
            f"`{param.name}` (default {param.default!r})" for param in params
        )
        lines += ["", f"Params: {listed}."]
    if len(METHODS) > 1:
        lines += ["", "Extra methods, through the `method` param:", ""]
    for name in METHODS[1:]:
        call = json.dumps({"method": name})
        lines.append(f"- `{name}` (params `{call}`): {METHOD_SUMMARIES[name]}")
    return "\n".join(lines)


def inputs(metadata: dict[str, Any]) -> str:
    """Return the columns it expects, their kinds, which are optional."""
    kinds = metadata.get("input_types")
    if not kinds:
        return f"## Inputs\n\n{NOT_RECORDED}"
    optional = set(metadata.get("optional_inputs") or [])
    # The column report keeps the training order, and says how each was read.
    report = {row["column"]: row for row in metadata.get(columns.REPORT_KEY) or []}
    rows = ["| column | kind | | missing | categories kept/seen | notes |"]
    rows.append("| --- | --- | --- | --- | --- | --- |")
    for name in report or kinds:
        read = report.get(name, {})
        kept = (
            f"{read['categories_kept']}/{read['categories_seen']}"
            if "categories_kept" in read
            else ""
        )
        missing = columns.percent(read["missing"]) if "missing" in read else ""
        needed = "optional" if name in optional else "required"
        rows.append(
            f"| {name} | {kinds.get(name, read.get('kind'))} | {needed} | {missing} "
            f"| {kept} | {read.get('notes', '')} |"
        )
    return "\n".join(["## Inputs", "", *rows, "", UNSEEN])


def data(metadata: dict[str, Any]) -> str:
    """Return the data it was trained (or, wrapped, referenced) and evaluated on."""
    facts = metadata.get(lineage.METADATA_KEY) or {}
    first = "reference" if facts.get("made_by") == "wrap" else "training"
    lines = ["## Data", ""]
    for context in (first, "evaluation"):
        name = facts.get(f"{context}_data")
        if name is None:
            lines.append(f"- {context}: {NOT_RECORDED}")
            continue
        lines.append(
            f"- {context}: {name}, {facts.get(f'{context}_rows')} rows, "
            f"sha256 {facts.get(f'{context}_sha256')}"
        )
    return "\n".join(lines)


def measured(metadata: dict[str, Any], metrics: dict[str, float]) -> str:
    """Return the metrics of its run: held out, or on a wrapped model's data."""
    facts = metadata.get(lineage.METADATA_KEY) or {}
    wrapped = facts.get("made_by") == "wrap"
    held_out = str(facts.get("evaluation_data", "")).startswith("held-out rows")
    heading = (
        "Held-out metrics"
        if held_out or not facts
        else "Metrics on the evaluation data"
    )
    tested = {
        name: value for name, value in metrics.items() if name.startswith("test_")
    }
    if not tested:
        reason = "wrapped without --data" if wrapped else "none logged"
        return f"## {heading}\n\nnone: {reason}"
    rows = [f"| {name} | {value:.4f} |" for name, value in sorted(tested.items())]
    note = []
    if wrapped:
        note = [
            "",
            "The model was trained elsewhere: these rows may include its "
            "training rows, so the numbers may be optimistic.",
        ]
    return "\n".join(
        [f"## {heading}", "", "| metric | value |", "| --- | --- |", *rows, *note]
    )


def promotion(version: ModelVersion | None, decided: dict[str, str] | None) -> str:
    """Return the promotion decision: both models' numbers and the reason."""
    if version is None:
        return "## Promotion\n\nnot a registered version: give models:/NAME/VERSION"
    tags = {**(version.tags or {}), **(decided or {})}
    if "promotion.decision" not in tags:
        return f"## Promotion\n\n{NOT_RECORDED}"
    lines = [
        "## Promotion",
        "",
        f"- decision: {tags['promotion.decision']}",
        f"- reason: {tags.get('promotion.reason', 'n/a')}",
        f"- metric: {tags.get('promotion.metric', '')}",
        f"- this version: {tags.get('promotion.challenger_value', 'n/a')}",
    ]
    if "promotion.floor" in tags:
        lines.append(
            f"- floor: {tags['promotion.floor']}; this version "
            f"{tags.get('promotion.floor_value', 'not evaluated')}"
        )
    if "promotion.champion_version" in tags:
        lines.append(
            f"- champion version {tags['promotion.champion_version']}: "
            f"{tags.get('promotion.champion_value', 'n/a')}"
        )
    lines.append(f"- evaluation rows: {tags.get('promotion.eval_rows', 'n/a')}")
    return "\n".join(lines)


def drift_brief(metadata: dict[str, Any]) -> str:
    """Return the drift profile in brief (a wrapped model's: of its reference)."""
    stored = metadata.get(drift.PROFILE_KEY)
    if stored is None:
        return f"## Drift profile\n\nnone: {NO_PROFILE}"
    profile = json.loads(stored)
    kinds: dict[str, int] = {}
    for summary in profile["features"].values():
        kinds[summary["kind"]] = kinds.get(summary["kind"], 0) + 1
    counted = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    facts = metadata.get(lineage.METADATA_KEY) or {}
    data = "reference" if facts.get("made_by") == "wrap" else "training"
    return (
        "## Drift profile\n\n"
        f"{profile['rows']} {data} rows profiled ({counted} features) and the "
        "predictions on the evaluation data; `score --drift` compares scored "
        "data with it."
    )


def lineage_list(metadata: dict[str, Any]) -> str:
    """Every lineage fact."""
    facts = metadata.get(lineage.METADATA_KEY)
    if not facts:
        return f"## Lineage\n\n{NOT_RECORDED}"
    return "\n".join(
        ["## Lineage", "", *(f"- {key}: {value}" for key, value in facts.items())]
    )


def requests(info: Any, version: ModelVersion | None) -> str:
    """Return requests that work as written: pyfunc, REST and V2."""
    uri = f"models:/{version.name}/{version.version}" if version else info.model_uri
    lines = [
        "## How to call it",
        "",
        "```python",
        "import mlflow",
        "",
        f'model = mlflow.pyfunc.load_model("{uri}")',
        "model.predict(frame)  # a pandas DataFrame of the inputs above",
        "```",
    ]
    example = serving_example(info)
    if example is None:
        return "\n".join([*lines, "", "No serving input example was logged."])
    lines += [
        "",
        f"`mlflow models serve -m {uri}` answers this request:",
        "",
        "```bash",
        f"curl -s {SERVE_URL} -H 'Content-Type: application/json' -d '",
        example,
        "'",
        "```",
    ]
    kinds = (info.metadata or {}).get("input_types") or {}
    lines += [
        "",
        "The same rows over the V2 protocol, from the folder that",
        f"`python -m {__package__}.kserve --model-uri {uri} --output serving`",
        "writes and `MLSERVER_HTTP_PORT=8080 mlserver start serving` serves:",
        "",
        "```bash",
        f"curl -s {V2_URL} -H 'Content-Type: application/json' -d '",
        json.dumps(v2_request(json.loads(example), kinds), separators=(",", ":")),
        "'",
        "```",
    ]
    return "\n".join(lines)


def serving_example(info: Any) -> str | None:
    """Return the logged `serving_input_example.json`, compact; None if absent."""
    with tempfile.TemporaryDirectory() as directory:
        try:
            location = (
                mlflow.get_logged_model(info.model_id).artifact_location
                if info.model_id
                else info.model_uri
            )
            path = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{location}/serving_input_example.json",
                dst_path=directory,
            )
        except (MlflowException, OSError):
            return None
        return json.dumps(json.loads(Path(path).read_text()), separators=(",", ":"))


def publish(
    model_uri: str,
    run_id: str,
    version: str | None,
    name: str,
    decided: dict[str, str] | None = None,
) -> str:
    """Log the card to the run; set it as the registered version's description.

    The description is the card shortened to what the registry holds
    (`description`); the artifact is the whole card. `decided`: see `sections`.
    """
    parts = sections(f"models:/{name}/{version}" if version else model_uri, decided)
    text = joined(parts)
    client = MlflowClient()
    client.log_text(run_id, text, CARD_ARTIFACT)
    if version:
        client.update_model_version(
            name, version, description=description(parts, run_id)
        )
    return text


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: print the card."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-uri", required=True, help="the logged model")
    args = parser.parse_args(argv)
    without_progress_bars()
    try:
        text = render(args.model_uri)
    except (MlflowException, OSError) as error:
        print(f"error: {first_line(error)}", file=sys.stderr)
        raise SystemExit(2) from None
    print(text, end="")


if __name__ == "__main__":
    main()
