"""Capabilities that can be switched off (copier.yml's yes/no questions).

Off, a capability leaves none of its files, dependencies, imports, settings, `.env.example`
lines, CI steps or README sections. On is the default, so a project generated before the
switches existed renders exactly as it did. The line counts of the default project and of the
one with every capability off are printed, and bounded.
"""

from __future__ import annotations

import ast
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from projects import COMBOS, DEFAULT, Combo, assert_green, require_services
from test_update import commit_all, status

QUESTIONS = yaml.safe_load((Path(__file__).resolve().parent.parent / "copier.yml").read_text())
SWITCHES = [
    name
    for name, spec in QUESTIONS.items()
    if isinstance(spec, dict) and spec.get("type") == "bool" and spec.get("when") is not False
]
PACKAGE = "acme_orders"


@dataclass(frozen=True)
class Parts:
    """What one capability brings to a project, and nothing else does."""

    paths: tuple[str, ...] = ()
    # Distributions in pyproject.toml's dependencies, by prefix.
    dependencies: tuple[str, ...] = ()
    # Modules no Python file of the project may import once it is off.
    modules: tuple[str, ...] = ()
    env_keys: tuple[str, ...] = ()
    ci_jobs: tuple[str, ...] = ()
    readme_headings: tuple[str, ...] = ()
    # Words no file of the project holds once it is off, in any case (compose, Dockerfile,
    # manifests, comments).
    words: tuple[str, ...] = ()


PARTS = {
    "live_events": Parts(
        paths=(
            *(f"src/{PACKAGE}/{name}.py" for name in ("events", "broadcast", "websocket_limits")),
            f"src/{PACKAGE}/items/events.py",
            "tests/test_item_events.py",
            "tests/test_websocket_limits.py",
            "tests/processes.py",
        ),
        dependencies=("aio-pika", "websockets"),
        modules=(".events", "..events", f"{PACKAGE}.events", ".websocket_limits", "websockets"),
        env_keys=(
            "EVENTS_MAX_CONNECTIONS",
            "EVENTS_MAX_CONNECTIONS_PER_CLIENT",
            "EVENTS_PING_SECONDS",
            "EVENTS_QUEUE_SIZE",
        ),
        readme_headings=("## Live item events: `WS /items/events`",),
    ),
    "metrics": Parts(
        paths=(f"src/{PACKAGE}/metrics.py", "tests/test_metrics.py", "deploy/grafana"),
        dependencies=("prometheus-client",),
        modules=("prometheus_client", f"{PACKAGE}.metrics", ".metrics"),
        env_keys=("METRICS_ENABLED", "METRICS_PORT"),
        readme_headings=("## Metrics",),
        words=("prometheus", "metrics_port", "/metrics", "9100"),
    ),
    "tracing": Parts(
        paths=(f"src/{PACKAGE}/telemetry.py", "tests/test_tracing.py"),
        dependencies=("opentelemetry",),
        modules=("opentelemetry", f"{PACKAGE}.telemetry", ".telemetry"),
        env_keys=("TRUST_TRACE_CONTEXT",),
        readme_headings=("## Tracing",),
    ),
    "kubernetes": Parts(
        paths=("deploy/k8s",),
        ci_jobs=("manifests",),
        readme_headings=("## Deploying to Kubernetes",),
    ),
}
ALL_OFF = dict.fromkeys(SWITCHES, False)
# Lines of Python (src and tests, blank lines left out) of the default combination with every
# capability off, as measured, so that growth is a decision. Not yet issue 20's 2,500: 3,038 at
# first; 3,071 since the FIFO connection gate (db.py), the cache's blocking pool and the shared
# test server, each measured (bench/README.md); 3,095 since the cache's fix of a race between
# an invalidation and its retry (+18) and one `open_connections` for every database (+6);
# 3,121 since an invalid setting ends the process in one line naming it (+24 with its test)
# and the create's INSERT is built once (+2); 3,162 since the tests take from `.env` only where
# the services are (tests/configuration.py, +27), and a blank name is a 422 (+8 with its tests),
# less 5 lines of branches that only other choices needed.
ALL_OFF_LINE_BOUND = 3_162


def test_every_switch_is_described_here() -> None:
    assert sorted(SWITCHES) == sorted(PARTS)
    for name in SWITCHES:
        assert QUESTIONS[name]["default"] is True  # existing projects keep every capability


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {}


