"""fastgen: generate and update async FastAPI services from a Copier template."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fastgen-copier")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0"
