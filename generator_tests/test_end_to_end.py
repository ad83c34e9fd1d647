"""A covering subset of answer sets, run for real: the generated project's own test
suite (or, where only logging meets the answers, its logged-model tests), and
its train CLI on default data and on a messy CSV."""

import json
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from answer_sets import (
    END_TO_END,
    EXAMPLES_RUN,
    LOGGED_MODEL_ONLY,
    PARTIAL_SUITE_TESTS,
    PYTHON_VERSIONS,
    TEMPLATE,
    answer_id,
    declared,
)
from frames import TARGET, messy_frame
from helpers import (
    PYTHON,
    REGISTRY_DATABASE_VARIABLE,
    last_line,
    package_name,
    project_env,
    pyenv_python,
    run,
    run_project_tests,
    run_script,
)

pytestmark = pytest.mark.end_to_end


# First in the file: the slowest test, so xdist starts it early.
def test_newcomer_setup_on_the_highest_offered_python(
    rendered: Callable[[dict], Path], tmp_path: Path, registry_database: str
) -> None:
    """The README's set-up, as written (`python -m venv`, `pip install -e
    '.[test]'`, `pytest`), on the highest Python the template offers, in a
    virtual environment that shares nothing with this one: every dependency
    comes from the package index as a user gets it. The default project's
    lowest Python is 3.11, so this is also a project on a newer Python than its
    lowest (the `kserve` extra installs nothing on 3.13)."""
    highest = PYTHON_VERSIONS[-1]
    # A copy: the install writes build metadata into the project.
    project = Path(shutil.copytree(rendered({}), tmp_path / "project"))
    venv = tmp_path / "venv"
    run([str(pyenv_python(highest)), "-m", "venv", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    env = project_env(project)
    del env["PYTHONPATH"]
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    run(
        [str(python), "-m", "pip", "install", "-q", "-e", ".[test]"],
        cwd=project,
        env=env,
        timeout=900,
    )
    version = run([str(python), "--version"], cwd=project).stdout
    assert version.startswith(f"Python {highest}."), version
    # Its registry on PostgreSQL, as the generated CI runs it.
    env[REGISTRY_DATABASE_VARIABLE] = registry_database
    result = run_project_tests(project, python=str(python), env=env)
    assert "registry: `mlflow server` on a fresh database" in result.stdout


@pytest.mark.deployment
def test_the_lowest_versions_the_ranges_allow(
    rendered: Callable[[dict], Path], tmp_path: Path
) -> None:
    """The generated CI's `lowest` job, here: the default project installed with
    `uv pip install --resolution lowest-direct` (every direct dependency at
    the lowest version its range allows, from the package index) passes its
    model, logged-model and contract tests and trains from the CLI. A lower
    bound that no longer works (MLflow 3.1 beside SQLAlchemy 2.1, an XGBoost
    without `Booster.get_categories`) fails here."""
    project = Path(shutil.copytree(rendered({}), tmp_path / "project"))
    venv = tmp_path / "venv"
    uv = [PYTHON, "-m", "uv"]
    run([*uv, "venv", "-q", "-p", PYTHON, str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    env = project_env(project)
    del env["PYTHONPATH"]
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    install = ["pip", "install", "-q", "--python", str(python)]
    install += ["--resolution", "lowest-direct", "-e", ".[test]"]
    run([*uv, *install], cwd=project, env=env, timeout=900)
    listed = run([*uv, "pip", "list", "--python", str(python)], cwd=project).stdout
    assert re.search(r"^pandas +2\.2\.0$", listed, re.MULTILINE), listed
    run_project_tests(
        project,
        "tests/test_model.py",
        *PARTIAL_SUITE_TESTS,
        python=str(python),
        env=env,
    )


def test_the_suite_runs_on_the_lowest_offered_python() -> None:
    """Every other generated suite here runs in this interpreter: it must be
    the lowest Python the template offers (the highest runs above)."""
    lowest = PYTHON_VERSIONS[0]
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == lowest, (
        f"run the template's suite on Python {lowest}, the lowest it offers "
        f"(this is {sys.version.split()[0]}): generated projects are tested on "
        "the lowest and the highest offered Python"
    )


#: The defaults' own suite runs in the newcomer test above, installed for real.
SUITES = [answers for answers in END_TO_END if answers]


@pytest.fixture(params=SUITES, ids=[answer_id(answers) for answers in SUITES])
def project(request: pytest.FixtureRequest, rendered: Callable[[dict], Path]) -> Path:
    return rendered(request.param)


#: The sets whose suite runs tests/test_readme.py here, besides the examples'
#: and the newcomer's (the others deselect it: its servers cost ~50 s a suite):
#: a regression project without a registered model name, whose README has
#: neither a param nor the registry's blocks.
README_SUITES = [
    next(
        answers
        for answers in SUITES
        if answers.get("task") == "regression"
        and answers.get("registered_model_name") == ""
    )
]
#: The sets whose suite runs the registry tests (`-m registry`: the gate and its
#: lock, ~100 s a suite) here, besides the examples', the newcomer's and the
#: PostgreSQL run's: the gate's floor is a task's (R² for regression; the
#: examples and the defaults are classifiers).
REGISTRY_SUITES = [
    next(answers for answers in SUITES if answers.get("task") == "regression")
]


def test_generated_project_tests_pass(
    project: Path, request: pytest.FixtureRequest
) -> None:
    """The whole suite, but what renders alike in every project or runs in the
    suites named above: the Spark engine's test (generator_tests/test_scoring.py
    holds the engine to the local one for every output)."""
    answers = request.node.callspec.params["project"]
    options = ["--deselect", "tests/test_spark_scoring.py"]
    if answers not in README_SUITES:
        options += ["--deselect", "tests/test_readme.py"]
    if answers not in REGISTRY_SUITES:
        options += ["-m", "not registry"]
    run_project_tests(project, *options)


@pytest.mark.parametrize(
    "answers", LOGGED_MODEL_ONLY, ids=[answer_id(a) for a in LOGGED_MODEL_ONLY]
)
def test_generated_logged_model_tests_pass(
    rendered: Callable[[dict], Path], answers: dict
) -> None:
    """The framework and packaging pairs no whole suite runs: the generated
    tests that log the model, load it back and hold it to the contract."""
    run_project_tests(rendered(answers), *PARTIAL_SUITE_TESTS)


def first_per_framework_and_task(answer_sets: list[dict]) -> list[dict]:
    """One answer set per (framework, task): what a CSV's labels and categories hit."""
    chosen: dict[tuple[str, str], dict] = {}
    for answers in answer_sets:
        context = TEMPLATE.context(answers)
        key = (context["framework"], context["task"])
        chosen.setdefault(key, answers)
    return list(chosen.values())


#: Every END_TO_END project's own suite already trains on a messy CSV in-process;
#: the CLI subprocess on a CSV runs once per framework and task.
CSV_CLI = first_per_framework_and_task([*END_TO_END, *EXAMPLES_RUN])


@pytest.mark.parametrize("answers", CSV_CLI, ids=[answer_id(a) for a in CSV_CLI])
def test_train_cli_on_a_csv_with_strings_missing_values_and_spaces(
    rendered: Callable[[dict], Path], tmp_path: Path, answers: dict
) -> None:
    project = rendered(answers)
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    frame = messy_frame(answers["task"])
    data = tmp_path / "customer data.csv"
    frame.to_csv(data, index=False)
    env = project_env(
        project, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}"
    )
    result = run(
        [
            PYTHON,
            "-m",
            f"{package_name(project)}.train",
            "--data",
            str(data),
            "--target",
            TARGET,
            "--experiment",
            "messy csv",
            "--registered-model-name",
            "messy-model",
        ],
        cwd=tmp_path,
        env=env,
    )
    uri = result.stdout.strip().splitlines()[-1]
    assert uri.startswith("models:/m-")

    unseen = frame.drop(columns=TARGET).head(6).copy()
    unseen["plan type"] = ["enterprise", None, "basic", "plus", "trial", "premium"]
    unseen["home region"] = ["moon", "north", None, "south", "east", "west"]
    rows = tmp_path / "rows.json"
    unseen.to_json(rows, orient="split", index=False)
    if declared("packaging", answers["packaging"], "pickle_free"):
        env["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "false"
    # In a fresh interpreter: every project names its package my_model.
    predicted = run_script(
        "load_and_predict",
        str(rows),
        uri,
        "models:/messy-model@champion",
        cwd=tmp_path,
        env=env,
    )
    by_uri, by_alias = json.loads(last_line(predicted))
    assert by_uri["rows"] == 6
    assert by_uri["nulls"] == 0
    assert by_alias == by_uri
