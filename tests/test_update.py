"""`fastgen update`, answer changes, presets, user defaults and `fastgen check`.

Most tests run against a throwaway template history (`toy`): a copy of this repository's
packaging (cli/, pyproject.toml, hatch_build.py) with a tiny template, committed as
version 1.0.0 and then 2.0.0 (a changed, an added and a removed file, and a migration).
No git tags: version refs come from pyproject.toml's history, as in a real clone.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import Result

import fastgen.source
import fastgen.update
from conftest import ROOT, install_wheel, user_env
from fastgen.source import TEMPLATE_URL
from projects import (
    DEFAULT,
    Combo,
    assert_suite_passes,
    fresh_database,
    install,
    require_services,
    run,
    services_for,
)

Cli = Callable[..., Result]

COPIER_YML_V1 = """\
_subdirectory: template
_answers_file: .copier-answers.yml
_templates_suffix: .jinja
project_name:
  type: str
  help: Name
project_slug:
  type: str
  help: Slug
  default: "{{ project_name | lower | replace(' ', '-') }}"
package_name:
  type: str
  help: Package
  default: "{{ project_slug | replace('-', '_') }}"
cache:
  type: str
  help: Cache
  choices:
    Redis: redis
    None: none
  default: redis
"""
MIGRATION = """\
_migrations:
  - version: "2.0.0"
    command:
      - "{{ _copier_python }}"
      - "-c"
      - "import pathlib, sys; pathlib.Path('MIGRATED').write_text(sys.argv[1])"
      - "{{ _version_from }} to {{ _version_to }}"
"""
README_V1 = "# {{ project_name }}\n\nIntro.\n\nUsage: run it.\n\nLicense: MIT.\n"
README_V2 = README_V1.replace("Usage: run it.", "Usage: run it with `make run`.")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def commit_all(cwd: Path, message: str) -> None:
    git(cwd, "add", "--all")
    git(cwd, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", message)


def set_version(repo: Path, version: str) -> None:
    pyproject = repo / "pyproject.toml"
    text = re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', pyproject.read_text())
    pyproject.write_text(text)


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    """A template repository at version 1.0.0 (one commit, no tags)."""
    repo = tmp_path / "toy"
    shutil.copytree(ROOT / "cli", repo / "cli", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "hatch_build.py", "README.md"):
        shutil.copy(ROOT / name, repo / name)
    set_version(repo, "1.0.0")
    (repo / "copier.yml").write_text(COPIER_YML_V1)
    template = repo / "template"
    template.mkdir()
    (template / "{{ _copier_conf.answers_file }}.jinja").write_text(
        "{{ _copier_answers | to_nice_yaml -}}\n"
    )
    (template / "README.md.jinja").write_text(README_V1)
    (template / "settings.py.jinja").write_text('CACHE = "{{ cache }}"\n')
    (template / "{% if cache == 'redis' %}cache.py{% endif %}").write_text("REDIS = True\n")
    (template / "old.txt").write_text("removed in 2.0.0\n")
    git(repo, "init", "--quiet", "--initial-branch=main")
    commit_all(repo, "Template 1.0.0")
    return repo


def release_v2(repo: Path) -> None:
    template = repo / "template"
    (template / "README.md.jinja").write_text(README_V2)
    (template / "old.txt").unlink()
    (template / "new.txt").write_text("added in 2.0.0\n")
    (repo / "copier.yml").write_text(COPIER_YML_V1 + MIGRATION)
    set_version(repo, "2.0.0")
    commit_all(repo, "Template 2.0.0")


@pytest.fixture
def toy_cli(cli: Cli, toy: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The CLI with the toy repository as its (development checkout) template."""
    monkeypatch.setattr(fastgen.source, "template_root", lambda: toy)
    return cli


