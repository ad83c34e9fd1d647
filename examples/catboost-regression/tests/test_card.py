"""Model cards and lineage: what every logged model and registered version says
of itself."""

import json
import subprocess
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from claim_cost import card, train
from claim_cost.making import lineage, pipeline
from claim_cost.registry import gate

#: Every lineage fact, each with a value.
FACTS = {
    "made_by",
    "template_version",
    "git_commit",
    "git_dirty",
    "training_data",
    "training_rows",
    "training_sha256",
    "evaluation_data",
    "evaluation_rows",
    "evaluation_sha256",
    "mlflow_version",
    "framework_version",
}
SECTIONS = [
    "## What it predicts",
    "## Inputs",
    "## Data",
    "## Held-out metrics",
    "## Promotion",
    "## Drift profile",
    "## Lineage",
    "## How to call it",
]


def test_a_trained_model_carries_its_lineage_and_card(mixed_logged_uri: str) -> None:
    info = mlflow.models.get_model_info(mixed_logged_uri)
    facts = info.metadata[lineage.METADATA_KEY]
    assert set(facts) == FACTS and all(facts.values())
    assert facts["made_by"] == "train"
    assert facts["training_data"] == "mixed data.csv"
    assert len(facts["training_sha256"]) == 64
    # The data's name, never a path on the machine that trained.
    assert facts["evaluation_data"] == "held-out rows of mixed data.csv"
    assert facts["mlflow_version"] == mlflow.__version__
    run = mlflow.get_run(info.run_id)
    assert run.data.tags["lineage.made_by"] == "train"
    text = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/{card.CARD_ARTIFACT}")
    assert text.splitlines()[0] == f"# {card.__package__} model {info.model_id}"
    assert [line for line in text.splitlines() if line.startswith("## ")] == SECTIONS
    rows = {line.split(" | ")[0][2:]: line for line in text.splitlines() if "|" in line}
    assert rows["is member"].startswith("| is member | boolean | required | 1")
    assert rows["size cm"].startswith("| size cm | number | optional |")
    assert "| 3/3 |" in rows["colour name"]
    assert "not a registered version" in text
    assert len(text.encode()) < 16_000


def test_a_registered_version_is_described_by_its_card(cli_model_uri: str) -> None:
    client = MlflowClient()
    name = train.DEFAULT_REGISTERED_MODEL_NAME
    version = client.get_model_version_by_alias(name, gate.CHAMPION_ALIAS)
    uri = f"models:/{name}/{version.version}"
    # The registry's SQL stores hold 5,000 characters; a longer card (the
    # binary demo's 30 features make one) is shortened, and its whole text is
    # the run's artifact.
    whole = card.render(uri)
    assert len(version.description) <= card.DESCRIPTION_LIMIT
    assert version.description.startswith(f"# {name} version {version.version}\n")
    if len(whole) <= card.DESCRIPTION_LIMIT:
        assert version.description == whole
    else:
        assert card.CARD_ARTIFACT in version.description
    logged = mlflow.artifacts.load_text(f"runs:/{version.run_id}/{card.CARD_ARTIFACT}")
    assert logged == whole
    assert "- decision: promoted" in version.description
    assert "- floor: " in version.description
    assert version.tags["lineage.made_by"] == "train"
    assert version.tags["lineage.training_data"].startswith("sklearn.datasets.")
    assert "n/a (not a file)" == version.tags["lineage.training_sha256"]


def test_the_card_of_a_version_that_lost_the_gate_says_why(
    mixed_frame: pd.DataFrame, tmp_path: Path
) -> None:
    name = "card-gate"
    data = tmp_path / "data.csv"
    mixed_frame.to_csv(data, index=False)
    train.train(data, registered_model_name=name)
    noisy = tmp_path / "noisy.csv"
    shuffled = mixed_frame["target"].sample(frac=1.0, random_state=1).to_numpy()
    mixed_frame.assign(target=shuffled).to_csv(noisy, index=False)
    train.train(noisy, registered_model_name=name, promote="never")
    description = MlflowClient().get_model_version(name, "2").description
    assert "- decision: not promoted" in description
    assert "- reason: --promote never" in description
    assert "noisy.csv" in description


