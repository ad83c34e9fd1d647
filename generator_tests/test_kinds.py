"""Every file of every kind in includes/ keeps its folder's contract: the parts
the folder's README.md says its files declare, of the kind it says, rendering.
And a new choice is one new file: a copy of the template with a throwaway
choice added is picked up by the suite without any other edit."""

import re
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pytest
from answer_sets import REPO, TEMPLATE, Template, all_valid_answer_sets, choices
from helpers import PYTHON

#: Folders of includes/ whose files are one kind each: the choice questions'
#: and the evaluation modules a task picks.
FOLDERS = sorted({*TEMPLATE.folders.values(), "evaluation"})
KINDS = {"string": str, "boolean": bool, "list": (list, tuple), "number": int}


@dataclass(frozen=True)
class Part:
    name: str
    kind: str
    #: "yes", "no", or the part that makes it required when declared and true.
    required: str

    @property
    def macro(self) -> bool:
        return self.kind == "macro"


def contract(template: Template, folder: str) -> list[Part]:
    """The rows of the "## Parts" table of `includes/<folder>/README.md`."""
    readme = (template.root / "includes" / folder / "README.md").read_text()
    section = readme.split("## Parts", 1)[1]
    parts = []
    for row in re.findall(
        r"(?m)^\| `([a-z_]+)(?:\(\))?` \| (\w+) \| ([^|]+) \|", section
    ):
        name, kind, required = row
        required = required.strip()
        condition = re.fullmatch(r"with `([a-z_]+)`", required)
        parts.append(Part(name, kind, condition.group(1) if condition else required))
    return parts


def files(template: Template, folder: str) -> list[str]:
    return sorted(
        path.stem for path in (template.root / "includes" / folder).glob("*.jinja")
    )


def answers_for(template: Template, folder: str, name: str) -> dict:
    """A valid answer set that renders this file's value (for an evaluation
    module: one whose task names it)."""
    question = {value: key for key, value in template.folders.items()}.get(folder)
    for answers in all_valid_answer_sets(template):
        if question:
            chosen = answers[question]
            if name in (chosen if isinstance(chosen, list) else [chosen]):
                return answers
        elif template.declared("tasks", answers["task"], "evaluation") == name:
            return answers
    raise AssertionError(f"no valid answer set renders includes/{folder}/{name}.jinja")


def problems(template: Template, folder: str, name: str) -> list[str]:
    """What `includes/<folder>/<name>.jinja` lacks or declares wrongly."""
    where = f"includes/{folder}/{name}.jinja"
    readme = f"includes/{folder}/README.md"
    context = template.context(answers_for(template, folder, name))
    module = template.env.get_template(where).make_module(context)
    found = []
    for part in contract(template, folder):
        shown = (
            f"`{part.name}()` (macro)" if part.macro else f"`{part.name}` ({part.kind})"
        )
        value = getattr(module, part.name, None)
        if value is None:
            needed = part.required == "yes" or (
                part.required != "no" and getattr(module, part.required, None)
            )
            if needed:
                because = (
                    "" if part.required == "yes" else f" when `{part.required}` is"
                )
                found.append(f"{where} lacks {shown}, which {readme} requires{because}")
            continue
        if part.macro:
            if not isinstance(value, jinja2.runtime.Macro):
                found.append(f"{where}: {shown} is not a macro")
                continue
            try:
                value()
            except Exception as error:  # any failure to render is the finding
                found.append(f"{where}: {shown} does not render: {error}")
        elif not isinstance(value, KINDS[part.kind]) or (
            part.kind == "number" and isinstance(value, bool)
        ):
            found.append(f"{where}: {shown} is {type(value).__name__} {value!r}")
    return found


@pytest.mark.parametrize(
    ("folder", "name"),
    [(folder, name) for folder in FOLDERS for name in files(TEMPLATE, folder)],
)
def test_every_file_keeps_its_folders_contract(folder: str, name: str) -> None:
    assert problems(TEMPLATE, folder, name) == []


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_folder_documents_its_parts(folder: str) -> None:
    parts = contract(TEMPLATE, folder)
    assert parts, f"includes/{folder}/README.md has no ## Parts table"
    for part in parts:
        assert part.kind in (*KINDS, "macro"), part
        names = [other.name for other in parts]
        assert part.required in ("yes", "no", *names), part


def test_each_question_offers_exactly_its_folders_files() -> None:
    for question, folder in TEMPLATE.folders.items():
        assert sorted(choices(question)) == files(TEMPLATE, folder), question


# --- A throwaway choice ------------------------------------------------------------

