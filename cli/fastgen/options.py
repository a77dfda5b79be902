"""`fastgen options`: the questions, choices and defaults of copier.yml."""

import json
from typing import Annotated, Any

import typer

from fastgen.questions import Question, asked_when, questions


def as_dict(question: Question) -> dict[str, Any]:
    return {
        "name": question.name,
        "flag": question.flag if question.choices or question.type == "bool" else None,
        "type": question.type,
        "help": question.help,
        "choices": [{"label": c.label, "value": c.value} for c in question.choices],
        "default": question.default,
        "derived": question.derived,
        "when": question.when,
    }


def _describe(question: Question) -> str:
    if question.derived:
        default = "derived from earlier answers"
    else:
        default = repr(question.default) if question.default is not None else "required"
    lines = [f"{question.name}  ({default})", f"    {question.help}"]
    for choice in question.choices:
        marker = "*" if choice.value == question.default else " "
        lines.append(f"  {marker} {choice.value:<12} {choice.label}")
    if question.choices:
        lines.append(f"    flag: {question.flag}, or --data {question.name}=VALUE")
    elif question.type == "bool":
        lines.append(
            f"    flag: {question.flag}/--no-{question.flag[2:]}, or --data {question.name}=false"
        )
    else:
        lines.append(f"    --data {question.name}=VALUE")
    when = asked_when(question)
    if when:
        lines.append(f"    asked only when {when}")
    return "\n".join(lines)


def options(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the questions, choices and defaults (from copier.yml)."""
    items = questions()
    if as_json:
        typer.echo(json.dumps([as_dict(q) for q in items], indent=2))
        return
    typer.echo("\n\n".join(_describe(q) for q in items))
