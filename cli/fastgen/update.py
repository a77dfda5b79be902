"""`fastgen update`: bring a project to the installed template version (Copier's 3-way merge)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from fastgen.preset import PresetError, load_preset
from fastgen.questions import by_name
from fastgen.resource_update import update_resources
from fastgen.source import (
    TEMPLATE_URL,
    BundledTemplate,
    bundled_template,
    copier_errors,
    copier_git,
)
from fastgen.ui import FAILURE, fail, note, parse_data

ANSWERS_FILE = ".copier-answers.yml"
CONFLICT_MARKER = "<<<<<<< "


def _git(project: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=True)
    return result.stdout


def read_answers(project: Path) -> dict[str, Any]:
    """The project's recorded answers; refuses (exit 2) anything that is not a fastgen project."""
    path = project / ANSWERS_FILE
    if not project.is_dir():
        fail(f"{project} is not a directory")
    if not path.is_file():
        fail(f"{project} is not a fastgen project: it has no {ANSWERS_FILE}")
    try:
        answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        fail(f"{path} is damaged: {err}")
    if not isinstance(answers, dict) or not answers.get("_src_path"):
        fail(f"{path} is damaged: it records no template source (_src_path)")
    return answers


def require_clean_git(project: Path) -> None:
    if shutil.which("git") is None:
        fail("git is not installed: updates merge through git")
    try:
        status = _git(project, "status", "--porcelain")
    except subprocess.CalledProcessError:
        fail(f"{project} is not a git repository: updates need its history (git init; commit)")
    if status.strip():
        fail(
            f"{project} has uncommitted changes: commit or stash them first, "
            "so the update can be reviewed and undone"
        )


def _version_key(version: str) -> Any:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(version)
    except InvalidVersion:
        return None


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
        yield Source(src=src, vcs_ref=None, env={}, bundled=None, trust=trust)
        return
    with bundled_template() as bundled:
        old = str(answers.get("_commit", ""))
        old_key, new_key = _version_key(old), _version_key(bundled.version)
        if old_key is not None and new_key is not None and old_key > new_key:
            fail(
                f"the project uses template {old}, newer than this fastgen's {bundled.version}: "
                "upgrade fastgen first"
            )
        if old not in bundled.versions and not recopy:
            known = ", ".join(bundled.versions) or "none"
            fail(
                f"template version {old or '(unrecorded)'} is not in this fastgen's history "
                f"(it has {known}); run `fastgen update --recopy` to re-apply the template "
                "from scratch, then review every change with `git diff`"
            )
        yield Source(
            src=src, vcs_ref=bundled.version, env=bundled.git_env(), bundled=bundled, trust=True
        )


def _restore(project: Path) -> None:
    """Put a (previously clean) project back as it was after a failed or interrupted run."""
    subprocess.run(["git", "reset", "--quiet", "--hard", "HEAD"], cwd=project, check=False)
    subprocess.run(["git", "clean", "--quiet", "-d", "--force"], cwd=project, check=False)


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
    with copier_git(source.env) if source.env else nullcontext(), copier_errors(source.src):
        if recopy:
            copier.run_recopy(project, **common)
        else:
            copier.run_update(project, conflict="inline", **common)
    update_resources(project, source.bundled, recopy)


def changed_files(project: Path) -> list[str]:
    lines = _git(project, "status", "--porcelain", "--untracked-files=all").splitlines()
    return [line for line in lines if line.strip()]


def conflicts(project: Path) -> list[str]:
    """Files holding inline conflict markers, plus any `.rej` files."""
    found = []
    for line in changed_files(project):
        relpath = line[3:].split(" -> ")[-1].strip('"')
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


def _preview(project: Path, source: Source, data: dict[str, str], recopy: bool) -> str:
    """Update a throwaway clone and return its diff; the project itself is not touched."""
    with tempfile.TemporaryDirectory(prefix="fastgen-preview-") as tmp:
        clone = Path(tmp) / project.name
        subprocess.run(
            ["git", "clone", "--quiet", "--no-hardlinks", str(project), str(clone)],
            check=True,
            capture_output=True,
        )
        _run_copier(clone, source, data, recopy)
        _git(clone, "add", "--all")
        stat = _git(clone, "diff", "--cached", "--stat")
        diff = _git(clone, "diff", "--cached")
    return f"{diff}\n{stat}" if stat else ""


def update(
    path: Annotated[
        Path, typer.Argument(help="The project to update.", show_default="current directory")
    ] = Path(),
    pretend: Annotated[
        bool,
        typer.Option("--pretend", "--diff", help="Show the changes as a diff; write nothing."),
    ] = False,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            metavar="KEY=VALUE",
            help="Change an answer, e.g. --data cache=redis (repeatable).",
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
) -> None:
    """Update a generated project to this fastgen's template version (3-way merge)."""
    project = path.resolve()
    answers = read_answers(project)
    require_clean_git(project)
    changes = parse_data(data)
    if preset is not None:
        try:
            team = load_preset(preset)
        except PresetError as err:
            fail(str(err))
        for key, value in changes.items():
            if key in team.locked and str(value) != str(team.answers[key]):
                fail(f"{key} is locked to {team.answers[key]!r} by preset {team.path.name}")
    bundled_source = answers["_src_path"] == TEMPLATE_URL
    if bundled_source:
        known = by_name()
        unknown = [key for key in changes if key not in known]
        if unknown:
            fail(f"unknown question {unknown[0]!r}; valid keys: {', '.join(known)}")

    with project_source(answers, recopy, trust) as source:
        old, new = answers.get("_commit", "?"), source.vcs_ref or "latest"
        if pretend:
            diff = _preview(project, source, changes, recopy)
            typer.echo(diff or "No changes.")
            note(f"Pretend: {old} -> {new}; nothing was written to {project}.")
            return
        try:
            _run_copier(project, source, changes, recopy)
        except BaseException:
            _restore(project)
            raise

    changed = changed_files(project)
    clashes = conflicts(project)
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
    if clashes:
        typer.echo("Conflicts (resolve the <<<<<<< markers, then commit):")
        typer.echo("\n".join(f"  {relpath}" for relpath in clashes))
        raise typer.Exit(FAILURE)
    if any(line[3:] in {"pyproject.toml", "uv.lock"} for line in changed):
        typer.echo("Dependencies changed: run `make install` before the tests.")
    if changed:
        typer.echo("Next: review with `git diff`, run the tests, then commit.")
