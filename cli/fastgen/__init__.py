"""fastgen: generate and update async FastAPI services from a Copier template."""


def __getattr__(name: str) -> str:
    """`__version__`, read when asked for. The package imports nothing at all: whatever it
    imports comes before the entry point (fastgen.entry) can handle Ctrl-C; importlib.metadata
    alone took 60 ms."""
    if name != "__version__":
        raise AttributeError(f"module 'fastgen' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fastgen-copier")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"