def answers_of(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def new_v1_project(toy_cli: Cli) -> Path:
    result = toy_cli("new", "Toy App", "-y")
    assert result.exit_code == 0, result.output
    project = Path.cwd() / "toy-app"
    assert answers_of(project)["_commit"] == "1.0.0"
    return project


def status(project: Path) -> str:
    return git(project, "status", "--porcelain")


# --- the answers file is portable -------------------------------------------------------------


def test_answers_record_the_canonical_url_and_version(toy_cli: Cli) -> None:
    project = new_v1_project(toy_cli)
    answers = answers_of(project)
    assert answers["_src_path"] == TEMPLATE_URL
    assert answers["_commit"] == "1.0.0"
    assert "/" not in str(answers["_commit"])
    assert str(Path.home()) not in (project / ".copier-answers.yml").read_text()
    assert str(Path.cwd()) not in (project / ".copier-answers.yml").read_text()


# --- the bundle: version refs derived from pyproject.toml's history ------------------------------


def bundle_file(bundle: Path, tag: str, path: str, tmp_path: Path) -> str:
    clone = tmp_path / f"clone-{tag}"
    if not clone.exists():
        subprocess.run(["git", "clone", "--quiet", str(bundle), str(clone)], check=True)
    return git(clone, "show", f"{tag}:{path}")


def test_bundle_tags_the_newest_commit_of_each_version(toy: Path, tmp_path: Path) -> None:
    from fastgen.bundle import build_bundle

    release_v2(toy)
    readme = toy / "template" / "README.md.jinja"
    readme.write_text(README_V2 + "Committed after the bump.\n")
    commit_all(toy, "More 2.0.0 work")
    readme.write_text(README_V2 + "Not committed yet.\n")  # the working tree is 2.0.0 too

    bundle = tmp_path / "b" / "template.bundle"
    manifest = build_bundle(toy, bundle)
    assert manifest == {"version": "2.0.0", "versions": ["1.0.0", "2.0.0"]}
    assert json.loads((bundle.parent / "bundle.json").read_text()) == manifest
    tags = git(tmp_path, "bundle", "list-heads", str(bundle))
    assert "refs/tags/1.0.0" in tags and "refs/tags/2.0.0" in tags
    assert git(toy, "tag") == ""  # the repository itself is left alone
    assert bundle_file(bundle, "1.0.0", "template/README.md.jinja", tmp_path) == README_V1
    assert "Not committed yet." in bundle_file(
        bundle, "2.0.0", "template/README.md.jinja", tmp_path
    )
    assert status(toy) == " M template/README.md.jinja\n"


@pytest.mark.parametrize("kind", ["shallow-clone", "no-git"])
def test_bundle_without_history_holds_the_current_version(
    toy: Path, tmp_path: Path, kind: str
) -> None:
    from fastgen.bundle import build_bundle

    release_v2(toy)
    source = tmp_path / kind
    if kind == "shallow-clone":
        git(tmp_path, "clone", "--quiet", "--depth", "1", f"file://{toy}", str(source))
    else:
        shutil.copytree(toy, source, ignore=shutil.ignore_patterns(".git"))
    bundle = tmp_path / "b" / "template.bundle"
    assert build_bundle(source, bundle) == {"version": "2.0.0", "versions": ["2.0.0"]}
    assert bundle_file(bundle, "2.0.0", "template/README.md.jinja", tmp_path) == README_V2


# --- update 1.0.0 -> 2.0.0 --------------------------------------------------------------------


def test_update_keeps_edits_adds_removes_and_migrates(toy_cli: Cli, toy: Path) -> None:
    project = new_v1_project(toy_cli)
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur team notes.\n")
    (project / "own.py").write_text("print('mine')\n")
    commit_all(project, "Our edits")
    release_v2(toy)

    result = toy_cli("update", str(project))
    assert result.exit_code == 0, result.output
    assert "template 1.0.0 -> 2.0.0" in result.stdout
    text = readme.read_text()
    assert "Usage: run it with `make run`." in text  # the template's change
    assert "Our team notes." in text  # the user's edit
    assert "<<<<<<<" not in text
    assert (project / "new.txt").read_text() == "added in 2.0.0\n"
    assert not (project / "old.txt").exists()
    assert (project / "own.py").is_file()
    assert (project / "MIGRATED").read_text() == "1.0.0 to 2.0.0"
    assert answers_of(project)["_commit"] == "2.0.0"
    assert "Conflicts" not in result.stdout


def test_real_conflict_is_inline_and_listed(toy_cli: Cli, toy: Path) -> None:
    project = new_v1_project(toy_cli)
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("Usage: run it.", "Usage: run it in Docker."))
    commit_all(project, "Our usage line")
    release_v2(toy)

    result = toy_cli("update", str(project))
    assert result.exit_code == 1, result.output
    text = readme.read_text()
    assert "<<<<<<< " in text and ">>>>>>> " in text
    assert "Usage: run it in Docker." in text
    assert "Usage: run it with `make run`." in text
    conflicts = result.stdout.split("Conflicts", 1)[1]
    assert "README.md" in conflicts


def test_pretend_shows_the_diff_and_writes_nothing(toy_cli: Cli, toy: Path) -> None:
    project = new_v1_project(toy_cli)
    release_v2(toy)
    head = git(project, "rev-parse", "HEAD")
    result = toy_cli("update", str(project), "--diff")
    assert result.exit_code == 0, result.output
    assert "+added in 2.0.0" in result.stdout
    assert "old.txt" in result.stdout
    assert "nothing was written" in result.stderr
    assert status(project) == ""
    assert git(project, "rev-parse", "HEAD") == head
    assert (project / "old.txt").exists() and not (project / "new.txt").exists()


@pytest.mark.parametrize(("before", "after"), [("redis", "none"), ("none", "redis")])
def test_changing_an_answer_adds_or_removes_files(toy_cli: Cli, before: str, after: str) -> None:
    result = toy_cli("new", "Toy App", "-y", "--data", f"cache={before}")
    assert result.exit_code == 0, result.output
    project = Path.cwd() / "toy-app"
    assert (project / "cache.py").exists() == (before == "redis")

    result = toy_cli("update", str(project), "--data", f"cache={after}")
    assert result.exit_code == 0, result.output
    assert (project / "cache.py").exists() == (after == "redis")
    assert (project / "settings.py").read_text() == f'CACHE = "{after}"\n'
    assert answers_of(project)["cache"] == after


# --- refusals: exit 2, nothing changed --------------------------------------------------------


def test_dirty_tree_is_refused(toy_cli: Cli, toy: Path) -> None:
    project = new_v1_project(toy_cli)
    release_v2(toy)
    (project / "README.md").write_text("work in progress\n")
    result = toy_cli("update", str(project))
    assert result.exit_code == 2
    assert "uncommitted changes (README.md)" in result.stderr  # its name whole
    assert (project / "README.md").read_text() == "work in progress\n"
    assert status(project) == " M README.md\n"


@pytest.mark.parametrize("kind", ["empty-dir", "git-repo", "damaged-answers"])
def test_non_project_is_refused(cli: Cli, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "elsewhere"
    path.mkdir()
    if kind != "empty-dir":
        git(path, "init", "--quiet")
        (path / "app.py").write_text("x = 1\n")
    if kind == "damaged-answers":
        (path / ".copier-answers.yml").write_text("just: text\n")
    if kind != "empty-dir":
        commit_all(path, "Not generated")
    before = sorted(p.name for p in path.iterdir())
    result = cli("update", str(path))
    assert result.exit_code == 2
    assert "not a fastgen project" in result.stderr or "damaged" in result.stderr
    assert sorted(p.name for p in path.iterdir()) == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("cache=memcached", "unknown cache 'memcached'; choose one of: redis, none"),
        ("colour=blue", "unknown question 'colour'"),
        ("cache", "malformed --data 'cache'"),
    ],
)
def test_bad_answer_change_is_refused(toy_cli: Cli, data: str, message: str) -> None:
    project = new_v1_project(toy_cli)
    result = toy_cli("update", str(project), "--data", data)
    assert result.exit_code == 2
    assert message in result.stderr
    assert status(project) == ""


