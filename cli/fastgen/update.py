"""`fastgen update`: bring a project to its template's newest version (Copier's 3-way merge).

An update never drops an edit silently: a path the template deletes that holds the
user's edits is kept and listed as a conflict, a `package_name` change (which would
move the package and leave the user's files behind) is refused with the safe way to
rename, and `fastgen update --undo` puts the tree back exactly as it was.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from fastgen.bundle import git
from fastgen.errors import FastgenError
from fastgen.migrations import merge_heads
from fastgen.preset import load_preset
from fastgen.questions import check_answers, complete_data
from fastgen.resource_update import ANSWERS_GLOB, refuse_auth_none_under_owned, update_resources
from fastgen.source import (
    ANSWERS_FILE,
    FAILURE,
    TEMPLATE_URL,
    BundledTemplate,
    bundled_template,
    copier_errors,
    copier_git,
    newest_tag,
    version_key,
)
from fastgen.ui import note, parse_data

CONFLICT_MARKER = "<<<<<<< "
# Written by `make install` (uv sync) and not yet committed: no reason to refuse an update.
TOLERATED_UNTRACKED = {"uv.lock"}
UNDO_FILE = "fastgen-undo.json"  # in the git directory: what `update --undo` reverts


def read_answers(project: Path) -> dict[str, Any]:
    """The project's recorded answers; refuses (exit 2) anything that is not a fastgen project."""
    path = project / ANSWERS_FILE
    if not project.exists():
        raise FastgenError(f"{project} does not exist")
    if not project.is_dir():
        raise FastgenError(f"{project} is not a directory")
    if not path.is_file():
        raise FastgenError(f"{project} is not a fastgen project: it has no {ANSWERS_FILE}")
    try:
        answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise FastgenError(f"{path} is damaged: {err}") from err
    if not isinstance(answers, dict) or not answers.get("_src_path"):
        raise FastgenError(f"{path} is damaged: it records no template source (_src_path)")
    return answers


# `name: ... ## help`, as the generated Makefile's `help` target reads them.
MAKE_TARGET = re.compile(r"^([a-z][a-z-]*):.*?## (.*)$")


def status_lines(project: Path) -> list[str]:
    """`git status --porcelain` of the project's own files (also inside a larger repository).

    Paths are relative to the project, even when it is a subdirectory of the repository.
    """
    out = git(
        project,
        "-c",
        "core.quotepath=off",
        "status",
        "--porcelain",
        "--untracked-files=all",
        "--",
        ".",
        strip=False,  # " M path": the first line's status begins with a space
    )
    prefix = git(project, "rev-parse", "--show-prefix")
    lines = []
    for line in out.splitlines():
        if line.strip():
            path = line[3:].split(" -> ")[-1].strip('"')
            lines.append(line[:3] + path.removeprefix(prefix))
    return lines


def require_git(project: Path) -> None:
    if shutil.which("git") is None:
        raise FastgenError("git is not installed: updates merge through git")
    try:
        git(project, "rev-parse", "--verify", "--quiet", "HEAD")
    except subprocess.CalledProcessError as err:
        raise FastgenError(
            f"{project} is not in a git repository with a commit: updates need its history "
            "(git init; git add --all; git commit)"
        ) from err


def require_clean(project: Path, change: str = "update") -> None:
    """Refuse a project with uncommitted changes: `change` (what would be made) could then be
    neither reviewed nor undone on its own."""
    dirty = [
        line[3:]
        for line in status_lines(project)
        if not (line.startswith("??") and line[3:] in TOLERATED_UNTRACKED)
    ]
    if dirty:
        raise FastgenError(
            f"{project} has uncommitted changes ({', '.join(dirty[:3])}"
            f"{', ...' if len(dirty) > 3 else ''}): commit or stash them first, "
            f"so the {change} can be reviewed and undone"
        )


@dataclass(frozen=True)
class Source:
    """How to reach the project's template: Copier source, target ref, git environment."""

    src: str
    vcs_ref: str | None
    env: dict[str, str]
    bundled: BundledTemplate | None
    trust: bool