#: A predict_output the template does not have: the regression prediction
#: rounded to a whole number. Only this file is added.
ROUNDED_VALUE = '''\
{#- predict_output "rounded_value": the regression prediction, rounded. -#}

{% set order = 7 %}
{% set label = 'rounded_value: the regression prediction, rounded' %}
{% set tasks = ['regression'] %}
{% set marker = 'def _rounded_values(' %}

{% set columns = '`prediction` (rounded to a whole number)' %}
{% set response = '{"predictions": [{"prediction": 151.0}]}' %}

{% macro dispatch() %}
        if method == "predict":
            return self._rounded_values(frame)
{% endmacro %}

{% macro implementation() %}

    def _rounded_values(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return the `prediction` column, rounded to a whole number."""
        rounded = np.round(self.scores(frame))
        return pd.DataFrame({"prediction": rounded}, index=frame.index)
{% endmacro %}

{% macro model_tests() %}
def test_predict_returns_the_rounded_prediction(
    model: Model, test_features: pd.DataFrame
) -> None:
    result = model.predict(test_features)
    assert list(result.columns) == ["prediction"]
    expected = np.round(scores(model, test_features))
    np.testing.assert_allclose(result["prediction"], expected)
    assert (result["prediction"] == result["prediction"].round()).all()
{% endmacro %}

{% macro score_tests() %}{% endmacro %}
'''


def copy_of_this_checkout(target: Path) -> Path:
    """The tracked files of this checkout (with uncommitted edits), in `target`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if name.startswith("examples/") or not (REPO / name).is_file():
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target / name)
    return target


def pytest_in(checkout: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", *args],
        cwd=checkout,
        capture_output=True,
        text=True,
        timeout=1500,
    )


@pytest.mark.end_to_end
def test_a_new_choice_is_one_file(tmp_path: Path) -> None:
    """Add one output file to a copy of the template: the question offers it,
    its validator refuses it for other tasks, the contract, render matrix and
    end-to-end subset pick it up, and the generated project's tests (its own
    model test included) pass."""
    checkout = copy_of_this_checkout(tmp_path / "template")
    (checkout / "includes/outputs/rounded_value.jinja").write_text(ROUNDED_VALUE)

    copy = Template(checkout)
    assert list(copy.choices("predict_output"))[-1] == "rounded_value"
    assert copy.choices("predict_output", {"task": "regression"})["rounded_value"] == ""
    assert copy.choices("predict_output", {"task": "binary"})["rounded_value"] == (
        "predict_output 'rounded_value' needs task 'regression'"
    )
    collected = pytest_in(checkout, "--collect-only", "-q", "-m", "")
    picked_up = [
        line for line in collected.stdout.splitlines() if "rounded_value" in line
    ]
    files = {line.split("::")[0] for line in picked_up}
    assert files >= {
        "generator_tests/test_kinds.py",
        "generator_tests/test_render_matrix.py",
        "generator_tests/test_end_to_end.py",
    }, collected.stdout[-3000:]
    # Its contract, every matrix project holding it (rendered, ruff-clean,
    # only its marker), and one end-to-end project's own test suite.
    (end_to_end,) = [
        line for line in picked_up if "test_generated_project_tests_pass" in line
    ][:1]
    chosen = (
        "keeps_its_folders_contract",
        "passes_ruff",
        "is_already_formatted",
        "renders_only_the_chosen",
    )
    result = pytest_in(
        checkout,
        "-m",
        "",
        "-k",
        f"rounded_value and ({' or '.join(chosen)} or project_tests_pass)",
        "generator_tests/test_kinds.py",
        "generator_tests/test_render_matrix.py",
        end_to_end,
    )
    assert result.returncode == 0, result.stdout[-8000:]
    expected = 1 + sum(any(name in line for name in chosen) for line in picked_up)
    assert f"{expected} passed" in result.stdout, result.stdout[-2000:]


def test_a_file_missing_a_part_is_named(tmp_path: Path) -> None:
    """The contract check says which file lacks which part, and why it must."""
    checkout = tmp_path / "template"
    for part in ("copier.yml", "includes", "template"):
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, checkout / part)
        else:
            checkout.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, checkout / part)
    broken = textwrap.dedent(
        """\
        {% set order = 9 %}
        {% set label = 'shout: the prediction, louder' %}
        {% set marker = 'def shout(' %}
        {% set example_params = '{"method": "shout"}' %}
        {% macro readme_item() %}- `shout`: louder{% endmacro %}
        {% macro response() %}{}{% endmacro %}
        {% macro dispatch() %}{% endmacro %}
        {% macro implementation() %}{% endmacro %}
        {% macro model_tests() %}{% endmacro %}
        {% macro defaults() %}{% endmacro %}
        """
    )
    (checkout / "includes/methods/shout.jinja").write_text(broken)
    copy = Template(checkout)
    assert "shout" in copy.choices("extra_methods")
    assert problems(copy, "methods", "shout") == [
        "includes/methods/shout.jinja lacks `summary` (string), which "
        "includes/methods/README.md requires",
        "includes/methods/shout.jinja lacks `checks()` (macro), which "
        "includes/methods/README.md requires when `defaults` is",
    ]