def test_update_refuses_to_break_a_preset_lock(toy_cli: Cli, tmp_path: Path) -> None:
    project = new_v1_project(toy_cli)
    preset = write_preset(tmp_path / "team.yml", answers={"cache": "redis"}, locked=["cache"])
    result = toy_cli("update", str(project), "--data", "cache=none", "--preset", str(preset))
    assert result.exit_code == 2
    assert "cache is locked to 'redis' by preset team.yml" in result.stderr
    assert status(project) == "" and (project / "cache.py").exists()


def test_interrupted_update_restores_the_project(
    toy_cli: Cli, toy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copier

    project = new_v1_project(toy_cli)
    release_v2(toy)
    real_run_update = copier.run_update

    def interrupted(*args: Any, **kwargs: Any) -> object:
        real_run_update(*args, **kwargs)
        raise KeyboardInterrupt  # after the files were written

    monkeypatch.setattr(copier, "run_update", interrupted)
    result = toy_cli("update", str(project))
    assert result.exit_code == 2
    assert "interrupted" in result.stderr
    assert status(project) == ""
    assert (project / "old.txt").exists() and not (project / "new.txt").exists()


def test_sigint_during_update_restores_the_project(installed_fastgen: Path, tmp_path: Path) -> None:
    """Ctrl-C into the installed `fastgen update` at several points of Copier's merge."""
    new_with_installed(installed_fastgen, tmp_path)
    interrupt_each(
        [installed_fastgen, "update", "--data", "cache=none"], tmp_path / "shop", (0.3, 1.0, 2.0)
    )


def new_with_installed(installed_fastgen: Path, where: Path) -> None:
    """`fastgen new Shop -y --database sqlite` in `where`, with the installed entry point."""
    subprocess.run(
        [installed_fastgen, "new", "Shop", "-y", "--database", "sqlite"],
        cwd=where,
        check=True,
        capture_output=True,
        env=user_env(),
    )


def interrupt_each(command: list[Path | str], project: Path, delays: tuple[float, ...]) -> None:
    """Ctrl-C into the installed `command` after each delay. Interrupted, it exits 2 with the one
    line and leaves the project as it was; a run that finished first is undone with git. Then
    the command runs to its end."""
    env = user_env()
    for delay in delays:
        process = subprocess.Popen(command, cwd=project, stderr=subprocess.PIPE, text=True, env=env)
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
        print(f"\nSIGINT at {delay} s: exit {process.returncode}")
        assert "Traceback" not in err
        if process.returncode == 0:
            git(project, "clean", "--quiet", "-d", "--force")
            git(project, "checkout", "--quiet", "--", ".")
        else:
            assert (process.returncode, err) == (2, "Error: interrupted; nothing was written\n")
        assert git(project, "status", "--porcelain", "--untracked-files=all") == ""
    rerun = subprocess.run(command, cwd=project, capture_output=True, text=True, env=env)
    assert rerun.returncode == 0, rerun.stderr


def test_missing_old_version_suggests_recopy(toy_cli: Cli, toy: Path) -> None:
    project = new_v1_project(toy_cli)
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("_commit: 1.0.0", "_commit: 0.9.0"))
    (project / "README.md").write_text("# Toy App\n\nHand-written.\n")
    commit_all(project, "Pretend an unknown old version")
    release_v2(toy)

    refused = toy_cli("update", str(project))
    assert refused.exit_code == 2
    assert "0.9.0 is not in this fastgen's history" in refused.stderr
    assert "--recopy" in refused.stderr
    assert status(project) == ""

    recopied = toy_cli("update", str(project), "--recopy")
    assert recopied.exit_code == 0, recopied.output
    assert "review every change" in recopied.stderr
    assert (project / "new.txt").is_file()
    assert answers_of(project)["_commit"] == "2.0.0"


# --- offline, from installed wheels -----------------------------------------------------------


def test_offline_update_from_an_installed_wheel(
    toy_cli: Cli, toy: Path, offline: list[str], tmp_path: Path
) -> None:
    """A 1.0.0 project updated by an installed 2.0.0 wheel with the network cut."""
    project = new_v1_project(toy_cli)
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nOur team notes.\n")
    commit_all(project, "Our edits")
    release_v2(toy)
    fastgen_bin = install_wheel(toy, tmp_path / "toy-wheel")

    env = user_env()
    run = [*offline, str(fastgen_bin)]
    stale = subprocess.run([*run, "check", str(project)], capture_output=True, text=True, env=env)
    assert stale.returncode == 1
    assert "behind the installed fastgen's 2.0.0" in stale.stdout

    start = time.perf_counter()
    updated = subprocess.run(
        [*run, "update", str(project)], capture_output=True, text=True, env=env
    )
    print(
        f"\noffline fastgen update 1.0.0 -> 2.0.0 from a wheel: {time.perf_counter() - start:.2f}s"
    )
    assert updated.returncode == 0, updated.stderr
    assert "Usage: run it with `make run`." in readme.read_text()
    assert "Our team notes." in readme.read_text()
    assert (project / "new.txt").is_file() and not (project / "old.txt").exists()
    commit_all(project, "Update to 2.0.0")
    current = subprocess.run([*run, "check", str(project)], capture_output=True, text=True, env=env)
    assert current.returncode == 0, current.stdout