@contextmanager
def project_source(answers: dict[str, Any], recopy: bool, trust: bool) -> Iterator[Source]:
    """The bundled template for projects recording the canonical URL; else their own source."""
    src = str(answers["_src_path"])
    if src != TEMPLATE_URL:
        yield Source(src=src, vcs_ref=newest_tag(src), env={}, bundled=None, trust=trust)
        return
    with bundled_template() as bundled:
        old = str(answers.get("_commit", ""))
        old_key, new_key = version_key(old), version_key(bundled.version)
        if old_key is not None and new_key is not None and old_key > new_key:
            raise FastgenError(
                f"the project uses template {old}, newer than this fastgen's {bundled.version}: "
                "upgrade fastgen first"
            )
        if old not in bundled.versions and not recopy:
            known = ", ".join(bundled.versions) or "none"
            raise FastgenError(
                f"template version {old or '(unrecorded)'} is not in this fastgen's history "
                f"(it has {known}); run `fastgen update --recopy` to re-apply the template "
                "from scratch, then review every change with `git diff`"
            )
        yield Source(
            src=src, vcs_ref=bundled.version, env=bundled.git_env(), bundled=bundled, trust=True
        )


@contextmanager
def _set_aside(project: Path, relpaths: set[str]) -> Iterator[None]:
    """Move tolerated untracked files out while Copier runs (it refuses any dirty tree)."""
    with tempfile.TemporaryDirectory(prefix="fastgen-aside-") as tmp:
        for relpath in relpaths:
            shutil.move(project / relpath, Path(tmp) / relpath)
        try:
            yield
        finally:
            for relpath in relpaths:
                shutil.move(Path(tmp) / relpath, project / relpath)


def _copier_env(source: Source) -> Any:
    return copier_git(source.env) if source.env else nullcontext()


def _run_copier(project: Path, source: Source, data: dict[str, str], recopy: bool) -> None:
    """Copier's update (or recopy), non-interactive: new questions take their defaults."""
    import copier  # lazy: ~0.6 s

    common: dict[str, Any] = {
        "data": data,
        "vcs_ref": source.vcs_ref,
        "overwrite": True,
        "defaults": True,
        "skip_answered": True,
        "unsafe": source.trust,
        "quiet": True,
    }
    with _copier_env(source), copier_errors(source.src):
        if recopy:
            copier.run_recopy(project, **common)
        else:
            copier.run_update(project, conflict="inline", **common)
    update_resources(project, source.bundled, recopy)


def _old_render(source: Source, answers: dict[str, Any], into: Path) -> Path:
    """The project as the old template version rendered it, untouched by the user."""
    import copier

    data = {k: v for k, v in answers.items() if not k.startswith("_")}
    with _copier_env(source), copier_errors(source.src):
        copier.run_copy(
            source.src,
            into,
            data=data,
            vcs_ref=str(answers.get("_commit")),
            defaults=True,
            unsafe=source.trust,
            quiet=True,
        )
    return into


# --- restore: what the update added, changed or deleted, and nothing else ---------------------


def _untracked(project: Path) -> set[str]:
    return {line[3:] for line in status_lines(project) if line.startswith("??")}


def restore(project: Path, keep_untracked: set[str], added: set[str] | None = None) -> None:
    """Put the project's tracked files back at HEAD and delete the files the update added.

    Scoped to the project's directory, so the rest of a monorepo is not touched; an
    unmerged index (a conflicting update) is reset too.
    """
    git(project, "reset", "--quiet", "HEAD", "--", ".")
    git(project, "checkout", "HEAD", "--", ".")
    for relpath in (added if added is not None else _untracked(project)) - keep_untracked:
        path = project / relpath
        if path.is_file() or path.is_symlink():
            path.unlink()
        for parent in path.parents:
            if parent == project or not parent.is_dir() or any(parent.iterdir()):
                break
            parent.rmdir()


def _undo_record(project: Path) -> Path:
    return Path(git(project, "rev-parse", "--absolute-git-dir")) / UNDO_FILE


