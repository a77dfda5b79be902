"""`fastgen check`: a fast, offline drift check for a team's CI.

Fails (exit 1) when the answers file is missing or damaged, when the project's template
version is behind the installed fastgen's, or when its answers break a preset's locked
answers or come from another template source than the preset's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

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


def newest_version(src: str | None) -> str | None:
    """The version `fastgen update` would move to: the installed one, or a fork's newest tag."""
    if src is None:
        return None
    return installed_version() if src == TEMPLATE_URL else newest_tag(src)


def problems_of(project: Path, answers: Any, preset_path: Path | None) -> list[str]:
    if not isinstance(answers, dict) or not answers.get("_src_path"):
        return [f"{ANSWERS_FILE} is damaged: it records no template source (_src_path)"]
    problems = []
    src, recorded = str(answers["_src_path"]), str(answers.get("_commit", ""))
    bundled = src == TEMPLATE_URL
    newest = newest_version(src) or "?"
    have, want = version_key(recorded), version_key(newest)
    if have is None and bundled:
        problems.append(f"{ANSWERS_FILE} is damaged: template version {recorded!r} is unknown")
    elif have is not None and want is not None and have < want:
        behind = "the installed fastgen's" if bundled else f"{src}'s newest,"
        problems.append(
            f"template version {recorded} is behind {behind} {newest}: run `fastgen update`"
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
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check that a project is current (and keeps a preset's locks)."""
    project = path.resolve()
    answers_path = project / ANSWERS_FILE
    answers: Any = None
    if not answers_path.is_file():
        problems = [f"{project} has no {ANSWERS_FILE}: not a fastgen project, or it was deleted"]
    else:
        try:
            answers = yaml.safe_load(answers_path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            problems = [f"{ANSWERS_FILE} is damaged: {' '.join(str(err).split())}"]
        else:
            problems = problems_of(project, answers, preset)
    recorded = answers if isinstance(answers, dict) else {}
    report = {
        "path": str(project),
        "ok": not problems,
        "template": recorded.get("_src_path"),
        "template_version": recorded.get("_commit"),
        "installed_version": installed_version(),
        "newest_version": newest_version(recorded.get("_src_path")),
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
            f" (newest {report['newest_version']})"
        )
    if problems:
        raise typer.Exit(FAILURE)