# --- team template sources, presets and user defaults -----------------------------------------


def plain_copier_update(project: Path) -> None:
    copier_cli = Path(sys.executable).parent / "copier"
    subprocess.run(
        [copier_cli, "update", "--defaults", "--trust", "--quiet"],
        cwd=project,
        check=True,
        capture_output=True,
    )


def test_plain_copier_update_works_for_a_git_template_source(cli: Cli, toy: Path) -> None:
    git(toy, "tag", "1.0.0")
    result = cli("new", "Fork App", "--template", str(toy), "-y")
    assert result.exit_code == 0, result.output
    project = Path.cwd() / "fork-app"
    assert answers_of(project)["_src_path"] == str(toy)
    release_v2(toy)
    git(toy, "tag", "2.0.0")
    plain_copier_update(project)
    assert (project / "new.txt").is_file()
    assert answers_of(project)["_commit"] == "2.0.0"


# The commit before `celery_broker` became `broker` (profiles.yml).
BEFORE_BROKER = "5f781a8"


@pytest.mark.parametrize("updater", ["fastgen", "copier"])
def test_a_recorded_celery_broker_answer_becomes_broker(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, updater: str
) -> None:
    """A project that answered `celery_broker` keeps its broker through an update."""
    repo = tmp_path / "fastgen"
    repo.mkdir()
    git(
        ROOT,
        "archive",
        "--output",
        str(tmp_path / "old.tar"),
        BEFORE_BROKER,
        "copier.yml",
        "template",
    )
    shutil.unpack_archive(tmp_path / "old.tar", repo)
    shutil.copytree(ROOT / "cli", repo / "cli", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "hatch_build.py", "README.md"):
        shutil.copy(ROOT / name, repo / name)
    current = re.search(r'(?m)^version = "(.*)"$', (repo / "pyproject.toml").read_text())
    assert current is not None
    set_version(repo, "0.0.1")
    git(repo, "init", "--quiet", "--initial-branch=main")
    commit_all(repo, "Release 0.0.1")
    git(repo, "tag", "0.0.1")
    monkeypatch.setattr(fastgen.source, "template_root", lambda: repo)
    made = cli(
        "new",
        "Orders",
        "--tasks",
        "celery",
        "--data",
        "celery_broker=rabbitmq",
        "-y",
        *(["--template", str(repo)] if updater == "copier" else []),
    )
    assert made.exit_code == 0, made.output
    project = Path.cwd() / "orders"
    assert answers_of(project)["celery_broker"] == "rabbitmq"

    for name in ("copier.yml", "profiles.yml"):
        shutil.copy(ROOT / name, repo / name)
    for folder in ("template", "resource"):  # items' files include the resource template's
        shutil.rmtree(repo / folder, ignore_errors=True)
        shutil.copytree(ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    set_version(repo, current.group(1))
    commit_all(repo, f"Release {current.group(1)}")
    git(repo, "tag", current.group(1))
    if updater == "fastgen":
        result = cli("update", str(project))
        assert result.exit_code == 0, result.output
    else:
        plain_copier_update(project)
    answers = answers_of(project)
    assert answers["broker"] == "rabbitmq" and "celery_broker" not in answers
    assert "CELERY_BROKER_URL=amqp://" in (project / ".env.example").read_text()
    assert "rabbitmq" in yaml.safe_load((project / "compose.yml").read_text())["services"]


def test_fastgen_update_follows_a_team_template_with_trust(cli: Cli, toy: Path) -> None:
    git(toy, "tag", "1.0.0")
    assert cli("new", "Fork App", "--template", str(toy), "-y").exit_code == 0
    project = Path.cwd() / "fork-app"
    release_v2(toy)  # adds a migration: unsafe unless trusted
    git(toy, "tag", "2.0.0")

    refused = cli("update", str(project))
    assert refused.exit_code == 2
    assert "--trust" in refused.stderr
    assert status(project) == ""

    result = cli("update", str(project), "--trust")
    assert result.exit_code == 0, result.output
    assert (project / "MIGRATED").read_text() == "1.0.0 to 2.0.0"
    assert answers_of(project)["_src_path"] == str(toy)


def write_preset(path: Path, **content: Any) -> Path:
    path.write_text(yaml.safe_dump(content))
    return path


def test_preset_answers_and_locks(cli: Cli, tmp_path: Path) -> None:
    preset = write_preset(
        tmp_path / "team.yml",
        answers={"database": "sqlite", "author_name": "Orders Team", "cache": "none"},
        locked=["database"],
    )
    result = cli("new", "Team App", "--preset", str(preset), "--cache", "redis", "-y", "--no-git")
    assert result.exit_code == 0, result.output
    answers = answers_of(Path.cwd() / "team-app")
    assert answers["database"] == "sqlite"  # locked
    assert answers["author_name"] == "Orders Team"  # preset default
    assert answers["cache"] == "redis"  # open answers can be overridden

    refused = cli("new", "Other App", "--preset", str(preset), "--database", "mysql", "-y")
    assert refused.exit_code == 2
    assert "database is locked to 'sqlite' by preset team.yml" in refused.stderr
    assert not (Path.cwd() / "other-app").exists()


def test_a_preset_can_lock_auth(cli: Cli, tmp_path: Path) -> None:
    preset = write_preset(tmp_path / "team.yml", answers={"auth": "local"}, locked=["auth"])

    refused = cli("new", "Open App", "--preset", str(preset), "--auth", "none", "-y", "--no-git")

    assert refused.exit_code == 2
    assert "auth is locked to 'local' by preset team.yml" in refused.stderr
    assert not (Path.cwd() / "open-app").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"answers": {"database": "sqlite"}, "locked": ["cache"]}, "locks ['cache'] without"),
        ({"answers": ["database"]}, "`answers` must map"),
        ({"answers": {}, "colour": "blue"}, "unknown keys ['colour']"),
        ({"answers": {"database": "oracle"}}, "choose one of: postgresql, mysql, sqlite"),
    ],
)
def test_bad_preset_is_refused(cli: Cli, tmp_path: Path, content: Any, message: str) -> None:
    preset = write_preset(tmp_path / "team.yml", **content)
    result = cli("new", "Team App", "--preset", str(preset), "-y")
    assert result.exit_code == 2
    assert message in result.stderr
    assert list(Path.cwd().iterdir()) == []


