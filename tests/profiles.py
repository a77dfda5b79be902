"""The profiles of the choices (profiles.yml), read the way copier.yml reads them.

The generator's tests and bench take every fact about an option value from here, and the
combinations too: `choice_values` lists what copier.yml offers, `runner_brokers` which runner
runs on which broker, and `covering_array` picks the end-to-end combinations.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

ROOT = Path(__file__).resolve().parent.parent
# The choices that have a family of records in profiles.yml (the question and the family share
# the name; `tasks` is the runner).
FAMILIES = ("database", "cache", "tasks", "broker", "auth")


@cache
def load(package_name: str = "orders") -> dict[str, Any]:
    """profiles.yml rendered for a project whose package is `package_name`."""
    text = (ROOT / "profiles.yml").read_text(encoding="utf-8")
    rendered = jinja2.Template(text, keep_trailing_newline=True).render(package_name=package_name)
    profiles: dict[str, Any] = yaml.safe_load(rendered)
    return profiles


@cache
def questions() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
    return config


def choice_values(question: str) -> list[str]:
    """The values copier.yml offers for a choice question, in its order."""
    choices = questions()[question]["choices"]
    return [str(value) for value in (choices.values() if isinstance(choices, dict) else choices)]


def runner_brokers(tasks: str) -> list[str]:
    """The brokers a task runner runs on (none: in process)."""
    return list(load()["tasks"][tasks]["brokers"])


def broker_choices(tasks: str) -> list[str | None]:
    """The `broker` answers a task runner takes: its brokers when it has several, else None
    (the question is not asked)."""
    brokers = runner_brokers(tasks)
    return list(brokers) if len(brokers) > 1 else [None]


def services(database: str, cache: str, broker: str | None) -> list[str]:
    """The services a combination runs against, by software (as copier.yml's `services`)."""
    profiles = load()
    found = [
        *profiles["database"][database]["services"],
        *profiles["cache"][cache]["services"],
        *(profiles["broker"][broker]["services"] if broker else []),
    ]
    return list(dict.fromkeys(found))


def covering_array(
    factors: Mapping[str, Sequence[Any]], seeds: Sequence[Mapping[str, Any]] = (), tries: int = 40
) -> list[dict[str, Any]]:
    """Rows of values, one per factor, such that every pair of values of two factors is in a row.

    The `seeds` come first, as given; then, greedily, the row of the full product that covers
    the most pairs not yet covered, ties broken at random. The smallest of `tries` such arrays,
    each from its own fixed random seed, so the result is the same every run.
    """
    names = list(factors)
    index: dict[tuple[str, Any, str, Any], int] = {}
    for a, b in itertools.combinations(names, 2):
        for x in factors[a]:
            for y in factors[b]:
                index[a, x, b, y] = len(index)

    def pairs(row: Mapping[str, Any]) -> int:
        """The pairs of `row`, as a bit set over `index`."""
        return sum(1 << index[a, row[a], b, row[b]] for a, b in itertools.combinations(names, 2))

    candidates = [
        dict(zip(names, values, strict=True)) for values in itertools.product(*factors.values())
    ]
    covers = [pairs(row) for row in candidates]
    everything = (1 << len(index)) - 1

    def greedy(tie_breaks: random.Random) -> list[dict[str, Any]]:
        rows = [dict(seed) for seed in seeds]
        covered = 0
        for row in rows:
            covered |= pairs(row)
        while covered != everything:
            wanted = everything & ~covered
            best = max(
                range(len(candidates)),
                key=lambda i: ((covers[i] & wanted).bit_count(), tie_breaks.random()),
            )
            rows.append(candidates[best])
            covered |= covers[best]
        return rows

    return min((greedy(random.Random(seed)) for seed in range(tries)), key=len)
