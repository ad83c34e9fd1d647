"""No rendered project shows that it was rendered.

A trace is what a hand-written project would not contain: a blank line inside
a list, a README paragraph said twice, a parameter nothing reads, a function no
answer needed, a Jinja delimiter. Each check is a function of text (or of a
rendered project) returning `Trace`s, so it can be tried on a hand-made sample.
"""

import ast
import io
import json
import re
import subprocess
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml
from answer_sets import EDGE_CASES, answer_id, pairwise_answer_sets
from helpers import PYTHON, package_name

MATRIX = [
    (f"pairwise-{index:02d}-{answer_id(answers)}", answers)
    for index, answers in enumerate(pairwise_answer_sets())
] + [
    (f"edge-{index}-{answer_id(answers)}", answers)
    for index, answers in enumerate(EDGE_CASES)
]


class Trace(NamedTuple):
    """A trace of the template at `line` (1-based) of a file."""

    line: int
    what: str


@dataclass(frozen=True)
class Project:
    """A rendered project and the answer set it was rendered from."""

    label: str
    root: Path


@pytest.fixture(
    params=[
        pytest.param(entry, marks=pytest.mark.xdist_group(entry[0])) for entry in MATRIX
    ],
    ids=[label for label, _ in MATRIX],
)
def project(
    request: pytest.FixtureRequest, rendered: Callable[[dict], Path]
) -> Project:
    """Each answer set rendered once; its checks share one xdist worker."""
    label, answers = request.param
    return Project(label, rendered(answers))


def assert_no_traces(project: Project, found: dict[Path, list[Trace]]) -> None:
    """Fail with one line per trace: answer set, file:line and what it is."""
    root = project.root.resolve()
    lines = [
        f"[{project.label}] {path.resolve().relative_to(root)}:{trace.line}: "
        f"{trace.what}"
        for path, traces in sorted(found.items())
        for trace in traces
    ]
    assert not lines, f"{len(lines)} trace(s) of the template:\n" + "\n".join(lines)


def check_files(
    paths: list[Path], check: Callable[[str], list[Trace]]
) -> dict[Path, list[Trace]]:
    """Run a text check on each file; keep the files with traces."""
    found = {path: check(path.read_text()) for path in paths}
    return {path: traces for path, traces in found.items() if traces}


def rendered_files(root: Path) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


# --- a. Blank lines inside brackets and lists --------------------------------


def python_bracket_blank_lines(source: str) -> list[Trace]:
    """Blank lines while a `(`, `[` or `{` is open (NL tokens on empty lines)."""
    traces = []
    opened: list[tokenize.TokenInfo] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.OP and token.string in "([{":
            opened.append(token)
        elif token.type == tokenize.OP and token.string in ")]}":
            opened.pop()
        elif token.type == tokenize.NL and opened and not token.line.strip():
            where = opened[-1]
            traces.append(
                Trace(
                    token.start[0],
                    f"blank line inside `{where.string}` opened on line "
                    f"{where.start[0]}: {where.line.strip()!r}",
                )
            )
    return traces


TOML_QUOTES = ('"""', "'''", '"', "'")


def _toml_scan_line(
    line: str, number: int, quote: str | None, opened: list[tuple[int, str]]
) -> str | None:
    """Track strings and brackets through one TOML line; return the open quote."""
    index = 0
    while index < len(line):
        if quote is not None:
            if quote.startswith('"') and line[index] == "\\":
                index += 2
            elif line.startswith(quote, index):
                index, quote = index + len(quote), None
            else:
                index += 1
            continue
        if line[index] == "#":
            break
        quote = next((q for q in TOML_QUOTES if line.startswith(q, index)), None)
        if quote is not None:
            index += len(quote)
            continue
        if line[index] in "[{":
            opened.append((number, line.strip()))
        elif line[index] in "]}" and opened:
            opened.pop()
        index += 1
    return quote if quote in ('"""', "'''") else None


def toml_bracket_blank_lines(text: str) -> list[Trace]:
    """Blank lines while a TOML array or inline table is open (outside strings)."""
    traces = []
    quote: str | None = None
    opened: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() and opened and quote is None:
            start, text_at = opened[-1]
            traces.append(
                Trace(
                    number,
                    f"blank line inside the bracket opened on line {start}: {text_at!r}",
                )
            )
        quote = _toml_scan_line(line, number, quote, opened)
    return traces


def _yaml_nodes(node: yaml.Node) -> Iterator[yaml.Node]:
    yield node
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _yaml_nodes(item)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _yaml_nodes(key)
            yield from _yaml_nodes(value)


