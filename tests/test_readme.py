"""The README's Quick start, run literally as a newcomer would, in a clean shell.

`env -i` with a fresh HOME and the system's PATH: only the system Python (on Debian 12 it is
externally managed, PEP 668), git and make. Once with uv absent (the set-up line installs it),
once with uv already on PATH (the set-up line is skipped, as the README says). The commands
come from between the README's `<!-- quick-start -->` markers, so they cannot drift. They
need PyPI; the generated project's own tests need PostgreSQL and Redis on localhost.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from filelock import FileLock

from conftest import ROOT

START, END = "<!-- quick-start -->", "<!-- /quick-start -->"
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def quick_start() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split(START, 1)[1].split(END, 1)[0]
    return [line for line in block.strip().splitlines() if not line.startswith("```")]


def test_quick_start_is_three_commands() -> None:
    setup, generate, check = quick_start()
    assert "pip install" in setup and "uv" in setup
    assert generate.startswith("uvx --from . fastgen new ")  # runtime dependencies only
    assert "uv run" not in generate  # `uv run` would install the dev toolset
    assert check.endswith("make install && make test")


def clone_of_this_checkout(into: Path) -> Path:
    """A clone of this repository with the working tree's files (uncommitted ones too)."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(into)], check=True)
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for relpath in filter(None, files):
        if (ROOT / relpath).is_file():
            (into / relpath).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relpath, into / relpath)
    return into


def real_uv() -> Path:
    """The uv executable itself (a pyenv shim would need the caller's environment)."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is required")
    if "/shims/" in uv:
        uv = subprocess.run(
            ["pyenv", "which", "uv"], capture_output=True, text=True, check=True
        ).stdout.strip()
    return Path(uv).resolve()


def clean_shell(env: dict[str, str], script: str) -> list[str]:
    """`env -i ... bash -c SCRIPT`: nothing of this process's environment leaks in."""
    return [
        "env",
        "-i",
        *[f"{k}={v}" for k, v in env.items()],
        "bash",
        "-euo",
        "pipefail",
        "-c",
        script,
    ]


@pytest.mark.e2e
@contextmanager
def one_quick_start_at_a_time() -> Iterator[None]:
    """Both cases generate the same literal project, whose tests use the same database
    (`acme_orders_api_test`) on the shared server: under `pytest -n 2` they must not overlap."""
    with FileLock(Path(tempfile.gettempdir()) / "fastgen-readme-quick-start.lock"):
        yield


@pytest.mark.parametrize("uv_present", [False, True], ids=["system-python-only", "uv-present"])
def test_quick_start_works_in_a_clean_shell(tmp_path: Path, uv_present: bool) -> None:
    clone = clone_of_this_checkout(tmp_path / "fastgen")
    home = tmp_path / "home"
    home.mkdir()
    setup, *commands = quick_start()
    env = {
        "HOME": str(home),
        "PATH": SYSTEM_PATH,
        "CI": "true",
    }
    if cert := os.environ.get("SSL_CERT_FILE"):  # this machine's network, not the user's
        env["SSL_CERT_FILE"] = cert
    if uv_present:
        bin_dir = home / ".local" / "bin"
        bin_dir.mkdir(parents=True)
        uv = real_uv()
        for name in ("uv", "uvx"):
            (bin_dir / name).symlink_to(uv.parent / name)
        env["PATH"] = f"{bin_dir}:{SYSTEM_PATH}"
        script = commands
    else:
        no_uv = subprocess.run(clean_shell(env, "! command -v uv"), capture_output=True)
        assert no_uv.returncode == 0, "uv is on the system PATH: this case would not be clean"
        script = [setup, *commands]
    with one_quick_start_at_a_time():
        result = subprocess.run(
            clean_shell(env, "\n".join(script)),
            cwd=clone,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=900,
        )
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    project = tmp_path / "acme-orders-api"
    assert (project / ".git").is_dir() and not (clone / "acme-orders-api").exists()
    tracked = subprocess.run(["git", "ls-files"], cwd=project, capture_output=True, text=True)
    assert "uv.lock" in tracked.stdout.split()
    assert " passed" in result.stdout
