"""String columns, missing values and awkward column names."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from churn_risk.making.data import DataError
from churn_risk.model import Model
from churn_risk.model.preprocessing import Preprocessor
from churn_risk.train import fit_model


def test_string_columns_become_categories(mixed_model: Model) -> None:
    preprocessor = mixed_model.preprocessor
    assert preprocessor.features == [
        "size cm",
        "colour name",
        "item count",
        "is member",
        "signup date",
    ]
    assert set(preprocessor.categories) == {"colour name"}
    assert sorted(preprocessor.categories["colour name"]) == ["blue", "green", "red"]
    assert preprocessor.categorical == [False, True, False, False, False, False, False]
    assert preprocessor.optional == []
    assert preprocessor.input_types() == {
        "size cm": "number",
        "colour name": "string",
        "item count": "number",
        "is member": "boolean",
        "signup date": "date",
    }


def test_transform_gives_contiguous_float32_with_nan_for_missing(
    mixed_model: Model, mixed_frame: pd.DataFrame
) -> None:
    matrix = mixed_model.preprocessor.transform(mixed_frame.drop(columns="target"))
    assert matrix.dtype == np.float32
    assert matrix.flags["C_CONTIGUOUS"]
    # A date is three columns: days since 1970-01-01, month and day of the week.
    assert matrix.shape == (len(mixed_frame), 7)
    assert np.isnan(matrix[0, 0])  # row 0 had no size
    assert np.isnan(matrix[0, 1])  # nor a colour


def test_unknown_categories_and_missing_values_neither_crash_nor_warn(
    mixed_model: Model,
) -> None:
    frame = pd.DataFrame(
        {
            "size cm": [12.0, np.nan, 8.5],
            "colour name": ["purple", None, "red"],
            "item count": [1, 2, 3],
            "is member": [True, None, "false"],
            "signup date": ["2031-02-03", None, "2024-05-06T07:08:09+02:00"],
        }
    )
    # pandas deprecates categoricals built from values outside the categories.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = mixed_model.predict(frame)
    assert len(result) == 3
    assert result.notna().all().all()


def test_a_column_with_missing_values_is_still_required(
    mixed_model: Model, mixed_frame: pd.DataFrame
) -> None:
    features = mixed_frame.drop(columns="target").head(20)
    with pytest.raises(MlflowException, match="size cm"):
        mixed_model.predict(features.drop(columns="size cm"))


def test_a_declared_optional_column_may_be_omitted(mixed_frame: pd.DataFrame) -> None:
    features = mixed_frame.drop(columns="target")
    model = fit_model(features, mixed_frame["target"], optional=["size cm"])
    assert model.preprocessor.optional == ["size cm"]
    head = features.head(20)
    omitted = model.predict(head.drop(columns="size cm"))
    as_missing = model.predict(head.assign(**{"size cm": np.nan}))
    pd.testing.assert_frame_equal(omitted, as_missing)
    with pytest.raises(MlflowException, match="item count"):
        model.predict(head.drop(columns=["size cm", "item count"]))


def test_a_frame_without_any_feature_is_refused(mixed_frame: pd.DataFrame) -> None:
    features = mixed_frame.drop(columns="target")
    everything = list(features.columns)
    model = fit_model(features, mixed_frame["target"], optional=everything)
    with pytest.raises(MlflowException, match="None of the feature columns"):
        model.predict(pd.DataFrame({"id": [1, 2]}))


def test_an_optional_column_must_be_a_feature(mixed_frame: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="'weight'"):
        fit_model(
            mixed_frame.drop(columns="target"),
            mixed_frame["target"],
            optional=["weight"],
        )


def test_the_typed_input_schema_has_doubles_strings_and_optional_columns(
    mixed_frame: pd.DataFrame,
) -> None:
    features = mixed_frame.drop(columns="target")
    model = fit_model(features, mixed_frame["target"], optional=["size cm"])
    schema = model.preprocessor.input_schema()
    assert schema.input_names() == list(features.columns)
    assert {spec.name: (spec.type.name, spec.required) for spec in schema.inputs} == {
        "size cm": ("double", False),
        "colour name": ("string", True),
        "item count": ("double", True),
        "is member": ("double", True),
        "signup date": ("string", True),
    }


@pytest.mark.parametrize(
    "dtype", ["int64", "int32", "float64", "float32", "Int64", "Float64", "object"]
)
def test_numbers_of_any_dtype_encode_alike(
    mixed_model: Model, mixed_frame: pd.DataFrame, dtype: str
) -> None:
    features = mixed_frame.drop(columns="target").head(30)
    expected = mixed_model.preprocessor.transform(features)
    variant = features.astype({"item count": dtype})
    np.testing.assert_array_equal(mixed_model.preprocessor.transform(variant), expected)


def test_missing_values_in_a_gapless_integer_column_are_missing(
    mixed_model: Model, mixed_frame: pd.DataFrame
) -> None:
    features = mixed_frame.drop(columns="target").head(5)
    gappy = features.astype({"item count": object})
    gappy.loc[gappy.index[0], "item count"] = None
    nullable = features.astype({"item count": "Int64"})
    nullable.loc[nullable.index[0], "item count"] = pd.NA
    as_nan = features.astype({"item count": float})
    as_nan.loc[as_nan.index[0], "item count"] = np.nan
    expected = mixed_model.predict(as_nan)
    pd.testing.assert_frame_equal(mixed_model.predict(gappy), expected)
    pd.testing.assert_frame_equal(mixed_model.predict(nullable), expected)


def test_a_column_without_missing_values_may_not_be_omitted(
    mixed_model: Model, mixed_frame: pd.DataFrame
) -> None:
    features = mixed_frame.drop(columns=["target", "item count"])
    with pytest.raises(MlflowException, match="item count"):
        mixed_model.predict(features)


def test_column_order_and_extra_columns_do_not_matter(
    mixed_model: Model, mixed_frame: pd.DataFrame
) -> None:
    features = mixed_frame.drop(columns="target")
    shuffled = features[list(reversed(features.columns))].assign(id=1)
    pd.testing.assert_frame_equal(
        mixed_model.predict(shuffled), mixed_model.predict(features)
    )


def test_state_round_trips_through_json(mixed_model: Model, tmp_path: Path) -> None:
    path = tmp_path / "preprocessing.json"
    mixed_model.preprocessor.save(path)
    assert Preprocessor.load(path) == mixed_model.preprocessor


def test_unsupported_column_types_are_refused_by_name() -> None:
    frame = pd.DataFrame({"when": pd.to_timedelta(["1 day", "2 days"])})
    with pytest.raises(ValueError, match="'when' has type timedelta64"):
        Preprocessor.fit(frame, pd.Series([0, 1]))
