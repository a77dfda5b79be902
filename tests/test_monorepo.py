"""Two fastgen projects in one larger git repository (a team's monorepo).

`fastgen new` inside the work tree does not `git init` (no embedded repository) and
leaves the commit to the user; `update`, `update --diff`, `update --data` and `check`
work from a project's own directory, and touch nothing outside it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test_update import Cli, answers_of, commit_all, git, release_v2, toy, toy_cli

__all__ = ["toy", "toy_cli"]  # fixtures, shared with test_update.py


def test_two_projects_in_a_monorepo(
    toy_cli: Cli, toy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mono = tmp_path / "mono"
    mono.mkdir()
    git(mono, "init", "--quiet", "--initial-branch=main")
    (mono / "README.md").write_text("# Our monorepo\n")
    monkeypatch.chdir(mono)
    for name, dest in [("Inner Api", "services/inner"), ("Other Api", "services/other")]:
        result = toy_cli("new", name, dest, "-y")
        assert result.exit_code == 0, result.output
        assert "no `git init`" in result.stdout
        assert not (mono / dest / ".git").exists()
    commit_all(mono, "Two services")  # no "embedded git repository" warning possible
    inner, other = mono / "services" / "inner", mono / "services" / "other"
    (inner / "README.md").write_text((inner / "README.md").read_text() + "\nInner notes.\n")
    commit_all(mono, "Inner notes")
    release_v2(toy)

    monkeypatch.chdir(inner)
    stale = toy_cli("check")
    assert stale.exit_code == 1
    assert "behind the installed fastgen's 2.0.0" in stale.stdout

    (mono / "scratch.txt").write_text("elsewhere in the monorepo, uncommitted\n")
    preview = toy_cli("update", "--diff")
    assert preview.exit_code == 0, preview.output
    assert "+added in 2.0.0" in preview.stdout
    assert git(mono, "status", "--porcelain") == "?? scratch.txt\n"

    updated = toy_cli("update")  # the rest of the repository is dirty; this project is not
    assert updated.exit_code == 0, updated.output
    assert "Inner notes." in (inner / "README.md").read_text()
    assert (inner / "new.txt").is_file() and not (inner / "old.txt").exists()
    assert answers_of(other)["_commit"] == "1.0.0"
    assert (other / "old.txt").is_file()
    assert (mono / "scratch.txt").is_file()
    git(mono, "add", "services/inner")
    git(mono, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "Update")
    assert toy_cli("check").exit_code == 0

    changed = toy_cli("update", "--data", "cache=none")
    assert changed.exit_code == 0, changed.output
    assert not (inner / "cache.py").exists() and (other / "cache.py").exists()
    (other / "notes.txt").write_text("a teammate's commit elsewhere in the repository\n")
    git(mono, "add", "services/other")
    git(mono, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "Other")
    undone = toy_cli("update", "--undo")  # HEAD moved, but not for this project
    assert undone.exit_code == 0, undone.output
    assert (inner / "cache.py").exists()
    assert git(mono, "status", "--porcelain") == "?? scratch.txt\n"
