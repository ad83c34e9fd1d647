"""One pipeline for every model the package logs.

`train` fits a model and `wrap` reads one from a file; both hand it here as a
`Candidate`.

`log_candidate` runs the same sequence for both: the run's params and lineage
tags, the data, the column report, the model, the evaluation, the drift
profile, the logged model; then the card, the registry's lineage tags and the
promotion decision (`publish_version`).
"""

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.models.model import ModelInfo

from .. import card
from ..model import Model
from ..model.kinds import frequent_categories
from ..model.preprocessing import Preprocessor
from ..registry import promotion, rows
from ..scoring import drift
from . import columns, lineage
from .data import DataError
from .evaluation import log_evaluation
from .logged_model import log_model

#: The logged input example's rows: each number's and date's quantile, each
#: string's next most common category (`typical_rows`).
EXAMPLE_QUANTILES = (0.5, 0.25, 0.75)
INPUT_EXAMPLE_ROWS = len(EXAMPLE_QUANTILES)
#: Fewest rows a category of the input example must hold.
EXAMPLE_MIN_ROWS = 5

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rows:
    """Features and labels a model is made or evaluated with, and their source."""

    features: pd.DataFrame
    labels: pd.Series
    source: str


@dataclass(frozen=True)
class Candidate:
    """A model to log, with what its run records.

    `fit` makes the model inside the run (training, which autologs there);
    a model made already (wrapped) is `model`, and its signature is built
    before the run, so an error in it leaves nothing logged. `data` is what
    it was trained on ("training") or, wrapped, its reference data
    ("reference"); `evaluation` the rows it is evaluated and promoted on.
    """

    preprocessor: Preprocessor
    sample: pd.DataFrame
    input_example: pd.DataFrame
    facts: dict[str, str]
    fit: Callable[[], Model] | None = None
    model: Model | None = None
    data: Rows | None = None
    data_context: str = "training"
    evaluation: Rows | None = None
    typed_signature: bool = False
    report: list = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


def log_candidate(
    candidate: Candidate, experiment: str, registered_model_name: str, promote: str
) -> ModelInfo:
    """Log `candidate` in a run of `experiment`; register it when named.

    A registered version takes @champion as `promotion.promote` decides in
    mode `promote`.
    """
    signature = None
    if candidate.model is not None:
        signature = model_signature(
            candidate.model, candidate.sample, candidate.typed_signature
        )
    metadata = dict(candidate.metadata)
    if candidate.report:
        metadata[columns.REPORT_KEY] = candidate.report
    metadata[lineage.METADATA_KEY] = candidate.facts
    metrics: dict[str, float] = {}
    digest = ""
    mlflow.set_experiment(experiment)
    with mlflow.start_run():
        if candidate.params:
            mlflow.log_params(candidate.params)
        lineage.tag_run(candidate.facts)
        data, evaluation = candidate.data, candidate.evaluation
        if data is not None:
            log_dataset(data, candidate.data_context)
        if evaluation is not None:
            digest = log_dataset(evaluation, "evaluation")
        if candidate.report:
            mlflow.log_text(columns.table(candidate.report), columns.REPORT_ARTIFACT)
        if candidate.model is None:
            model = candidate.fit()
            if data is not None:
                rows.log_training_rows(data.features, model.preprocessor.input_types())
        else:
            model = candidate.model
        if data is not None and evaluation is not None:
            metrics = evaluate(model, evaluation)
            profile = drift.profile(
                model, data.features, data.labels, evaluation.features
            )
            metadata.update(drift.as_metadata(profile))
        info = log_model(
            model,
            signature=signature
            or model_signature(model, candidate.sample, candidate.typed_signature),
            input_example=candidate.input_example,
            registered_model_name=registered_model_name or None,
            metadata=metadata,
        )
    for name, value in metrics.items():
        logger.info(f"{name}: {value:.4f}")
    if evaluation is None:
        features = pd.DataFrame(columns=candidate.preprocessor.features)
        evaluation = Rows(features, pd.Series(dtype=object), "")
    publish_version(
        info,
        registered_model_name,
        candidate.facts,
        model,
        evaluation.features,
        evaluation.labels,
        metrics,
        promote,
        digest,
    )
    return info


def evaluate(model: Model, evaluation: Rows) -> dict[str, float]:
    """Log the evaluation of `model` on `evaluation` in the active run."""
    try:
        return log_evaluation(model, evaluation.features, evaluation.labels)
    except ValueError as error:
        raise DataError(f"cannot evaluate: {error}") from error


