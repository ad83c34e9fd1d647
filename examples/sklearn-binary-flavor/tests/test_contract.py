"""The input contract, property-based: whatever a client sends, the model answers
exactly as for the same rows sent as canonical floats and strings, or refuses
with an `MlflowException` that names the column.

Requests are drawn from a fitted model's own schema: columns dropped, added and
reordered, missing values anywhere, every numeric dtype, numbers and unseen
values in string columns, and text in numeric columns.
"""

from collections.abc import Callable
from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow.exceptions import MlflowException

from churn_risk.model import Model
from churn_risk.preprocessing import Preprocessor
from churn_risk.train import fit_model

#: Ways a client may send a numeric column; integer dtypes need whole numbers.
NUMERIC_DTYPES = ("float64", "float32", "Float64", "object")
WHOLE_NUMBER_DTYPES = ("int64", "int32", "Int64")


@dataclass
class Request:
    """A drawn request, the canonical rows it stands for, and what must happen."""

    frame: pd.DataFrame
    canonical: pd.DataFrame
    faults: set[str]  # columns a refusal may name; empty if it must be accepted


def numbers(whole: bool) -> st.SearchStrategy[float | None]:
    """Cell values of a numeric column: floats (or whole numbers) and gaps."""
    values = st.integers(-1_000, 1_000).map(float)
    if not whole:
        values = st.one_of(values, st.floats(-1e4, 1e4, allow_nan=False, width=32))
    return st.one_of(st.none(), values)


def is_number(text: str) -> bool:
    """Whether `text` parses as a float (such text is a number, not a fault)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def as_dtype(values: pd.Series, dtype: str) -> pd.Series:
    """`values` (float64, NaN for missing) as a client might send them."""
    if dtype == "object":
        return pd.Series(
            [None if pd.isna(value) else value for value in values], dtype=object
        )
    return values.astype(dtype)


@st.composite
def requests(draw: st.DrawFn, preprocessor: Preprocessor) -> Request:
    """Draw a request from the schema `preprocessor` was fitted on."""
    rows = draw(st.integers(1, 6))
    canonical, frame = {}, {}
    for name in preprocessor.features:
        if name in preprocessor.categories:
            known = preprocessor.categories[name] or ["seen"]
            cell = st.one_of(
                st.none(), st.sampled_from(known), st.text(), st.integers(-5, 5)
            )
            values = draw(st.lists(cell, min_size=rows, max_size=rows))
            frame[name] = pd.Series(values, dtype=object)
            # Unseen categories are missing values.
            seen = [
                str(value) if value is not None and str(value) in known else None
                for value in values
            ]
            canonical[name] = pd.Series(seen, dtype=object)
            continue
        whole = draw(st.booleans())
        values = draw(st.lists(numbers(whole), min_size=rows, max_size=rows))
        canonical[name] = pd.Series(values, dtype="float64")
        dtypes = list(NUMERIC_DTYPES)
        if whole:
            gaps = canonical[name].isna().any()
            dtypes += ["Int64"] if gaps else list(WHOLE_NUMBER_DTYPES)
        frame[name] = as_dtype(canonical[name], draw(st.sampled_from(dtypes)))
    frame, canonical = pd.DataFrame(frame), pd.DataFrame(canonical)
    faults = set()
    numeric = [
        name for name in preprocessor.features if name not in preprocessor.categories
    ]
    if numeric and draw(st.booleans()):
        name = draw(st.sampled_from(numeric))
        text = draw(st.text(min_size=1).filter(lambda text: not is_number(text)))
        frame[name] = frame[name].astype(object)
        frame.loc[draw(st.integers(0, rows - 1)), name] = text
        faults.add(name)
    dropped = st.lists(st.sampled_from(preprocessor.features), unique=True, max_size=2)
    for name in draw(dropped):
        frame = frame.drop(columns=name)
        canonical[name] = None if name in preprocessor.categories else np.nan
        faults.discard(name)
        if name not in preprocessor.optional:
            faults.add(name)
    if frame.columns.empty:  # no feature left: nothing to score
        faults.update(preprocessor.features)
    for name in draw(st.lists(st.text(min_size=1), unique=True, max_size=2)):
        if name not in preprocessor.features:
            frame[name] = draw(st.sampled_from([0, "x", None]))
    order = draw(st.permutations(list(frame.columns)))
    return Request(frame[order], canonical, faults)


def check(
    predict: Callable[[pd.DataFrame], pd.DataFrame],
    request: Request,
    quoted: bool = True,
) -> None:
    """Hold `predict` to the contract for one request.

    A refusal must name a faulty column, quoted unless `quoted` is false
    (MLflow's own type errors name it bare, or escaped as in its repr).
    """
    try:
        result = predict(request.frame)
    except MlflowException as error:
        assert request.faults, f"refused a valid request: {error.message}"
        assert len(error.message) < 300 or not quoted, error.message
        forms = {name: [repr(name)] for name in request.faults}
        if not quoted:
            for name in request.faults:
                forms[name] += [name, repr(name)[1:-1]]
        named = [
            name
            for name in request.faults
            if any(form in error.message for form in forms[name])
        ]
        assert named, f"the refusal names none of {request.faults}: {error.message}"
        return
    assert not request.faults, f"accepted; should refuse for {request.faults}"
    expected = predict(request.canonical)
    pd.testing.assert_frame_equal(
        result.reset_index(drop=True), expected.reset_index(drop=True)
    )
    reversed_order = request.frame[list(reversed(request.frame.columns))]
    pd.testing.assert_frame_equal(predict(reversed_order), result)


def cast_integers(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast as the README asks before a typed signature: integers to floats."""
    integers = frame.select_dtypes("integer").columns
    return frame.astype(dict.fromkeys(integers, "float64"))


@pytest.fixture(scope="module")
def optional_model(mixed_frame: pd.DataFrame) -> Model:
    """The mixed model with `size cm` declared optional, as `train` fits it."""
    return fit_model(
        mixed_frame.drop(columns="target"), mixed_frame["target"], optional=["size cm"]
    )


@settings(max_examples=75, deadline=None)
@given(data=st.data())
def test_in_memory_model_keeps_the_contract(
    optional_model: Model, data: st.DataObject
) -> None:
    check(optional_model.predict, data.draw(requests(optional_model.preprocessor)))


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_logged_model_keeps_the_contract(
    mixed_logged_model: mlflow.pyfunc.PyFuncModel,
    optional_model: Model,
    data: st.DataObject,
) -> None:
    request = data.draw(requests(optional_model.preprocessor))
    check(mixed_logged_model.predict, request)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_typed_logged_model_keeps_the_contract_once_integers_are_cast(
    typed_logged_model: mlflow.pyfunc.PyFuncModel,
    optional_model: Model,
    data: st.DataObject,
) -> None:
    request = data.draw(requests(optional_model.preprocessor))
    check(
        lambda frame: typed_logged_model.predict(cast_integers(frame)),
        request,
        quoted=False,
    )