def _yaml_last_line(node: yaml.Node, lines: list[str]) -> int:
    """The 0-based last non-blank line of `node`.

    A block collection ends where its last item ends: its own end mark is the
    next token, which may be a sibling key after blank lines.
    """
    if isinstance(node, yaml.CollectionNode) and not node.flow_style and node.value:
        item = node.value[-1]
        return _yaml_last_line(item[1] if isinstance(item, tuple) else item, lines)
    last = node.end_mark.line if node.end_mark.column else node.end_mark.line - 1
    while last > node.start_mark.line and not lines[last].strip():
        last -= 1
    return last


def yaml_list_blank_lines(text: str) -> list[Trace]:
    """Blank lines inside a YAML sequence, or between its key and its first item.

    Blank lines inside a block scalar (`run: |` scripts) are content, not layout.
    """
    lines = text.splitlines() + [""]
    root = yaml.compose(text)
    if root is None:
        return []
    nodes = list(_yaml_nodes(root))
    content = {
        line
        for node in nodes
        if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">")
        for line in range(node.start_mark.line + 1, _yaml_last_line(node, lines) + 1)
    }
    spans = [
        (node.start_mark.line, _yaml_last_line(node, lines), node.start_mark.line)
        for node in nodes
        if isinstance(node, yaml.SequenceNode) and node.value
    ] + [
        (key.start_mark.line, value.start_mark.line, value.start_mark.line)
        for node in nodes
        if isinstance(node, yaml.MappingNode)
        for key, value in node.value
        if isinstance(value, yaml.SequenceNode) and value.value
    ]
    blank = {
        (number, opened)
        for first, last, opened in spans
        for number in range(first, last + 1)
        if not lines[number].strip() and number not in content
    }
    return [
        Trace(number + 1, f"blank line inside the list starting on line {opened + 1}")
        for number, opened in sorted(blank)
    ]


def test_no_blank_lines_inside_brackets(project: Project) -> None:
    root = project.root
    found = check_files([root / "pyproject.toml"], toml_bracket_blank_lines)
    found |= check_files(sorted(root.rglob("*.py")), python_bracket_blank_lines)
    yaml_files = sorted([*root.rglob("*.yml"), *root.rglob("*.yaml")])
    found |= check_files(yaml_files, yaml_list_blank_lines)
    assert_no_traces(project, found)


# --- b. README paragraphs, list items, table rows or code blocks said twice ---

LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
TABLE_SEPARATOR = re.compile(r"^\|[\s:|-]+\|$")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MIN_SENTENCE_WORDS = 8


class Block(NamedTuple):
    """A unit of a Markdown file: `kind` is paragraph, item, row, header,
    heading or code."""

    line: int
    kind: str
    text: str


def _block_kind(line: str, previous: Block | None, blank_before: bool) -> str | None:
    """The kind of block `line` starts, or None when it continues `previous`."""
    stripped = line.strip()
    if stripped.startswith("#"):
        return "heading"
    if stripped.startswith("|"):
        in_table = previous is not None and previous.kind in ("row", "header")
        return "row" if in_table and not blank_before else "header"
    if LIST_ITEM.match(line):
        return "item"
    if (
        blank_before
        or previous is None
        or previous.kind in ("heading", "row", "header")
    ):
        return "paragraph"
    return None


def markdown_blocks(text: str) -> list[Block]:
    """Headings, paragraphs, list items, table rows and fenced code of `text`."""
    blocks: list[Block] = []
    fence: list[str] | None = None
    blank_before = True
    for number, line in enumerate(text.splitlines(), 1):
        if fence is not None:
            if line.strip().startswith("```"):
                blocks.append(blocks.pop()._replace(text="\n".join(fence)))
                fence = None
            else:
                fence.append(line)
            continue
        if line.strip().startswith("```"):
            fence = [line.strip()]
            blocks.append(Block(number, "code", ""))
        elif not line.strip() or TABLE_SEPARATOR.match(line.strip()):
            pass
        elif kind := _block_kind(line, blocks[-1] if blocks else None, blank_before):
            blocks.append(Block(number, kind, line.strip()))
        else:
            last = blocks.pop()
            blocks.append(last._replace(text=f"{last.text} {line.strip()}"))
        blank_before = not line.strip()
    return blocks


def _normalised(text: str) -> str:
    return " ".join(text.split())


