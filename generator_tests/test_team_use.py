"""How a team standardizes: a shared answers file, guards against half-merged
updates in generated projects, and `copier check-update` for their CI."""

import re
import subprocess
from pathlib import Path

import yaml
from helpers import (
    PYTHON,
    REPO,
    commit_all,
    copier_cli,
    copy_cli,
    init_repo,
    render,
    run,
)

PRESET = REPO / "presets" / "team-example.yml"


def test_team_preset_sets_the_team_defaults(template_dir: Path, tmp_path: Path) -> None:
    preset = yaml.safe_load(PRESET.read_text())
    result = copy_cli(
        template_dir,
        tmp_path / "card-risk",
        "--data-file",
        str(PRESET),
        "-d",
        "project_name=Card Risk",
    )
    assert result.returncode == 0, result.stderr
    project = tmp_path / "card-risk"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    for question, value in preset.items():
        assert answers[question] == value, question
    assert answers["registered_model_name"] == "fraud.card_risk"
    pyproject = (project / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.12"' in pyproject
    assert 'email = "fraud-ml@example.com"' in pyproject
    train = (project / "src" / "card_risk" / "train.py").read_text()
    assert 'DEFAULT_REGISTERED_MODEL_NAME = "fraud.card_risk"' in train
    assert (
        "import lightgbm"
        in (project / "src" / "card_risk" / "model" / "estimator.py").read_text()
    )


def test_command_line_answers_override_the_preset(
    template_dir: Path, tmp_path: Path
) -> None:
    result = copy_cli(
        template_dir,
        tmp_path / "p",
        "--data-file",
        str(PRESET),
        "-d",
        "framework=xgboost",
    )
    assert result.returncode == 0, result.stderr
    answers = yaml.safe_load((tmp_path / "p" / ".copier-answers.yml").read_text())
    assert answers["framework"] == "xgboost"
    assert answers["python_version"] == "3.12"


def leftover_check(project: Path) -> subprocess.CompletedProcess:
    """Run the generated CI's "No leftovers from copier update" step."""
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    (step,) = [
        step
        for step in workflow["jobs"]["test"]["steps"]
        if step.get("name") == "No leftovers from copier update"
    ]
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", step["run"]],
        cwd=project,
        capture_output=True,
        text=True,
    )


def test_generated_ci_rejects_conflict_markers_and_rej_files(
    template_dir: Path, tmp_path: Path
) -> None:
    project = render(template_dir, tmp_path / "p", {})
    init_repo(project)
    commit_all(project, "generated")
    assert leftover_check(project).returncode == 0

    train = project / "src" / "my_model" / "train.py"
    clean = train.read_text()
    train.write_text(
        clean
        + "<<<<<<< before updating\nA = 1\n=======\nA = 2\n>>>>>>> after updating\n"
    )
    commit_all(project, "half-merged update")
    result = leftover_check(project)
    assert result.returncode == 1
    assert "conflict markers" in result.stdout

    train.write_text(clean)
    (project / "README.md.rej").write_text("@@ -1 +1 @@\n-a\n+b\n")
    commit_all(project, "rejected hunk")
    result = leftover_check(project)
    assert result.returncode == 1
    assert ".rej files" in result.stdout


def test_generated_pre_commit_rejects_conflict_markers_and_rej_files(
    template_dir: Path, tmp_path: Path
) -> None:
    project = render(template_dir, tmp_path / "p", {})
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    # Copier's inline markers appear outside a git merge, so the hook must look anyway.
    assert "--assume-in-merge" in hooks["check-merge-conflict"]["args"]
    rejects = hooks["no-copier-rejects"]
    assert rejects["language"] == "fail"
    assert re.search(rejects["files"], "src/my_model/train.py.rej")
    assert not re.search(rejects["files"], "src/my_model/train.py")
    assert "*.rej" not in (project / ".gitignore").read_text()


def test_check_update_reports_a_newer_template(
    template_repo: Path, tmp_path: Path
) -> None:
    project = tmp_path / "p"
    result = copy_cli(
        template_repo,
        project,
        "--vcs-ref",
        "v0.3.0",
    )
    assert result.returncode == 0, result.stderr
    init_repo(project)
    commit_all(project, "generated")
    outdated = copier_cli("check-update", "--quiet", cwd=project)
    assert outdated.returncode == 2, outdated.stderr
    run(
        [PYTHON, "-m", "copier", "update", "--defaults", "--vcs-ref", "v0.3.1"],
        cwd=project,
    )
    commit_all(project, "updated")
    current = copier_cli("check-update", "--quiet", cwd=project)
    assert current.returncode == 0, current.stderr
