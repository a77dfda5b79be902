"""`fastgen new` renders without Copier, and writes exactly what `copier copy` writes.

For each case, `fastgen new --defaults` (with Copier's own `run_copy` made unavailable, so
the fast path is the one taken) is compared with `copier.run_copy` of the bundled template
from the canonical URL, given only the user's answers, as a team using plain Copier would
run it: every path, file or folder, executable bit and byte must match. The one random
answer, `secret_key`, is passed to Copier as the fast render chose it.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import Result

import fastgen.new
from fastgen.source import bundled_template, copier_git

CASES = {
    "defaults": ("Gen Bench", {}),
    "mysql-none-celery-rabbitmq": (
        "Orders",
        {"database": "mysql", "cache": "none", "tasks": "celery", "celery_broker": "rabbitmq"},
    ),
    "sqlite-redis-arq-py3.11": (
        "Acme Orders API",
        {"database": "sqlite", "tasks": "arq", "python_version": "3.11"},
    ),
    "postgresql-none-celery-redis-accents": (
        "Café Straße",
        {"cache": "none", "tasks": "celery", "author_email": "ops@example.org"},
    ),
}
NOT_RENDERED = {"uv.lock"}  # written by `uv lock` after the render, in both workflows


def tree(root: Path) -> dict[str, tuple[bool, int, bytes]]:
    """{relative path: (is a folder, executable bits, content)}."""
    return {
        path.relative_to(root).as_posix(): (
            path.is_dir(),
            stat.S_IMODE(path.stat().st_mode) & 0o111,
            b"" if path.is_dir() else path.read_bytes(),
        )
        for path in sorted(root.rglob("*"))
        if path.relative_to(root).as_posix() not in NOT_RENDERED
    }


@pytest.mark.parametrize("case", CASES)
def test_new_matches_copier_copy(
    case: str, cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copier

    name, answers = CASES[case]

    def no_copier(**_: Any) -> Path:
        raise AssertionError("fastgen new --defaults went through Copier")

    monkeypatch.setattr(fastgen.new, "generate", no_copier)
    data = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]
    result = cli("new", name, str(tmp_path / "fast"), "--defaults", "--no-git", *data)
    assert result.exit_code == 0, result.output
    fast = tmp_path / "fast"
    secret = next(
        line.split("=", 1)[1]
        for line in (fast / ".env").read_text().splitlines()
        if line.startswith("SECRET_KEY=")
    )

    plain = tmp_path / "plain" / "fast"  # the same folder name: `_folder_name` is in the context
    with bundled_template() as bundled, copier_git(bundled.git_env()):
        copier.run_copy(
            bundled.url,
            plain,
            data={"project_name": name, **answers, "secret_key": secret},
            defaults=True,
            vcs_ref=bundled.version,
            unsafe=True,
            quiet=True,
        )

    expected, got = tree(plain), tree(fast)
    assert sorted(got) == sorted(expected)
    assert [path for path in expected if expected[path] != got[path]] == []
    recorded = yaml.safe_load((fast / ".copier-answers.yml").read_text())
    assert recorded["_src_path"] == bundled.url
    assert recorded["_commit"] == bundled.version
