"""Train the model, evaluate it, log it to MLflow and register it.

    python -m my_model.train
        [--data PATH.csv|.parquet] [--target COLUMN]
        [--exclude COLUMN ...] [--optional COLUMN ...]
        [--eval-data PATH.csv|.parquet] [--promote auto|always|never]
        [--typed-signature] [--max-categories N]
        [--experiment NAME] [--registered-model-name NAME]

Tracking goes to MLFLOW_TRACKING_URI when set, otherwise to MLflow's default
(a SQLite file in the working directory). A registered version is @challenger
and becomes @champion as registry/promotion.py decides. The last line printed
is the URI of the logged model; a problem with the data is one line on stderr,
exit 2.
"""

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.models.model import ModelInfo
from sklearn.datasets import load_breast_cancer

from . import card
from .errors import first_line, without_progress_bars
from .making import columns, lineage
from .making.evaluation import log_evaluation
from .making.logged_model import log_model
from .model import Model, estimator
from .model.preprocessing import Preprocessor, frequent_categories, kinds_of
from .registry import promotion, rows
from .scoring import drift

DEFAULT_TARGET = "target"
DEFAULT_EXPERIMENT = "my_model"
#: Registry name used when --registered-model-name is not given ("" = don't register).
DEFAULT_REGISTERED_MODEL_NAME = "my_model"
TEST_SIZE = 0.2
#: The logged input example's rows: each number's and date's quantile, each
#: string's next most common category (`typical_rows`).
EXAMPLE_QUANTILES = (0.5, 0.25, 0.75)
INPUT_EXAMPLE_ROWS = len(EXAMPLE_QUANTILES)
#: Fewest rows a category of the input example must hold.
EXAMPLE_MIN_ROWS = 5

logger = logging.getLogger(__name__)


class DataError(ValueError):
    """The training data cannot be used as given."""


def load_data(
    path: Path | None, target: str, exclude: Sequence[str] = (), flag: str = "--data"
) -> tuple[pd.DataFrame, pd.Series]:
    """Read features and target from a CSV or Parquet file, or the bundled data.

    Rows without a target are dropped (and counted on stdout); `exclude` names
    columns, such as ids, that are not features.
    """
    if path is None:
        frame = load_breast_cancer(as_frame=True).frame
        source = "the bundled dataset"
    else:
        frame = read_table(path, flag)
        source = str(path)
    if target not in frame.columns:
        raise DataError(
            f"Target column {target!r} is not in {source}; "
            f"columns: {list(frame.columns)}"
        )
    check_columns(
        "--exclude", exclude, [name for name in frame.columns if name != target]
    )
    unlabelled = int(frame[target].isna().sum())
    if unlabelled:
        logger.info(
            f"dropped {unlabelled} of {len(frame)} rows without a {target!r} value"
        )
        frame = frame.dropna(subset=[target])
    if frame.empty:
        raise DataError(f"{source} has no rows with a {target!r} value")
    labels = frame[target]
    if labels.dtype.kind == "f" and (labels % 1 == 0).all():
        # A blank label made pandas read whole-number labels as floats: they
        # stay the integers the file holds (output column "1", not "1.0").
        frame = frame.assign(**{target: labels.astype(np.int64)})
    if frame[target].nunique() != 2:
        raise DataError(
            f"Binary classification needs exactly 2 classes in {target!r}; "
            f"found {frame[target].nunique()}"
        )
    return frame.drop(columns=[target, *exclude]), frame[target]


def check_columns(flag: str, names: Sequence[str], allowed: list[str]) -> None:
    """Refuse `names` given with `flag` that are not among the `allowed` columns."""
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise DataError(
            f"{flag} {unknown} must name feature columns; features: {allowed}"
        )


def read_table(path: Path, flag: str = "--data") -> pd.DataFrame:
    """Read a CSV or Parquet file, refusing anything else with a `DataError`."""
    if path.suffix not in (".csv", ".parquet", ".pq"):
        raise DataError(f"{flag} must be a .csv or .parquet file; got {path}")
    if not path.is_file():
        raise DataError(f"{flag} {path} does not exist")
    try:
        if path.suffix == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except (OSError, ValueError) as error:
        raise DataError(f"cannot read {path}: {first_line(error)}") from error


