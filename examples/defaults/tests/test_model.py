"""Predict semantics, params and extra methods of the in-memory model."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from my_model.making.data import load_data
from my_model.model import METHODS, Model, estimator
from my_model.train import fit_model


def scores(model: Model, frame: pd.DataFrame) -> np.ndarray:
    """What the native model says for `frame`, bypassing the wrapper."""
    return estimator.predict_scores(model.native, model.preprocessor.transform(frame))


def test_predict_returns_one_probability_column_per_class(
    model: Model, test_features: pd.DataFrame
) -> None:
    result = model.predict(test_features)
    assert list(result.columns) == [str(label) for label in model.preprocessor.classes]
    assert len(result) == len(test_features)
    np.testing.assert_allclose(result.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(result.to_numpy(), scores(model, test_features))


def test_predict_keeps_the_input_index(
    model: Model, test_features: pd.DataFrame
) -> None:
    assert model.predict(test_features).index.equals(test_features.index)


def test_rows_predict_alike_alone_and_in_a_large_batch(
    model: Model, test_features: pd.DataFrame
) -> None:
    # Small requests run on one thread (a copy of the booster for XGBoost),
    # large ones on all cores: both must say the same.
    repeats = -(-2_000 // len(test_features))
    large = pd.concat([test_features] * repeats, ignore_index=True)
    small = large.head(5)
    pd.testing.assert_frame_equal(model.predict(small), model.predict(large).head(5))


def test_method_param_predict_is_the_default(
    model: Model, test_features: pd.DataFrame
) -> None:
    expected = model.predict(test_features)
    pd.testing.assert_frame_equal(
        model.predict(test_features, {"method": "predict"}), expected
    )


def test_unknown_method_is_refused_with_the_allowed_list(
    model: Model, test_features: pd.DataFrame
) -> None:
    with pytest.raises(MlflowException) as error:
        model.predict(test_features, {"method": "transform"})
    assert "'transform'" in error.value.message
    for method in METHODS:
        assert method in error.value.message


def test_an_empty_frame_gets_an_empty_answer(
    model: Model, test_features: pd.DataFrame
) -> None:
    for method in METHODS:
        empty = model.predict(test_features.head(0), {"method": method})
        some = model.predict(test_features.head(3), {"method": method})
        assert len(empty) == 0
        assert list(empty.columns) == list(some.columns)


def test_a_missing_column_is_refused_by_name(
    model: Model, test_features: pd.DataFrame
) -> None:
    column = test_features.columns[0]
    with pytest.raises(MlflowException, match=column):
        model.predict(test_features.drop(columns=column))


def test_a_string_in_a_numeric_column_is_refused_by_name(
    model: Model, test_features: pd.DataFrame
) -> None:
    column = test_features.columns[1]
    broken = test_features.astype({column: object})
    broken.iloc[0, 1] = "not a number"
    with pytest.raises(MlflowException, match=f"{column}.*not a number"):
        model.predict(broken)


def test_a_blank_label_does_not_rename_the_classes(tmp_path: Path) -> None:
    # One empty target cell makes pandas read whole-number labels as floats;
    # the classes stay the file's integers, and so do the output columns.
    features, target = load_data(None, "target")
    frame = features.assign(target=target)
    frame["target"] = frame["target"].astype(object)
    frame.loc[frame.index[0], "target"] = None
    data = tmp_path / "one blank label.csv"
    frame.to_csv(data, index=False)
    _, labels = load_data(data, "target")
    assert labels.dtype.kind == "i"
    model = fit_model(*load_data(data, "target"))
    assert model.preprocessor.classes == sorted(target.unique().tolist())
    assert all(type(label) is int for label in model.preprocessor.classes)
    assert "0.0" not in " ".join(map(str, model.predict(features.head(3)).columns))
