"""Random field sets for `fastgen add resource`, drawn from the `--field` grammar of
fastgen.fields: every type, `?` after the type or its argument, string lengths and decimal
precisions across their range, `unique` and `index` where a type allows them, references to
resources that exist, long names and names the generated modules use themselves.

A draw is a function of the seed alone, so a failure is reproduced by its seed (`SEED`, which
pytest's header shows).
"""

from __future__ import annotations

import os
import random
import string
from dataclasses import dataclass

from fastgen.errors import FastgenError
from fastgen.fields import MAX_NAME_LENGTH, MODIFIERS, TYPES, parse_field, parse_fields

# The run's seed: tests/conftest.py picks one unless FIELD_SETS_SEED gives it.
SEED = int(os.environ.get("FIELD_SETS_SEED", "0"))
# Names the generated model, schema and test modules use for their own things.
CLOSE_CALLS = (
    *("mapped_column", "field_validator", "classmethod", "object", "value", "cls", "not_null"),
    *("as_utc", "in_utc", "session", "client", "body", "response", "count", "timedelta"),
    *("uuid4", "n", "name", "total", "limit", "offset", "items", "type", "list", "x"),
)
# MariaDB's row limit (65,535 bytes, 4 a character in utf8mb4) caps the strings of one
# table at about 16,000 characters together; fastgen does not check it yet.
MAX_STRING_TOTAL = 15_000
FIRST = string.ascii_lowercase
ALNUM = string.ascii_lowercase + string.digits
REST = ALNUM + "_"


@dataclass(frozen=True)
class Target:
    """A resource that exists in the project, which a `ref` field may point at."""

    plural: str
    singular: str


@dataclass(frozen=True)
class Draw:
    plural: str
    singular: str
    specs: tuple[str, ...]

    @property
    def args(self) -> list[str]:
        """The arguments of `fastgen add resource`."""
        fields = [arg for spec in self.specs for arg in ("--field", spec)]
        return [self.plural, "--singular", self.singular, *fields]

    def __str__(self) -> str:
        return f"{self.plural} (singular {self.singular}): {' '.join(self.specs)}"


def identifier(rng: random.Random, longest: int = MAX_NAME_LENGTH) -> str:
    """Words of letters and digits joined by single underscores, as the grammar has them."""
    length = rng.choice([1, 2, 3, rng.randint(4, longest), longest])
    name = rng.choice(FIRST)
    while len(name) < length:
        last = len(name) == length - 1
        name += rng.choice(ALNUM if last or name.endswith("_") else REST)
    return name


def field_name(rng: random.Random) -> str:
    return rng.choice(CLOSE_CALLS) if rng.random() < 0.15 else identifier(rng)


def _argument(rng: random.Random, kind: str, name: str, targets: list[Target]) -> str | None:
    if kind == "ref":
        target = rng.choice(targets)
        return None if name == target.singular else target.plural
    if kind == "str" and rng.random() < 0.7:
        return str(rng.choice([1, 2, 5, 6, 7, 30, 120, 255, rng.randint(1, 10_000), 10_000]))
    if kind == "decimal" and rng.random() < 0.7:
        precision = rng.choice([1, 2, 10, 18, rng.randint(1, 38), 38])
        return f"{precision},{rng.randint(0, precision)}"
    return None


def field_spec(rng: random.Random, targets: list[Target]) -> str:
    """One `--field` value the grammar accepts."""
    kind = rng.choice(TYPES if targets else [kind for kind in TYPES if kind != "ref"])
    # A reference named after its target's singular needs no target.
    by_singular = kind == "ref" and rng.random() < 0.3
    name = rng.choice(targets).singular if by_singular else field_name(rng)
    argument = _argument(rng, kind, name, targets)
    optional = "?" if rng.random() < 0.35 else ""
    after_type = argument is None or rng.random() < 0.5
    parts = [name, kind + (optional if after_type else "")]
    if argument is not None:
        parts.append(argument + ("" if after_type else optional))
    if kind in ("text", "json"):
        allowed: tuple[str, ...] = ()
    else:
        allowed = ("index",) if kind == "bool" else MODIFIERS
    parts += [m for m in allowed if rng.random() < 0.25]
    return ":".join(parts)


def field_set(rng: random.Random, targets: list[Target]) -> tuple[str, ...]:
    """One to eight fields, names distinct, that `parse_fields` accepts."""
    while True:
        specs: list[str] = []
        for _ in range(rng.choice([1, 1, 2, 3, rng.randint(1, 8), 8])):
            try:
                parse_field(spec := field_spec(rng, targets))
            except FastgenError:
                continue  # a reserved or keyword name: draw again
            specs.append(spec)
        try:
            fields = parse_fields(specs)
        except FastgenError:
            continue  # a name drawn twice
        strings = sum(field.length or 0 for field in fields)
        if fields and strings <= MAX_STRING_TOTAL:
            return tuple(specs)


def draw(rng: random.Random, index: int, targets: list[Target]) -> Draw:
    """A resource named after `index` (unique in its project), its fields drawn at random."""
    stem = identifier(rng, MAX_NAME_LENGTH - len(str(index)) - 2)
    singular = f"{stem}_{index}" if rng.random() < 0.5 else f"{stem}{index}"
    return Draw(f"{singular}s", singular, field_set(rng, targets))
