"""A project's Alembic history, read by parsing the revision files (never importing them)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from fastgen.errors import FastgenError


@dataclass(frozen=True)
class Revision:
    revision: str
    down_revisions: tuple[str, ...]
    path: Path


def _constant(node: ast.expr, path: Path) -> tuple[str, ...]:
    try:
        value = ast.literal_eval(node)
    except ValueError:
        raise FastgenError(f"{path}: its revision identifiers are not literals") from None
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise FastgenError(f"{path}: unexpected revision identifier {value!r}")


def read_revision(path: Path) -> Revision | None:
    """`revision` and `down_revision` of one migration file (None: not a migration)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError) as err:
        raise FastgenError(f"{path} does not parse as Python: {err}") from None
    found: dict[str, tuple[str, ...]] = {}
    for node in tree.body:
        targets: list[ast.expr]
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets, value = list(node.targets), node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                found[target.id] = _constant(value, path)
    if len(found.get("revision", ())) != 1:
        return None
    return Revision(found["revision"][0], found.get("down_revision", ()), path)


def revisions(versions: Path) -> list[Revision]:
    parsed = (read_revision(path) for path in sorted(versions.glob("*.py")))
    return [revision for revision in parsed if revision is not None]


def heads(versions: Path) -> list[str]:
    known = revisions(versions)
    referenced = {down for revision in known for down in revision.down_revisions}
    return sorted(r.revision for r in known if r.revision not in referenced)


def head(versions: Path) -> str | None:
    """The one head revision (None for an empty history); several heads are refused."""
    heads_ = heads(versions)
    if len(heads_) > 1:
        raise FastgenError(
            f"the migrations have several heads ({', '.join(heads_)}): merge them first "
            "(`alembic merge heads`), then add the resource"
        )
    return heads_[0] if heads_ else None


def next_revision(versions: Path) -> str:
    """The next number in the `0001`, `0002`, ... sequence the project's migrations use."""
    numbers = [int(r.revision) for r in revisions(versions) if r.revision.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


MERGE = """\
\"\"\"Merge the heads {listed}.

An update of the template brought a revision that the migrations added since do not follow.

Revision ID: {revision}
Revises: {listed}
Create Date: {created}
\"\"\"

from collections.abc import Sequence

revision: str = "{revision}"
down_revision: str | Sequence[str] | None = ({down})
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
"""


def merge_heads(versions: Path, created: str) -> Path | None:
    """Write a revision merging the several heads of `versions`, if it has several.

    `alembic upgrade head` refuses several heads: an update that brings a revision of the
    template's, which the migrations of added resources do not follow, would leave two.
    """
    found = heads(versions)
    if len(found) < 2:
        return None
    revision = next_revision(versions)
    path = versions / f"{revision}_merge_heads.py"
    down = ", ".join(f'"{name}"' for name in found)
    listed = ", ".join(found)
    path.write_text(
        MERGE.format(revision=revision, down=down, listed=listed, created=created),
        encoding="utf-8",
    )
    return path
