"""`fastgen update`, for resources added with `fastgen add resource`.

Each added resource has its own answers file; Copier's 3-way merge brings it to this
fastgen's resource template, with the project's current package name, database and auth.
Copier updates only a clean work tree, so each run starts from a scratch commit of
what the updates before it changed; the scratch commits are undone at the end, and
every change is left in the work tree for review, as after the main update.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fastgen.bundle import git
from fastgen.errors import FastgenError
from fastgen.resource_source import resource_template
from fastgen.source import BundledTemplate, copier_errors, copier_git

ANSWERS_GLOB = ".copier-answers.resource-*.yml"
_SCRATCH_COMMIT = [
    *("-c", "user.name=fastgen", "-c", "user.email=fastgen@localhost"),
    *("commit", "--quiet", "--no-verify", "--allow-empty", "-m", "fastgen: scratch"),
]


def refuse_auth_none_under_owned(project: Path, changes: dict[str, str]) -> None:
    """An owned resource's rows belong to callers: without auth there are none."""
    if changes.get("auth") != "none":
        return
    for path in sorted(project.glob(ANSWERS_GLOB)):
        answers = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(answers, dict) and answers.get("owned"):
            raise FastgenError(
                f"resource {answers.get('plural', path.name)!r} is owned (--owned): "
                "it needs the project's auth, so auth=none is refused"
            )


def update_resources(project: Path, main: BundledTemplate | None, recopy: bool) -> None:
    """Update (or recopy) every added resource of `project`; no-op without any."""
    answers_files = sorted(path.name for path in project.glob(ANSWERS_GLOB))
    if not answers_files:
        return
    import copier  # lazy: ~0.6 s

    facts = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    data = {key: facts[key] for key in ("package_name", "database")}
    # Projects from before the auth question have none.
    data["auth"] = facts.get("auth", "none")
    common: dict[str, Any] = {
        "data": data,
        "overwrite": True,
        "defaults": True,
        "skip_answered": True,
        "unsafe": True,
        "quiet": True,
    }
    base = git(project, "rev-parse", "HEAD")
    try:
        with (
            resource_template(main) as source,
            copier_git(source.git_env()),
            copier_errors(source.url),
        ):
            for answers_file in answers_files:
                git(project, "add", "--all", "--", ".")
                git(project, *_SCRATCH_COMMIT)
                options = {**common, "answers_file": answers_file, "vcs_ref": source.version}
                if recopy:
                    copier.run_recopy(project, **options)
                else:
                    copier.run_update(project, conflict="inline", **options)
    finally:
        git(project, "reset", "--quiet", "--mixed", base)
