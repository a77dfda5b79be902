"""Console helpers shared by the commands."""

from typing import NoReturn

import typer

from fastgen.questions import one_line

USAGE_ERROR = 2
FAILURE = 1


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    """Print a one-line error on stderr and exit (2: bad input, nothing changed)."""
    typer.echo(f"Error: {one_line(message)}", err=True)
    raise typer.Exit(code)


def note(message: str) -> None:
    typer.echo(message, err=True)


def parse_data(items: list[str] | None) -> dict[str, str]:
    """`--data KEY=VALUE` pairs; a malformed pair is a usage error."""
    data: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            fail(f"malformed --data {item!r}: expected KEY=VALUE, e.g. --data cache=none")
        if key in data and data[key] != value:
            fail(f"--data {key} is given twice with different values")
        data[key] = value
    return data
