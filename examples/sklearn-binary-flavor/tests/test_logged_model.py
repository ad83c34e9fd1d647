"""The train CLI's model, loaded back through MLflow."""

import json
import logging
import os
import subprocess
from importlib.metadata import version
from pathlib import Path

import matplotlib.image
import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

import churn_risk
from churn_risk.making.data import load_data
from churn_risk.making.logged_model import unwrap
from churn_risk.model import METHODS, Model
from churn_risk.model.environment import (
    DISTRIBUTIONS,
    PACKAGE_DIR,
    PREDICTION_CODE,
)
from churn_risk.registry.gate import CHAMPION_ALIAS
from churn_risk.train import (
    DEFAULT_REGISTERED_MODEL_NAME,
    main,
)


def test_cli_prints_the_model_uri_last(cli_model_uri: str) -> None:
    assert cli_model_uri.startswith("models:/")


def test_cli_prints_no_integer_column_hint(
    cli_run: subprocess.CompletedProcess,
) -> None:
    assert "Inferred schema contains integer" not in cli_run.stderr


def test_cli_prints_the_column_report_and_metrics_without_download_bars(
    cli_run: subprocess.CompletedProcess,
) -> None:
    lines = cli_run.stdout.splitlines()
    assert lines[0].split()[:3] == ["column", "kind", "missing"]
    assert any(line.startswith("test_") for line in lines)
    assert "Downloading artifacts" not in cli_run.stderr


def test_logged_model_predicts_like_the_in_memory_model(
    cli_model: mlflow.pyfunc.PyFuncModel, model: Model, test_features: pd.DataFrame
) -> None:
    pd.testing.assert_frame_equal(
        cli_model.predict(test_features), model.predict(test_features)
    )


def test_unwrapped_model_predicts_like_the_pyfunc(
    cli_model: mlflow.pyfunc.PyFuncModel, test_features: pd.DataFrame
) -> None:
    pd.testing.assert_frame_equal(
        unwrap(cli_model).predict(test_features), cli_model.predict(test_features)
    )


def test_signature_declares_the_inference_params(
    cli_model: mlflow.pyfunc.PyFuncModel, model: Model
) -> None:
    schema = cli_model.metadata.get_params_schema()
    declared = {param.name: param.default for param in schema.params}
    assert declared == model.default_params()


@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_through_the_method_param(
    cli_model: mlflow.pyfunc.PyFuncModel,
    model: Model,
    test_features: pd.DataFrame,
    method: str,
) -> None:
    pd.testing.assert_frame_equal(
        cli_model.predict(test_features, params={"method": method}),
        model.predict(test_features, {"method": method}),
    )


def test_unknown_method_is_refused(
    cli_model: mlflow.pyfunc.PyFuncModel, test_features: pd.DataFrame
) -> None:
    with pytest.raises(MlflowException, match="allowed"):
        cli_model.predict(test_features, params={"method": "transform"})


def test_dicts_and_lists_of_rows_predict_as_the_frame_does(
    cli_model: mlflow.pyfunc.PyFuncModel, test_features: pd.DataFrame
) -> None:
    rows = test_features.head(3).reset_index(drop=True)
    expected = cli_model.predict(rows)
    columns = rows.to_dict(orient="list")
    records = rows.to_dict(orient="records")
    pd.testing.assert_frame_equal(cli_model.predict(columns), expected)
    pd.testing.assert_frame_equal(cli_model.predict(records), expected)
    pd.testing.assert_frame_equal(cli_model.predict(records[0]), expected.head(1))
    with pytest.raises(MlflowException, match="must be a DataFrame, a dict"):
        cli_model.predict("not rows")


def test_a_missing_column_is_refused_by_name(
    cli_model: mlflow.pyfunc.PyFuncModel, test_features: pd.DataFrame
) -> None:
    column = test_features.columns[0]
    with pytest.raises(MlflowException, match=column):
        cli_model.predict(test_features.drop(columns=column))


def test_a_string_in_a_numeric_column_is_refused_by_name(
    cli_model: mlflow.pyfunc.PyFuncModel, test_features: pd.DataFrame
) -> None:
    column = test_features.columns[1]
    broken = test_features.astype({column: object})
    broken.iloc[0, 1] = "not a number"
    with pytest.raises(MlflowException, match=column):
        cli_model.predict(broken)


def test_requirements_pin_the_installed_versions(cli_model_dir: Path) -> None:
    requirements = (cli_model_dir / "requirements.txt").read_text().splitlines()
    for name in DISTRIBUTIONS:
        assert f"{name}=={version(name)}" in requirements