def save_undo(project: Path, added: set[str]) -> None:
    record = {
        "project": str(project),
        "tree": git(project, "rev-parse", "HEAD:./"),  # the project's own, not the monorepo's
        "added": sorted(added),
    }
    _undo_record(project).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def undo(project: Path) -> None:
    require_git(project)
    path = _undo_record(project)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise FastgenError(f"there is no update of {project} to undo ({path} is missing)") from err
    if record.get("project") != str(project):
        raise FastgenError(f"the last update was of {record.get('project')}, not {project}")
    if record.get("tree") != git(project, "rev-parse", "HEAD:./"):
        raise FastgenError(
            f"{project.name} was committed since the update: undo it with `git revert` instead"
        )
    restore(project, keep_untracked=set(), added=set(record.get("added", [])))
    path.unlink()
    typer.echo(f"Undid the update of {project.name}: its files are as they were at HEAD.")


# --- what the update did --------------------------------------------------------------------


def conflicts(project: Path, changed: list[str]) -> list[str]:
    """Files holding inline conflict markers, plus any `.rej` files."""
    found = []
    for line in changed:
        relpath = line[3:]
        path = project / relpath
        if relpath.endswith(".rej"):
            found.append(relpath)
        elif path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            if any(row.startswith(CONFLICT_MARKER) for row in text.splitlines()):
                found.append(relpath)
    return found


def keep_edited_deletions(
    project: Path, deleted: list[str], source: Source, answers: dict[str, Any]
) -> list[str]:
    """Put back each file the template deleted that the user had edited; return them."""
    if not deleted:
        return []
    prefix = git(project, "rev-parse", "--show-prefix")
    kept = []
    with tempfile.TemporaryDirectory(prefix="fastgen-old-") as tmp:
        pristine = _old_render(source, answers, Path(tmp) / "old")
        for relpath in deleted:
            committed = subprocess.run(
                ["git", "show", f"HEAD:{prefix}{relpath}"], cwd=project, capture_output=True
            ).stdout
            original = pristine / relpath
            if not original.is_file() or original.read_bytes() != committed:
                git(project, "checkout", "HEAD", "--", relpath)
                kept.append(relpath)
    return kept


def _dotenv(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.startswith("#")}


def stale_env(project: Path) -> list[str]:
    """Settings in `.env` (never rewritten by an update) that the new `.env.example` replaced."""
    env_file, example = project / ".env", project / ".env.example"
    if not env_file.is_file() or not example.is_file():
        return []
    prefix = git(project, "rev-parse", "--show-prefix")
    before = subprocess.run(
        ["git", "show", f"HEAD:{prefix}.env.example"], cwd=project, capture_output=True, text=True
    ).stdout
    old, new = _dotenv(before), _dotenv(example.read_text(encoding="utf-8"))
    mine = _dotenv(env_file.read_text(encoding="utf-8"))
    stale = []
    for key, value in mine.items():
        if key in old and key not in new:
            stale.append(f"{key} (no longer used)")
        elif key in new and old.get(key) != new[key] and value != new[key]:
            stale.append(f"{key} (the template now suggests {new[key]!r})")
    return stale


def _preview(project: Path, source: Source, data: dict[str, str], recopy: bool) -> str:
    """Update a throwaway copy of the project's files and return its diff.

    The copy holds the working tree as it is (uncommitted edits included) and no
    history of the enclosing repository, so it works on a dirty tree and in a monorepo.
    """
    files = git(
        project, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."
    ).split("\0")
    with tempfile.TemporaryDirectory(prefix="fastgen-preview-") as tmp:
        copy = Path(tmp) / project.name
        for relpath in filter(None, files):
            if (project / relpath).is_file():
                (copy / relpath).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(project / relpath, copy / relpath)
        git(copy, "init", "--quiet")
        git(copy, "add", "--all")
        identity = ["-c", "user.name=fastgen", "-c", "user.email=fastgen@localhost"]
        git(copy, *identity, "commit", "--quiet", "--no-verify", "-m", "preview base")
        _run_copier(copy, source, data, recopy)
        git(copy, "add", "--all")
        stat = git(copy, "diff", "--cached", "--stat")
        diff = git(copy, "diff", "--cached")
    return f"{diff}\n{stat}" if stat else ""


