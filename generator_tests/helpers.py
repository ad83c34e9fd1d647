"""What the generator tests and the benchmarks share: copying and rendering the
template, running a rendered project's code, and git repositories of the template.

Imported as `helpers` by the tests (pytest puts this folder on `sys.path`) and as
`generator_tests.helpers` by the benchmarks (run with `python -m` from the
repository root), so it imports nothing from its neighbours.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import copier
import yaml

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
#: Programs the tests run inside a rendered project's environment.
SCRIPTS = Path(__file__).resolve().parent / "scripts"
#: What Copier reads: the questionnaire, the rendered folder and the macros.
TEMPLATE_PARTS = ("copier.yml", "template", "includes", "migrations")


def copy_template(target: Path) -> Path:
    """Copy what Copier reads from this checkout into the directory `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for part in TEMPLATE_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target / part)
        else:
            shutil.copy2(source, target / part)
    return target


def copier_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run the `copier` command line; the caller checks the result."""
    return subprocess.run(
        [PYTHON, "-m", "copier", *args], cwd=cwd, capture_output=True, text=True
    )


def copy_cli(
    template: Path, destination: Path, *options: str
) -> subprocess.CompletedProcess:
    """Run `copier copy --defaults OPTIONS TEMPLATE DESTINATION` on the command line."""
    return copier_cli(
        "copy",
        "--defaults",
        *options,
        str(template),
        str(destination),
        cwd=destination.parent,
    )


def render(
    template: Path, destination: Path, answers: dict, vcs_ref: str | None = None
) -> Path:
    """Run `copier copy` non-interactively with `answers` on top of the defaults."""
    copier.run_copy(
        str(template),
        str(destination),
        data=answers,
        vcs_ref=vcs_ref,
        defaults=True,
        quiet=True,
        unsafe=False,
    )
    return destination


def update(project: Path, version: str, trust: bool = False, **answers: object) -> None:
    """Run `copier update` to `version`, with `answers` re-answered on top."""
    copier.run_update(
        str(project),
        data=answers,
        vcs_ref=version,
        defaults=True,
        overwrite=True,
        quiet=True,
        unsafe=trust,
    )


def pyenv_python(version: str) -> Path:
    """pyenv's interpreter of `version` ("3.13"), failing the test naming what is
    missing: the template's suite runs generated projects on the lowest and the
    highest Python it offers."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = sorted(
        root.glob(f"versions/{version}.*/bin/python{version}"),
        key=lambda path: int(path.parts[-3].split(".")[2]),
    )
    assert found, (
        f"no Python {version} under {root}/versions: install it with "
        f"`pyenv install {version}` (the suite runs a generated project on it)"
    )
    return found[-1]


def package_name(project: Path) -> str:
    """The package a rendered project holds under src/."""
    (package,) = [path.parent.name for path in (project / "src").glob("*/__init__.py")]
    return package


def project_env(project: Path, **extra: str) -> dict[str, str]:
    """Environment to run a rendered project's code in this interpreter."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MLFLOW_", "PYTEST_", "COV_"))
    }
    env["PYTHONPATH"] = str(project / "src")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # Two test workers on two cores each run a project whose estimator, server
    # and champion scorer start OpenMP thread pools; one thread each keeps them
    # from spinning against each other (scikit-learn's slowed down ~10x).
    env.setdefault("OMP_NUM_THREADS", "1")
    env.update(extra)
    return env


def run(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its output when it fails."""
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} failed ({result.returncode}) in {cwd}\n"
        f"--- stdout\n{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}"
    )
    return result


def last_line(result: subprocess.CompletedProcess) -> str:
    """The last line a command printed: what a script reports to its caller."""
    return result.stdout.strip().splitlines()[-1]


def run_script(
    name: str,
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: int = 600,
) -> subprocess.CompletedProcess:
    """Run `scripts/NAME.py ARGS` in this interpreter, failing the test if it fails."""
    return run(
        [PYTHON, str(SCRIPTS / f"{name}.py"), *args], cwd=cwd, env=env, timeout=timeout
    )


#: A quick run of a project's own suite, for updated projects: without the real
#: servers, the registry's gate and the Spark engine, which the end-to-end
#: suites and the examples run.
QUICK_SUITE = (
    "-m",
    "not serving and not registry",
    "--deselect",
    "tests/test_spark_scoring.py",
)


def run_project_tests(
    project: Path, *options: str, python: str = PYTHON, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run a rendered project's own `pytest OPTIONS`; every selected test must pass
    and none may be skipped."""
    # Not -q: it would hide the header, which says where the registry runs.
    result = run(
        [python, "-m", "pytest", "-p", "no:cacheprovider", *options],
        cwd=project,
        env=project_env(project) if env is None else env,
        timeout=1500,
    )
    assert " passed" in result.stdout
    assert "skipped" not in result.stdout
    return result


# --- Servers started by the tests ------------------------------------------------

SERVER_STARTUP_SECONDS = 120


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(
    command: list[str], cwd: Path, env: dict[str, str], ready_url: str
) -> Iterator[Path]:
    """Run a server until the block ends, once `ready_url` answers 200.

    Yields the server's log; fails with the log if it exits or does not start.
    """
    log = cwd / f"server-{free_port()}.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + SERVER_STARTUP_SECONDS
        while not _answers(ready_url):
            assert process.poll() is None, f"{command[:4]} exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, (
                f"{command[:4]} did not start:\n{log.read_text()}"
            )
            time.sleep(0.5)
        yield log
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


# --- The template in git, at several versions (for update tests) -------------

LOADER_TEMPLATE = "template/src/{{package_name}}/{{ pyfunc_file }}.jinja"
OLD_LOADER_TEMPLATE = "template/src/{{package_name}}/pyfunc_model.py.jinja"
#: The scripted template change of v0.3.1: a README section, a docstring in the
#: training code, and a new file.
README_ADDITION = "\n## Support\n\nAsk the ML platform team in #ml-platform.\n"
OLD_DOCSTRING = (
    '"""Read a CSV or Parquet file, refusing anything else with a `DataError`."""'
)
NEW_DOCSTRING = '"""Read a CSV or Parquet file; anything else is a `DataError`."""'


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` and return its output."""
    return run(["git", *args], cwd=cwd).stdout


def commit_all(cwd: Path, message: str) -> None:
    """Stage and commit everything."""
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "--no-verify", "-m", message)


def init_repo(path: Path) -> None:
    """Make `path` a git repository with a committer identity."""
    git(path, "init", "-q", "-b", "main")
    set_identity(path)


def set_identity(path: Path) -> None:
    """Give the git repository at `path` a committer identity."""
    git(path, "config", "user.email", "tests@example.com")
    git(path, "config", "user.name", "Template Tests")
    git(path, "config", "commit.gpgsign", "false")


def commit_and_tag(repo: Path, version: str) -> None:
    """Commit everything as `version` and tag it."""
    commit_all(repo, version)
    git(repo, "tag", version)


def template_repo_at_versions(target: Path) -> Path:
    """This template in a fresh git repository at `target`, tagged v0.1.0,
    v0.2.0, v0.3.0 and v0.3.1.

    v0.1.0 is this tree with the loader module under its old name (what the
    0.2.0 migration upgrades from); v0.2.0 and v0.3.0 are this tree (an update
    from one to the other crosses the 0.3.0 migration); v0.3.1 adds a scripted
    template change (README_ADDITION, NEW_DOCSTRING and a new py.typed file).
    """
    repo = copy_template(target)
    init_repo(repo)
    # v0.1.0: the loader module was still called pyfunc_model.py.
    (repo / LOADER_TEMPLATE).rename(repo / OLD_LOADER_TEMPLATE)
    packaging = repo / "includes/packaging/loader_module.jinja"
    current = packaging.read_text()
    packaging.write_text(current.replace('.loader"', '.pyfunc_model"'))
    commit_and_tag(repo, "v0.1.0")
    (repo / OLD_LOADER_TEMPLATE).rename(repo / LOADER_TEMPLATE)
    packaging.write_text(current)
    commit_and_tag(repo, "v0.2.0")
    git(repo, "commit", "-q", "--no-verify", "--allow-empty", "-m", "v0.3.0")
    git(repo, "tag", "v0.3.0")
    readme = repo / "template/README.md.jinja"
    readme.write_text(readme.read_text() + README_ADDITION)
    data = repo / "template/src/{{package_name}}/making/data.py.jinja"
    assert OLD_DOCSTRING in data.read_text()
    data.write_text(data.read_text().replace(OLD_DOCSTRING, NEW_DOCSTRING))
    (repo / "template/src/{{package_name}}/py.typed").write_text("")
    commit_and_tag(repo, "v0.3.1")
    return repo


# --- The released versions (releases.yml), tagged in a clone -------------------

RELEASES_FILE = REPO / "releases.yml"


def releases() -> list[dict]:
    """The released versions, oldest first: version, commit and date."""
    return yaml.safe_load(RELEASES_FILE.read_text())


def tag_release(repo: Path, release: dict) -> None:
    """Tag `release` in `repo` as v<version>, or check the tag already there."""
    tag, commit = f"v{release['version']}", release["commit"]
    known = subprocess.run(
        ["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=repo, text=True
    )
    assert known.returncode == 0, (
        f"releases.yml: {tag} is commit {commit}, which this repository's history "
        "lacks (a shallow clone? run `git fetch --unshallow`)"
    )
    tagged = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", f"refs/tags/{tag}^{{commit}}"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    if tagged.returncode == 0:
        assert tagged.stdout.strip() == commit, (
            f"tag {tag} is {tagged.stdout.strip()}, releases.yml says {commit}"
        )
    else:
        git(repo, "tag", tag, commit)


def next_version() -> str:
    """The tag the current tree will be released as: the next minor version."""
    latest = [int(part) for part in releases()[-1]["version"].split(".")]
    return f"v{latest[0]}.{latest[1] + 1}.0"


def template_repo_at_releases(target: Path) -> str:
    """Clone this repository to `target`, tag every release of releases.yml and
    commit this checkout's template (with uncommitted changes) on top, tagged
    as the next release (`next_version`): updates to it run the migrations
    that release will run.

    Returns that last commit: the current tree, which updates go to.
    """
    run(["git", "clone", "-q", str(REPO), str(target)], cwd=target.parent)
    set_identity(target)
    for release in releases():
        tag_release(target, release)
    for part in TEMPLATE_PARTS:
        path = target / part
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    copy_template(target)
    git(target, "add", "-A")
    git(target, "commit", "-q", "--no-verify", "--allow-empty", "-m", "working tree")
    git(target, "tag", next_version())
    return git(target, "rev-parse", "HEAD").strip()


# --- PostgreSQL, for the generated suites' registry tests ---------------------

#: Where Debian's `postgresql` package puts the server's programs.
POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin"
#: The variable a generated project's tests read the database URI from.
REGISTRY_DATABASE_VARIABLE = "TEST_REGISTRY_DATABASE_URI"


def postgres_bin() -> Path:
    """The folder of `initdb` and `pg_ctl`; fails naming the package if absent."""
    found = sorted(Path("/").glob(POSTGRES_BIN_GLOB.lstrip("/")))
    found = [folder for folder in found if (folder / "initdb").is_file()]
    assert found, (
        f"PostgreSQL's server programs are not in {POSTGRES_BIN_GLOB}: install "
        "Debian's `postgresql` package (.ci/run does)"
    )
    return found[-1]


@contextmanager
def running_postgres() -> Iterator[str]:
    """Start a PostgreSQL server of its own on a free port on 127.0.0.1.

    Yields a URI of a superuser with a password (the generated tests create a
    database of their own there). `initdb` refuses root, so as root the
    server runs as the `postgres` user, in a folder that user owns.
    """
    folder = Path(tempfile.mkdtemp(prefix="postgres-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    bin_dir = postgres_bin()
    data, port, password = folder / "data", free_port(), "mlflow-test"
    secret = folder / "password"
    secret.write_text(password)
    if as_user:
        shutil.chown(secret, "postgres", "postgres")
    subprocess.run(
        [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "mlflow",
         f"--pwfile={secret}", "-A", "scram-sha-256", "--no-sync"],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
    subprocess.run(
        [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l",
         str(folder / "server.log"), "-o", options, "-w", "start"],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    try:
        yield f"postgresql+psycopg2://mlflow:{password}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True, timeout=120,
        )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
