"""The CLI's one error type. Commands raise it; `fastgen.main` turns it into a message
and an exit code."""

# What an interrupt (Ctrl-C, or end of input at a prompt) prints: every command puts back what
# it wrote before the interrupt reaches `fastgen.main`, and `fastgen.entry` reports one that
# comes before the CLI is running.
INTERRUPTED = "interrupted; nothing was written"


class FastgenError(Exception):
    """Bad input or a refused operation: one line on stderr, nothing written or changed.

    `code` is the process exit status: 2 for bad input (the default), 1 for a failure
    the user must look at (e.g. merge conflicts).
    """

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code
