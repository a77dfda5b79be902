"""The two resources of the issue's "done when", added to a generated project.

`customers`, then `orders` referring to it: every type family the served tests drive
(string, boolean, decimal, text, timezone-aware datetime, a reference), the `unique`
modifier and optional fields; orders have a job with a status and, where the project has
live events, events, as items do. With the project's auth, `notes` too: owned by their
author (`--owned`), with events, and in auth=local a reference to the author's account.
The matrix adds them to the combinations of `ADDING_RESOURCES` (tests/projects.py).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from test_update import commit_all, git

CUSTOMERS = [
    "customers",
    *("--field", "name:str:unique", "--field", "email:str", "--field", "vip:bool"),
]
ORDERS = [
    "orders",
    *("--field", "customer:ref", "--field", "total:decimal"),
    *("--field", "note:text?", "--field", "shipped_at:datetime?"),
    *("--job", "--events"),
]
NOTES = ["notes", "--field", "title:str", "--owned", "--events"]


def add_resource(project: Path, *args: str) -> str:
    """`fastgen add resource ARGS --path PROJECT`, in-process; its output. Commits the result."""
    from fastgen.main import app

    command = ["add", "resource", *args, "--path", str(project)]
    result = CliRunner().invoke(app, command, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    commit_all(project, f"Add resource {args[0]}")
    return result.stdout


def add_customers_and_orders(project: Path) -> None:
    """Both resources, each committed (`fastgen add` refuses a dirty tree)."""
    if not (project / ".git").exists():
        git(project, "init", "--quiet", "--initial-branch=main")
        commit_all(project, "Generated")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    add_resource(project, *CUSTOMERS)
    # `--events` needs the project's live events, a capability that can be switched off.
    events = answers.get("live_events", True)
    add_resource(project, *[arg for arg in ORDERS if events or arg != "--events"])
    auth = answers.get("auth", "none")
    if auth != "none":
        notes = [*NOTES, *(["--field", "author:ref:users"] if auth == "local" else [])]
        add_resource(project, *[arg for arg in notes if events or arg != "--events"])
