"""Wrap a model trained elsewhere: the contract is read from the model file."""

from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from wine_grade.making.logged_model import unwrap
from wine_grade.scoring.drift import DriftMonitor
from wine_grade.wrap import WrapError, main, wrap

#: The notebook's category order: not alphabetical, not by frequency.
COLOURS = ["red", "green", "blue"]


def notebook_frame() -> pd.DataFrame:
    """A notebook's training frame: gaps, an integer column, a categorical."""
    rng = np.random.default_rng(7)
    rows = 400
    frame = pd.DataFrame(
        {
            "colour": pd.Categorical(rng.choice(COLOURS, rows), categories=COLOURS),
            "size cm": rng.normal(10.0, 3.0, rows),
            "item count": rng.integers(0, 5, rows),
        }
    )
    frame.loc[::9, "size cm"] = np.nan
    signal = frame["size cm"].fillna(10.0) + 3.0 * (frame["colour"] == "red")
    frame["target"] = pd.qcut(signal, 3, labels=["low", "mid", "high"]).astype(str)
    return frame


def notebook_model(frame: pd.DataFrame, directory: Path, task: str) -> tuple:
    """Fit a model of `task` the way a notebook does; save it natively.

    Returns the fitted model and its file.
    """
    features = frame.drop(columns="target")
    target = frame["target"]
    if task != "regression":  # its classes are 0..n-1: the sorted labels' codes
        target = pd.Series(pd.factorize(target, sort=True)[0], index=frame.index)
    kind = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    fitted = kind(n_estimators=30, verbose=-1).fit(features, target)
    path = directory / "notebook.txt"
    fitted.booster_.save_model(path)
    return fitted, path


def class_options(frame: pd.DataFrame) -> list[str]:
    """The `--classes` that wrap needs for the notebook's model of `frame`:
    it was fitted on the codes of the sorted labels (see `notebook_model`)."""
    return ["--classes", *sorted(frame["target"].unique())]


def native_scores(fitted: object, frame: pd.DataFrame) -> np.ndarray:
    """What the notebook's own model says for `frame`."""
    return np.asarray(fitted.predict_proba(frame))


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """The notebook's frame, fitted model and model file."""
    frame = notebook_frame()
    directory = tmp_path_factory.mktemp("notebook")
    fitted, path = notebook_model(frame, directory, "multiclass")
    frame.to_csv(directory / "data.csv", index=False)
    return frame, fitted, path


@pytest.fixture(scope="module")
def wrapped(notebook: tuple) -> mlflow.pyfunc.PyFuncModel:
    """The notebook's model wrapped with its data as reference, loaded back."""
    frame, _, path = notebook
    info = wrap(
        path,
        path.with_name("data.csv"),
        registered_model_name="",
        classes=class_options(frame)[1:],
    )
    return mlflow.pyfunc.load_model(info.model_uri)


