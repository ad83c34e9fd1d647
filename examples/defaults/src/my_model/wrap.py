"""Wrap a model trained elsewhere as this project's model, log and register it.

    python -m my_model.wrap --model FILE
        [--data PATH.csv|.parquet --target COLUMN] [--exclude COLUMN ...]
        [--optional COLUMN ...] [--eval-data PATH] [--promote auto|always|never]
        [--classes LABEL ...]
        [--missing-category TOKEN]
        [--typed-signature] [--experiment NAME] [--registered-model-name NAME]

The input contract comes from the model file itself (`estimator.contract`):
its features in order, which are categorical and their categories in the
model's own order. `--data` is optional reference data: with it the model
is evaluated and profiled for drift; without it, it is logged from the file
alone. The model is then logged exactly as `train` logs one. The last line
printed is the URI of the logged model; any problem is one line on stderr,
exit 2, and leaves nothing logged or registered.

Class labels are never guessed: they are the model's own, or the labels
`--classes` gives its classes 0, 1, ... in order; a target in `--data` with
labels the model does not know is refused.
"""

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models.model import ModelInfo

from .errors import without_progress_bars
from .making import columns, lineage
from .making.evaluation import log_evaluation
from .making.logged_model import log_model
from .model import Model, estimator
from .model.preprocessing import (
    Contract,
    InputError,
    Preprocessor,
    category_text,
    frequent_categories,
    kinds_of,
    listed,
    to_numbers,
)
from .registry import promotion
from .scoring import drift
from .train import (
    DEFAULT_EXPERIMENT,
    DEFAULT_REGISTERED_MODEL_NAME,
    DEFAULT_TARGET,
    INPUT_EXAMPLE_ROWS,
    DataError,
    check_columns,
    evaluation_data,
    load_data,
    log_dataset,
    logger,
    model_signature,
    publish_version,
    show_progress,
    typical_rows,
)

#: The task and framework this project was generated for.
TASK = "binary"
FRAMEWORK = "xgboost"
#: The file suffixes each framework's own API writes: a file this project's
#: framework cannot read is named by the answer it would need.
MODEL_SUFFIXES = {
    ".json": "xgboost",
    ".ubj": "xgboost",
    ".txt": "lightgbm",
    ".cbm": "catboost",
    ".skops": "sklearn",
}


class WrapError(DataError):
    """The model file cannot be wrapped as this project's model."""


def read_model(path: Path) -> tuple[estimator.NativeModel, Contract]:
    """Load the model file and read its contract; refuse what does not fit."""
    if not path.is_file():
        raise WrapError(f"--model {path} does not exist")
    try:
        native = estimator.load_trained(path)
        contract = estimator.contract(native)
    except ValueError as error:
        other = MODEL_SUFFIXES.get(path.suffix, FRAMEWORK)
        if other != FRAMEWORK:
            raise WrapError(
                f"{path.name} looks like a {other} model; this project's framework "
                f"is {FRAMEWORK!r}: generate a project with framework={other} to "
                "wrap it"
            ) from None
        raise WrapError(str(error)) from None
    if contract.task != TASK:
        raise WrapError(
            f"{path.name} is a {contract.task} model; this project's task is "
            f"{TASK!r}: generate a project with task={contract.task} to wrap it"
        )
    return native, contract


def labelled(
    contract: Contract, labels: pd.Series | None, classes: Sequence[str] = ()
) -> list:
    """Return the class labels in the model's order: never a guess.

    They are the labels `classes` (`--classes`) gives the model's classes
    0, 1, ... in order, or else the model's own (`contract.classes`; a model
    that knows its classes only as 0..n-1 keeps those numbers). A model that
    keeps labels of its own, other than 0..n-1, takes no others. Every label
    of `labels` (the reference data's target) must be one of them, compared
    as text; the labels take the data's type (1 for "1").
    """
    own = contract.classes
    count = len(own)
    if classes and (len(classes) != count or len(set(classes)) != count):
        raise WrapError(
            f"--classes {list(classes)}: the model has {count} classes; give each "
            "one's label once, class 0's first"
        )
    numbered = own == list(range(count))
    if (
        classes
        and not numbered
        and list(map(category_text, classes)) != list(map(category_text, own))
    ):
        raise WrapError(
            f"--classes {list(classes)}: the model keeps its own labels {own}, "
            "in that order; leave --classes out"
        )
    chosen = list(classes) or own
    if labels is None:
        return chosen
    distinct = labels.dropna().drop_duplicates().tolist()
    found = {category_text(label): label for label in distinct}
    unknown = sorted(set(found) - set(map(category_text, chosen)))
    if unknown:
        hint = (
            ""
            if classes or not numbered
            else "; give the label of each of the model's classes 0, 1, ... in "
            f"order: --classes LABEL_0 ... LABEL_{count - 1}"
        )
        raise WrapError(
            f"the data's target has labels {unknown} that are not the model's "
            f"classes {chosen}{hint}"
        )
    return [found.get(category_text(label), label) for label in chosen]


