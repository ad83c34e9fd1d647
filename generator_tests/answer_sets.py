"""Answer sets the template is checked with: what is valid, a pairwise matrix, and
the covering subset that runs end to end."""

import functools
import itertools
from collections.abc import Iterator
from pathlib import Path

import jinja2
import yaml

REPO = Path(__file__).resolve().parent.parent
#: The questionnaire, read rather than restated: choices and their validators.
QUESTIONS = yaml.safe_load((REPO / "copier.yml").read_text())
_JINJA = jinja2.Environment(loader=jinja2.FileSystemLoader(str(REPO)))


def choices(question: str) -> list[str]:
    """The values a choice question allows, in copier.yml's order."""
    listed = QUESTIONS[question]["choices"]
    if isinstance(listed, str):  # rendered by Copier from the includes
        listed = yaml.safe_load(_JINJA.from_string(listed).render())
    if isinstance(listed, list):
        return listed
    return [
        value["value"] if isinstance(value, dict) else value
        for value in listed.values()
    ]


def refusal(question: str, value: str, answers: dict) -> str:
    """What copier.yml's validator for one choice says about `answers` ("" = fine)."""
    listed = QUESTIONS[question]["choices"]
    for choice in listed.values():
        if isinstance(choice, dict) and choice["value"] == value:
            return _validator(choice.get("validator", "")).render(answers).strip()
    return ""


@functools.cache
def _validator(source: str) -> jinja2.Template:
    """A validator compiled once (the matrix asks each thousands of times)."""
    return _JINJA.from_string(source)


@functools.cache
def declared(kind: str, name: str, variable: str) -> object:
    """What `includes/<kind>/<name>.jinja` declares as `variable`."""
    return getattr(
        _JINJA.get_template(f"includes/{kind}/{name}.jinja").module, variable
    )


FRAMEWORKS = tuple(choices("framework"))
TASKS = tuple(choices("task"))
PACKAGINGS = tuple(choices("packaging"))
EXTRA_METHODS = tuple(choices("extra_methods"))
PYTHON_VERSIONS = tuple(choices("python_version"))
OUTPUTS_BY_TASK = {
    task: tuple(
        output
        for output in choices("predict_output")
        if not refusal("predict_output", output, {"task": task})
    )
    for task in TASKS
}


def is_valid(answers: dict) -> bool:
    """Whether copier.yml's choice validators accept this combination."""
    context = {"framework": "xgboost", "task": "binary", **answers}
    return not refusal(
        "predict_output", answers["predict_output"], context
    ) and not any(
        refusal("extra_methods", method, context)
        for method in answers.get("extra_methods", [])
    )


def all_valid_answer_sets() -> Iterator[dict]:
    """Every valid combination of the choice questions."""
    for framework, task, packaging, python_version, registered in itertools.product(
        FRAMEWORKS, TASKS, PACKAGINGS, PYTHON_VERSIONS, (True, False)
    ):
        for predict_output in OUTPUTS_BY_TASK[task]:
            for size in range(len(EXTRA_METHODS) + 1):
                for extra in itertools.combinations(EXTRA_METHODS, size):
                    answers = {
                        "framework": framework,
                        "task": task,
                        "predict_output": predict_output,
                        "packaging": packaging,
                        "extra_methods": list(extra),
                        "python_version": python_version,
                    }
                    if not registered:
                        answers["registered_model_name"] = ""
                    if is_valid(answers):
                        yield answers


def _features(answers: dict) -> list[tuple[str, object]]:
    """The (question, value) items a pair is made of; each method is a flag."""
    items = [
        (name, answers[name])
        for name in (
            "framework",
            "task",
            "predict_output",
            "packaging",
            "python_version",
        )
    ]
    items += [(method, method in answers["extra_methods"]) for method in EXTRA_METHODS]
    items.append(("registered", "registered_model_name" not in answers))
    return items


def pairwise_answer_sets() -> list[dict]:
    """A small set of valid answers covering every valid pair of choices (greedy)."""
    candidates = list(all_valid_answer_sets())
    uncovered = set()
    for answers in candidates:
        uncovered.update(itertools.combinations(_features(answers), 2))
    chosen = []
    while uncovered:
        best = max(
            candidates,
            key=lambda answers: len(
                uncovered.intersection(itertools.combinations(_features(answers), 2))
            ),
        )
        uncovered.difference_update(itertools.combinations(_features(best), 2))
        chosen.append(best)
    return chosen


