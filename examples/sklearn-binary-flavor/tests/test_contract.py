"""The input contract, property-based: whatever a client sends, the model answers
exactly as for the same rows sent as canonical floats and strings, or refuses
with an `MlflowException` that names the column.

Requests are drawn from a fitted model's own schema: columns dropped, added and
reordered, missing values anywhere, every numeric dtype, numbers and unseen
values in string columns, text in numeric columns, booleans as True/False, 1/0
or text, dates as ISO 8601 text with or without a time zone or as timestamps,
and values that are neither.
"""

import datetime
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
from churn_risk.model.preprocessing import Preprocessor
from churn_risk.train import fit_model

#: Ways a client may send a numeric column; integer dtypes need whole numbers.
NUMERIC_DTYPES = ("float64", "float32", "Float64", "object")
WHOLE_NUMBER_DTYPES = ("int64", "int32", "Int64")
#: Ways a client may send a boolean, by the value they stand for.
BOOLEANS = {
    True: [True, 1, 1.0, "true", "True", "TRUE", " true "],
    False: [False, 0, 0.0, "false", "False", "FALSE"],
}
#: Values a boolean feature refuses.
NOT_BOOLEANS = ["yes", 2, -1.0, "t"]
#: Values a date feature refuses.
NOT_DATES = ["soon", "31/01/2024", 20240131, 3.5]


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
def boolean_cell(draw: st.DrawFn) -> tuple[object, bool | None]:
    """A boolean as a client sends it, and the value it stands for."""
    meaning = draw(st.sampled_from([True, False, None]))
    if meaning is None:
        return draw(st.sampled_from([None, np.nan, ""])), None
    return draw(st.sampled_from(BOOLEANS[meaning])), meaning


@st.composite
def date_cell(draw: st.DrawFn) -> tuple[object, str | None]:
    """A date as a client sends it, and its UTC time as ISO 8601 text."""
    if draw(st.booleans()) and draw(st.booleans()):
        return None, None
    moment = draw(
        st.datetimes(datetime.datetime(1990, 1, 1), datetime.datetime(2040, 1, 1))
    ).replace(microsecond=0)
    offset = draw(st.sampled_from([None, 0, 2, -5]))
    utc = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if offset is None:
        form = draw(st.sampled_from(["date", "text", "timestamp"]))
        if form == "date":
            return moment.strftime("%Y-%m-%d"), moment.strftime("%Y-%m-%dT00:00:00")
        return (utc if form == "text" else pd.Timestamp(moment)), utc
    zone = datetime.timezone(datetime.timedelta(hours=offset))
    local = moment.replace(tzinfo=datetime.UTC).astimezone(zone)
    return local.isoformat(), utc


@st.composite
def requests(draw: st.DrawFn, preprocessor: Preprocessor) -> Request:
    """Draw a request from the schema `preprocessor` was fitted on."""
    rows = draw(st.integers(1, 6))
    canonical, frame = {}, {}
    kinds = preprocessor.input_types()
    faults = set()
    for name in preprocessor.features:
        if kinds[name] in ("boolean", "date"):
            cell = boolean_cell() if kinds[name] == "boolean" else date_cell()
            cells = draw(st.lists(cell, min_size=rows, max_size=rows))
            frame[name] = pd.Series([sent for sent, _ in cells], dtype=object)
            canonical[name] = pd.Series([meant for _, meant in cells], dtype=object)
            if draw(st.integers(0, 4)) == 0:
                wrong = NOT_BOOLEANS if kinds[name] == "boolean" else NOT_DATES
                frame[name][draw(st.integers(0, rows - 1))] = draw(
                    st.sampled_from(wrong)
                )
                faults.add(name)
            continue
        if name in preprocessor.categories:
            known = preprocessor.categories[name] or ["seen"]
            cell = st.one_of(
                st.none(), st.sampled_from(known), st.text(), st.integers(-5, 5)
            )
            values = draw(st.lists(cell, min_size=rows, max_size=rows))
            frame[name] = pd.Series(values, dtype=object)
            # Unseen categories are missing values, or "other" in a column
            # whose rarest categories were merged into it in training.
            other = name in preprocessor.other
            seen = [
                str(value)
                if value is not None and (other or str(value) in known)
                else None
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
    numeric = [name for name in preprocessor.features if kinds[name] == "number"]
    if numeric and draw(st.booleans()):
        name = draw(st.sampled_from(numeric))
        text = draw(st.text(min_size=1).filter(lambda text: not is_number(text)))
        frame[name] = frame[name].astype(object)
        frame.loc[draw(st.integers(0, rows - 1)), name] = text
        faults.add(name)
    dropped = st.lists(st.sampled_from(preprocessor.features), unique=True, max_size=2)
    for name in draw(dropped):
        frame = frame.drop(columns=name)
        canonical[name] = np.nan if kinds[name] == "number" else None
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


def cast_for_typed_signature(
    frame: pd.DataFrame, preprocessor: Preprocessor
) -> pd.DataFrame:
    """Cast as the README asks before a typed signature: integers to floats,
    booleans to 1.0/0.0 and dates to ISO 8601 text; other values as they are."""
    integers = frame.select_dtypes("integer").columns
    frame = frame.astype(dict.fromkeys(integers, "float64"))
    flags = {
        str(value).strip().lower(): float(meaning)
        for meaning, values in BOOLEANS.items()
        for value in values
    }
    for name, kind in preprocessor.input_types().items():
        if name not in frame.columns:
            continue
        if kind == "boolean":
            frame[name] = frame[name].map(
                lambda value: (
                    flags.get(str(value).strip().lower(), value)
                    if not pd.isna(value) and value != ""
                    else np.nan
                )
            )
        elif kind == "date":
            frame[name] = frame[name].map(
                lambda value: (
                    value.isoformat() if isinstance(value, pd.Timestamp) else value
                )
            )
    return frame


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
def test_typed_logged_model_keeps_the_contract_once_cast(
    typed_logged_model: mlflow.pyfunc.PyFuncModel,
    optional_model: Model,
    data: st.DataObject,
) -> None:
    request = data.draw(requests(optional_model.preprocessor))
    check(
        lambda frame: typed_logged_model.predict(
            cast_for_typed_signature(frame, optional_model.preprocessor)
        ),
        request,
        quoted=False,
    )
