"""Console helpers shared by the commands."""

import typer

from fastgen.errors import FastgenError


def note(message: str) -> None:
    typer.echo(message, err=True)


def parse_data(items: list[str] | None) -> dict[str, str]:
    """`--data KEY=VALUE` pairs; a malformed pair is a usage error."""
    data: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise FastgenError(
                f"malformed --data {item!r}: expected KEY=VALUE, e.g. --data cache=none"
            )
        if key in data and data[key] != value:
            raise FastgenError(f"--data {key} is given twice with different values")
        data[key] = value
    return data