def duplicated_blocks(blocks: list[Block]) -> list[Trace]:
    """Blocks whose text, whitespace aside, came before (a table's header row may
    repeat another table's; a code block is compared with code blocks only)."""
    first: dict[tuple[bool, str], Block] = {}
    traces = []
    for block in blocks:
        if block.kind == "header":
            continue
        key = (block.kind == "code", _normalised(block.text))
        if key in first:
            earlier = first[key]
            traces.append(
                Trace(
                    block.line,
                    f"{block.kind} repeats the {earlier.kind} of line {earlier.line}: "
                    f"{key[1][:100]!r}",
                )
            )
        else:
            first[key] = block
    return traces


def repeated_sentences(blocks: list[Block]) -> list[Trace]:
    """Sentences of MIN_SENTENCE_WORDS words or more said twice in the prose."""
    first: dict[str, Block] = {}
    traces = []
    for block in blocks:
        if block.kind not in ("paragraph", "item"):
            continue
        for sentence in SENTENCE_END.split(_normalised(block.text)):
            if len(sentence.split()) < MIN_SENTENCE_WORDS:
                continue
            if sentence in first:
                traces.append(
                    Trace(
                        block.line,
                        f"sentence already said on line {first[sentence].line}: "
                        f"{sentence[:100]!r}",
                    )
                )
            else:
                first[sentence] = block
    return traces


def readme_repetitions(text: str) -> list[Trace]:
    blocks = markdown_blocks(text)
    return sorted(duplicated_blocks(blocks) + repeated_sentences(blocks))


def test_readme_says_nothing_twice(project: Project) -> None:
    found = check_files([project.root / "README.md"], readme_repetitions)
    assert_no_traces(project, found)


# --- c. Unused parameters ------------------------------------------------------

#: (method, parameter) that MLflow passes positionally whether used or not.
HOOK_PARAMETERS = {("predict", "context"), ("predict_stream", "context")}
UNUSED_NAME = re.compile(r"`(\w+)`")


def ruff_unused_arguments(root: Path) -> list[dict]:
    """Ruff's ARG001-ARG005 diagnostics on `src/` and `tests/` of `root`."""
    result = subprocess.run(
        [PYTHON, "-m", "ruff", "check", "--select", "ARG", "--no-cache"]
        + ["--output-format", "json", "--exit-zero", "src", "tests"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def _is_fixture(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if (isinstance(target, ast.Attribute) and target.attr == "fixture") or (
            isinstance(target, ast.Name) and target.id == "fixture"
        ):
            return True
    return False


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]


def requested_fixtures(root: Path) -> set[tuple[str, int, str]]:
    """(file, line, name) of each test's or fixture's parameter naming a fixture
    of the project: requested for its side effect, so legitimately unused."""
    trees = {
        path: ast.parse(path.read_text()) for path in (root / "tests").rglob("*.py")
    }
    fixtures = {
        function.name
        for tree in trees.values()
        for function in _functions(tree)
        if _is_fixture(function)
    }
    return {
        (str(path.resolve()), argument.lineno, argument.arg)
        for path, tree in trees.items()
        for function in _functions(tree)
        if function.name.startswith("test") or _is_fixture(function)
        for argument in function.args.args + function.args.kwonlyargs
        if argument.arg in fixtures
    }


def _enclosing_function(path: Path, line: int) -> str:
    tree = ast.parse(path.read_text())
    inner = [f for f in _functions(tree) if f.lineno <= line <= f.end_lineno]
    return max(inner, key=lambda f: f.lineno).name if inner else ""


def unused_argument_traces(
    root: Path, diagnostics: list[dict]
) -> dict[Path, list[Trace]]:
    """Ruff's unused arguments but MLflow hook parameters and requested fixtures."""
    requested = requested_fixtures(root)
    found: dict[Path, list[Trace]] = {}
    for diagnostic in diagnostics:
        path = Path(diagnostic["filename"]).resolve()
        line = diagnostic["location"]["row"]
        name = UNUSED_NAME.search(diagnostic["message"]).group(1)
        if (str(path), line, name) in requested:
            continue
        if (_enclosing_function(path, line), name) in HOOK_PARAMETERS:
            continue
        message = f"{diagnostic['code']} {diagnostic['message']}"
        found.setdefault(path, []).append(Trace(line, message))
    return found


def test_every_parameter_is_used(project: Project) -> None:
    diagnostics = ruff_unused_arguments(project.root)
    assert_no_traces(project, unused_argument_traces(project.root, diagnostics))


# --- d. Functions and classes no answer needed ---------------------------------

#: What MLflow, MLServer, Spark or Python calls by name: entry points, PythonModel hooks,
#: the MLServer runtime class model-settings.json names and the hook of
#: MLServer's MLflow runtime it overrides.
CALLED_BY_NAME = {
    "main",
    "_load_pyfunc",
    "load_context",
    "predict",
    "predict_stream",
    "Runtime",
    "_sync_metadata",
    # Spark's accumulator protocol (spark_scoring.PartitionCounts).
    "zero",
    "addInPlace",
}
#: Definitions nothing in the project references, name -> why it is kept anyway
#: (e.g. public API the README documents only in prose). Empty: every rendered
#: definition is read somewhere today.
ALLOWED_UNREFERENCED: dict[str, str] = {}
PYTHON_FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)

Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def definitions(tree: ast.AST) -> list[Definition]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]