def split(
    features: pd.DataFrame, target: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """Hold out about TEST_SIZE of the rows: train and test features, train and test y.

    A row is held out by the hash of its feature values (`rows.held_out`), not
    by a random draw: it is held out whatever the file's order or size, so a
    later training on a grown or shuffled file holds out what this one did.
    """
    try:
        test = rows.held_out(features, TEST_SIZE)
    except ValueError as error:  # a column of a type no feature can have
        raise DataError(str(error)) from error
    labels = set(target.astype(str))
    for part, name in ((~test, "training"), (test, "held-out")):
        absent = sorted(labels - set(target[part].astype(str)))
        if absent:
            raise DataError(
                f"cannot hold out a test split: no {name} row has the "
                f"{target.name!r} value(s) {absent}; pass --eval-data"
            )
    return features[~test], features[test], target[~test], target[test]


def fit_model(
    features: pd.DataFrame,
    target: pd.Series,
    optional: Sequence[str] = (),
    max_categories: int = estimator.MAX_CATEGORIES,
) -> Model:
    """Fit the preprocessing and the estimator from `build_estimator`.

    `optional` names the features a request may leave out (scored as missing).
    """
    return fit_estimator(
        fit_preprocessor(features, target, optional, max_categories), features, target
    )


def fit_preprocessor(
    features: pd.DataFrame,
    target: pd.Series,
    optional: Sequence[str] = (),
    max_categories: int = estimator.MAX_CATEGORIES,
) -> Preprocessor:
    """Read each column's kind and learn the categories of string columns.

    A string column with more than `max_categories` categories keeps the most
    common ones; the rest share one more, "other".
    """
    if not 2 <= max_categories <= estimator.MAX_CATEGORIES:
        raise DataError(
            f"--max-categories {max_categories} is out of range: 2 to "
            f"{estimator.MAX_CATEGORIES} (estimator.MAX_CATEGORIES)"
        )
    try:
        return Preprocessor.fit(features, target, optional, max_categories)
    except ValueError as error:
        raise DataError(str(error)) from error


def fit_estimator(
    preprocessor: Preprocessor, features: pd.DataFrame, target: pd.Series
) -> Model:
    """Fit the estimator from `build_estimator` on the encoded `features`."""
    native = estimator.fit(
        estimator.build_estimator(),
        preprocessor.transform(features),
        preprocessor.encode_target(target),
        preprocessor.categorical,
    )
    return Model(preprocessor, native)


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


def train(
    data: Path | None = None,
    target: str = DEFAULT_TARGET,
    experiment: str = DEFAULT_EXPERIMENT,
    registered_model_name: str = DEFAULT_REGISTERED_MODEL_NAME,
    exclude: Sequence[str] = (),
    optional: Sequence[str] = (),
    eval_data: Path | None = None,
    promote: str = "auto",
    typed_signature: bool = False,
    max_categories: int = estimator.MAX_CATEGORIES,
) -> ModelInfo:
    """Train, evaluate and log the model; register it when a name is given.

    It is evaluated on `eval_data` when given (and then trains on all of
    `data`), otherwise on a held-out split; the registered version takes
    @champion as `promotion.promote` decides in mode `promote`. See
    `model_signature` for `typed_signature`. The logged model's metadata holds
    a drift profile of the training data (`drift.profile`) and the column
    report (`columns.report`), which is printed before the model is fitted:
    a data error found by then leaves no run behind.
    """
    features, labels = load_data(data, target, exclude)
    check_columns("--optional", optional, list(features.columns))
    source = str(data) if data else f"{promotion.DEMO_SOURCE}load_breast_cancer"
    if eval_data is None:
        train_features, eval_features, train_labels, eval_labels = split(
            features, labels
        )
        eval_source = f"held-out rows of {data.name if data else source}"
    else:
        train_features, train_labels = features, labels
        eval_features, eval_labels = evaluation_data(
            eval_data, target, exclude, features, optional
        )
        eval_source = str(eval_data)
    preprocessor = fit_preprocessor(
        train_features, train_labels, optional, max_categories
    )
    report = columns.report(train_features, preprocessor)
    logger.info(columns.table(report))
    mlflow.set_experiment(experiment)
    estimator.autolog()
    with mlflow.start_run():
        log_dataset(train_features, train_labels, source, "training")
        digest = log_dataset(eval_features, eval_labels, eval_source, "evaluation")
        mlflow.log_text(columns.table(report), columns.REPORT_ARTIFACT)
        model = fit_estimator(preprocessor, train_features, train_labels)
        rows.log_training_rows(train_features, model.preprocessor.input_types())
        try:
            metrics = log_evaluation(model, eval_features, eval_labels)
        except ValueError as error:
            raise DataError(f"cannot evaluate: {error}") from error
        sample = preprocessor.canonical(train_features.head(100), typed_signature)
        profile = drift.profile(model, train_features, train_labels, eval_features)
        facts = lineage.collect(
            "train",
            (data or source, len(train_features)),
            (eval_data or eval_source, len(eval_features)),
        )
        lineage.tag_run(facts)
        info = log_model(
            model,
            signature=model_signature(model, sample, typed_signature),
            input_example=typical_rows(preprocessor, train_features, typed_signature),
            registered_model_name=registered_model_name or None,
            metadata={
                **drift.as_metadata(profile),
                columns.REPORT_KEY: report,
                promotion.TRAINING_DATA_KEY: data.name if data else source,
                lineage.METADATA_KEY: facts,
            },
        )
    for name, value in metrics.items():
        logger.info(f"{name}: {value:.4f}")
    publish_version(
        info,
        registered_model_name,
        facts,
        model,
        eval_features,
        eval_labels,
        metrics,
        promote,
        digest,
    )
    return info


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


def log_dataset(
    features: pd.DataFrame, target: pd.Series, source: str, context: str
) -> str:
    """Log features and target as an input of the active run; return its digest."""
    with warnings.catch_warnings():
        # A path resolves to the same local source type twice over; integer
        # columns are the data's own.
        warnings.filterwarnings("ignore", message=".*interpreted in multiple ways")
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains int")
        dataset = mlflow.data.from_pandas(
            features.assign(**{str(target.name): target.to_numpy()}),
            source=source,
            name=context,
            targets=str(target.name),
        )
        mlflow.log_input(dataset, context=context)
    return dataset.digest


def evaluation_data(
    path: Path,
    target: str,
    exclude: Sequence[str],
    features: pd.DataFrame,
    optional: Sequence[str],
    seen: str = "training",
) -> tuple[pd.DataFrame, pd.Series]:
    """Read `--eval-data`, refusing it without a required training feature.

    The `exclude` columns (ids) are dropped where the file has them, and so
    are rows of `features` (the `seen` rows: training, or a wrapped model's
    reference data).
    """
    eval_features, eval_labels = load_data(path, target, flag="--eval-data")
    eval_features = eval_features.drop(
        columns=[name for name in exclude if name in eval_features.columns]
    )
    missing = [
        name
        for name in features.columns
        if name not in eval_features.columns and name not in optional
    ]
    if missing:
        raise DataError(f"--eval-data {path} lacks the feature column(s) {missing}")
    # Rows are compared as the model reads them: a date is the same date in a
    # CSV's text and a Parquet timestamp.
    try:
        kinds = kinds_of(features)
    except ValueError as error:
        raise DataError(str(error)) from error
    trained = np.isin(rows.hashes(eval_features, kinds), rows.hashes(features, kinds))
    if trained.all():
        raise DataError(f"every row of --eval-data {path} is also a {seen} row")
    if trained.any():
        logger.info(
            f"left out {trained.sum()} of {len(trained)} --eval-data rows that "
            f"are also {seen} rows"
        )
    return eval_features[~trained], eval_labels[~trained]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        help="CSV or Parquet file (default: the bundled breast cancer dataset)",
    )
    parser.add_argument(
        "--target", default=DEFAULT_TARGET, help="target column (default: %(default)s)"
    )
    parser.add_argument(
        "--exclude",
        nargs="+",
        action="extend",
        default=[],
        metavar="COLUMN",
        help="columns that are not features, such as ids",
    )
    parser.add_argument(
        "--optional",
        nargs="+",
        action="extend",
        default=[],
        metavar="COLUMN",
        help="features a request may leave out (scored as missing); "
        "every other feature is required",
    )
    parser.add_argument(
        "--eval-data",
        type=Path,
        help="CSV or Parquet file to evaluate on and compare with the champion "
        "(default: a held-out 20%% of --data)",
    )
    parser.add_argument(
        "--promote",
        choices=promotion.MODES,
        default="auto",
        help="auto: @champion only if at least as good as the current one; "
        "always; never (default: %(default)s)",
    )
    parser.add_argument(
        "--typed-signature",
        action="store_true",
        help="declare the input columns as double and string in the signature, "
        "for registries that require types (such as Unity Catalog); MLflow then "
        "refuses integer columns in-process: cast them to float first",
    )
    parser.add_argument(
        "--max-categories",
        type=int,
        default=estimator.MAX_CATEGORIES,
        metavar="N",
        help="categories kept per string column; a column with more keeps its "
        "N-1 most common and scores the rest as one more, 'other' "
        "(default: %(default)s)",
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
        info = train(
            args.data,
            args.target,
            args.experiment,
            args.registered_model_name,
            exclude=args.exclude,
            optional=args.optional,
            eval_data=args.eval_data,
            promote=args.promote,
            typed_signature=args.typed_signature,
            max_categories=args.max_categories,
        )
    except (DataError, promotion.PromotionError) as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(info.model_uri)


def show_progress() -> None:
    """Print this package's progress messages (metrics, promotion) on stdout.

    Run with `python -m`, the command's own module logs as `__main__`.
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in (__package__, "__main__"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)


if __name__ == "__main__":
    main()
