"""A model trained elsewhere, read for `wrap`: its file, contract and labels.

The input contract comes from the model file itself (`estimator.contract`),
completed by reference data where the file leaves something out; nothing here
logs anything.
"""

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..model import estimator
from ..model.contract import Contract, InputError, listed
from ..model.kinds import (
    category_text,
    frequent_categories,
    kinds_of,
    to_numbers,
)
from .data import DataError
from .pipeline import INPUT_EXAMPLE_ROWS

#: The task and framework this project was generated for.
TASK = "binary"
FRAMEWORK = "sklearn"
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


def read_model(
    path: Path, trust_types: Sequence[str] = ()
) -> tuple[estimator.NativeModel, Contract]:
    """Load the model file and read its contract; refuse what does not fit."""
    if not path.is_file():
        raise WrapError(f"--model {path} does not exist")
    try:
        native = estimator.load_trained(path, trust_types)
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