def example(contract: Contract, rows: int = INPUT_EXAMPLE_ROWS) -> pd.DataFrame:
    """Return an input example from the contract alone: zeros, first categories."""
    columns = {}
    for name in contract.features:
        known = contract.categories.get(name)
        if name not in contract.categories:
            columns[name] = [0.0] * rows
        else:
            columns[name] = [known[0] if known else None] * rows
    return pd.DataFrame(columns)


def check_numbers(contract: Contract, features: pd.DataFrame, flag: str) -> None:
    """Refuse a number feature whose data holds text, naming the column."""
    for name in contract.features:
        if name in contract.categories or name not in features.columns:
            continue
        try:
            to_numbers(name, features[name], contract.kinds.get(name, "number"))
        except InputError as error:
            raise WrapError(f"{flag}: {error.message}") from None


def check_missing_category(contract: Contract, token: str | None) -> None:
    """Refuse a `--missing-category` the model cannot have been given.

    The model must have categorical features, and when it keeps their
    categories, the token must be one of them: a notebook that filled gaps
    with it trained the model on it. Gaps in the data are fine: they are
    the gaps the notebook filled.
    """
    if token is None:
        return
    if not contract.categories:
        raise WrapError("--missing-category: the model has no categorical feature")
    known = {name: values for name, values in contract.categories.items() if values}
    if known and not any(token in values for values in known.values()):
        shown = "; ".join(
            f"{name}: {listed(values)}" for name, values in list(known.items())[:3]
        )
        raise WrapError(
            f"--missing-category {token!r} is not a category the model knows ({shown})"
        )


def with_data_categories(contract: Contract, features: pd.DataFrame) -> Contract:
    """Fill in the categories a model that encodes its own inputs did not keep.

    They come from the reference data, by frequency (`Preprocessor.fit`'s
    rule): the model reads the text anyway, and the drift profile counts them.
    """
    categories = dict(contract.categories)
    for name, known in contract.categories.items():
        if not known and name in features.columns:
            counts = frequent_categories(features[name])
            categories[name] = counts.index[: estimator.MAX_CATEGORIES].tolist()
    return replace(contract, categories=categories)


def with_data_kinds(contract: Contract, features: pd.DataFrame) -> Contract:
    """Mark the number features the reference data holds as booleans.

    The model reads them as 1/0; marked, they also take "true"/"false" text
    and gaps, as a trained model's booleans do.
    """
    try:
        read = kinds_of(features)
    except ValueError as error:
        raise WrapError(f"--data: {error}") from None
    kinds = {
        name: "boolean"
        for name, kind in read.items()
        if kind == "boolean" and name not in contract.categories
    }
    return replace(contract, kinds=kinds) if kinds else contract