def references(tree: ast.AST) -> list[tuple[str, int]]:
    """(name, line) of every name read as a Name or an Attribute."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.append((node.id, node.lineno))
        elif isinstance(node, ast.Attribute):
            found.append((node.attr, node.lineno))
    return found


def readme_python(root: Path) -> list[ast.AST]:
    """The README's Python code blocks that parse."""
    trees = []
    for block in PYTHON_FENCE.findall((root / "README.md").read_text()):
        try:
            trees.append(ast.parse(block))
        except SyntaxError:
            continue
    return trees


def _needs_no_reference(name: str) -> bool:
    dunder = name.startswith("__") and name.endswith("__")
    return dunder or name in CALLED_BY_NAME or name in ALLOWED_UNREFERENCED


def unreferenced_definitions(
    package: dict[str, ast.AST], others: list[ast.AST]
) -> dict[str, list[Trace]]:
    """Definitions in `package` (file -> tree) read nowhere but in themselves;
    `others` are the trees (tests, README code) that may read them too."""
    read: dict[str, list[tuple[str, int]]] = {}
    sources = [*package.items(), *(("", tree) for tree in others)]
    for path, tree in sources:
        for name, line in references(tree):
            read.setdefault(name, []).append((path, line))
    found: dict[str, list[Trace]] = {}
    for path, tree in package.items():
        for node in definitions(tree):
            if _needs_no_reference(node.name) or any(
                where != path or not node.lineno <= line <= node.end_lineno
                for where, line in read.get(node.name, [])
            ):
                continue
            kind = "class" if isinstance(node, ast.ClassDef) else "function"
            found.setdefault(path, []).append(
                Trace(node.lineno, f"{kind} `{node.name}` is never referenced")
            )
    return found


def test_every_definition_is_used(project: Project) -> None:
    root = project.root
    package_dir = root / "src" / package_name(root)
    package = {
        str(path): ast.parse(path.read_text()) for path in package_dir.rglob("*.py")
    }
    others = [
        ast.parse(path.read_text())
        for path in [*(root / "src").rglob("*.py"), *(root / "tests").rglob("*.py")]
        if str(path) not in package
    ] + readme_python(root)
    found = unreferenced_definitions(package, others)
    assert_no_traces(project, {Path(path): traces for path, traces in found.items()})


# --- e. Jinja leftovers ------------------------------------------------------------

JINJA_DELIMITER = re.compile(r"\{\{|\{%|\{#")
#: GitHub Actions expressions: `${{ github.ref }}` is workflow syntax, not Jinja.
ACTIONS_EXPRESSION = re.compile(r"\$\{\{")


def jinja_leftovers(text: str, workflow: bool = False) -> list[Trace]:
    """Lines holding `{{`, `{%` or `{#` (in workflows, but `${{`)."""
    traces = []
    for number, line in enumerate(text.splitlines(), 1):
        if workflow:
            line = ACTIONS_EXPRESSION.sub("", line)
        if JINJA_DELIMITER.search(line):
            traces.append(Trace(number, f"Jinja delimiter left: {line.strip()!r}"))
    return traces


def test_no_jinja_delimiters(project: Project) -> None:
    root = project.root
    found: dict[Path, list[Trace]] = {}
    for path in rendered_files(root):
        workflow = path.parent == root / ".github" / "workflows"
        traces = jinja_leftovers(path.read_text(errors="replace"), workflow)
        if JINJA_DELIMITER.search(str(path.relative_to(root))):
            traces.insert(0, Trace(0, "Jinja delimiter left in the file name"))
        if traces:
            found[path] = traces
    assert_no_traces(project, found)
