"""The promotion gate against a real `mlflow server`.

For every framework, versions of one registered model trained by the project's
CLI: a version whose prediction code was changed to score worse is judged by
that code and stays challenger, while the champion is judged by its own. For the
default project (the alias logic does not depend on the framework):
`--promote always` and `never` do what they say, two trainings racing leave
`champion` on a version that won its comparison, and a champion that cannot
score the evaluation data keeps its alias in `auto` mode.
"""

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from answer_sets import FRAMEWORKS
from helpers import PYTHON, last_line, package_name, project_env, run, run_script
from mlflow import MlflowClient

#: The line of the project's model.py whose result the edited version reverses.
SCORES_LINE = "        return estimator.predict_scores(self.native, features)\n"
REVERSED = "        return estimator.predict_scores(self.native, features)[..., ::-1]\n"


class Registry:
    """One registered model on the tracking server, trained by the project's CLI."""

    def __init__(self, project: Path, server: str, workdir: Path) -> None:
        self.project = project
        self.package = package_name(project)
        self.name = f"gate-{self.package}-{workdir.name}"
        self.env = project_env(project, MLFLOW_TRACKING_URI=server)
        self.workdir = workdir
        self.client = MlflowClient(tracking_uri=server)

    def command(self, data: str, evaluation: str, *options: str) -> list[str]:
        """The train CLI on `data`, evaluated on `evaluation`, with `options`."""
        return [
            PYTHON,
            "-m",
            f"{self.package}.train",
            "--data",
            str(self.workdir / data),
            "--eval-data",
            str(self.workdir / evaluation),
            "--registered-model-name",
            self.name,
            *options,
        ]

    def train(self, data: str, *options: str, evaluation: str = "eval.csv") -> str:
        """Train a version; return the promotion line it printed."""
        result = run(self.command(data, evaluation, *options), self.workdir, self.env)
        lines = result.stdout.strip().splitlines()
        assert lines[-1].startswith("models:/m-"), result.stdout
        assert lines[-2].startswith("promotion: "), result.stdout
        return lines[-2]

    def alias(self, alias: str) -> str:
        """The version that has `alias`."""
        return str(self.client.get_model_version_by_alias(self.name, alias).version)

    def tags(self, version: str) -> dict[str, str]:
        """The promotion tags of `version`."""
        return self.client.get_model_version(self.name, version).tags

    def latest(self) -> str:
        """The newest version."""
        versions = self.client.search_model_versions(f"name = '{self.name}'")
        return str(max(int(version.version) for version in versions))


def won(tags: dict[str, str], greater_is_better: bool) -> bool:
    """Whether the recorded comparison says the challenger was at least as good."""
    if "promotion.champion_value" not in tags:
        return tags["promotion.reason"].startswith("no champion")
    difference = float(tags["promotion.challenger_value"]) - float(
        tags["promotion.champion_value"]
    )
    return difference >= 0 if greater_is_better else difference <= 0


def prepared(
    rendered: Callable[[dict], Path], server: str, workdir: Path, answers: dict
) -> tuple[Registry, str]:
    """A registry for the project of `answers`, its data files and first feature."""
    registry = Registry(rendered(answers), server, workdir)
    result = run_script(
        "promotion_data", registry.package, str(workdir), cwd=workdir, env=registry.env
    )
    return registry, last_line(result)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_each_version_is_judged_by_its_own_code(
    rendered: Callable[[dict], Path],
    tracking_server: str,
    tmp_path: Path,
    framework: str,
) -> None:
    registry, _ = prepared(
        rendered, tracking_server, tmp_path, {"framework": framework}
    )
    assert "is now @champion (no champion yet)" in registry.train("clean.csv")
    assert registry.alias("champion") == "1"

    first_value = float(registry.tags("1")["promotion.challenger_value"])

    # Version 2 reverses its scores in its own code, a worse model: it stays
    # challenger. The champion is judged again by version 1's code, not by the
    # code now in the project, and scores what it scored new.
    model_py = registry.project / "src" / registry.package / "model" / "predictor.py"
    original = model_py.read_text()
    assert SCORES_LINE in original
    model_py.write_text(original.replace(SCORES_LINE, REVERSED))
    try:
        assert "stays @challenger" in registry.train("clean.csv")
    finally:
        model_py.write_text(original)
    assert (registry.alias("champion"), registry.alias("challenger")) == ("1", "2")
    tags = registry.tags("2")
    assert tags["promotion.decision"] == "not promoted"
    assert float(tags["promotion.champion_value"]) == pytest.approx(first_value)
    assert float(tags["promotion.challenger_value"]) != pytest.approx(first_value)


def test_modes_races_and_a_change_of_schema(
    rendered: Callable[[dict], Path], tracking_server: str, tmp_path: Path
) -> None:
    """The alias logic is the same for every framework: the default project."""
    registry, first_feature = prepared(rendered, tracking_server, tmp_path, {})
    project = registry.project
    greater_is_better = (
        "GREATER_IS_BETTER = True"
        in (
            project / "src" / registry.package / "registry" / "promotion.py"
        ).read_text()
    )
    registry.train("clean.csv")
    assert "is now @champion (--promote always" in registry.train(
        "noisy.csv", "--promote", "always"
    )
    assert registry.alias("champion") == "2"
    assert "stays @challenger (--promote never)" in registry.train(
        "clean.csv", "--promote", "never"
    )
    assert registry.alias("champion") == "2"

    # Two trainings race against the noisy champion.
    racers = [
        subprocess.Popen(
            registry.command("clean.csv", "eval.csv"),
            cwd=tmp_path,
            env=registry.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for racer in racers:
        _, stderr = racer.communicate(timeout=600)
        assert racer.returncode == 0, stderr
    champion = registry.alias("champion")
    assert champion in ("4", "5")
    assert registry.tags(champion)["promotion.decision"] == "promoted"
    assert won(registry.tags(champion), greater_is_better)

    # A challenger without a feature the champion needs is a change of schema:
    # not in auto mode, said with the column it dropped.
    line = registry.train(
        "clean.csv", "--exclude", first_feature, evaluation="eval_without_first.csv"
    )
    assert "stays @challenger" in line and "a change of schema" in line, line
    assert f"gone: ['{first_feature}']" in line
    assert registry.alias("champion") == champion
    line = registry.train(
        "clean.csv",
        "--exclude",
        first_feature,
        "--promote",
        "always",
        evaluation="eval_without_first.csv",
    )
    assert "is now @champion" in line
    assert registry.alias("champion") == registry.latest()