def _all_at(project: Path, source: Source, version: str) -> bool:
    """The project and every resource added to it are at the bundled template's `version`."""
    if source.bundled is None:
        return False
    for path in project.glob(ANSWERS_GLOB):
        recorded = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(recorded, dict) or recorded.get("_commit") != version:
            return False
    return True


def _runner(answers: dict[str, Any]) -> str:
    """The task runner, on its broker where that was asked (`celery_broker` in older projects)."""
    tasks = str(answers.get("tasks", "background"))
    broker = answers.get("broker", answers.get("celery_broker"))
    return f"{tasks} on {broker}" if broker else tasks


def make_targets(project: Path) -> dict[str, str]:
    """The Makefile's targets and their help (the `## ` comment `make help` shows)."""
    makefile = project / "Makefile"
    if not makefile.is_file():
        return {}
    found = (MAKE_TARGET.match(line) for line in makefile.read_text(encoding="utf-8").splitlines())
    return {match[1]: match[2].strip() for match in found if match}


def next_steps(changed: list[str], before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What the update asks of the developer, read from what it changed: a new migration is
    applied, and a new make target (`make admin` with `auth=local`) is introduced by its help."""
    steps = []
    if any(line[3:].startswith("migrations/versions/") for line in changed):
        steps.append("make migrate")
    steps += [f"make {name}   # {help}" for name, help in after.items() if name not in before]
    return steps


def queued_jobs_note(answers: dict[str, Any], changes: dict[str, str]) -> str | None:
    """What becomes of the jobs still queued when the task runner, or its broker, changes."""
    kept = answers
    if changes.get("tasks", answers.get("tasks")) != answers.get("tasks"):
        # Another runner: the old one's broker answer is not its own.
        kept = {k: v for k, v in answers.items() if k not in {"broker", "celery_broker"}}
    old, new = _runner(answers), _runner({**kept, **changes})
    if old == new or old == "background":  # in-process jobs are never queued anywhere
        return None
    return (
        f"The task runner changed ({old} -> {new}). Jobs still queued for {old} stay in its "
        f"queue, which no {new} worker reads. Work a resource records as unfinished (items "
        f"still pending) is scheduled again on {new} by the API's recovery sweep once the "
        "updated service runs; other queued jobs are not. To run them on the old runner "
        "instead, let its worker empty the queue before you deploy. Then remove what it left on "
        "its broker: every name there carries NAMESPACE."
    )


def refuse_renames(answers: dict[str, Any], changes: dict[str, str]) -> None:
    old, new = answers.get("package_name"), changes.get("package_name")
    if new is not None and old is not None and new != old:
        raise FastgenError(
            f"changing package_name would move src/{old} to src/{new} and leave your edits "
            f"and own files behind; rename it yourself: `git mv src/{old} src/{new}`, replace "
            f"`{old}` with `{new}` in the code, set `package_name: {new}` in {ANSWERS_FILE}, "
            "and commit; later updates then follow the new name"
        )


def update(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH", help="The project to update.", show_default="current directory"
        ),
    ] = Path(),
    pretend: Annotated[
        bool,
        typer.Option(
            "--pretend",
            "--diff",
            help="Show the changes as a diff; write nothing. Works on "
            "a dirty tree (uncommitted edits are part of the preview).",
        ),
    ] = False,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            metavar="KEY=VALUE",
            help="Change an answer, e.g. --data cache=redis (repeatable).",
            autocompletion=complete_data,
        ),
    ] = None,
    preset: Annotated[
        Path | None,
        typer.Option(
            "--preset", metavar="FILE", help="Refuse answer changes that break its locked answers."
        ),
    ] = None,
    trust: Annotated[
        bool,
        typer.Option("--trust", help="Allow another template source to run tasks and migrations."),
    ] = False,
    recopy: Annotated[
        bool,
        typer.Option(
            "--recopy",
            help="Re-apply the template from scratch (when the old version is unavailable); "
            "your edits to generated files may be overwritten: review the diff.",
        ),
    ] = False,
    undo_last: Annotated[
        bool,
        typer.Option(
            "--undo",
            help="Put the project back as it was before the last, uncommitted update "
            "(conflicts and added files included).",
        ),
    ] = False,
) -> None:
    """Update a project to its template's newest version (3-way merge)."""
    project = path.resolve()
    if undo_last:
        if pretend or data or preset or recopy:
            raise FastgenError("--undo takes only the project's PATH")
        undo(project)
        return
    answers = read_answers(project)
    require_git(project)
    if not pretend:
        require_clean(project)
    changes = parse_data(data)
    if preset is not None:
        load_preset(preset).refuse_changes(changes)
    if answers["_src_path"] == TEMPLATE_URL:
        check_answers(changes)
    refuse_renames(answers, changes)
    refuse_auth_none_under_owned(project, changes)

    with project_source(answers, recopy, trust) as source:
        old, new = answers.get("_commit", "?"), source.vcs_ref or "the newest"
        if old == new and not changes and not recopy and _all_at(project, source, new):
            # Copier's 3-way merge of a version onto itself with the recorded answers changes
            # nothing (both sides render the same files), and it costs seconds: skip it.
            if pretend:
                typer.echo("No changes.")
                note(f"Pretend: {old} -> {new}; nothing was written to {project}.")
                return
            save_undo(project, set())
            typer.echo(f"Updated {project.name}: template {old} -> {new}\n  no file changed")
            return
        if pretend:
            diff = _preview(project, source, changes, recopy)
            typer.echo(diff or "No changes.")
            note(f"Pretend: {old} -> {new}; nothing was written to {project}.")
            return
        untracked = _untracked(project)
        targets_before = make_targets(project)
        try:
            with _set_aside(project, untracked & TOLERATED_UNTRACKED):
                _run_copier(project, source, changes, recopy)
            changed = status_lines(project)
            deleted = [line[3:] for line in changed if "D" in line[:2]]
            kept = keep_edited_deletions(project, deleted, source, answers)
            versions = project / "migrations" / "versions"
            if versions.is_dir():
                merge_heads(versions, datetime.now(UTC).date().isoformat())
        except BaseException:
            restore(project, keep_untracked=untracked)
            raise
    changed = status_lines(project)
    save_undo(project, _untracked(project) - untracked)
    clashes = conflicts(project, changed)
    verb = "Recopied" if recopy else "Updated"
    typer.echo(
        f"{verb} {project.name}: template {old} -> {new}"
        + (f" with {', '.join(f'{k}={v}' for k, v in changes.items())}" if changes else "")
    )
    typer.echo("\n".join(f"  {line}" for line in changed) or "  no file changed")
    if recopy:
        note(
            "Recopy re-applied the template over the project and may have overwritten your "
            "edits to generated files: review every change with `git diff` before committing."
        )
    if stale := stale_env(project):
        note(
            f".env is never rewritten by an update, and it still holds settings that no longer "
            f"fit: {', '.join(stale)}. Edit .env (compare with .env.example)."
        )
    if queued := queued_jobs_note(answers, changes):
        note(queued)
    if clashes or kept:
        typer.echo("Conflicts (resolve them, then commit; `fastgen update --undo` reverts all):")
        for relpath in clashes:
            typer.echo(f"  {relpath}: <<<<<<< markers")
        for relpath in kept:
            typer.echo(f"  {relpath}: the template removed it, but it holds your edits (kept)")
        raise typer.Exit(FAILURE)
    if any(line[3:] in {"pyproject.toml", "uv.lock"} for line in changed):
        typer.echo("Dependencies changed: run `make install` before the tests.")
    if changed:
        typer.echo("Next:")
        for step in next_steps(changed, targets_before, make_targets(project)):
            typer.echo(f"  {step}")
        typer.echo(
            "  review with `git diff`, run the tests, then commit (or `fastgen update --undo`)."
        )