@pytest.fixture
def render(copier: Any, rendered: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Any:
    def render(combo: Combo, **switches: bool) -> Path:
        key = combo.id + "".join(f"-{k}={v}" for k, v in sorted(switches.items()))
        if key not in rendered:
            dst = tmp_path_factory.mktemp("switches") / "orders"
            answers = {**combo.answers, **switches}
            rendered[key] = copier.copy(dst, project_name="Acme Orders", **answers).path
        return rendered[key]

    return render


def python_files(project: Path) -> list[Path]:
    return sorted(
        path
        for root in ("src", "tests")
        for path in (project / root).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def imported(project: Path) -> set[str]:
    """Every module the project's Python imports, relative ones with their leading dots."""
    modules = set()
    for path in python_files(project):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                modules.add("." * node.level + (node.module or ""))
    return modules


def dependencies(project: Path) -> list[str]:
    """The project's dependencies and its development ones, by distribution name."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    listed = [*pyproject["project"]["dependencies"], *pyproject["dependency-groups"]["dev"]]
    return [re.split(r"[<>=\[ ]", dep)[0] for dep in listed]


def env_keys(project: Path) -> set[str]:
    lines = (project / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if line and not line.startswith("#")}


def ci_jobs(project: Path) -> set[str]:
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    return set(workflow["jobs"])


def assert_absent(project: Path, name: str) -> None:
    parts = PARTS[name]
    for path in parts.paths:
        assert not (project / path).exists(), path
    assert not [d for d in dependencies(project) if d.startswith(parts.dependencies or ("\0",))]
    for module in imported(project):
        assert not any(module == m or module.startswith(m + ".") for m in parts.modules), module
    assert not env_keys(project) & set(parts.env_keys)
    assert not ci_jobs(project) & set(parts.ci_jobs)
    readme = (project / "README.md").read_text().splitlines()
    assert not set(readme) & set(parts.readme_headings)
    for path, text in texts(project).items():
        # Not in a generated secret, whose hex digits may spell "9100".
        text = re.sub(r"[0-9a-f]{32,}", "", text)
        assert not [word for word in parts.words if word in text], path


def texts(project: Path) -> dict[Path, str]:
    """The project's files as lowercase text; not its answers file, which names every switch,
    nor the lock file uv derives from pyproject.toml."""
    found = {}
    for root, dirs, files in os.walk(project):
        # Not the project's own: git's, the installed environment, the tools' caches.
        dirs[:] = [
            name
            for name in dirs
            if name == ".github" or not (name.startswith(".") or name == "__pycache__")
        ]
        for name in files:
            if name not in {".copier-answers.yml", "uv.lock"}:
                path = Path(root, name)
                found[path] = path.read_text(errors="replace").lower()
    return found


def assert_present(project: Path, name: str) -> None:
    parts = PARTS[name]
    for path in parts.paths:
        assert (project / path).exists(), path
    # Some only with some choices (aio-pika with RabbitMQ): at least one is there.
    if parts.dependencies:
        assert [d for d in dependencies(project) if d.startswith(parts.dependencies)]
    assert set(parts.env_keys) <= env_keys(project)
    assert set(parts.ci_jobs) <= ci_jobs(project)
    assert set(parts.readme_headings) <= set((project / "README.md").read_text().splitlines())
    every_text = "\n".join(texts(project).values())
    assert [word for word in parts.words if word not in every_text] == []


@pytest.mark.parametrize("name", SWITCHES)
def test_one_switch_off_leaves_out_that_capability_only(render: Any, name: str) -> None:
    project = render(DEFAULT, **{name: False})
    assert_absent(project, name)
    for other in SWITCHES:
        if other != name:
            assert_present(project, other)


@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_all_off_leaves_out_every_capability(render: Any, combo: Combo) -> None:
    project = render(combo, **ALL_OFF)
    for name in SWITCHES:
        assert_absent(project, name)
    leftover = re.compile(r"(?<!\$)\{\{|\{%|%\}")
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert not leftover.search(path.read_text(errors="replace")), path


def tree(project: Path) -> dict[str, str]:
    # The generated secret differs between renders.
    skipped = {".env", ".copier-answers.yml"}
    return {
        str(path.relative_to(project)): path.read_text()
        for path in sorted(project.rglob("*"))
        if path.is_file() and ".git" not in path.parts and path.name not in skipped
    }


def test_every_switch_on_is_the_default(render: Any) -> None:
    assert tree(render(DEFAULT, **dict.fromkeys(SWITCHES, True))) == tree(render(DEFAULT))


def line_counts(project: Path) -> dict[str, int]:
    """Lines of Python by file (src and tests), blank lines left out."""
    return {
        str(path.relative_to(project)): sum(
            1 for line in path.read_text().splitlines() if line.strip()
        )
        for path in python_files(project)
    }


def test_size_of_the_default_and_the_all_off_project(
    render: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    default = line_counts(render(DEFAULT))
    all_off = line_counts(render(DEFAULT, **ALL_OFF))
    rows = [
        f"  {path:<58} {default.get(path, 0):>5} {all_off.get(path, 0):>5}"
        for path in sorted(default.keys() | all_off.keys())
    ]
    with capsys.disabled():
        print(f"\nLines of Python (non-blank) of {DEFAULT.id}: default, all capabilities off")
        print("\n".join(rows))
        print(f"  {'total':<58} {sum(default.values()):>5} {sum(all_off.values()):>5}")
    assert sum(all_off.values()) <= ALL_OFF_LINE_BOUND
    assert sum(all_off.values()) < sum(default.values())


EDIT = "\n# Edited by hand: kept by every update.\n"


@pytest.mark.e2e
def test_switching_capabilities_off_and_on_keeps_edits_and_stays_green(
    cli: Any,
) -> None:
    """All off: lint, types, migrations both ways and its own tests; then every capability on
    with `fastgen update --data`, and off again, each keeping a hand edit and staying green."""
    require_services(DEFAULT)
    flags = [f"--no-{name.replace('_', '-')}" for name in SWITCHES]
    result = cli("new", "Acme Orders", *flags, "-y")
    assert result.exit_code == 0, result.output
    project = Path.cwd() / "acme-orders"
    assert_green(project, DEFAULT)
    main = project / "src" / PACKAGE / "main.py"
    main.write_text(main.read_text() + EDIT)
    commit_all(project, "An edit by hand")

    for switched in (True, False):
        data = [arg for name in SWITCHES for arg in ("--data", f"{name}={str(switched).lower()}")]
        result = cli("update", str(project), *data)
        assert result.exit_code == 0, result.output
        assert main.read_text().endswith(EDIT)
        for name in SWITCHES:
            (assert_present if switched else assert_absent)(project, name)
        assert_green(project, DEFAULT)
        if status(project):
            commit_all(project, f"Capabilities {'on' if switched else 'off'}")
