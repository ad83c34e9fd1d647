"""Predict semantics, params and extra methods of the in-memory model."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from wine_grade.making.data import load_data
from wine_grade.model import METHODS, Model, estimator
from wine_grade.train import fit_model


def scores(model: Model, frame: pd.DataFrame) -> np.ndarray:
    """What the native model says for `frame`, bypassing the wrapper."""
    return estimator.predict_scores(model.native, model.preprocessor.transform(frame))


def test_predict_returns_top_k_labels_and_descending_scores(
    model: Model, test_features: pd.DataFrame
) -> None:
    k = min(3, len(model.preprocessor.classes))
    result = model.predict(test_features)
    labels = [f"label_{i}" for i in range(1, k + 1)]
    score_columns = [f"score_{i}" for i in range(1, k + 1)]
    assert list(result.columns) == labels + score_columns
    top_scores = result[score_columns].to_numpy()
    assert (np.diff(top_scores, axis=1) <= 0).all()
    native = scores(model, test_features)
    classes = np.asarray(model.preprocessor.classes)
    np.testing.assert_array_equal(result["label_1"], classes[native.argmax(axis=1)])
    np.testing.assert_allclose(result["score_1"], native.max(axis=1))


def test_k_param_sets_the_number_of_classes(
    model: Model, test_features: pd.DataFrame
) -> None:
    result = model.predict(test_features, {"k": 1})
    assert list(result.columns) == ["label_1", "score_1"]
    all_classes = len(model.preprocessor.classes)
    result = model.predict(test_features, {"k": all_classes})
    score_columns = [f"score_{i}" for i in range(1, all_classes + 1)]
    np.testing.assert_allclose(result[score_columns].sum(axis=1), 1.0, rtol=1e-5)


def test_k_outside_one_to_n_classes_is_refused(
    model: Model, test_features: pd.DataFrame
) -> None:
    for k in (0, len(model.preprocessor.classes) + 1, 1.5):
        with pytest.raises(MlflowException, match="'k'"):
            model.predict(test_features, {"k": k})


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


@pytest.mark.parametrize("method", ["predict_proba", "explain"])
def test_a_method_ignores_params_it_does_not_use(
    model: Model, test_features: pd.DataFrame, method: str
) -> None:
    out_of_range = {name: -1 for name in model.default_params() if name != "method"}
    expected = model.predict(test_features, {"method": method})
    pd.testing.assert_frame_equal(
        model.predict(test_features, {**out_of_range, "method": method}), expected
    )


def test_predict_proba_returns_probabilities_per_class(
    model: Model, test_features: pd.DataFrame
) -> None:
    result = model.predict_proba(test_features)
    assert list(result.columns) == [str(label) for label in model.preprocessor.classes]
    np.testing.assert_allclose(result.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(result.to_numpy(), scores(model, test_features))
    pd.testing.assert_frame_equal(
        model.predict(test_features, {"method": "predict_proba"}), result
    )


def test_explain_contributions_sum_to_the_raw_score(
    model: Model, test_features: pd.DataFrame
) -> None:
    result = model.explain(test_features)
    features = model.preprocessor.features
    raw = estimator.raw_score(model.native, model.preprocessor.transform(test_features))
    assert list(result.columns) == ["label", *features, "bias"]
    classes = list(model.preprocessor.classes)
    explained = np.array([classes.index(label) for label in result["label"]])
    np.testing.assert_array_equal(explained, raw.argmax(axis=1))
    expected = raw[np.arange(len(raw)), explained]
    np.testing.assert_allclose(
        result[[*features, "bias"]].sum(axis=1), expected, rtol=1e-4, atol=1e-4
    )
    pd.testing.assert_frame_equal(
        model.predict(test_features, {"method": "explain"}), result
    )


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
