"""Answers land in Python, TOML, Markdown and YAML: hostile ones must come out as plain text.

A project generated with quotes, backslashes, a docstring terminator, a newline and non-ASCII
text in its free-text answers must import, lint and pass its own tests, and show each answer
exactly as it was given.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from projects import Combo, install, require_services, run

pytestmark = pytest.mark.e2e

# SQLite and in-process jobs: the combination that needs no service.
COMBO = Combo("sqlite", "none", "background")
NAME = 'Orders "ACME" <b>*x*</b> \\ it\'s'
DESCRIPTION = 'Says """\nimport os; os.system("echo pwned") \\ é 😀 \' `x` # [link](x)'
AUTHOR = 'Ann "Q" O\'Neil \\ é'


@pytest.fixture(scope="module")
def rendered() -> dict[str, Path]:
    return {}


@pytest.fixture
def project(
    copier: Any, rendered: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Rendered once for the module (pytest-copier's fixture is function-scoped)."""
    if "project" not in rendered:
        dst = tmp_path_factory.mktemp("escaping") / "orders"
        answers = {"project_name": NAME, "description": DESCRIPTION, "author_name": AUTHOR}
        rendered["project"] = copier.copy(
            dst, project_slug="orders", **answers, **COMBO.answers
        ).path
    return rendered["project"]


def test_python_gets_the_answers_as_string_literals(project: Path) -> None:
    require_services(COMBO)
    bin = install(project)

    run([bin / "ruff", "check", "."], project)
    run([bin / "ruff", "format", "--check", "."], project)
    code = (
        "import orders, orders.main as m;"
        " print(repr((orders.__doc__, m.app.title, m.app.description)))"
    )
    shown = run([bin / "python", "-c", code], project)

    assert shown.strip() == repr((DESCRIPTION, NAME, DESCRIPTION))
    assert "pwned" not in run([bin / "python", "-c", "import orders"], project)
    output = run([bin / "pytest", "-q", "-p", "no:cacheprovider"], project)
    assert " passed" in output and "failed" not in output, output


def test_toml_and_yaml_keep_the_answers(project: Path) -> None:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())

    assert pyproject["description"] == DESCRIPTION
    assert pyproject["authors"][0]["name"] == AUTHOR
    assert (answers["project_name"], answers["description"]) == (NAME, DESCRIPTION)


def test_markdown_shows_the_answers_as_text(project: Path) -> None:
    title, _, description = (project / "README.md").read_text().splitlines()[:3]

    assert title == r'# Orders "ACME" \<b\>\*x\*\</b\> \\ it' + "'s"
    assert "\\`x\\` \\# \\[link\\](x)" in description
    assert "\n" not in description
