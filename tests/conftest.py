"""Shared fixtures for the generator's tests. Keep this file small.

- `copier_template_paths`: what pytest-copier copies into its template fixture.
- `cli`: invoke the `fastgen` Typer app in-process (CliRunner).
- `offline`: the command prefix that cuts the network (`unshare -n`), or a skip.
- the header shows the seed of the random field sets (tests/field_sets.py).
- `installed_fastgen`: the `fastgen` entry point of a wheel built from this checkout and
  installed into a throwaway venv (session-scoped; built once); `install_wheel()` does it
  for any source tree.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    # One seed for this run's random field sets, set before pytest-xdist starts its workers:
    # they inherit it, and must collect the same test ids (the seed is part of them).
    os.environ.setdefault("FIELD_SETS_SEED", str(random.SystemRandom().randrange(1_000_000)))


def pytest_report_header() -> str:
    seed = os.environ["FIELD_SETS_SEED"]
    return f"field sets: seed {seed} (FIELD_SETS_SEED={seed} draws them again)"


@pytest.fixture(scope="session")
def copier_template_paths() -> list[str]:
    """pytest-copier copies only the template, not the whole checkout (.venv included)."""
    return ["copier.yml", "profiles.yml", "template", "resource"]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Result]:
    """Run `fastgen ARGS...` in-process, from an empty working directory `tmp_path/work`."""
    from fastgen.main import app

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)

    return invoke


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


@pytest.fixture(scope="session")
def offline() -> list[str]:
    """Prefix a command with this to run it with no network at all."""
    if not _unshare_works():
        if os.environ.get("CI") == "true":
            pytest.fail("`unshare -n` is not permitted; CI must prove offline generation")
        pytest.skip("`unshare -n` is not permitted here (needs root or user namespaces)")
    return ["unshare", "-n"]


def install_wheel(source: Path, base: Path) -> Path:
    """Build `source`'s wheel with `uv build`, install it into a fresh venv; its `fastgen`."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("uv is required to build and install the wheel")
    dist = base / "dist"
    subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(dist), str(source)],
        check=True,
        capture_output=True,
    )
    [wheel] = dist.glob("*.whl")
    venv = base / "venv"
    subprocess.run(
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        check=True,
        capture_output=True,
    )
    python = str(venv / "bin" / "python")
    # Compiled like `pip install` does, so start-up timings are realistic.
    install = [
        uv,
        "pip",
        "install",
        "--quiet",
        "--compile-bytecode",
        "--python",
        python,
        str(wheel),
    ]
    if subprocess.run([*install, "--offline"], capture_output=True).returncode != 0:
        subprocess.run(install, check=True, capture_output=True)  # cold cache: use the index
    return venv / "bin" / "fastgen"


def user_env() -> dict[str, str]:
    """This environment without the dev venv's variables, as a user's shell has it."""
    return {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}


@pytest.fixture(scope="session")
def installed_fastgen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`fastgen` from this checkout's wheel, installed in a throwaway venv (built once)."""
    return install_wheel(ROOT, tmp_path_factory.mktemp("wheel"))