def test_the_logged_code_is_the_prediction_part_alone(cli_model_dir: Path) -> None:
    code = cli_model_dir / "code" / PACKAGE_DIR.name
    logged = {
        str(path.relative_to(code))
        for path in code.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    package = {str(path.relative_to(PACKAGE_DIR)) for path in PACKAGE_DIR.rglob("*.py")}
    assert logged == {
        name
        for name in package
        if name in PREDICTION_CODE or name.split("/")[0] in PREDICTION_CODE
    }
    assert {"flavor.py", "model/predictor.py", "model/estimator.py"} <= logged
    assert not {"train.py", "wrap.py", "score.py", "card.py"} & logged
    assert not any(name.startswith(("making/", "scoring/")) for name in logged)


def test_logged_model_holds_no_pickle(cli_model_dir: Path) -> None:
    pickles = [
        path
        for path in cli_model_dir.rglob("*")
        if path.suffix in {".pkl", ".pickle", ".joblib", ".cloudpickle"}
    ]
    assert pickles == []


def test_loads_with_pickle_deserialization_disallowed(
    cli_model_uri: str,
    model: Model,
    test_features: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    loaded = mlflow.pyfunc.load_model(cli_model_uri)
    pd.testing.assert_frame_equal(
        loaded.predict(test_features), model.predict(test_features)
    )


def test_cli_registers_the_model_as_champion(
    cli_model_uri: str, model: Model, test_features: pd.DataFrame
) -> None:
    version_info = MlflowClient().get_model_version_by_alias(
        DEFAULT_REGISTERED_MODEL_NAME, CHAMPION_ALIAS
    )
    assert version_info.source == cli_model_uri
    champion = mlflow.pyfunc.load_model(
        f"models:/{DEFAULT_REGISTERED_MODEL_NAME}@{CHAMPION_ALIAS}"
    )
    pd.testing.assert_frame_equal(
        champion.predict(test_features), model.predict(test_features)
    )


def test_train_accepts_strings_missing_values_and_spaced_names(
    mixed_logged_model: mlflow.pyfunc.PyFuncModel, mixed_frame: pd.DataFrame
) -> None:
    unseen = mixed_frame.drop(columns="target").head(3).copy()
    unseen["colour name"] = ["purple", None, "red"]
    result = mixed_logged_model.predict(unseen)
    assert len(result) == 3
    assert result.notna().all().all()


def test_the_signature_leaves_the_inputs_to_the_model(
    mixed_logged_uri: str, model: Model
) -> None:
    signature = mlflow.models.get_model_info(mixed_logged_uri).signature
    assert signature.inputs is None
    assert signature.outputs is not None
    assert [param.name for param in signature.params.params] == list(
        model.default_params()
    )


def test_logged_metadata_gives_each_columns_type_and_the_optional_ones(
    mixed_logged_uri: str,
) -> None:
    metadata = mlflow.models.get_model_info(mixed_logged_uri).metadata
    assert metadata["input_types"] == {
        "size cm": "number",
        "colour name": "string",
        "item count": "number",
        "is member": "boolean",
        "signup date": "date",
    }
    assert metadata["optional_inputs"] == ["size cm"]


def test_an_absent_column_is_refused_in_one_short_line(
    mixed_logged_model: mlflow.pyfunc.PyFuncModel, mixed_frame: pd.DataFrame
) -> None:
    features = mixed_frame.drop(columns="target").head(3)
    with pytest.raises(MlflowException) as refusal:
        mixed_logged_model.predict(features.drop(columns="item count"))
    assert refusal.value.message == (
        "Missing required column(s) ['item count']; every training feature must "
        "be present (optional: ['size cm'])"
    )


def test_columns_numbered_as_spark_udf_passes_them_are_refused_with_the_right_call(
    mixed_logged_model: mlflow.pyfunc.PyFuncModel, mixed_frame: pd.DataFrame
) -> None:
    features = mixed_frame.drop(columns="target").head(3)
    numbered = features.set_axis([str(i) for i in range(features.shape[1])], axis=1)
    with pytest.raises(MlflowException, match=r"udf\(struct\(\*columns\)\)"):
        mixed_logged_model.predict(numbered)


def test_typed_signature_declares_doubles_strings_and_optional_columns(
    typed_logged_uri: str,
) -> None:
    inputs = mlflow.models.get_model_info(typed_logged_uri).signature.inputs
    assert {spec.name: (spec.type.name, spec.required) for spec in inputs.inputs} == {
        "size cm": ("double", False),
        "colour name": ("string", True),
        "item count": ("double", True),
        "is member": ("double", True),
        "signup date": ("string", True),
    }


def test_typed_signature_refuses_integers_in_process_until_they_are_cast(
    typed_logged_model: mlflow.pyfunc.PyFuncModel, mixed_frame: pd.DataFrame
) -> None:
    features = mixed_frame.drop(columns="target").head(10)
    assert features["item count"].dtype == "int64"
    with pytest.raises(MlflowException, match="item count"):
        typed_logged_model.predict(features)
    cast = features.astype(
        dict.fromkeys(features.select_dtypes("integer").columns, "float64")
    )
    pd.testing.assert_frame_equal(
        typed_logged_model.predict(cast), unwrap(typed_logged_model).predict(features)
    )


def test_typed_signature_scores_json_integers_and_nulls_over_rest(
    typed_logged_uri: str,
    typed_logged_model: mlflow.pyfunc.PyFuncModel,
    mixed_frame: pd.DataFrame,
    tmp_path: Path,
) -> None:
    features = mixed_frame.drop(columns="target").head(5)
    features.loc[0, "size cm"] = None
    split = json.loads(features.to_json(orient="split", index=False))
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"dataframe_split": split}))
    # The scoring server's own parsing of a REST request, without the server.
    mlflow.models.predict(
        typed_logged_uri,
        input_path=str(request),
        content_type="json",
        output_path=str(tmp_path / "answer.json"),
        env_manager="local",
    )
    answer = json.loads((tmp_path / "answer.json").read_text())["predictions"]
    expected = unwrap(typed_logged_model).predict(features)
    pd.testing.assert_frame_equal(
        pd.DataFrame(answer),
        expected.set_axis(list(map(str, expected.columns)), axis=1),
        check_dtype=False,
    )