def test_plain_directory_template_is_flagged_as_not_updatable(cli: Cli, toy: Path) -> None:
    plain = toy.parent / "plain"
    shutil.copytree(toy, plain, ignore=shutil.ignore_patterns(".git"))
    result = cli("new", "Plain App", "--template", str(plain), "-y")
    assert result.exit_code == 0, result.output
    assert "is not a git repository: the project cannot be updated from it" in result.stderr


def test_preset_sets_the_team_template_source(cli: Cli, toy: Path, tmp_path: Path) -> None:
    git(toy, "tag", "1.0.0")
    preset = write_preset(tmp_path / "team.yml", template=str(toy), answers={"cache": "none"})
    result = cli("new", "Team App", "--preset", str(preset), "-y")
    assert result.exit_code == 0, result.output
    project = Path.cwd() / "team-app"
    assert answers_of(project)["_src_path"] == str(toy)
    assert (project / "settings.py").read_text() == 'CACHE = "none"\n'
    assert cli("check", str(project), "--preset", str(preset)).exit_code == 0
    other = write_preset(tmp_path / "other.yml", template="https://example.com/t.git")
    mismatch = cli("check", str(project), "--preset", str(other))
    assert mismatch.exit_code == 1
    assert "but the preset's template is https://example.com/t.git" in mismatch.stdout