def wrap(
    model_file: Path,
    data: Path | None = None,
    target: str = DEFAULT_TARGET,
    experiment: str = DEFAULT_EXPERIMENT,
    registered_model_name: str = DEFAULT_REGISTERED_MODEL_NAME,
    exclude: Sequence[str] = (),
    optional: Sequence[str] = (),
    eval_data: Path | None = None,
    promote: str = "auto",
    typed_signature: bool = False,
    classes: Sequence[str] = (),
    missing_category: str | None = None,
) -> ModelInfo:
    """Wrap `model_file`, log it as `train` logs a model; register it when named.

    Everything is checked before anything is logged: an error leaves no run,
    no model and no registered version.
    """
    native, contract = read_model(model_file)
    check_columns("--optional", optional, contract.features)
    features = labels = None
    if data is not None:
        features, labels = load_data(data, target, exclude)
        missing = [
            name
            for name in contract.features
            if name not in features.columns and name not in optional
        ]
        if missing:
            raise WrapError(f"--data {data} lacks the model's feature(s) {missing}")
        features = features.reindex(columns=contract.features)
    if eval_data is not None:
        if features is None:
            raise WrapError("--eval-data needs --data (the reference data)")
        eval_features, eval_labels = evaluation_data(
            eval_data, target, exclude, features, optional, seen="reference"
        )
    else:
        eval_features, eval_labels = features, labels
    if features is not None:
        contract = with_data_kinds(contract, features)
        check_numbers(contract, features, f"--data {data}")
        if eval_data is not None:
            check_numbers(contract, eval_features, f"--eval-data {eval_data}")
    check_missing_category(contract, missing_category)
    if contract.raw and features is not None:
        contract = with_data_categories(contract, features)
    preprocessor = Preprocessor(
        features=contract.features,
        categories=contract.categories,
        optional=[name for name in contract.features if name in optional],
        classes=labelled(contract, labels, classes),
        raw=contract.raw,
        kinds=contract.kinds,
        missing_category=missing_category,
    )
    report = []
    if features is not None:
        report = columns.report(features, preprocessor)
        logger.info(columns.table(report))
    model = Model(preprocessor, native)
    sample = (
        preprocessor.canonical(features.head(100))
        if features is not None
        else example(contract)
    )
    signature = model_signature(model, sample, typed_signature)
    metadata = {
        "wrapped_file": model_file.name,
        "wrapped_sha256": lineage.sha256(model_file),
    }
    facts = lineage.collect(
        "wrap",
        (data or f"none (the model file {model_file.name} alone)", rows_of(features)),
        None if eval_features is None else (eval_data or data, rows_of(eval_features)),
    )
    logged = {columns.REPORT_KEY: report} if report else {}
    logged[lineage.METADATA_KEY] = facts
    mlflow.set_experiment(experiment)
    with mlflow.start_run():
        mlflow.log_params(metadata)
        lineage.tag_run(facts)
        metrics: dict[str, float] = {}
        digest = ""
        if features is not None:
            log_dataset(features, labels, str(data), "reference")
            digest = log_dataset(
                eval_features, eval_labels, str(eval_data or data), "evaluation"
            )
            try:
                metrics = log_evaluation(model, eval_features, eval_labels)
            except ValueError as error:
                raise DataError(f"cannot evaluate: {error}") from error
            metadata.update(
                drift.as_metadata(drift.profile(model, features, labels, eval_features))
            )
            mlflow.log_text(columns.table(report), columns.REPORT_ARTIFACT)
        info = log_model(
            model,
            signature=signature,
            input_example=typical_rows(preprocessor, features, typed_signature)
            if features is not None
            else sample,
            registered_model_name=registered_model_name or None,
            metadata={**metadata, **logged},
        )
    for name, value in metrics.items():
        logger.info(f"{name}: {value:.4f}")
    publish_version(
        info,
        registered_model_name,
        facts,
        model,
        pd.DataFrame(columns=contract.features)
        if eval_features is None
        else eval_features,
        pd.Series(dtype=object) if eval_labels is None else eval_labels,
        metrics,
        promote,
        digest,
    )
    return info


def rows_of(frame: pd.DataFrame | None) -> int:
    """Return the rows of `frame`; 0 for no data."""
    return 0 if frame is None else len(frame)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        type=Path,
        required=True,
        help="the fitted model, saved with its framework's own API "
        "(XGBoost .json or .ubj from save_model)",
    )
    parser.add_argument("--data", type=Path, help="reference data, CSV or Parquet")
    parser.add_argument(
        "--target", default=DEFAULT_TARGET, help="target column (default: %(default)s)"
    )
    parser.add_argument(
        "--exclude",
        nargs="+",
        action="extend",
        default=[],
        metavar="COLUMN",
        help="columns of --data that are not features, such as ids",
    )
    parser.add_argument(
        "--optional",
        nargs="+",
        action="extend",
        default=[],
        metavar="COLUMN",
        help="features a request may leave out (scored as missing)",
    )
    parser.add_argument(
        "--eval-data",
        type=Path,
        help="CSV or Parquet file to evaluate on (default: --data)",
    )
    parser.add_argument(
        "--promote",
        choices=promotion.MODES,
        default="auto",
        help="auto: @champion only if at least as good as the current one; "
        "always; never (default: %(default)s)",
    )
    parser.add_argument(
        "--classes",
        nargs="+",
        default=[],
        metavar="LABEL",
        help="the label of each of the model's classes 0, 1, ... in order "
        "(for a model that knows them only as numbers)",
    )
    parser.add_argument(
        "--missing-category",
        metavar="TOKEN",
        help="the text the notebook filled categorical gaps with: a missing "
        "category is given to the model as it",
    )
    parser.add_argument(
        "--typed-signature",
        action="store_true",
        help="declare the input columns as double and string in the signature",
    )
    parser.add_argument(
        "--experiment",
        default=DEFAULT_EXPERIMENT,
        help="MLflow experiment (default: %(default)s)",
    )
    parser.add_argument(
        "--registered-model-name",
        default=DEFAULT_REGISTERED_MODEL_NAME,
        help='registry name; "" skips registration (default: %(default)r)',
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: print the logged model's URI last."""
    args = parse_args(argv)
    without_progress_bars()
    show_progress()
    try:
        info = wrap(
            args.model,
            args.data,
            args.target,
            args.experiment,
            args.registered_model_name,
            exclude=args.exclude,
            optional=args.optional,
            eval_data=args.eval_data,
            promote=args.promote,
            typed_signature=args.typed_signature,
            classes=args.classes,
            missing_category=args.missing_category,
        )
    except (DataError, promotion.PromotionError) as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(info.model_uri)


if __name__ == "__main__":
    main()