def model_signature(
    model: Model, sample: pd.DataFrame, typed: bool = False
) -> ModelSignature:
    """Build the signature: outputs and params inferred, inputs per `typed`.

    By default it declares no inputs, so MLflow hands every frame to the model,
    which checks the input contract itself at its own speed. `typed` declares
    `double` and `string` columns, for registries that need them; MLflow then
    refuses integer columns in-process before the model sees them.
    """
    params = model.default_params()
    with warnings.catch_warnings():
        # MLflow's hint that integer columns cannot hold missing values is about
        # inputs; these are the model's own outputs, which have none.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains int")
        inferred = infer_signature(
            model_output=model.predict(sample, params), params=params
        )
    inputs = model.preprocessor.input_schema() if typed else None
    return ModelSignature(inputs, inferred.outputs, inferred.params)


def typical_rows(
    preprocessor: Preprocessor, features: pd.DataFrame, typed: bool = False
) -> pd.DataFrame:
    """Return an input example of typical values, not of training records.

    Row i holds each number's and date's quantile EXAMPLE_QUANTILES[i], each
    string's i-th most common category and each boolean's most common value,
    in the form `Preprocessor.canonical` gives (see `typed` there): the
    logged example, the card and the README's requests show no one's data.
    """
    canonical = preprocessor.canonical(features)
    columns: dict[str, list] = {}
    for name, kind in preprocessor.input_types().items():
        values = canonical[name].dropna()
        if values.empty:
            columns[name] = [None] * INPUT_EXAMPLE_ROWS
        elif kind == "number":
            columns[name] = [float(values.quantile(q)) for q in EXAMPLE_QUANTILES]
        elif kind == "date":
            dates = pd.to_datetime(values, format="ISO8601")
            columns[name] = [
                dates.quantile(q).strftime("%Y-%m-%dT%H:%M:%S")
                for q in EXAMPLE_QUANTILES
            ]
        elif kind == "string":
            columns[name] = common_categories(preprocessor, features[name])
        else:
            columns[name] = [values.mode().iloc[0]] * INPUT_EXAMPLE_ROWS
    return preprocessor.canonical(pd.DataFrame(columns), typed)


def common_categories(preprocessor: Preprocessor, column: pd.Series) -> list:
    """Return INPUT_EXAMPLE_ROWS categories of `column` that many rows share.

    The most common first, each held by EXAMPLE_MIN_ROWS rows or more (a
    category of one row is a record's value, such as an e-mail address);
    missing (None) where none is. Only categories the model knows.
    """
    known = set(preprocessor.categories.get(str(column.name)) or [])
    counts = frequent_categories(column)
    common = [
        category
        for category, rows in counts.items()
        if rows >= EXAMPLE_MIN_ROWS and (category in known or not known)
    ]
    if not common:
        return [None] * INPUT_EXAMPLE_ROWS
    return [common[i % len(common)] for i in range(INPUT_EXAMPLE_ROWS)]


def log_dataset(data: Rows, context: str) -> str:
    """Log features and labels as an input of the active run; return its digest."""
    features, target = data.features, data.labels
    with warnings.catch_warnings():
        # A path resolves to the same local source type twice over; integer
        # columns are the data's own.
        warnings.filterwarnings("ignore", message=".*interpreted in multiple ways")
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains int")
        dataset = mlflow.data.from_pandas(
            features.assign(**{str(target.name): target.to_numpy()}),
            source=data.source,
            name=context,
            targets=str(target.name),
        )
        mlflow.log_input(dataset, context=context)
    return dataset.digest


def publish_version(
    info: ModelInfo,
    name: str,
    facts: dict[str, str],
    model: Model,
    features: pd.DataFrame,
    labels: pd.Series,
    measured: dict[str, float],
    mode: str,
    digest: str,
) -> None:
    """Log the card; for a registered version, tag its lineage and promote it.

    The lineage tags and the card, which shows the promotion decision, are
    published by `promotion.promote` between the decision's tags and the
    aliases, so a registry error there is its `PromotionError` too.
    """
    if not name:
        card.publish(info.model_uri, info.run_id, None, name)
        return
    version = str(info.registered_model_version)

    def publish(decided: dict[str, str]) -> None:
        lineage.tag_version(name, version, facts)
        card.publish(info.model_uri, info.run_id, version, name, decided)

    promotion.promote(
        name, version, model, features, labels, measured, mode, digest, publish
    )
