"""The `fastgen` command line (Typer). Each command lives in its own module.

Commands raise `FastgenError`; `FastgenGroup.invoke` is the one place that turns it
(and an interrupt or end of input at a prompt) into a one-line `Error:` and an exit code.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from fastgen import __version__, add
from fastgen.check import check
from fastgen.errors import INTERRUPTED, FastgenError
from fastgen.new import new
from fastgen.options import options
from fastgen.update import update


def _repeated_option(command: Any, args: list[str]) -> str | None:
    """The first single-value option given twice in `args` (click would keep the last)."""
    single = {
        opt: param
        for param in command.params
        if isinstance(param, TyperOption) and not param.multiple and not param.count
        for opt in param.opts + param.secondary_opts
    }
    seen: set[str] = set()
    for arg in args:
        if arg == "--":
            break
        param = single.get(arg.split("=", 1)[0])
        if param is None:
            continue
        if param.name in seen:
            return arg.split("=", 1)[0]
        seen.add(str(param.name))
    return None


def _no_type(ctx: Any) -> None:
    return None


class FastgenGroup(TyperGroup):
    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        for param in getattr(command, "params", []):
            if isinstance(param, TyperArgument):  # "PATH", not "PATH <path>"
                param.display_type_rich = _no_type  # type: ignore[method-assign]
        return command

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None and (flag := _repeated_option(command, rest)):
            raise FastgenError(f"{flag} is given more than once; give it once")
        return name, command, rest

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _reported():  # an interrupt while the arguments are parsed
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _reported():
            return super().invoke(ctx)


@contextmanager
def _reported() -> Iterator[None]:
    """The one place that prints an error: one line, then the exit code."""
    try:
        yield
    except FastgenError as err:
        message, code = str(err), err.code
    except (KeyboardInterrupt, EOFError, typer.Abort):
        message, code = INTERRUPTED, 2
    except typer.TyperException as err:
        # Click's own usage errors (an unknown option or command), which it would print inside
        # a usage block; `fastgen` alone still shows the help.
        if type(err).__name__ == "NoArgsIsHelpError" or not hasattr(err, "format_message"):
            raise
        message, code = err.format_message(), 2
    else:
        return
    one_line = re.sub(r"\s+", " ", message).strip()  # Copier's messages are folded
    typer.echo(f"Error: {one_line}", err=True)
    raise typer.Exit(code)


app = typer.Typer(
    name="fastgen",
    cls=FastgenGroup,
    help="Generate fully wired async FastAPI services with Copier, and keep them updated.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no `<bool>` type column
    context_settings={"help_option_names": ["-h", "--help"]},  # commands inherit it
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
