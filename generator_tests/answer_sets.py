"""Answer sets the template is checked with: what is valid, a pairwise matrix, and
the covering subset that runs end to end."""

import functools
import itertools
from collections.abc import Iterator
from pathlib import Path

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment

try:  # as a module of the tests (pytest puts generator_tests/ on sys.path)
    from living_examples import EXAMPLES, RUN_OWN_TESTS
except ImportError:  # as generator_tests.answer_sets (the benchmarks)
    from generator_tests.living_examples import EXAMPLES, RUN_OWN_TESTS

REPO = Path(__file__).resolve().parent.parent


class Template:
    """A checkout of the template read as Copier reads it: its questions, the
    choices it renders from includes/ and what each choice's file declares."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.questions = yaml.safe_load((self.root / "copier.yml").read_text())
        # Copier's own Jinja set-up: its default extension and the template's envops.
        self.env = SandboxedEnvironment(
            loader=jinja2.FileSystemLoader(str(self.root)),
            extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
            **self.questions.get("_envops", {}),
        )
        #: The choice questions, in copier.yml's order.
        self.choice_questions = [
            name
            for name, config in self.questions.items()
            if isinstance(config, dict) and "choices" in config
        ]
        self._cache: dict[tuple, object] = {}

    @functools.cached_property
    def folders(self) -> dict[str, str]:
        """Choice question -> its folder of includes/, for the questions whose
        values have a file each (includes/kinds.jinja)."""
        return dict(self.env.get_template("includes/kinds.jinja").module.folders)

    def context(self, answers: dict) -> dict:
        """The answers to the choice questions, the defaults filling the rest."""
        context = {"_copier_conf": {"src_path": str(self.root)}}
        for question in self.choice_questions:
            config = self.questions[question]
            if question in answers:
                context[question] = answers[question]
            else:
                default = config.get("default")
                if isinstance(default, str):
                    default = self._compiled(default).render(context).strip()
                context[question] = default
        return context

    def choices(self, question: str, answers: dict | None = None) -> dict[str, str]:
        """A choice question's values in its order, each with the refusal its
        validator gives for `answers` ("" = allowed)."""
        answers = answers or {}
        # Copier renders a question's choices with the answers given before it
        # (a default, when not given, follows from those before it too).
        before = self.choice_questions[: self.choice_questions.index(question)]
        key = (question, *(repr(answers.get(name, ...)) for name in before))
        if key not in self._cache:
            self._cache[key] = self._render_choices(question, self.context(answers))
        return self._cache[key]

    def _render_choices(self, question: str, context: dict) -> dict[str, str]:
        listed = self.questions[question]["choices"]
        if isinstance(listed, str):  # rendered by Copier from the includes
            listed = yaml.load(self._compiled(listed).render(context), yaml.CSafeLoader)
        if isinstance(listed, list):
            return {str(value): "" for value in listed}
        refusals = {}
        for value in listed.values():
            if isinstance(value, dict):
                source = value.get("validator", "")
                refusals[value["value"]] = (
                    self._compiled(source).render(context).strip()
                )
            else:
                refusals[value] = ""
        return refusals

    def _compiled(self, source: str) -> jinja2.Template:
        """A template string compiled once (the matrix renders each thousands of times)."""
        key = ("compiled", source)
        if key not in self._cache:
            self._cache[key] = self.env.from_string(source)
        return self._cache[key]

    def declared(self, folder: str, name: str, part: str, answers: dict | None = None):
        """What `includes/<folder>/<name>.jinja` declares as `part`, read with
        the defaults (and `answers`) as its context."""
        key = ("declared", folder, name, part, repr(sorted((answers or {}).items())))
        if key not in self._cache:
            module = self.env.get_template(
                f"includes/{folder}/{name}.jinja"
            ).make_module(self.context(answers or {}))
            self._cache[key] = getattr(module, part)
        return self._cache[key]


TEMPLATE = Template(REPO)


def choices(question: str) -> list[str]:
    """The values a choice question offers, in copier.yml's order."""
    return list(TEMPLATE.choices(question))


def refusal(question: str, value: str, answers: dict) -> str:
    """What copier.yml's validator for one choice says about `answers` ("" = fine)."""
    return TEMPLATE.choices(question, answers).get(value, "")


def declared(folder: str, name: str, part: str) -> object:
    """What `includes/<folder>/<name>.jinja` declares as `part`."""
    return TEMPLATE.declared(folder, name, part)


#: The choice questions whose values each have a file in includes/.
KINDS = tuple(TEMPLATE.folders)
FRAMEWORKS = tuple(choices("framework"))
TASKS = tuple(choices("task"))
PACKAGINGS = tuple(choices("packaging"))
EXTRA_METHODS = tuple(choices("extra_methods"))
#: The Python versions offered (3.10 is listed, disabled: end of life).
PYTHON_VERSIONS = tuple(
    version
    for version, refused in TEMPLATE.choices("python_version").items()
    if not refused
)


def allowed_methods(answers: dict) -> list[str]:
    """Every extra method copier.yml allows with `answers` (defaults elsewhere)."""
    return [
        method
        for method in EXTRA_METHODS
        if not refusal("extra_methods", method, answers)
    ]


def is_valid(answers: dict, template: Template = TEMPLATE) -> bool:
    """Whether copier.yml's choice validators accept this combination."""
    for question in template.choice_questions:
        given = answers.get(question)
        refusals = template.choices(question, answers)
        for value in given if isinstance(given, list) else [given]:
            if value is not None and refusals.get(value, "unknown"):
                return False
    return True