#: Rendered with the matrix: answers at the limits of what the validators allow.
EDGE_CASES = [
    {
        "project_name": "Card Payments Fraud Detection Service",
        "package_name": "card_payments_fraud_detection_service_xx",  # 40 characters
        "registered_model_name": "fraud.card-payments.detection-service-model-xxxxxx",  # 50
        "description": "Scores card payments for fraud risk; " * 4,
        "author_name": 'Ana "Ops" O\'Neil',
        "author_email": "ana.oneil@example.com",
        "framework": "catboost",
        "task": "multiclass",
        "predict_output": "top_k",
        "packaging": "models_from_code",
        "extra_methods": ["predict_proba", "predict_batch", "explain"],
    },
    {
        "project_name": "Dynamic Pricing",
        "framework": "lightgbm",
        "task": "regression",
        "packaging": "loader_module",
        "extra_methods": ["predict_batch", "explain"],
        "registered_model_prefix": "pricing.",
        "python_version": "3.13",
    },
]


def answer_id(answers: dict) -> str:
    """A readable test id."""
    methods = "+".join(answers.get("extra_methods", [])) or "none"
    return "-".join(
        [
            answers.get("framework", "xgboost"),
            answers.get("task", "binary"),
            answers.get("predict_output", "default"),
            answers.get("packaging", "models_from_code"),
            methods,
        ]
    )


#: Run end to end: every framework, task, packaging, predict_output and extra
#: method at least once, and registration both on and off.
END_TO_END = [
    {},  # all defaults: xgboost, binary, probabilities, models_from_code
    {
        "framework": "xgboost",
        "task": "binary",
        "predict_output": "thresholded_label",
        "packaging": "loader_module",
        "extra_methods": ["predict_proba", "predict_batch", "explain"],
    },
    {
        "framework": "xgboost",
        "task": "multiclass",
        "predict_output": "top_k",
        "packaging": "artifacts",
        "extra_methods": ["explain", "predict_proba"],
        "registered_model_name": "",
    },
    {
        "framework": "xgboost",
        "task": "regression",
        "predict_output": "value",
        "packaging": "wrapper",
        "extra_methods": ["explain", "predict_batch"],
    },
    {
        "framework": "sklearn",
        "task": "binary",
        "predict_output": "positive_probability",
        "packaging": "wrapper",
        "extra_methods": ["predict_proba"],
    },
    {
        "framework": "sklearn",
        "task": "multiclass",
        "predict_output": "label",
        "packaging": "models_from_code",
        "extra_methods": ["predict_batch"],
    },
    {
        "framework": "sklearn",
        "task": "regression",
        "predict_output": "value",
        "packaging": "loader_module",
        "extra_methods": [],
        "registered_model_name": "",
    },
    {
        "framework": "sklearn",
        "task": "multiclass",
        "predict_output": "probabilities",
        "packaging": "flavor",
        "extra_methods": ["predict_proba", "predict_batch"],
    },
    {
        "framework": "xgboost",
        "task": "binary",
        "predict_output": "positive_probability",
        "packaging": "flavor",
        "extra_methods": ["explain"],
    },
    # LightGBM and CatBoost: every predict_output, packaging and extra method.
    {
        "framework": "lightgbm",
        "task": "binary",
        "predict_output": "label",
        "packaging": "models_from_code",
        "extra_methods": ["explain"],
    },
    {
        "framework": "lightgbm",
        "task": "binary",
        "predict_output": "positive_probability",
        "packaging": "artifacts",
        "extra_methods": ["predict_proba", "predict_batch"],
    },
    {
        "framework": "lightgbm",
        "task": "binary",
        "predict_output": "thresholded_label",
        "packaging": "wrapper",
        "extra_methods": [],
    },
    {
        "framework": "lightgbm",
        "task": "multiclass",
        "predict_output": "top_k",
        "packaging": "loader_module",
        "extra_methods": ["explain", "predict_proba"],
    },
    {
        "framework": "lightgbm",
        "task": "multiclass",
        "predict_output": "probabilities",
        "packaging": "flavor",
        "extra_methods": ["predict_batch"],
    },
    {
        "framework": "lightgbm",
        "task": "regression",
        "predict_output": "value",
        "packaging": "artifacts",
        "extra_methods": ["explain", "predict_batch"],
    },
    {
        "framework": "catboost",
        "task": "binary",
        "predict_output": "probabilities",
        "packaging": "loader_module",
        "extra_methods": ["explain", "predict_batch"],
    },
    {
        "framework": "catboost",
        "task": "binary",
        "predict_output": "thresholded_label",
        "packaging": "models_from_code",
        "extra_methods": ["predict_proba"],
    },
    {
        "framework": "catboost",
        "task": "binary",
        "predict_output": "positive_probability",
        "packaging": "wrapper",
        "extra_methods": ["explain"],
    },
    {
        "framework": "catboost",
        "task": "multiclass",
        "predict_output": "label",
        "packaging": "artifacts",
        "extra_methods": ["predict_batch", "explain"],
    },
    {
        "framework": "catboost",
        "task": "multiclass",
        "predict_output": "top_k",
        "packaging": "flavor",
        "extra_methods": ["predict_proba"],
    },
    {
        "framework": "catboost",
        "task": "regression",
        "predict_output": "value",
        "packaging": "models_from_code",
        "extra_methods": ["explain"],
    },
]
