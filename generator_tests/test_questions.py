"""The questionnaire: defaults, and every bad answer refused before anything is written."""

from pathlib import Path

import pytest
import yaml
from helpers import copy_cli, render

BAD_ANSWERS = [
    ({"project_name": "   "}, "project_name must not be empty"),
    (
        {"package_name": "My-Model"},
        "package_name 'My-Model' is not allowed: use lowercase",
    ),
    ({"package_name": "2fast"}, "package_name '2fast' is not allowed"),
    ({"package_name": "a" * 41}, "is too long: use at most 40 characters"),
    (
        {"registered_model_name": "m" * 51},
        "registered_model_name '" + "m" * 51 + "' is too long: use at most 50",
    ),
    (
        {"registered_model_prefix": "team/"},
        "registered_model_prefix 'team/' is not allowed",
    ),
    ({"package_name": "class"}, "package_name 'class' is a Python keyword"),
    ({"package_name": "mlflow"}, "would shadow the dependency or folder 'mlflow'"),
    ({"package_name": "sklearn"}, "would shadow the dependency or folder 'sklearn'"),
    ({"package_name": "tests"}, "would shadow the dependency or folder 'tests'"),
    ({"package_name": "json"}, "would shadow the standard-library module 'json'"),
    ({"package_name": "model"}, "package_name 'model' is too generic"),
    ({"package_name": "tqdm"}, "would shadow the dependency or folder 'tqdm'"),
    (
        {"author_email": "someone-at-example"},
        "author_email 'someone-at-example' is not a valid email",
    ),
    ({"python_version": "3.9"}, "Invalid choice for 'python_version': '3.9' is not in"),
    (
        {"python_version": "3.10"},
        "Python 3.10 reached its end of life in October 2026: choose 3.11 or later",
    ),
    (
        {"framework": "tensorflow"},
        "Invalid choice for 'framework': 'tensorflow' is not in",
    ),
    ({"task": "ranking"}, "Invalid choice for 'task': 'ranking' is not in"),
    (
        {"task": "binary", "predict_output": "top_k"},
        "predict_output 'top_k' needs task 'multiclass'",
    ),
    (
        {"task": "binary", "predict_output": "value"},
        "predict_output 'value' needs task 'regression'",
    ),
    (
        {"task": "regression", "predict_output": "probabilities"},
        "predict_output 'probabilities' needs task 'binary' or 'multiclass'",
    ),
    (
        {"task": "multiclass", "predict_output": "thresholded_label"},
        "predict_output 'thresholded_label' needs task 'binary'",
    ),
    (
        {"task": "multiclass", "predict_output": "positive_probability"},
        "predict_output 'positive_probability' needs task 'binary'",
    ),
    (
        {"predict_output": "scores"},
        "Invalid choice for 'predict_output': 'scores' is not in",
    ),
    ({"packaging": "onnx"}, "Invalid choice for 'packaging': 'onnx' is not in"),
    (
        {"framework": "sklearn", "extra_methods": ["explain"]},
        "extra method 'explain' needs an exact attribution, which framework 'sklearn' "
        "does not have; it is allowed for: xgboost, lightgbm, catboost",
    ),
    (
        {"task": "regression", "extra_methods": ["predict_proba"]},
        "extra method 'predict_proba' needs task 'binary' or 'multiclass'",
    ),
    (
        {"extra_methods": ["transform"]},
        "Invalid choice for 'extra_methods': 'transform' is not in",
    ),
    (
        {"registered_model_name": "team/model"},
        "registered_model_name 'team/model' is not allowed",
    ),
]


@pytest.mark.parametrize(
    ("answers", "message"),
    BAD_ANSWERS,
    ids=[
        f"{next(iter(answers))}={list(answers.values())[-1]}"
        for answers, _ in BAD_ANSWERS
    ],
)
def test_bad_answers_are_refused(
    template_dir: Path, tmp_path: Path, answers: dict, message: str
) -> None:
    destination = tmp_path / "project"
    with pytest.raises(ValueError) as error:
        render(template_dir, destination, answers)
    assert message in str(error.value)
    assert not destination.exists() or not any(destination.iterdir())


@pytest.mark.parametrize(
    ("project_name", "package_name"),
    [
        ("My Model", "my_model"),
        ("Fraud Detector 2", "fraud_detector_2"),
        ("  Churn -- Risk!  ", "churn_risk"),
        ("42 Answers", "answers"),
        ("MLflow", "mlflow_model"),
        ("JSON", "json_model"),
        ("Models", "models_model"),
        ("Match", "match_model"),
        ("!!!", "model_package"),
        (
            "The Extremely Long Name Of A Fraud Detection Model",
            "the_extremely_long_name_of_a_fraud",
        ),
    ],
)
def test_package_name_is_derived_from_project_name(
    template_dir: Path, tmp_path: Path, project_name: str, package_name: str
) -> None:
    project = render(template_dir, tmp_path / "p", {"project_name": project_name})
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["package_name"] == package_name
    assert answers["registered_model_name"] == package_name
    assert (project / "src" / package_name / "model" / "predictor.py").is_file()


@pytest.mark.parametrize(
    ("task", "predict_output"),
    [
        ("binary", "probabilities"),
        ("multiclass", "probabilities"),
        ("regression", "value"),
    ],
)
def test_predict_output_default_fits_the_task(
    template_dir: Path, tmp_path: Path, task: str, predict_output: str
) -> None:
    project = render(template_dir, tmp_path / "p", {"task": task})
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["predict_output"] == predict_output


def test_cli_refuses_a_bad_answer_without_writing(
    template_dir: Path, tmp_path: Path
) -> None:
    destination = tmp_path / "project"
    result = copy_cli(
        template_dir,
        destination,
        "-d",
        "task=regression",
        "-d",
        "predict_output=top_k",
    )
    assert result.returncode != 0
    assert "predict_output 'top_k' needs task 'multiclass'" in result.stderr
    assert not destination.exists() or not any(destination.iterdir())


def test_data_file_answers_are_validated_too(
    template_dir: Path, tmp_path: Path
) -> None:
    data_file = tmp_path / "team.yml"
    data_file.write_text(
        yaml.safe_dump({"framework": "sklearn", "extra_methods": ["explain"]})
    )
    destination = tmp_path / "project"
    result = copy_cli(
        template_dir,
        destination,
        "--data-file",
        str(data_file),
    )
    assert result.returncode != 0
    assert "extra method 'explain' needs an exact attribution" in result.stderr
    assert not destination.exists() or not any(destination.iterdir())


def test_copy_needs_no_trust(template_dir: Path, tmp_path: Path) -> None:
    result = copy_cli(
        template_dir,
        tmp_path / "p",
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p" / "src" / "my_model" / "train.py").is_file()
