"""`fastgen check`: a fast drift check for a team's CI (offline for the bundled template).

Fails (exit 1) when the project does not exist, when the answers file is missing or damaged,
when the project's template version is behind the installed fastgen's (or a fork's newest
tag), when a fork cannot be reached to know its newest (unless `--offline`), or when its
answers break a preset's locked answers or come from another template source than the preset's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from fastgen.errors import FastgenError
from fastgen.preset import load_preset
from fastgen.questions import by_name
from fastgen.source import (
    ANSWERS_FILE,
    FAILURE,
    TEMPLATE_URL,
    installed_version,
    newest_tag,
    version_key,
)


def newest_version(src: str, offline: bool) -> str | None:
    """The version `fastgen update` would move to: the installed one (the bundled template, or
    any source with `offline`), else a fork's newest tag, read from it (FastgenError when it
    cannot be reached)."""
    return installed_version() if src == TEMPLATE_URL or offline else newest_tag(src)


def problems_of(
    answers: dict[str, Any], newest: str | None, whose: str, preset_path: Path | None
) -> list[str]:
    """What is wrong with `answers` given the `newest` version (`whose`: where it comes from)."""
    problems = []
    src, recorded = str(answers["_src_path"]), str(answers.get("_commit", ""))
    bundled = src == TEMPLATE_URL
    have, want = version_key(recorded), version_key(newest or "?")
    if have is None and bundled:
        problems.append(f"{ANSWERS_FILE} is damaged: template version {recorded!r} is unknown")
    elif have is not None and want is not None and have < want:
        problems.append(
            f"template version {recorded} is behind {whose} {newest}: run `fastgen update`"
        )
    if bundled:
        questions = by_name()
        for key, value in answers.items():
            question = questions.get(key)
            if question and question.choices and str(value) not in question.values:
                problems.append(f"{ANSWERS_FILE} is damaged: {key}={value!r} is not a valid choice")
    if preset_path is not None:
        preset = load_preset(preset_path)
        if preset.template and preset.template != src:
            problems.append(f"generated from {src}, but the preset's template is {preset.template}")
        problems += preset.violations(answers)
    return problems


def read_recorded(project: Path) -> tuple[dict[str, Any], list[str]]:
    """The project's recorded answers, or why there are none."""
    answers_path = project / ANSWERS_FILE
    if not project.exists():
        return {}, [f"{project} does not exist"]
    if not project.is_dir():
        return {}, [f"{project} is not a directory"]
    if not answers_path.is_file():
        return {}, [f"{project} has no {ANSWERS_FILE}: not a fastgen project, or it was deleted"]
    try:
        answers = yaml.safe_load(answers_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        return {}, [f"{ANSWERS_FILE} is damaged: {' '.join(str(err).split())}"]
    if not isinstance(answers, dict) or not answers.get("_src_path"):
        return {}, [f"{ANSWERS_FILE} is damaged: it records no template source (_src_path)"]
    return answers, []


def check(
    path: Annotated[
        Path,
        typer.Argument(
            metavar="PATH", help="The project to check.", show_default="current directory"
        ),
    ] = Path(),
    preset: Annotated[
        Path | None,
        typer.Option("--preset", metavar="FILE", help="Also enforce this preset's locked answers."),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="Compare with the installed fastgen's template version instead of asking the "
            "project's template source (a fork) for its newest.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check that a project is current (and keeps a preset's locks)."""
    project = path.resolve()
    recorded, problems = read_recorded(project)
    newest = None
    if recorded:
        src = str(recorded["_src_path"])
        whose = "the installed fastgen's" if src == TEMPLATE_URL or offline else f"{src}'s newest,"
        try:
            newest = newest_version(src, offline)
        except FastgenError as err:
            problems.append(f"{err}: pass --offline to compare with the installed fastgen")
        else:
            problems = problems_of(recorded, newest, whose, preset)
    report = {
        "path": str(project),
        "ok": not problems,
        "template": recorded.get("_src_path"),
        "template_version": recorded.get("_commit"),
        "installed_version": installed_version(),
        "newest_version": newest,
        "problems": problems,
    }
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    elif problems:
        typer.echo(f"fastgen check: FAILED for {project.name}")
        typer.echo("\n".join(f"  - {problem}" for problem in problems))
    else:
        typer.echo(
            f"fastgen check: OK: {project.name} is at template {report['template_version']}"
            f" (newest {newest or 'unknown: the source has no version tags'})"
        )
    if problems:
        raise typer.Exit(FAILURE)