def test_a_declared_optional_column_may_be_left_out(
    mixed_logged_model: mlflow.pyfunc.PyFuncModel, mixed_frame: pd.DataFrame
) -> None:
    features = mixed_frame.drop(columns="target").head(10)
    pd.testing.assert_frame_equal(
        mixed_logged_model.predict(features.drop(columns="size cm")),
        mixed_logged_model.predict(features.assign(**{"size cm": None})),
    )
    with pytest.raises(MlflowException, match="item count"):
        mixed_logged_model.predict(features.drop(columns="item count"))


def test_numbers_of_any_dtype_score_alike_through_mlflow(
    cli_model: mlflow.pyfunc.PyFuncModel, test_features: pd.DataFrame
) -> None:
    expected = cli_model.predict(test_features)
    column = test_features.columns[0]
    whole = test_features.assign(**{column: test_features[column].round()})
    expected_whole = cli_model.predict(whole)
    for dtype in ("int64", "Int64", "object"):
        pd.testing.assert_frame_equal(
            cli_model.predict(whole.astype({column: dtype})), expected_whole
        )
    gappy = test_features.astype({column: "Float64"})
    gappy.iloc[0, 0] = pd.NA
    pd.testing.assert_frame_equal(cli_model.predict(gappy).iloc[1:], expected.iloc[1:])