def all_valid_answer_sets(template: Template = TEMPLATE) -> Iterator[dict]:
    """Every valid combination of the choice questions (in copier.yml's order,
    each offering what the answers before it allow), registered or not."""

    def extend(answers: dict, remaining: list[str]) -> Iterator[dict]:
        if not remaining:
            yield dict(answers)
            yield {**answers, "registered_model_name": ""}
            return
        question, *rest = remaining
        allowed = [
            value
            for value, refusal in template.choices(question, answers).items()
            if not refusal
        ]
        if template.questions[question].get("multiselect"):
            options = [
                list(chosen)
                for size in range(len(allowed) + 1)
                for chosen in itertools.combinations(allowed, size)
            ]
        else:
            options = allowed
        for option in options:
            yield from extend({**answers, question: option}, rest)

    return extend({}, template.choice_questions)


def _features(answers: dict) -> list[tuple[str, object]]:
    """The (question, value) items a pair is made of; each method is a flag."""
    items = [
        (name, answers.get(name))
        for name in (*KINDS, "python_version")
        if name != "extra_methods"
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
    """A readable test id: the kinds' values, the defaults filling the rest."""
    context = TEMPLATE.context(answers)
    methods = "+".join(context["extra_methods"]) or "none"
    return "-".join(
        [
            *(context[question] for question in KINDS if question != "extra_methods"),
            methods,
        ]
    )


#: Pairs of questions whose code meets in a generated project, so that end to
#: end each valid pair of their values runs at least once: the framework's
#: estimator per task, its native files per packaging, each extra method per
#: framework (its attribution) and per packaging (how a method reaches REST),
#: each output per task. Each value of each kind is in one of these pairs.
END_TO_END_PAIRS = [
    ("framework", "task"),
    ("framework", "packaging"),
    ("framework", "extra_methods"),
    ("packaging", "extra_methods"),
    ("task", "predict_output"),
    ("registered", "registered"),
]

#: Of END_TO_END_PAIRS, those whose code meets only where a model is logged and
#: loaded: a pair not already in a whole suite runs the generated project's
#: logged-model and contract tests alone (PARTIAL_SUITE_TESTS).
LOGGED_MODEL_PAIRS = [("framework", "packaging")]

#: The generated tests that log, load and hold a logged model to the contract.
PARTIAL_SUITE_TESTS = ("tests/test_logged_model.py", "tests/test_contract.py")


def _end_to_end_items(answers: dict, pairs: list[tuple[str, str]]) -> set[tuple]:
    """The `pairs` of values one answer set runs (methods: when on)."""
    context = TEMPLATE.context(answers)
    values = {
        question: [context[question]]
        for question in KINDS
        if question != "extra_methods"
    }
    values["extra_methods"] = context["extra_methods"]
    values["registered"] = ["registered_model_name" not in answers]
    return {
        ((first, one), (second, other))
        for first, second in pairs
        for one in values[first]
        for other in values[second]
    }


def end_to_end_answer_sets(
    pairs: list[tuple[str, str]], chosen: list[dict], covered: list[dict]
) -> list[dict]:
    """`chosen`, then answer sets chosen greedily until every valid pair of
    values of `pairs` runs in one of them or of `covered` (on the default
    Python: the tests' own). Ties go to the set that adds the most new pairs of
    any two answers, for variety."""
    default_python = TEMPLATE.context({})["python_version"]
    candidates = []
    for answers in all_valid_answer_sets():
        if answers.pop("python_version") == default_python:
            candidates.append(
                (
                    answers,
                    _end_to_end_items(answers, pairs),
                    set(itertools.combinations(_features(answers), 2)),
                )
            )
    chosen = list(chosen)
    uncovered = set().union(*(items for _, items, _ in candidates))
    seen = set()
    for answers in [*covered, *chosen]:
        uncovered -= _end_to_end_items(answers, pairs)
        full = {**TEMPLATE.context(answers), **answers, "python_version": None}
        seen |= set(itertools.combinations(_features(full), 2))
    while uncovered:
        best, items, features = max(
            candidates,
            key=lambda candidate: (
                len(uncovered & candidate[1]),
                len(candidate[2] - seen),
            ),
        )
        uncovered -= items
        seen |= features
        chosen.append(best)
    return chosen


def covering_answer_sets(questions: tuple[str, ...]) -> list[dict]:
    """Few answer sets (greedy, from END_TO_END) that give each value of each
    of `questions` at least once."""

    def values(answers: dict) -> set[tuple[str, str]]:
        context = TEMPLATE.context(answers)
        return {(question, context[question]) for question in questions}

    uncovered = set().union(*map(values, END_TO_END))
    chosen = []
    while uncovered:
        best = max(END_TO_END, key=lambda answers: len(uncovered & values(answers)))
        uncovered -= values(best)
        chosen.append(best)
    return chosen


#: The living examples whose whole suite runs (test_examples.py): they count.
EXAMPLES_RUN = [EXAMPLES[name] for name in RUN_OWN_TESTS]
#: Run end to end, the generated project's whole suite: the defaults, then what
#: covers END_TO_END_PAIRS but LOGGED_MODEL_PAIRS and EXAMPLES_RUN leave.
END_TO_END = end_to_end_answer_sets(
    [pair for pair in END_TO_END_PAIRS if pair not in LOGGED_MODEL_PAIRS],
    chosen=[{}],
    covered=EXAMPLES_RUN,
)
#: Run end to end, PARTIAL_SUITE_TESTS only: the pairs of LOGGED_MODEL_PAIRS
#: that END_TO_END and EXAMPLES_RUN leave out.
LOGGED_MODEL_ONLY = end_to_end_answer_sets(
    LOGGED_MODEL_PAIRS, chosen=[], covered=[*END_TO_END, *EXAMPLES_RUN]
)
