"""The project's one list of resources (`src/<package>/resources.py`), edited line by line.

Two spellings are understood, both as `fastgen new` and ruff write them:
`import <pkg>.items` with `<pkg>.items.resource,` entries, or `from <pkg> import items`
with `items.resource,` entries. A new resource joins the imports in sorted order and
the end of the `RESOURCES` list (or tuple).
"""

from __future__ import annotations

import functools
import re

from fastgen.errors import FastgenError

LINE_LENGTH = 100


def _digit_runs(a: str, b: str) -> int:
    """natord's comparison of two runs of digits: as numbers (9 < 10), unless either has a
    leading zero, then digit by digit from the left (07 < 2)."""
    if a.startswith("0") or b.startswith("0"):
        return (a > b) - (a < b)
    by_value_a, by_value_b = (len(a), a), (len(b), b)
    return (by_value_a > by_value_b) - (by_value_a < by_value_b)


def _natural_order(a: str, b: str) -> int:
    """The order ruff's isort gives module names (the natord crate's): runs of digits compare
    as `_digit_runs` says, everything else character by character."""
    left, right = re.findall(r"\d+|\D", a), re.findall(r"\d+|\D", b)
    for x, y in zip(left, right, strict=False):
        order = _digit_runs(x, y) if x.isdigit() and y.isdigit() else (x > y) - (x < y)
        if order:
            return order
    return (len(left) > len(right)) - (len(left) < len(right))


_natural = functools.cmp_to_key(_natural_order)


def _tuple_span(lines: list[str]) -> tuple[int, int]:
    opening = re.compile(r"RESOURCES\b.*= [\[(]$")
    start = next((i for i, line in enumerate(lines) if opening.match(line)), None)
    if start is None:
        raise FastgenError("resources.py has no `RESOURCES = [` list to add the resource to")
    closing = "]" if lines[start].endswith("[") else ")"
    end = next((i for i in range(start + 1, len(lines)) if lines[i] == closing), None)
    if end is None:
        raise FastgenError(f"resources.py: the RESOURCES list is not closed by a `{closing}` line")
    return start, end


def resources_in(text: str, package: str) -> list[str]:
    """The resource packages RESOURCES lists, in order."""
    lines = text.splitlines()
    start, end = _tuple_span(lines)
    entry = re.compile(rf"\s+(?:{re.escape(package)}\.)?([a-z_][a-z0-9_]*)\.resource,$")
    return [m.group(1) for line in lines[start + 1 : end] if (m := entry.match(line))]


def _from_import(package: str, names: list[str]) -> list[str]:
    line = f"from {package} import {', '.join(names)}"
    if len(line) <= LINE_LENGTH:
        return [line]
    return [f"from {package} import (", *(f"    {name}," for name in names), ")"]


def with_resource(text: str, package: str, name: str) -> str:
    """`text` with resource package `name` imported and appended to RESOURCES."""
    lines = text.splitlines()
    _, end = _tuple_span(lines)
    dotted = [i for i, line in enumerate(lines) if line.startswith(f"import {package}.")]
    from_line = next(
        (i for i, line in enumerate(lines) if line.startswith(f"from {package} import ")), None
    )
    if dotted:
        entry = f"    {package}.{name}.resource,"
        new_import = f"import {package}.{name}"
        position = next(
            (i for i in dotted if _natural(lines[i]) > _natural(new_import)), dotted[-1] + 1
        )
        lines = [*lines[:end], entry, *lines[end:]]
        lines.insert(position, new_import)
    elif from_line is not None:
        last = from_line
        if lines[from_line].endswith("("):
            last = lines.index(")", from_line)
            body = " ".join(lines[from_line + 1 : last])
        else:
            body = lines[from_line].split(" import ", 1)[1]
        names = sorted({n.strip() for n in body.split(",") if n.strip()} | {name}, key=_natural)
        lines = [*lines[:end], f"    {name}.resource,", *lines[end:]]
        lines[from_line : last + 1] = _from_import(package, names)
    else:
        raise FastgenError(f"resources.py imports no resource package of {package}")
    return "\n".join(lines) + "\n"