def test_train_drops_unlabelled_rows_and_says_how_many(
    mixed_frame: pd.DataFrame, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="churn_risk")
    data = tmp_path / "data.csv"
    frame = mixed_frame.assign(**{"row id": range(len(mixed_frame))})
    frame.loc[:2, "target"] = None
    frame.to_csv(data, index=False)
    features, target = load_data(data, "target", exclude=["row id"])
    assert len(features) == len(frame) - 3
    assert "row id" not in features.columns
    assert target.notna().all()
    assert f"dropped 3 of {len(frame)} rows" in caplog.text


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--data", "missing.csv"], "does not exist"),
        (["--data", "data.txt"], "must be a .csv or .parquet file"),
        (["--data", "broken.parquet"], "cannot read"),
        (["--data", "data.csv", "--target", "label"], "'label' is not in"),
        (["--data", "data.csv", "--exclude", "id"], "--exclude ['id']"),
        (["--data", "data.csv", "--optional", "weight"], "'weight'"),
    ],
    ids=[
        "missing",
        "not-a-table",
        "unreadable",
        "bad-target",
        "bad-exclude",
        "bad-optional",
    ],
)
def test_train_cli_data_errors_are_one_line_with_status_2(
    mixed_frame: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    mixed_frame.to_csv("data.csv", index=False)
    Path("data.txt").write_text("a,b\n")
    Path("broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(SystemExit) as exit_info:
        main([*arguments, "--registered-model-name", ""])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    assert error.startswith("error: ")
    assert message in error


def test_training_run_logs_evaluation_plots(cli_model_uri: str, tmp_path: Path) -> None:
    model_id = cli_model_uri.removeprefix("models:/")
    run_id = mlflow.get_logged_model(model_id).source_run_id
    plots = Path(
        mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="plots", dst_path=str(tmp_path)
        )
    )
    expected = [
        "confusion_matrix.png",
        "feature_importance.png",
        "precision_recall_curve.png",
        "roc_curve.png",
    ]
    assert sorted(path.name for path in plots.glob("*.png")) == expected
    for path in plots.glob("*.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path.name
        height, width = matplotlib.image.imread(path).shape[:2]
        assert height > 100 and width > 100, path.name


def saved_by(path: Path, version: str | None) -> None:
    """Rewrite the saved model's flavor section as if `version` had saved it."""
    mlmodel = mlflow.models.Model.load(path)
    if version is None:
        del mlmodel.flavors[churn_risk.FLAVOR_NAME]
    else:
        mlmodel.flavors[churn_risk.FLAVOR_NAME]["package_version"] = version
    mlmodel.save(path / "MLmodel")


def test_mlmodel_lists_the_flavor_beside_python_function(cli_model_dir: Path) -> None:
    flavors = mlflow.models.Model.load(cli_model_dir).flavors
    flavor = flavors[churn_risk.FLAVOR_NAME]
    assert flavor["package_version"] == churn_risk.__version__
    assert flavor["model_file"] == churn_risk.model.estimator.MODEL_FILE
    data = cli_model_dir / flavor["data"]
    assert (data / flavor["model_file"]).is_file()
    assert (data / flavor["preprocessing_file"]).is_file()
    assert flavors["python_function"]["loader_module"] == "churn_risk.flavor"


@pytest.mark.parametrize("method", METHODS)
def test_load_model_gives_back_the_model_predicting_exactly_alike(
    cli_model_uri: str,
    cli_model: mlflow.pyfunc.PyFuncModel,
    test_features: pd.DataFrame,
    method: str,
) -> None:
    native = churn_risk.load_model(cli_model_uri)
    assert isinstance(native, Model)
    pd.testing.assert_frame_equal(
        native.predict(test_features, {"method": method}),
        cli_model.predict(test_features, params={"method": method}),
    )


def test_save_model_writes_a_model_both_loaders_read(
    model: Model, test_features: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "saved"
    churn_risk.save_model(model, path)
    expected = model.predict(test_features)
    loaded = churn_risk.load_model(str(path))
    pd.testing.assert_frame_equal(loaded.predict(test_features), expected)
    pyfunc = mlflow.pyfunc.load_model(str(path))
    pd.testing.assert_frame_equal(pyfunc.predict(test_features), expected)


def test_both_loaders_read_the_files_the_mlmodel_names(
    model: Model, test_features: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "saved"
    churn_risk.save_model(model, path)
    mlmodel = mlflow.models.Model.load(path)
    flavor = mlmodel.flavors[churn_risk.FLAVOR_NAME]
    data = path / flavor["data"]
    for key in ("model_file", "preprocessing_file"):
        (data / flavor[key]).rename(data / f"renamed-{flavor[key]}")
        flavor[key] = f"renamed-{flavor[key]}"
    mlmodel.save(path / "MLmodel")
    native = churn_risk.load_model(str(path))
    pyfunc = mlflow.pyfunc.load_model(str(path))
    expected = model.predict(test_features)
    pd.testing.assert_frame_equal(native.predict(test_features), expected)
    pd.testing.assert_frame_equal(pyfunc.predict(test_features), expected)


def test_load_model_reads_a_model_of_another_patch_release(
    model: Model, test_features: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "saved"
    churn_risk.save_model(model, path)
    major, minor, patch = churn_risk.__version__.split(".")
    saved_by(path, f"{major}.{minor}.{int(patch) + 1}")
    loaded = churn_risk.load_model(str(path))
    pd.testing.assert_frame_equal(
        loaded.predict(test_features), model.predict(test_features)
    )


def test_load_model_refuses_another_major_version_naming_both(
    model: Model, tmp_path: Path
) -> None:
    path = tmp_path / "saved"
    churn_risk.save_model(model, path)
    saved_by(path, "99.0.0")
    with pytest.raises(MlflowException) as error:
        churn_risk.load_model(str(path))
    assert "99.0.0" in error.value.message
    assert churn_risk.__version__ in error.value.message


def test_load_model_refuses_a_model_without_the_flavor(
    model: Model, tmp_path: Path
) -> None:
    path = tmp_path / "saved"
    churn_risk.save_model(model, path)
    saved_by(path, None)
    with pytest.raises(MlflowException, match="has no 'churn_risk' flavor"):
        churn_risk.load_model(str(path))
