"""The `fastgen` command's entry point: Ctrl-C is handled from its first line on.

Until the CLI is imported (about 0.1 s) nothing has been done, so an interrupt ends the process
at once, with the line `fastgen.main` prints for an interrupt. From then on it raises
KeyboardInterrupt once (again if it lands where Python drops exceptions, as in a weakref
callback): the command puts back what it wrote and `FastgenGroup` reports it; a second Ctrl-C
is ignored, so that the clean-up runs to its end, and so is one after the command has finished.
"""

# `signal` imports enum and functools first, which takes long enough under load for a Ctrl-C to
# land in them: its C core installs the handler before anything else is imported.
import _signal  # type: ignore[import-not-found]  # typeshed has no stub for the C core
import os
import sys

from fastgen.errors import INTERRUPTED


def _exit_at_once(signum: int, frame: object) -> None:
    os.write(sys.stderr.fileno(), f"Error: {INTERRUPTED}\n".encode())
    os._exit(2)


# Ignored when fastgen starts (a background job, nohup): it stays ignored, as Python leaves it.
_HANDLED = _signal.getsignal(_signal.SIGINT) != _signal.SIG_IGN
if _HANDLED:
    _signal.signal(_signal.SIGINT, _exit_at_once)

import _thread  # noqa: E402  (after the handler, see above)
import signal  # noqa: E402
import threading  # noqa: E402

_finished = False


def _interrupt_once(signum: int, frame: object) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def _interrupt_again(unraisable: "sys.UnraisableHookArgs") -> None:
    """Python cannot raise out of a weakref callback or a `__del__`: it prints the exception as
    "Exception ignored" and goes on. A Ctrl-C that lands in one (importlib runs them while it
    imports) is delivered again, to the code that runs next."""
    if unraisable.exc_type is not KeyboardInterrupt:
        sys.__unraisablehook__(unraisable)
    elif not _finished:
        signal.signal(signal.SIGINT, _interrupt_once)
        # From another thread, a moment later: raised from here, in this hook, the handler's
        # exception would be ignored again. Should it land in another callback, it comes back.
        threading.Timer(0.01, _thread.interrupt_main).start()


def main() -> None:
    global _finished
    from fastgen.main import app

    if _HANDLED:
        signal.signal(signal.SIGINT, _interrupt_once)
        sys.unraisablehook = _interrupt_again
    try:
        app(prog_name="fastgen")
    except KeyboardInterrupt:  # outside a command, e.g. while completing in the shell
        _exit_at_once(signal.SIGINT, None)
    finally:
        # Done, or reported: a Ctrl-C now has nothing to stop. Python's shutdown would put back
        # the default action, which kills the process (exit -2) after a complete run.
        _finished = True
        signal.signal(signal.SIGINT, signal.SIG_IGN)
