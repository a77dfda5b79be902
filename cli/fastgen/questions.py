"""The template's questions, read from copier.yml (the single source of truth).

Nothing here knows a question by name except `project_name`, the one answer the
CLI takes as an argument; flags, choices, defaults and help all come from the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from fastgen.errors import FastgenError
from fastgen.source import copier_yml

# What a yes/no answer may be spelled as (Copier's own spellings); anything else is refused,
# where Copier would read it as yes.
BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "1", "0"})


@dataclass(frozen=True)
class Choice:
    label: str
    value: str


@dataclass(frozen=True)
class Question:
    name: str
    type: str
    help: str
    default: Any
    choices: tuple[Choice, ...]
    when: str | bool | None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def values(self) -> list[str]:
        return [choice.value for choice in self.choices]

    @property
    def derived(self) -> bool:
        """The default is a Jinja expression over earlier answers."""
        return isinstance(self.default, str) and "{{" in self.default


def _load_yaml(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a mapping")
    return data


def _choices(raw: Any) -> tuple[Choice, ...]:
    if isinstance(raw, Mapping):
        return tuple(Choice(str(label), str(value)) for label, value in raw.items())
    if isinstance(raw, list):
        return tuple(Choice(str(value), str(value)) for value in raw)
    return ()


def parse_questions(config: Mapping[str, Any]) -> list[Question]:
    """The questions a user answers, in order.

    Settings (`_*` keys) and hidden derived values (`when: false`) are left out.
    """
    questions = []
    for name, spec in config.items():
        if name.startswith("_"):
            continue
        if not isinstance(spec, Mapping):  # the short form `name: default`
            spec = {"default": spec}
        if spec.get("when") is False:
            continue
        questions.append(
            Question(
                name=name,
                type=str(spec.get("type", "yaml")),
                help=" ".join(str(spec.get("help", "")).split()),
                default=spec.get("default"),
                choices=_choices(spec.get("choices")),
                when=spec.get("when"),
            )
        )
    return questions


@cache
def _load_config(path: Path) -> dict[str, Any]:
    return _load_yaml(path)


def load_config(path: Path | None = None) -> dict[str, Any]:
    return _load_config((path or copier_yml()).resolve())


def questions(path: Path | None = None) -> list[Question]:
    return parse_questions(load_config(path))


def choice_questions(path: Path | None = None) -> list[Question]:
    return [q for q in questions(path) if q.choices]


def flag_questions(path: Path | None = None) -> list[Question]:
    """The questions the CLI gives a flag: the choices, and the yes/no switches."""
    return [q for q in questions(path) if q.choices or q.type == "bool"]


def by_name(path: Path | None = None) -> dict[str, Question]:
    return {q.name: q for q in questions(path)}


def check_answers(answers: Mapping[str, Any]) -> None:
    """Refuse unknown keys, unknown choices and yes/no answers that are neither, naming the
    valid ones."""
    known = by_name()
    for key, value in answers.items():
        question = known.get(key)
        if question is None:
            raise FastgenError(f"unknown question {key!r}; valid keys: {', '.join(known)}")
        if question.choices and str(value) not in question.values:
            choices = ", ".join(question.values)
            raise FastgenError(f"unknown {key} {value!r}; choose one of: {choices}")
        spelled = str(value).strip().lower()
        if question.type == "bool" and not isinstance(value, bool) and spelled not in BOOLEAN_WORDS:
            raise FastgenError(f"{key} must be true or false, not {value!r}")


def complete_data(incomplete: str) -> list[tuple[str, str]]:
    """Shell completion of `--data KEY=VALUE`: the questions' keys, then a choice's values."""
    key, sep, value = incomplete.partition("=")
    known = by_name()
    if not sep:
        return [(f"{q.name}=", q.help) for q in known.values() if q.name.startswith(key)]
    choices = known[key].choices if key in known else ()
    return [(f"{key}={c.value}", c.label) for c in choices if c.value.startswith(value)]


def render_default(name: str, answers: Mapping[str, Any], path: Path | None = None) -> str:
    """Render a question's default as Copier would, from the earlier answers.

    Uses the Jinja filters Copier loads, so a derived default (e.g. `project_slug`)
    is computed by copier.yml's own expression rather than re-implemented here.
    """
    return _render(name, "default", answers, path)


def render_validator(name: str, answers: Mapping[str, Any], path: Path | None = None) -> str:
    """copier.yml's validator message for `answers[name]`, or "" when it is valid."""
    return _render(name, "validator", answers, path)


def deciding_choices(question: Question, path: Path | None = None) -> list[Question]:
    """The earlier choices whose names a conditional question's `when` reads."""
    if not isinstance(question.when, str):
        return []
    every = questions(path)
    earlier = every[: every.index(question)]
    return [other for other in earlier if other.choices and other.name in question.when]


def asked_when(question: Question, path: Path | None = None) -> str:
    """When a conditional question is asked, in words ("tasks is celery or taskiq"): the
    values of each deciding choice that ask it, the other answers at their defaults.

    It renders copier.yml, so it imports Jinja: not for anything that runs at start-up."""
    from fastgen.render import is_asked

    def asks(other: Question, value: str) -> bool:
        data = {"project_name": "Project", other.name: value}
        try:
            return is_asked(path or copier_yml(), question.name, data)
        except ValueError:  # a value the other defaults refuse
            return False

    conditions = []
    for other in deciding_choices(question, path):
        values = [value for value in other.values if asks(other, value)]
        if 0 < len(values) < len(other.values):  # else this choice is not what decides
            conditions.append(f"{other.name} is {' or '.join(values)}")
    return " and ".join(conditions)


def _render(name: str, key: str, answers: Mapping[str, Any], path: Path | None) -> str:
    from fastgen.render import render_string

    spec = load_config(path).get(name)
    text = spec.get(key, "") if isinstance(spec, Mapping) else (spec if key == "default" else "")
    return " ".join(render_string(path or copier_yml(), str(text or ""), answers).split())