def shapes(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The same rows as clients send them."""
    features = frame.drop(columns="target").head(60)
    shaped = {
        "as trained": features,
        "columns reordered": features[list(reversed(features.columns))],
        "integers as floats": features.astype({"item count": "float64"}),
    }
    shaped["categories as strings"] = features.astype({"colour": object})
    shaped["categoricals in another order"] = features.assign(
        colour=features["colour"].cat.reorder_categories(sorted(COLOURS))
    )
    # LightGBM's own predict takes the names as its file stores them, too.
    shaped["names as LightGBM stores them"] = features.rename(
        columns=lambda name: name.replace(" ", "_")
    )
    return shaped


def test_the_wrapped_model_predicts_what_the_notebook_model_predicts(
    notebook: tuple, wrapped: mlflow.pyfunc.PyFuncModel
) -> None:
    frame, fitted, _ = notebook
    expected = native_scores(fitted, frame.drop(columns="target").head(60))
    for name, shaped in shapes(frame).items():
        np.testing.assert_allclose(
            unwrap(wrapped).scores(shaped), expected, rtol=1e-4, atol=1e-5, err_msg=name
        )
    wrapped.predict(shapes(frame)["integers as floats"])  # the pyfunc's own path


def test_an_unseen_category_scores_as_the_model_says(
    notebook: tuple, wrapped: mlflow.pyfunc.PyFuncModel
) -> None:
    frame, fitted, _ = notebook
    features = frame.drop(columns="target").head(5)
    unseen = features.astype({"colour": object}).assign(colour="purple")
    # Unseen categories score as missing.
    missing = features.assign(colour=pd.Categorical([None] * 5, categories=COLOURS))
    expected = native_scores(fitted, missing)
    np.testing.assert_allclose(
        unwrap(wrapped).scores(unseen), expected, rtol=1e-4, atol=1e-5
    )


def test_a_boolean_feature_takes_text_and_gaps_once_the_data_shows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = notebook_frame()
    frame.insert(2, "member", frame["item count"] % 2 == 0)
    fitted, path = notebook_model(frame, tmp_path, "multiclass")
    frame.to_csv(tmp_path / "data.csv", index=False)
    main(
        ["--model", str(path), "--data", str(tmp_path / "data.csv")]
        + ["--registered-model-name", "", *class_options(frame)]
    )
    out = capsys.readouterr().out
    assert any(line.split()[:2] == ["member", "boolean"] for line in out.splitlines())
    loaded = mlflow.pyfunc.load_model(out.strip().splitlines()[-1])
    features = frame.drop(columns="target").head(6)
    texts = features["member"].map({True: " True", False: "false"}).astype(object)
    np.testing.assert_allclose(
        unwrap(loaded).scores(features.assign(member=texts)),
        native_scores(fitted, features),
        rtol=1e-4,
        atol=1e-5,
    )
    gaps = features.assign(member=pd.Series([None, 1, 0.0, "", True, "TRUE"]))
    assert np.isfinite(unwrap(loaded).scores(gaps)).all()
    with pytest.raises(MlflowException, match="'member' must hold booleans"):
        loaded.predict(features.assign(member="maybe"))


def test_an_absent_feature_is_refused_in_one_line(
    notebook: tuple, wrapped: mlflow.pyfunc.PyFuncModel
) -> None:
    frame, _, _ = notebook
    with pytest.raises(MlflowException, match="Missing required column.*size cm"):
        wrapped.predict(frame.drop(columns=["target", "size cm"]))


def test_without_data_the_file_alone_is_wrapped(notebook: tuple) -> None:
    frame, fitted, path = notebook
    loaded = mlflow.pyfunc.load_model(wrap(path, registered_model_name="").model_uri)
    features = frame.drop(columns="target").head(20)
    expected = native_scores(fitted, features)
    np.testing.assert_allclose(
        unwrap(loaded).scores(features), expected, rtol=1e-4, atol=1e-5
    )
    # LightGBM stores `size cm` as `size_cm`: a request may send either name,
    # as LightGBM's own predict takes either.
    stored = features.rename(columns=lambda name: name.replace(" ", "_"))
    assert unwrap(loaded).preprocessor.features == list(stored.columns)
    pd.testing.assert_frame_equal(loaded.predict(stored), loaded.predict(features))
    with pytest.raises(ValueError, match="--data"):
        DriftMonitor.for_model(loaded)


def test_with_data_the_model_is_evaluated_and_profiled(
    notebook: tuple, wrapped: mlflow.pyfunc.PyFuncModel
) -> None:
    frame, _, path = notebook
    assert DriftMonitor.for_model(wrapped).profile["rows"] == len(frame)
    run = mlflow.get_run(wrapped.metadata.run_id)
    assert any(name.startswith("test_") for name in run.data.metrics)
    assert wrapped.metadata.metadata["wrapped_file"] == path.name
    labels = [str(label) for label in unwrap(wrapped).preprocessor.classes]
    assert labels == sorted(frame["target"].astype(str).unique())


def test_a_model_of_another_task_is_refused_in_one_line(
    notebook: tuple, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame, _, _ = notebook
    other = "binary" if "multiclass" == "regression" else "regression"
    if other == "regression":
        frame = frame.assign(target=frame["size cm"].fillna(0.0))
    else:
        frame = frame.assign(target=np.where(frame["item count"] > 2, "yes", "no"))
    _, path = notebook_model(frame, tmp_path, other)
    with pytest.raises(SystemExit) as exit_:
        main(["--model", str(path), "--registered-model-name", "never-made"])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error
    assert f"task={other}" in error
    assert not mlflow.search_registered_models(filter_string="name = 'never-made'")


@pytest.mark.parametrize(
    ("suffix", "said"),
    [(".txt", "txt"), (".cbm", "framework=catboost")],
)
def test_a_file_that_is_not_a_model_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str, said: str
) -> None:
    path = tmp_path / f"notebook{suffix}"
    path.write_text("not a model")
    with pytest.raises(SystemExit) as exit_:
        main(["--model", str(path), "--registered-model-name", ""])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error
    assert said in error


def test_data_without_a_model_feature_is_refused(
    notebook: tuple, tmp_path: Path
) -> None:
    frame, _, path = notebook
    data = tmp_path / "data.csv"
    frame.drop(columns="item count").to_csv(data, index=False)
    with pytest.raises(WrapError, match="item.count"):
        wrap(path, data, registered_model_name="")


def test_text_in_a_number_feature_of_the_data_is_refused_in_one_line(
    notebook: tuple, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame, _, path = notebook
    data = tmp_path / "data.csv"
    text = frame.astype({"size cm": object})
    text.loc[2, "size cm"] = "unknown"
    text.to_csv(data, index=False)
    with pytest.raises(SystemExit) as exit_:
        main(
            ["--model", str(path), "--data", str(data)]
            + ["--registered-model-name", "", *class_options(frame)]
        )
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error
    assert "'size cm'" in error and "'unknown'" in error


def test_a_missing_category_is_given_as_the_notebook_filled_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = notebook_frame()
    frame["colour"] = frame["colour"].astype(object)
    frame.loc[::5, "colour"] = None
    filled = frame.assign(colour=frame["colour"].fillna("missing"))
    filled["colour"] = pd.Categorical(
        filled["colour"], categories=[*COLOURS, "missing"]
    )
    fitted, path = notebook_model(filled, tmp_path, "multiclass")
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)  # the notebook's data, gaps and all
    command = ["--model", str(path), "--data", str(data)]
    command += ["--registered-model-name", "", *class_options(frame)]
    # The model knows its categories: a token it never saw is refused.
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--missing-category", "unknown"])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip()
    assert "'unknown'" in error and "colour" in error and "\n" not in error
    main([*command, "--missing-category", "missing"])
    loaded = mlflow.pyfunc.load_model(capsys.readouterr().out.strip().splitlines()[-1])
    features = frame.drop(columns="target").head(20)
    expected = native_scores(fitted, filled.drop(columns="target").head(20))
    np.testing.assert_allclose(
        unwrap(loaded).scores(features), expected, rtol=1e-4, atol=1e-5
    )
    loaded.predict(features)  # the pyfunc's own path


#: Labels of the model's classes 0, 1, ...: their sorted order is another.
CHURN = ["stayed", "churned", "paused"]


def test_class_labels_are_never_guessed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = notebook_frame()
    codes = pd.Series(pd.factorize(frame["target"], sort=True)[0], index=frame.index)
    _, path = notebook_model(frame.assign(target=codes), tmp_path, "multiclass")
    named = tmp_path / "named.csv"
    frame.assign(target=[CHURN[code] for code in codes]).to_csv(named, index=False)
    command = ["--model", str(path), "--data", str(named)]
    command += ["--registered-model-name", ""]
    # The model knows its classes as 0..n-1, the data as text: which is which
    # only the notebook knows.
    with pytest.raises(SystemExit) as exit_:
        main(command)
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip()
    assert "--classes" in error and "\n" not in error
    main([*command, "--classes", *CHURN])
    loaded = mlflow.pyfunc.load_model(capsys.readouterr().out.strip().splitlines()[-1])
    assert unwrap(loaded).preprocessor.classes == CHURN
    metrics = mlflow.get_run(loaded.metadata.run_id).data.metrics
    assert metrics["test_accuracy"] > 0.8
    # 0..n-1 labels in the data are the model's own: there is nothing to name.
    numbered = tmp_path / "numbered.csv"
    frame.assign(target=codes).to_csv(numbered, index=False)
    info = wrap(path, numbered, registered_model_name="")
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    assert unwrap(loaded).preprocessor.classes == list(range(len(CHURN)))