def test_user_level_defaults_from_copier_settings(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tmp_path / "copier-settings.yml"
    settings.write_text(yaml.safe_dump({"defaults": {"author_name": "Ada", "database": "mysql"}}))
    monkeypatch.setenv("COPIER_SETTINGS_PATH", str(settings))
    result = cli("new", "Ada App", "-y", "--no-git")
    assert result.exit_code == 0, result.output
    answers = answers_of(Path.cwd() / "ada-app")
    assert answers["author_name"] == "Ada"
    assert answers["database"] == "mysql"


# --- fastgen check ----------------------------------------------------------------------------


def test_check_passes_on_a_current_project(cli: Cli) -> None:
    assert cli("new", "Fresh App", "-y").exit_code == 0
    project = Path.cwd() / "fresh-app"
    start = time.perf_counter()
    result = cli("check", str(project), "--json")
    print(f"\nfastgen check (in-process): {time.perf_counter() - start:.3f}s")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["template"] == TEMPLATE_URL
    assert report["template_version"] == report["installed_version"]
    assert "OK" in cli("check", str(project)).stdout


def test_check_fails_on_a_stale_project(toy_cli: Cli, toy: Path) -> None:
    project = new_v1_project(toy_cli)
    release_v2(toy)
    result = toy_cli("check", str(project))
    assert result.exit_code == 1
    assert "template version 1.0.0 is behind the installed fastgen's 2.0.0" in result.stdout


def test_check_fails_on_broken_locked_answers(cli: Cli, tmp_path: Path) -> None:
    assert cli("new", "Loose App", "--database", "sqlite", "-y", "--no-git").exit_code == 0
    preset = write_preset(
        tmp_path / "team.yml", answers={"database": "postgresql"}, locked=["database"]
    )
    result = cli("check", str(Path.cwd() / "loose-app"), "--preset", str(preset), "--json")
    assert result.exit_code == 1
    [problem] = json.loads(result.stdout)["problems"]
    assert problem == "database is locked to 'postgresql' by preset team.yml, not 'sqlite'"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "has no .copier-answers.yml"),
        ("_src_path: [unclosed\n", "is damaged"),
        ("database: sqlite\n", "records no template source"),
        (f"_src_path: {TEMPLATE_URL}\n_commit: banana\n", "template version 'banana' is unknown"),
        (f"_src_path: {TEMPLATE_URL}\n_commit: 0.0.1\ndatabase: oracle\n", "not a valid choice"),
    ],
)
def test_check_fails_on_missing_or_damaged_answers(
    cli: Cli, tmp_path: Path, content: str | None, message: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    if content is not None:
        (project / ".copier-answers.yml").write_text(content)
    result = cli("check", str(project))
    assert result.exit_code == 1
    assert message in result.stdout


# --- answer changes on the real template: the project's own tests still pass -----------------


def assert_own_tests_pass(project: Path, combo: Combo) -> None:
    """Install the project from its own pyproject and run its suite against the services."""
    bin_dir = install(project)
    services = services_for(combo)
    with fresh_database(services):
        assert_suite_passes(project, bin_dir, services)


@pytest.mark.e2e
@pytest.mark.parametrize(
    "steps",
    [
        pytest.param(
            [
                Combo("postgresql", "none", "background"),
                Combo("postgresql", "redis", "background"),
                Combo("postgresql", "none", "background"),
            ],
            id="cache-none-redis-none",
        ),
        pytest.param(
            [
                Combo("sqlite", "none", "background"),
                Combo("sqlite", "none", "arq"),
                Combo("sqlite", "none", "celery", "redis"),
                Combo("sqlite", "none", "background"),
            ],
            id="tasks-background-arq-celery-background",
        ),
        pytest.param(
            [DEFAULT, Combo("sqlite", "redis", "background"), DEFAULT],
            id="database-postgresql-sqlite-postgresql",
        ),
    ],
)
def test_answer_changes_keep_the_project_green(cli: Cli, steps: list[Combo]) -> None:
    for combo in steps:
        require_services(combo)
    first, *changes = steps
    data = [arg for key, value in first.answers.items() for arg in ("--data", f"{key}={value}")]
    result = cli("new", "Orders", *data, "-y")
    assert result.exit_code == 0, result.output
    project = Path.cwd() / "orders"
    for before, after in zip(steps, changes, strict=False):
        assert_own_tests_pass(project, before)
        if status(project):  # uv.lock is committed by `fastgen new`, so often nothing changed
            commit_all(project, f"Before {after.id}")
        changed = {k: v for k, v in after.answers.items() if before.answers.get(k) != v}
        args = [arg for key, value in changed.items() for arg in ("--data", f"{key}={value}")]
        result = cli("update", str(project), *args)
        assert result.exit_code == 0, result.output
        assert {k: answers_of(project).get(k) for k in after.answers} == after.answers
    assert_own_tests_pass(project, steps[-1])


@pytest.mark.e2e
def test_switching_auth_on_keeps_the_rows_and_edits_and_stays_green(cli: Cli) -> None:
    """Issue 21's "done when" for `fastgen update --data auth=local`: a project with a resource
    of its own, rows in its database and edits gets accounts, keeps all three, and passes its
    own tests. Its migrations and the accounts' part at one revision: the update merges them."""
    from added_resources import CUSTOMERS, add_resource

    before, after = (
        Combo("sqlite", "none", "background"),
        Combo("sqlite", "none", "background", extra=(("auth", "local"),)),
    )
    require_services(before)
    data = [arg for key, value in before.answers.items() for arg in ("--data", f"{key}={value}")]
    result = cli("new", "Orders", *data, "-y")
    assert result.exit_code == 0, result.output
    project = Path.cwd() / "orders"
    add_resource(project, *CUSTOMERS)
    main_py = project / "src" / "orders" / "main.py"
    main_py.write_text(main_py.read_text() + "# Reviewed by the platform team.\n")
    commit_all(project, "Our edits")
    services = services_for(before)
    bin_dir = install(project)
    run([bin_dir / "alembic", "upgrade", "head"], project, services.env)
    database = project / f"{services.name}.db"
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO customers (name, email, vip, created_at, updated_at)"
            " VALUES ('Ada', 'ada@example.com', 1, '2026-01-01', '2026-01-01')"
        )

    result = cli("update", str(project), "--data", "auth=local")

    assert result.exit_code == 0, result.output
    assert "Conflicts" not in result.output
    assert answers_of(project)["auth"] == "local"
    assert main_py.read_text().endswith("# Reviewed by the platform team.\n")
    assert (project / "src" / "orders" / "auth" / "verifier.py").is_file()
    commit_all(project, "Accounts")
    bin_dir = install(project)
    run([bin_dir / "alembic", "upgrade", "head"], project, services.env)
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT name FROM customers").fetchall() == [("Ada",)]
        assert connection.execute("SELECT count(*) FROM users").fetchone() == (0,)
    assert_own_tests_pass(project, after)


