"""Team presets: a YAML file of shared answers, some locked, and a team template source.

```yaml
template: https://git.example.com/platform/fastgen-template.git  # optional
vcs_ref: 1.4.0                                                    # optional
answers:
  database: postgresql
  author_name: Platform Team
locked: [database]        # `fastgen new` refuses to override these; `fastgen check` enforces them
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fastgen.errors import FastgenError

KEYS = {"template", "vcs_ref", "answers", "locked"}


class PresetError(FastgenError):
    """A preset file that cannot be used (bad input: exit 2)."""


@dataclass(frozen=True)
class Preset:
    path: Path
    answers: Mapping[str, Any] = field(default_factory=dict)
    locked: frozenset[str] = frozenset()
    template: str | None = None
    vcs_ref: str | None = None

    @property
    def locked_answers(self) -> dict[str, Any]:
        return {key: self.answers[key] for key in sorted(self.locked)}

    @property
    def open_answers(self) -> dict[str, Any]:
        return {k: v for k, v in self.answers.items() if k not in self.locked}

    def violations(self, answers: Mapping[str, Any], given_only: bool = False) -> list[str]:
        """Locked answers that `answers` contradicts, as readable sentences.

        With `given_only`, a locked key absent from `answers` is no violation (the
        answers are changes or flags, not a whole project's answers).
        """
        return [
            f"{key} is locked to {value!r} by preset {self.path.name}"
            + (f", not {answers.get(key)!r}" if key in answers else "")
            for key, value in self.locked_answers.items()
            if (key in answers or not given_only) and str(answers.get(key)) != str(value)
        ]

    def refuse_changes(self, answers: Mapping[str, Any]) -> None:
        """Raise on the first given answer that contradicts a locked one."""
        if broken := self.violations(answers, given_only=True):
            raise PresetError(broken[0])


def load_preset(path: Path) -> Preset:
    """Read and check a preset file; any problem is a PresetError with a one-line reason."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise PresetError(f"cannot read preset {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise PresetError(f"preset {path} is not valid YAML: {err}") from err
    if not isinstance(data, Mapping):
        raise PresetError(f"preset {path} must be a mapping with `answers:` (and `locked:`)")
    unknown = set(data) - KEYS
    if unknown:
        raise PresetError(
            f"preset {path} has unknown keys {sorted(unknown)}; known: {sorted(KEYS)}"
        )
    answers = data.get("answers") or {}
    locked = data.get("locked") or []
    if not isinstance(answers, Mapping) or not all(isinstance(k, str) for k in answers):
        raise PresetError(f"preset {path}: `answers` must map question names to values")
    if not isinstance(locked, list) or not all(isinstance(k, str) for k in locked):
        raise PresetError(f"preset {path}: `locked` must be a list of question names")
    missing = [key for key in locked if key not in answers]
    if missing:
        raise PresetError(f"preset {path} locks {missing} without giving them under `answers`")
    template, vcs_ref = data.get("template"), data.get("vcs_ref")
    return Preset(
        path=path,
        answers={k: str(v) if isinstance(v, (int, float)) else v for k, v in answers.items()},
        locked=frozenset(locked),
        template=str(template) if template else None,
        vcs_ref=str(vcs_ref) if vcs_ref else None,
    )
