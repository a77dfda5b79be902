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

from fastgen.preset import PresetError, load_preset
from fastgen.questions import by_name
from fastgen.source import TEMPLATE_URL, installed_version
from fastgen.ui import FAILURE, fail

ANSWERS_FILE = ".copier-answers.yml"


def _version(text: str) -> Any:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text)
    except InvalidVersion:
        return None


def problems_of(project: Path, answers: Any, preset_path: Path | None) -> list[str]:
    if not isinstance(answers, dict) or not answers.get("_src_path"):
        return [f"{ANSWERS_FILE} is damaged: it records no template source (_src_path)"]
    problems = []
    src, recorded = str(answers["_src_path"]), str(answers.get("_commit", ""))
    if src == TEMPLATE_URL:
        installed = installed_version() or "?"
        have, want = _version(recorded), _version(installed)
        if have is None:
            problems.append(f"{ANSWERS_FILE} is damaged: template version {recorded!r} is unknown")
        elif want is not None and have < want:
            problems.append(
                f"template version {recorded} is behind the installed fastgen's {installed}: "
                "run `fastgen update`"
            )
        questions = by_name()
        for key, value in answers.items():
            question = questions.get(key)
            if question and question.choices and str(value) not in question.values:
                problems.append(f"{ANSWERS_FILE} is damaged: {key}={value!r} is not a valid choice")
    if preset_path is not None:
        try:
            preset = load_preset(preset_path)
        except PresetError as err:
            fail(str(err))
        if preset.template and preset.template != src:
            problems.append(f"generated from {src}, but the preset's template is {preset.template}")
        problems += preset.violations(answers)
    return problems


def check(
    path: Annotated[
        Path, typer.Argument(help="The project to check.", show_default="current directory")
    ] = Path(),
    preset: Annotated[
        Path | None,
        typer.Option("--preset", metavar="FILE", help="Also enforce this preset's locked answers."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check a project against the installed template version (and a preset). Offline, fast."""
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
            f" (installed {report['installed_version']})"
        )
    if problems:
        raise typer.Exit(FAILURE)
