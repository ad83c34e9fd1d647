"""The input contract holds across drawn training schemas (property-based), for
every framework and every packaging."""

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from answer_sets import TEMPLATE, answer_id, covering_answer_sets
from helpers import last_line, package_name, project_env, run_script

pytestmark = pytest.mark.end_to_end

#: Each framework, each packaging and each task at least once.
CONTRACT_SETS = covering_answer_sets(("framework", "packaging", "task"))


@pytest.mark.parametrize(
    "answers", CONTRACT_SETS, ids=[answer_id(answers) for answers in CONTRACT_SETS]
)
def test_input_contract_holds_for_drawn_training_schemas(
    rendered: Callable[[dict], Path], tmp_path: Path, answers: dict
) -> None:
    project = rendered(answers)
    env = project_env(project)
    env["PYTHONPATH"] = f"{project / 'src'}{os.pathsep}{project}"
    result = run_script(
        "contract_properties",
        package_name(project),
        TEMPLATE.context(answers)["task"],
        cwd=tmp_path,
        env=env,
        timeout=900,
    )
    assert last_line(result) == "ok"
