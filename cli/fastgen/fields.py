"""`--field` specs of `fastgen add resource`: `name:type[?][:arg][:modifier...]`.

Parsing only records what the user asked for; the resource template decides how each
type becomes a column, a schema field and a migration line, so a template update can
improve that for resources added earlier.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import asdict, dataclass, replace

from fastgen.errors import FastgenError

TYPES = (
    *("str", "text", "int", "bigint", "decimal", "float", "bool"),
    *("date", "datetime", "uuid", "json", "ref"),
)
MODIFIERS = ("unique", "index")
DEFAULT_LENGTH = 200
DEFAULT_DECIMAL = (12, 2)
MAX_NAME_LENGTH = 20  # so that every generated line fits in 100 columns
# Words joined by single underscores: names that differ only in underscores would share
# a class name (`z_` and `z` both make the schemas' type alias `Z`).
IDENTIFIER = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
# Names a resource's model or schemas already use, or that pydantic's BaseModel and
# SQLAlchemy's declarative base reserve; the names its modules import for annotations, and
# those their class bodies call after the fields (a field would shadow them), or whose
# type alias would shadow an import of the schemas (`stored_text` is `StoredText`); the list's
# own query parameters (a filter of that name would be one of them); and `l`, `i` and `o`,
# which ruff refuses as names (E741), as they are or as the schemas' type aliases.
RESERVED = frozenset(
    {"id", "created_at", "updated_at", "metadata", "registry", "model_config"}
    | {"copy", "dict", "json", "schema", "schema_json", "validate", "construct", "from_orm"}
    | {"parse_obj", "parse_raw", "parse_file", "update_forward_refs", "fields"}
    | {"str", "int", "float", "bool", "date", "datetime", "decimal", "uuid", "any", "annotated"}
    | {"field", "utc"}
    | {"mapped_column", "field_validator", "classmethod", "object", "not_null", "as_utc"}
    | {"string_constraints", "after_validator", "aware_datetime", "stored_text", "base_model"}
    | {"config_dict", "literal"}
    | {"limit", "offset", "order"}
    | {"l", "i", "o"}
)

# The columns a resource's job adds to its fields (`add resource --job`).
JOB_COLUMNS = frozenset({"status"})
# The column --owned adds: who created the row.
OWNER_COLUMNS = frozenset({"owner"})


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    optional: bool = False
    unique: bool = False
    index: bool = False
    length: int | None = None  # str
    precision: int | None = None  # decimal
    scale: int | None = None  # decimal
    # ref: the referenced resource (its package, as given or found by singular name)
    target: str | None = None
    target_singular: str | None = None
    target_class: str | None = None
    target_table: str | None = None
    target_route: str | None = None
    # The package of its model, when it is not the resource's own (the users of auth=local)
    target_module: str | None = None

    @property
    def column(self) -> str:
        return f"{self.name}_id" if self.type == "ref" else self.name

    def answer(self) -> dict[str, object]:
        """What the answers file records: the fields that are set (a scale of 0 is set)."""
        return {
            key: value
            for key, value in asdict(self).items()
            if value is not None and value is not False
        }


def complete_field(incomplete: str) -> list[str]:
    """Shell completion of `--field`: the types after `NAME:`, then the modifiers."""
    name, sep, rest = incomplete.partition(":")
    if not sep:
        return []  # the name is the user's
    if ":" not in rest:
        return [f"{name}:{kind}" for kind in TYPES if kind.startswith(rest)]
    done, _, last = incomplete.rpartition(":")
    return [f"{done}:{modifier}" for modifier in MODIFIERS if modifier.startswith(last)]


def check_identifier(name: str, what: str) -> None:
    if not IDENTIFIER.fullmatch(name):
        raise FastgenError(
            f"{what} {name!r} is not an identifier: use lowercase letters and digits, "
            "words joined by single underscores, starting with a letter"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise FastgenError(f"{what} {name!r} is a Python keyword")
    if len(name) > MAX_NAME_LENGTH:
        raise FastgenError(f"{what} {name!r} is longer than {MAX_NAME_LENGTH} characters")


def _argument(spec: str, kind: str, token: str) -> tuple[int, ...]:
    pattern = r"[1-9][0-9]*" if kind == "str" else r"[1-9][0-9]*,[0-9]+"
    if not re.fullmatch(pattern, token):
        example = "name:str:120" if kind == "str" else "total:decimal:12,2"
        raise FastgenError(f"--field {spec!r}: bad {kind} argument {token!r} (e.g. {example})")
    numbers = tuple(int(part) for part in token.split(","))
    if kind == "decimal" and not (numbers[1] <= numbers[0] <= 38):
        raise FastgenError(f"--field {spec!r}: decimal needs scale <= precision <= 38")
    if kind == "str" and numbers[0] > 10_000:
        raise FastgenError(f"--field {spec!r}: use text for strings longer than 10000")
    return numbers


def parse_field(spec: str) -> Field:
    """One `--field` value. `?` after the type (or its argument) makes the field optional."""
    name, *rest = spec.strip().split(":")
    check_identifier(name, "field name")
    if name in RESERVED or name.startswith("model_"):
        raise FastgenError(f"field name {name!r} is reserved by the generated model or schemas")
    if not rest:
        raise FastgenError(f"--field {spec!r} has no type: NAME:TYPE, types: {', '.join(TYPES)}")
    kind, *tokens = rest
    optional = kind.endswith("?")
    kind = kind.removesuffix("?")
    if kind not in TYPES:
        raise FastgenError(f"unknown field type {kind!r} in {spec!r}; types: {', '.join(TYPES)}")
    field = Field(name=name, type=kind)
    if kind == "str":
        field = replace(field, length=DEFAULT_LENGTH)
    elif kind == "decimal":
        field = replace(field, precision=DEFAULT_DECIMAL[0], scale=DEFAULT_DECIMAL[1])
    takes_argument = kind == "ref" or (kind in ("str", "decimal") and tokens[:1] != [""])
    if (
        tokens
        and takes_argument
        and tokens[0] not in MODIFIERS
        and (kind == "ref" or tokens[0][:1].isdigit())
    ):
        token = tokens.pop(0)
        if token.endswith("?"):
            optional, token = True, token.removesuffix("?")
        if kind == "ref":
            check_identifier(token, "referenced resource")
            field = replace(field, target=token)
        elif kind == "str":
            (length,) = _argument(spec, kind, token)
            field = replace(field, length=length)
        else:
            precision, scale = _argument(spec, kind, token)
            field = replace(field, precision=precision, scale=scale)
    for position, modifier in enumerate(tokens):
        if modifier not in MODIFIERS:
            raise FastgenError(
                f"unknown modifier {modifier!r} in {spec!r}; modifiers: ?, {', '.join(MODIFIERS)}"
            )
        if modifier in tokens[:position]:
            raise FastgenError(f"modifier {modifier!r} is given twice in {spec!r}")
        field = replace(field, unique=True) if modifier == "unique" else replace(field, index=True)
    if kind in ("text", "json") and (field.unique or field.index):
        raise FastgenError(f"--field {spec!r}: a {kind} column cannot be unique or indexed")
    if kind == "bool" and field.unique:
        raise FastgenError(f"--field {spec!r}: a bool column cannot be unique (two rows at most)")
    return replace(field, optional=optional)


def parse_fields(specs: list[str]) -> list[Field]:
    if not specs:
        raise FastgenError("give at least one --field NAME:TYPE, e.g. --field name:str")
    fields = [parse_field(spec) for spec in specs]
    seen: set[str] = set()
    for field in fields:
        for name in {field.name, field.column}:
            if name in seen:
                raise FastgenError(f"field {name!r} is given twice")
            seen.add(name)
    return fields