@pytest.mark.e2e
def test_previous_release_updates_offline_keeps_edits_and_stays_green(
    cli: Cli, offline: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "done when" of updates, on the real template.

    A copy of this repository gets a previous release (version 0.0.1: one file missing,
    an extra README line); a project generated from it, then edited, is updated by the
    current wheel with the network cut, keeps its edits, and passes its own tests.
    """
    require_services(DEFAULT)
    repo = tmp_path / "fastgen"
    ignore = shutil.ignore_patterns("__pycache__", ".venv", "*.pyc")
    for name in ("cli", "template", "resource"):
        shutil.copytree(ROOT / name, repo / name, ignore=ignore)
    for name in ("copier.yml", "profiles.yml", "pyproject.toml", "hatch_build.py", "README.md"):
        shutil.copy(ROOT / name, repo / name)
    current = re.search(r'(?m)^version = "(.*)"$', (repo / "pyproject.toml").read_text())
    assert current is not None
    readme, dropped = repo / "template" / "README.md.jinja", repo / "template" / ".dockerignore"
    shipped_readme, shipped_dropped = readme.read_text(), dropped.read_text()

    set_version(repo, "0.0.1")  # the previous release
    readme.write_text("<!-- written by fastgen 0.0.1 -->\n" + shipped_readme)
    dropped.unlink()
    git(repo, "init", "--quiet", "--initial-branch=main")
    commit_all(repo, "Release 0.0.1")
    monkeypatch.setattr(fastgen.source, "template_root", lambda: repo)
    result = cli("new", "Orders", "-y")
    assert result.exit_code == 0, result.output
    project = Path.cwd() / "orders"
    assert answers_of(project)["_commit"] == "0.0.1"
    (project / "README.md").write_text((project / "README.md").read_text() + "\nTeam notes.\n")
    main_py = project / "src" / "orders" / "main.py"
    main_py.write_text(main_py.read_text() + "# Reviewed by the platform team.\n")
    commit_all(project, "Our edits")

    set_version(repo, current.group(1))  # the current release
    readme.write_text(shipped_readme)
    dropped.write_text(shipped_dropped)
    commit_all(repo, f"Release {current.group(1)}")
    fastgen_bin = install_wheel(repo, tmp_path / "wheel")

    env = user_env()
    updated = subprocess.run(
        [*offline, fastgen_bin, "update", project], capture_output=True, text=True, env=env
    )
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert f"template 0.0.1 -> {current.group(1)}" in updated.stdout
    assert "Conflicts" not in updated.stdout
    text = (project / "README.md").read_text()
    assert "written by fastgen 0.0.1" not in text and "Team notes." in text
    assert main_py.read_text().endswith("# Reviewed by the platform team.\n")
    assert (project / ".dockerignore").read_text() == shipped_dropped
    commit_all(project, "Update fastgen template")
    assert_own_tests_pass(project, DEFAULT)
    check = subprocess.run([*offline, fastgen_bin, "check", project], capture_output=True, env=env)
    assert check.returncode == 0


# --- an update never drops an edit silently, and can be undone --------------------------------


def test_package_rename_is_refused_and_says_how(toy_cli: Cli) -> None:
    project = new_v1_project(toy_cli)
    (project / "mine.py").write_text("print('mine')\n")
    commit_all(project, "Our own module")
    head = git(project, "rev-parse", "HEAD")
    result = toy_cli("update", str(project), "--data", "package_name=other_pkg")
    assert result.exit_code == 2, result.output
    [error] = result.stderr.splitlines()
    assert error.startswith("Error: changing package_name")
    assert "git mv src/toy_app src/other_pkg" in error
    assert "package_name: other_pkg" in error
    assert status(project) == "" and git(project, "rev-parse", "HEAD") == head


def test_deleted_file_with_edits_is_a_kept_conflict(toy_cli: Cli, toy: Path) -> None:
    project = new_v1_project(toy_cli)
    (project / "old.txt").write_text("removed in 2.0.0\nbut we rely on it\n")
    commit_all(project, "Our edit to old.txt")
    release_v2(toy)
    result = toy_cli("update", str(project))
    assert result.exit_code == 1, result.output
    conflicts = result.stdout.split("Conflicts", 1)[1]
    assert "old.txt: the template removed it, but it holds your edits (kept)" in conflicts
    assert (project / "old.txt").read_text() == "removed in 2.0.0\nbut we rely on it\n"
    assert " D old.txt" not in result.stdout
    assert (project / "new.txt").is_file()  # the rest of the update applied


def test_answer_change_keeps_an_edited_file_it_would_remove(toy_cli: Cli) -> None:
    project = new_v1_project(toy_cli)
    (project / "cache.py").write_text("REDIS = True\nTTL = 60  # ours\n")
    commit_all(project, "Tune the cache")
    result = toy_cli("update", str(project), "--data", "cache=none")
    assert result.exit_code == 1, result.output
    assert "cache.py: the template removed it, but it holds your edits" in result.stdout
    assert "TTL = 60" in (project / "cache.py").read_text()
    # An unedited file the template removes is simply removed.
    clean = toy_cli("new", "Other App", "-y")
    assert clean.exit_code == 0, clean.output
    other = Path.cwd() / "other-app"
    assert toy_cli("update", str(other), "--data", "cache=none").exit_code == 0
    assert not (other / "cache.py").exists()


def tree(project: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(project)): p.read_bytes()
        for p in project.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(project).parts
    }


@pytest.mark.parametrize("kind", ["clean", "conflicting"])
def test_undo_restores_the_tree_exactly(toy_cli: Cli, toy: Path, kind: str) -> None:
    project = new_v1_project(toy_cli)
    if kind == "conflicting":
        readme = project / "README.md"
        readme.write_text(readme.read_text().replace("Usage: run it.", "Usage: in Docker."))
        commit_all(project, "Our usage line")
    (project / "uv.lock").write_text("# untracked, from make install\n")
    before = tree(project)
    release_v2(toy)

    updated = toy_cli("update", str(project), "--data", "cache=none")
    assert updated.exit_code == (1 if kind == "conflicting" else 0), updated.output
    assert (project / "new.txt").is_file()  # added, untracked
    if kind == "conflicting":
        assert "README.md" in updated.stdout.split("Conflicts", 1)[1]
        assert git(project, "ls-files", "--unmerged")  # `git checkout .` fails here

    undone = toy_cli("update", str(project), "--undo")
    assert undone.exit_code == 0, undone.output
    assert tree(project) == before
    assert status(project) == "?? uv.lock\n"
    again = toy_cli("update", str(project), "--undo")
    assert again.exit_code == 2 and "no update" in again.stderr


def test_undo_with_other_options_is_refused(toy_cli: Cli) -> None:
    project = new_v1_project(toy_cli)
    result = toy_cli("update", str(project), "--undo", "--data", "cache=none")
    assert result.exit_code == 2 and "--undo takes only" in result.stderr


def test_undo_after_a_commit_is_refused(toy_cli: Cli, toy: Path) -> None:
    project = new_v1_project(toy_cli)
    release_v2(toy)
    assert toy_cli("update", str(project)).exit_code == 0
    commit_all(project, "Update")
    result = toy_cli("update", str(project), "--undo")
    assert result.exit_code == 2
    assert "git revert" in result.stderr


# --- day 2 ------------------------------------------------------------------------------------


def test_untracked_uv_lock_does_not_block_an_update(toy_cli: Cli, toy: Path) -> None:
    project = new_v1_project(toy_cli)
    (project / "uv.lock").write_text("# from make install\n")
    release_v2(toy)
    result = toy_cli("update", str(project))
    assert result.exit_code == 0, result.output
    assert (project / "uv.lock").read_text() == "# from make install\n"


def test_diff_works_on_a_dirty_tree_and_writes_nothing(toy_cli: Cli, toy: Path) -> None:
    project = new_v1_project(toy_cli)
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nWork in progress.\n")
    release_v2(toy)
    before = tree(project)
    result = toy_cli("update", str(project), "--diff")
    assert result.exit_code == 0, result.output
    assert "+added in 2.0.0" in result.stdout
    assert tree(project) == before
    assert status(project) == " M README.md\n"


def test_fork_check_and_update_name_the_newest_tag(cli: Cli, toy: Path) -> None:
    git(toy, "tag", "1.0.0")
    assert cli("new", "Fork App", "--template", str(toy), "-y").exit_code == 0
    project = Path.cwd() / "fork-app"
    assert cli("check", str(project)).exit_code == 0
    release_v2(toy)
    git(toy, "tag", "2.0.0")

    stale = cli("check", str(project))
    assert stale.exit_code == 1
    assert f"template version 1.0.0 is behind {toy}'s newest, 2.0.0" in stale.stdout
    updated = cli("update", str(project), "--trust")
    assert updated.exit_code == 0, updated.output
    assert "template 1.0.0 -> 2.0.0" in updated.stdout
    commit_all(project, "Update")
    assert cli("check", str(project)).exit_code == 0


def test_check_and_update_say_when_the_fork_cannot_be_reached(cli: Cli, toy: Path) -> None:
    git(toy, "tag", "1.0.0")
    assert cli("new", "Fork App", "--template", str(toy), "-y").exit_code == 0
    project = Path.cwd() / "fork-app"
    gone = toy.parent / "moved-away.git"  # as unreachable as a URL that does not resolve
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace(str(toy), str(gone)))
    commit_all(project, "The fork moved")

    result = cli("check", str(project))
    assert result.exit_code == 1
    [problem] = [line for line in result.stdout.splitlines() if line.startswith("  - ")]
    assert f"cannot reach the template source {gone}" in problem and "--offline" in problem
    assert "OK" not in result.stdout
    report = json.loads(cli("check", str(project), "--json").stdout)
    assert not report["ok"] and report["newest_version"] is None

    installed = cli("check", str(project), "--offline")  # 1.0.0, not behind the installed 0.x
    assert installed.exit_code == 0, installed.output
    assert f"(newest {fastgen.source.installed_version()})" in installed.stdout

    updated = cli("update", str(project), "--trust")
    assert updated.exit_code == 1
    assert updated.stderr.count("\n") == 1
    assert f"Error: cannot reach the template source {gone}" in updated.stderr


def test_check_names_a_path_that_does_not_exist(cli: Cli, tmp_path: Path) -> None:
    result = cli("check", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'nowhere'} does not exist" in result.stdout


def test_update_warns_about_stale_env_settings(toy_cli: Cli, toy: Path) -> None:
    (toy / "template" / ".env.example.jinja").write_text(
        "CACHE_URL={% if cache == 'redis' %}redis://localhost:6379/0{% endif %}\nDEBUG=false\n"
    )
    (toy / "template" / ".gitignore").write_text(".env\n")
    commit_all(toy, "Settings example")
    project = new_v1_project(toy_cli)
    (project / ".env").write_text("CACHE_URL=redis://localhost:6379/0\nDEBUG=true\n")
    result = toy_cli("update", str(project), "--data", "cache=none")
    assert result.exit_code == 0, result.output
    [warning] = [line for line in result.stderr.splitlines() if ".env" in line]
    assert "CACHE_URL (the template now suggests '')" in warning
    assert "DEBUG" not in warning  # the user's own value for an unchanged setting
    assert (project / ".env").read_text() == "CACHE_URL=redis://localhost:6379/0\nDEBUG=true\n"


def test_errors_name_their_paths(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = cli("update", str(missing))
    assert result.exit_code == 2
    assert f"{missing} does not exist" in result.stderr


@pytest.mark.parametrize(
    ("answers", "changes", "change"),
    [
        (
            {"tasks": "celery", "celery_broker": "rabbitmq"},
            {"broker": "redis"},
            "celery on rabbitmq -> celery on redis",
        ),
        ({"tasks": "celery", "broker": "rabbitmq"}, {"tasks": "arq"}, "celery on rabbitmq -> arq"),
        ({"tasks": "arq"}, {"tasks": "celery", "broker": "rabbitmq"}, "arq -> celery on rabbitmq"),
        ({"tasks": "background"}, {"tasks": "arq"}, None),
        ({"tasks": "celery", "broker": "redis"}, {"cache": "none"}, None),
    ],
)
def test_a_runner_or_broker_change_says_what_becomes_of_queued_jobs(
    answers: dict[str, str], changes: dict[str, str], change: str | None
) -> None:
    note = fastgen.update.queued_jobs_note(answers, changes)
    assert (note and note.split("(")[1].split(")")[0]) == change


def test_next_steps_come_from_a_new_migration_and_the_new_make_targets(tmp_path: Path) -> None:
    makefile = tmp_path / "Makefile"
    makefile.write_text(
        ".PHONY: help migrate admin\n"
        "help: ## List the targets\n"
        "\t@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST)\n"
        "admin: ## Create an admin account: make admin email=you@example.com\n"
    )
    before = {"help": "List the targets"}
    changed = [" M Makefile", "?? migrations/versions/auth_0001_create_users.py"]

    after = fastgen.update.make_targets(tmp_path)
    steps = fastgen.update.next_steps(changed, before, after)

    assert after == before | {"admin": "Create an admin account: make admin email=you@example.com"}
    assert steps == [
        "make migrate",
        "make admin   # Create an admin account: make admin email=you@example.com",
    ]
    assert fastgen.update.next_steps([" M README.md"], after, after) == []
