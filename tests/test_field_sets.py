"""Every field set is green: random field sets (tests/field_sets.py) are added with
`fastgen add resource`, and the code they generate passes ruff, ruff format --check and
mypy --strict, each draw checked; a few per database also pass their own tests.

The draws are many resources in one project per database, so each tool runs once per
project; a failure is put down to the draws whose files it names. The seed is random unless
FIELD_SETS_SEED gives one; pytest's header shows it, and so do each test's id and every
failure message.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from added_resources import CUSTOMERS, add_customers_and_orders
from field_sets import SEED, Draw, Target, draw
from projects import (
    DATABASES,
    Combo,
    fresh_database,
    install,
    project_env,
    require_services,
    services_for,
)
from test_add_resource import new_project
from test_update import commit_all

LINTED_DRAWS = 70  # a database: 210 in all, with the fixed cases
TESTED_DRAWS = 3  # a database, with the fixed cases
FIXED = [
    Draw("people", "person", ("born:date?", "score:float")),  # issue 23: optional first
    Draw("notes", "note", ("body:text?", "due:date?", "owner:ref:customers?", "rank:int?:unique")),
    Draw("tags", "tag", ("label:str:1:unique",)),
    Draw("links", "link", ("customer:ref:unique",)),
    Draw(
        "kinds",
        "kind",
        (
            *("blob:json?", "code:str:6?:unique", "share:decimal:4,4:unique", "qty:bigint:index"),
            *("ratio:float?:index", "day:date:unique", "at:datetime?:unique", "key:uuid:unique"),
            *("flag:bool:index", "item:ref?", "rank:int", "note:text"),
        ),
    ),
]
REPRODUCE = f"(FIELD_SETS_SEED={SEED} reproduces it)"


def add(project: Path, resource: Draw) -> str | None:
    """`fastgen add resource` of one draw, committed; what went wrong, if anything."""
    from fastgen.main import app

    command = ["add", "resource", *resource.args, "--path", str(project)]
    result = CliRunner().invoke(app, command)
    if result.exit_code != 0:
        return f"`fastgen add resource` exited {result.exit_code}: {result.output.strip()}"
    commit_all(project, f"Add resource {resource.plural}")
    return None


def project_with_draws(base: Path, database: str, count: int) -> tuple[Path, list[Draw]]:
    """A project of `database` with the fixed cases and `count` draws added, in that order."""
    project = new_project(base, "Shop", "--database", database, "--cache", "none")
    add_customers_and_orders(project)
    targets = [Target("items", "item"), Target(CUSTOMERS[0], "customer")]
    rng = random.Random(f"{SEED}-{database}")
    draws: list[Draw] = []
    failures = []
    for index in range(len(FIXED) + count):
        # A draw may refer to any resource added before it, drawn ones included.
        resource = FIXED[index] if index < len(FIXED) else draw(rng, index, targets)
        draws.append(resource)
        problem = add(project, resource)
        if problem:
            failures.append(f"{resource}\n    {problem}")
        else:
            targets.append(Target(resource.plural, resource.singular))
    assert not failures, f"{REPRODUCE}\n" + "\n".join(failures)
    return project, draws


def owner(path: str, draws: Iterable[Draw]) -> Draw | None:
    """The draw whose generated file `path` (relative to the project) is."""
    by_plural = {resource.plural: resource for resource in draws}
    patterns = (
        r"src/\w+/(\w+)/",
        r"tests/(?:make|test)_(\w+)\.py",
        r"migrations/versions/\d+_create_(\w+)\.py",
    )
    for pattern in patterns:
        found = re.match(pattern, path)
        if found and found.group(1) in by_plural:
            return by_plural[found.group(1)]
    return None


def problems(command: list[str | Path], project: Path) -> list[str]:
    """The lines of a linter's complaints (none when it exits 0)."""
    result = subprocess.run(command, cwd=project, capture_output=True, text=True)
    if result.returncode == 0:
        return []
    lines = (result.stdout + result.stderr).splitlines()
    return [line for line in lines if line.strip()] or [f"exited {result.returncode}"]


def by_draw(lines: list[str], draws: list[Draw]) -> dict[str, list[str]]:
    """Each complaint under the draw whose file it names (or `other`)."""
    grouped: dict[str, list[str]] = {}
    for line in lines:
        resource = owner(line.removeprefix("Would reformat: ").split(":")[0], draws)
        grouped.setdefault(str(resource) if resource else "other", []).append(line)
    return grouped


@pytest.mark.parametrize("database", DATABASES, ids=lambda database: f"{database}-seed{SEED}")
def test_drawn_field_sets_pass_lint_and_types(tmp_path: Path, database: str) -> None:
    project, draws = project_with_draws(tmp_path, database, LINTED_DRAWS)
    ruff = Path(sys.executable).parent / "ruff"
    mypy = install(project) / "mypy"
    lines = [
        *problems([ruff, "check", "--no-cache", "--output-format", "concise", "."], project),
        *problems([ruff, "format", "--no-cache", "--check", "."], project),
        *problems([mypy, "--no-error-summary"], project),
    ]
    grouped = by_draw(lines, draws)
    report = "\n".join(f"{name}\n    " + "\n    ".join(found) for name, found in grouped.items())
    assert not grouped, f"{len(grouped)} of {len(draws)} field sets fail {REPRODUCE}:\n{report}"


@pytest.mark.e2e
@pytest.mark.parametrize("database", DATABASES, ids=lambda database: f"{database}-seed{SEED}")
def test_drawn_field_sets_pass_their_own_tests(tmp_path: Path, database: str) -> None:
    combo = Combo(database, "none", "background")
    require_services(combo)
    project, draws = project_with_draws(tmp_path, database, TESTED_DRAWS)
    pytest_bin = install(project) / "pytest"
    services = services_for(combo)
    tests = [f"tests/test_{resource.plural}.py" for resource in draws]
    with fresh_database(services):
        result = subprocess.run(
            [pytest_bin, "-q", "-p", "no:cacheprovider", *tests],
            cwd=project,
            env=project_env(services.env),
            capture_output=True,
            text=True,
        )
    failed = sorted(set(re.findall(r"tests/test_(\w+)\.py::", result.stdout)))
    names = "\n".join(str(resource) for resource in draws if resource.plural in failed)
    assert result.returncode == 0, f"{REPRODUCE}\n{names}\n{result.stdout[-20_000:]}"
