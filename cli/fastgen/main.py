"""The `fastgen` command line (Typer). Each command lives in its own module."""

from typing import Annotated

import typer

from fastgen import __version__, add
from fastgen.check import check
from fastgen.new import new
from fastgen.options import options
from fastgen.update import update

app = typer.Typer(
    name="fastgen",
    help="Generate fully wired async FastAPI services with Copier, and keep them updated.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fastgen {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """fastgen: async FastAPI services from a Copier template."""


app.command()(new)
app.command()(update)
app.command()(check)
app.command()(options)
app.add_typer(add.app, name="add")