@pytest.mark.parametrize("limit", [3000, 1500, 400])
def test_a_description_fits_the_registry_however_long_the_card(
    mixed_logged_uri: str, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    parts = card.sections(mixed_logged_uri)
    monkeypatch.setattr(card, "DESCRIPTION_LIMIT", limit)
    text = card.description(parts, "RUN")
    assert len(text) <= limit
    assert text.startswith(parts["title"])
    assert "model_card.md` in the artifacts of run RUN" in text
    if limit >= 1500:  # sections give way in turn, the metrics stay
        assert "Shortened to fit the registry" in text
        assert "## Promotion" in text


def test_the_logged_example_and_the_card_show_no_training_record(
    mixed_logged_uri: str, mixed_frame: pd.DataFrame
) -> None:
    # Anyone who reads the registry sees the example and the card: they are
    # made of typical values (medians, most common categories), not of rows.
    info = mlflow.models.get_model_info(mixed_logged_uri)
    example = pd.DataFrame(**json.loads(card.serving_example(info))["dataframe_split"])
    features = mixed_frame.drop(columns="target")
    sizes = features["size cm"]
    assert sizes.quantile(0.4) < example["size cm"].iloc[0] < sizes.quantile(0.6)
    dates = pd.to_datetime(features["signup date"])
    middle = pd.to_datetime(example["signup date"].iloc[0])
    assert dates.quantile(0.4) <= middle <= dates.quantile(0.6)
    assert set(example["colour name"]) <= {"red", "green", "blue"}
    columns = ["size cm", "colour name", "signup date"]
    records = {
        (f"{size:.6f}", colour, f"{date}"[:10])
        for size, colour, date in features[columns].itertuples(index=False)
    }
    shown = {
        (f"{size:.6f}", colour, f"{date}"[:10])
        for size, colour, date in example[columns].itertuples(index=False)
    }
    assert not shown & records


def test_an_example_shows_no_category_that_few_rows_hold() -> None:
    # An e-mail address is a category of one row: a record's value.
    rows = 40
    frame = pd.DataFrame(
        {
            "email": [f"person{row}@corp.example" for row in range(rows)],
            "plan": ["basic"] * 30 + ["plus"] * 10,
            "spend": np.linspace(1.0, 2.0, rows),
        }
    )
    preprocessor = train.fit_preprocessor(frame)
    example = pipeline.typical_rows(preprocessor, frame)
    assert example["email"].isna().all()
    assert list(example["plan"]) == ["basic", "plus", "basic"]


def test_the_card_cli_prints_any_version_and_says_what_an_old_one_lacks(
    mixed_logged_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    card.main(["--model-uri", mixed_logged_uri])
    assert capsys.readouterr().out == card.render(mixed_logged_uri)

    # A model logged before cards: no lineage, no column report, no profile.
    class Bare(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input):  # noqa: ANN001, ANN201, ARG002
            return model_input

    with mlflow.start_run():
        old = mlflow.pyfunc.log_model(name="old", python_model=Bare())
    card.main(["--model-uri", old.model_uri])
    text = capsys.readouterr().out
    assert text.count(card.NOT_RECORDED) >= 3
    with pytest.raises(SystemExit) as exit_info:
        card.main(["--model-uri", "models:/no-such-model/1"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "\n" not in error


def test_outside_a_git_repository_the_lineage_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(lineage, "PROJECT_DIR", tmp_path)
    facts = lineage.collect("train", ("demo", 3))
    assert facts["git_commit"].startswith("not a git repository")
    assert facts["template_version"].startswith("unknown")


def test_an_installed_package_names_no_other_repositorys_commit(
    tmp_path: Path,
) -> None:
    # The package installed into a virtual environment inside some other
    # repository: its folder is not a project's src/, so no commit is named.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    installed = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages" / "pkg"
    installed.mkdir(parents=True)
    assert lineage.project_dir(installed) is None
    package = Path(lineage.__file__).resolve().parents[1]
    assert lineage.project_dir(package) == lineage.PROJECT_DIR
    assert (lineage.PROJECT_DIR / "pyproject.toml").is_file()


def test_in_a_git_repository_the_lineage_names_the_commit_and_changes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True)

    git("init", "-q")
    (tmp_path / "a.txt").write_text("a")
    git("add", "a.txt")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "a")
    monkeypatch.setattr(lineage, "PROJECT_DIR", tmp_path)
    facts = lineage.git_state()
    assert len(facts["git_commit"]) == 40 and facts["git_dirty"] == "false"
    (tmp_path / "a.txt").write_text("b")
    assert lineage.git_state()["git_dirty"] == "true"
    git("checkout", "-q", "a.txt")
    (tmp_path / "new_module.py").write_text("")
    assert lineage.git_state()["git_dirty"] == "true", "a new file is a change"
