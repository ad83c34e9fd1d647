"""Wrap a model trained elsewhere as this project's model, log and register it.

    python -m claim_cost.wrap --model FILE
        [--data PATH.csv|.parquet --target COLUMN] [--exclude COLUMN ...]
        [--optional COLUMN ...] [--eval-data PATH] [--promote auto|always|never]
        [--missing-category TOKEN]
        [--typed-signature] [--experiment NAME] [--registered-model-name NAME]

The input contract comes from the model file itself (`estimator.contract`):
its features in order, which are categorical and their categories in the
model's own order. `--data` is optional reference data: with it the model
is evaluated and profiled for drift; without it, it is logged from the file
alone. The model is then logged exactly as `train` logs one. The last line
printed is the URI of the logged model; any problem is one line on stderr,
exit 2, and leaves nothing logged or registered.
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
from .making.wrapped import (
    WrapError,
    check_missing_category,
    check_numbers,
    example,
    read_model,
    with_data_categories,
    with_data_kinds,
)
from .model import Model
from .model.preprocessing import Preprocessor
from .registry import promotion
from .train import DEFAULT_EXPERIMENT, DEFAULT_REGISTERED_MODEL_NAME, DEFAULT_TARGET

logger = logging.getLogger(__name__)


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
    check_missing_category(
        contract,
        missing_category,
        [frame for frame in (features, eval_features) if frame is not None],
    )
    if contract.raw and features is not None:
        contract = with_data_categories(contract, features)
    preprocessor = Preprocessor(
        features=contract.features,
        categories=contract.categories,
        optional=[name for name in contract.features if name in optional],
        raw=contract.raw,
        kinds=contract.kinds,
        missing_category=missing_category,
    )
    report = []
    if features is not None:
        report = columns.report(features, preprocessor)
        logger.info(columns.table(report))
    model = Model(preprocessor, native)
    facts = lineage.collect(
        "wrap",
        (data or f"none (the model file {model_file.name} alone)", rows_of(features)),
        None if eval_features is None else (eval_data or data, rows_of(eval_features)),
    )
    params = {
        "wrapped_file": model_file.name,
        "wrapped_sha256": lineage.sha256(model_file),
    }
    reference = evaluation = None
    if features is None:
        sample = input_example = example(contract)
    else:
        sample = preprocessor.canonical(features.head(100))
        input_example = typical_rows(preprocessor, features, typed_signature)
        reference = Rows(features, labels, str(data))
        evaluation = Rows(eval_features, eval_labels, str(eval_data or data))
    return log_candidate(
        Candidate(
            preprocessor=preprocessor,
            sample=sample,
            input_example=input_example,
            facts=facts,
            model=model,
            data=reference,
            data_context="reference",
            evaluation=evaluation,
            typed_signature=typed_signature,
            report=report,
            params=params,
            metadata=dict(params),
        ),
        experiment,
        registered_model_name,
        promote,
    )


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
        "(CatBoost .cbm from save_model)",
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
            missing_category=args.missing_category,
        )
    except (DataError, promotion.PromotionError) as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(info.model_uri)


if __name__ == "__main__":
    main()
