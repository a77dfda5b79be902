"""fastgen: generate and update async FastAPI services from a Copier template."""

from typing import Any


def __getattr__(name: str) -> Any:
    """`__version__`, read when asked for: importlib.metadata costs ~60 ms, paid before the
    entry point can handle Ctrl-C (fastgen.entry) if it is imported with the package."""
    if name != "__version__":
        raise AttributeError(f"module 'fastgen' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fastgen-copier")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"
