"""Train the model, evaluate it, log it to MLflow and register it.

    python -m wine_grade.train
        [--data PATH.csv|.parquet] [--target COLUMN]
        [--exclude COLUMN ...] [--optional COLUMN ...]
        [--eval-data PATH.csv|.parquet] [--promote auto|always|never]
        [--typed-signature] [--max-categories N]
        [--experiment NAME] [--registered-model-name NAME]

Tracking goes to MLFLOW_TRACKING_URI when set, otherwise to MLflow's default
(a SQLite file in the working directory). A registered version is @challenger
and becomes @champion as registry/gate.py decides. The last line printed
is the URI of the logged model; a problem with the data is one line on stderr,
exit 2.
"""

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from mlflow.models.model import ModelInfo

from .errors import show_progress, without_progress_bars
from .making import columns, lineage
from .making.data import DataError, check_columns, evaluation_data, load_data
from .making.pipeline import Candidate, Rows, log_candidate, typical_rows
from .model import Model, estimator
from .model.preprocessing import Preprocessor
from .registry import promotion, rows

DEFAULT_TARGET = "target"
DEFAULT_EXPERIMENT = "wine_grade"
#: Registry name used when --registered-model-name is not given ("" = don't register).
DEFAULT_REGISTERED_MODEL_NAME = "wine_grade"
TEST_SIZE = 0.2

logger = logging.getLogger(__name__)


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
    `pipeline.model_signature` for `typed_signature`. The logged model's metadata holds
    a drift profile of the training data (`drift.profile`) and the column
    report (`columns.report`), which is printed before the model is fitted:
    a data error found by then leaves no run behind.
    """
    features, labels = load_data(data, target, exclude)
    check_columns("--optional", optional, list(features.columns))
    source = str(data) if data else f"{promotion.DEMO_SOURCE}load_wine"
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
    facts = lineage.collect(
        "train",
        (data or source, len(train_features)),
        (eval_data or eval_source, len(eval_features)),
    )
    estimator.autolog()
    return log_candidate(
        Candidate(
            preprocessor=preprocessor,
            sample=preprocessor.canonical(train_features.head(100), typed_signature),
            input_example=typical_rows(preprocessor, train_features, typed_signature),
            facts=facts,
            fit=lambda: fit_estimator(preprocessor, train_features, train_labels),
            data=Rows(train_features, train_labels, source),
            evaluation=Rows(eval_features, eval_labels, eval_source),
            typed_signature=typed_signature,
            report=report,
            metadata={promotion.TRAINING_DATA_KEY: data.name if data else source},
        ),
        experiment,
        registered_model_name,
        promote,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        help="CSV or Parquet file (default: the bundled wine dataset)",
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


if __name__ == "__main__":
    main()
