"""The `fastgen` CLI: flags derived from copier.yml, generation, and every bad input."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from typer.testing import CliRunner, Result

from conftest import user_env
from fastgen import __version__
from fastgen.main import app
from fastgen.questions import render_default
from profiles import runner_brokers

ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = yaml.safe_load((ROOT / "copier.yml").read_text())

Cli = Callable[..., Result]


def choice_values(name: str) -> list[str]:
    choices = COPIER_YML[name]["choices"]
    return [str(v) for v in (choices.values() if isinstance(choices, dict) else choices)]


CHOICE_QUESTIONS = [
    name
    for name, spec in COPIER_YML.items()
    if not name.startswith("_") and isinstance(spec, dict) and "choices" in spec
]


def snapshot(path: Path) -> dict[str, bytes]:
    """Every file below `path` with its content, to prove nothing was written or changed."""
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def answers_of(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def assert_usage_error(result: Result, *fragments: str) -> None:
    """Exit code 2 and a single `Error: ...` line naming what was wrong, with no usage block."""
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    assert not any(line.startswith(("Usage:", "Try ")) for line in result.stderr.splitlines())
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


# --- the interface is derived from copier.yml -------------------------------------------------


def test_version(cli: Cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"fastgen {__version__}"


def test_every_choice_question_has_a_flag_with_its_choices() -> None:
    command = typer.main.get_command(app)
    new = command.commands["new"]  # type: ignore[attr-defined]
    flags = {opt for param in new.params for opt in param.opts if opt.startswith("--")}
    assert {"--database", "--cache", "--tasks", "--broker"} <= flags
    for name in CHOICE_QUESTIONS:
        flag = "--" + name.replace("_", "-")
        assert flag in flags
        [param] = [p for p in new.params if flag in p.opts]
        assert param.metavar == "|".join(choice_values(name))


SWITCHES = [
    name
    for name, spec in COPIER_YML.items()
    if isinstance(spec, dict) and spec.get("type") == "bool" and spec.get("when") is not False
]


def test_every_switch_question_has_an_on_and_off_flag() -> None:
    assert "kubernetes" in SWITCHES
    command = typer.main.get_command(app)
    new = command.commands["new"]  # type: ignore[attr-defined]
    for name in SWITCHES:
        flag = "--" + name.replace("_", "-")
        [param] = [p for p in new.params if flag in p.opts]
        assert param.secondary_opts == ["--no-" + flag[2:]]
        assert param.default is None  # unset: copier.yml's default applies


@pytest.mark.parametrize("switch", ["--no-kubernetes", "--kubernetes"])
def test_switch_flags_are_recorded_and_clash_with_data(cli: Cli, switch: str) -> None:
    value = not switch.startswith("--no-")
    result = cli("new", "Shop", "svc", "--database", "sqlite", switch, "-y", "--no-git")
    assert result.exit_code == 0, result.output
    project = Path.cwd() / "svc"
    assert answers_of(project)["kubernetes"] is value
    assert (project / "deploy" / "k8s").is_dir() is value
    assert f"kubernetes={str(value).lower()}" in result.stdout
    clash = cli("new", "Other", switch, "--data", f"kubernetes={str(not value).lower()}", "-y")
    assert_usage_error(clash, "given both")


@pytest.mark.parametrize("name", CHOICE_QUESTIONS)
def test_unknown_choice_lists_the_valid_ones(cli: Cli, name: str) -> None:
    flag = "--" + name.replace("_", "-")
    result = cli("new", "Acme", flag, "nope", "-y", "--no-git")
    assert_usage_error(result, "nope", ", ".join(choice_values(name)))
    assert snapshot(Path.cwd()) == {}


def test_options_json_matches_copier_yml(cli: Cli) -> None:
    result = cli("options", "--json")
    assert result.exit_code == 0
    listed = {q["name"]: q for q in json.loads(result.stdout)}
    asked = {
        name: spec
        for name, spec in COPIER_YML.items()
        if not name.startswith("_") and spec.get("when") is not False
    }
    assert list(listed) == list(asked)
    for name, spec in asked.items():
        assert listed[name]["default"] == spec.get("default")
        assert listed[name]["help"] == " ".join(spec["help"].split())
        if "choices" in spec:
            assert [c["value"] for c in listed[name]["choices"]] == choice_values(name)
            assert listed[name]["flag"] == "--" + name.replace("_", "-")


def test_options_text_lists_every_question_and_choice(cli: Cli) -> None:
    result = cli("options")
    assert result.exit_code == 0
    for name in CHOICE_QUESTIONS:
        assert name in result.stdout
        for value in choice_values(name):
            assert value in result.stdout


# --- generation -----------------------------------------------------------------------------


def git_config(monkeypatch: pytest.MonkeyPatch, path: Path, **user: str) -> None:
    """The user's git configuration is `path`, holding only `user.*` = `user`."""
    path.write_text("[user]\n" + "".join(f"\t{key} = {value}\n" for key, value in user.items()))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def test_new_with_defaults_is_a_committed_git_repo(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    git_config(monkeypatch, tmp_path / "gitconfig")  # git knows no author: copier.yml's defaults
    result = cli("new", "Acme Orders API", "--defaults")
    assert result.exit_code == 0, result.output
    project = Path.cwd() / "acme-orders-api"
    answers = answers_of(project)
    for name in [*CHOICE_QUESTIONS, "description", "author_name", "author_email"]:
        if COPIER_YML[name].get("when") is None:
            assert answers[name] == COPIER_YML[name]["default"], name
    assert answers["package_name"] == "acme_orders_api"
    assert (project / "pyproject.toml").is_file()
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""  # everything generated is committed
    log = subprocess.run(
        ["git", "log", "--format=%s"], cwd=project, capture_output=True, text=True, check=True
    )
    assert log.stdout.splitlines() == [f"Generate Acme Orders API with fastgen {__version__}"]
    assert "Created Acme Orders API in acme-orders-api" in result.stdout
    assert "cd acme-orders-api" in result.stdout
    assert "database=postgresql" in result.stdout


def test_new_from_a_removed_working_directory_names_the_project_by_its_path(
    cli: Cli, tmp_path: Path
) -> None:
    Path.cwd().rmdir()
    result = cli("new", "Shop", str(tmp_path / "svc"), "--no-git", "-y")
    assert result.exit_code == 0, result.output
    assert f"Created Shop in {tmp_path / 'svc'}" in result.stdout


def test_new_flags_and_data_are_recorded(cli: Cli) -> None:
    result = cli(
        "new",
        "Shop",
        "svc",
        "--database",
        "sqlite",
        "--tasks",
        "celery",
        "--broker",
        "rabbitmq",
        "--data",
        "cache=none",
        "--data",
        "description=Sells things",
        "--no-git",
    )
    assert result.exit_code == 0, result.output
    project = Path.cwd() / "svc"
    assert not (project / ".git").exists()
    answers = answers_of(project)
    assert answers["database"] == "sqlite"
    assert answers["tasks"] == "celery"
    assert answers["broker"] == "rabbitmq"
    assert answers["cache"] == "none"
    assert answers["description"] == "Sells things"
    assert answers["project_slug"] == "shop"


def test_authors_default_to_git_config(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    git_config(monkeypatch, tmp_path / "gitconfig", name="Ada Lovelace", email="ada@example.org")
    assert cli("new", "From Git", "-y", "--no-git").exit_code == 0
    answers = answers_of(Path.cwd() / "from-git")
    assert (answers["author_name"], answers["author_email"]) == ("Ada Lovelace", "ada@example.org")
    # An answer given on the command line wins; an e-mail copier.yml refuses is not used.
    git_config(monkeypatch, tmp_path / "gitconfig", name="Ada Lovelace", email="ada")
    result = cli("new", "Given", "-y", "--no-git", "--data", "author_name=Orders Team")
    assert result.exit_code == 0, result.output
    answers = answers_of(Path.cwd() / "given")
    assert answers["author_name"] == "Orders Team"
    assert answers["author_email"] == COPIER_YML["author_email"]["default"]
    preset = tmp_path / "team.yml"
    preset.write_text(yaml.safe_dump({"answers": {"author_name": "Team"}}))
    assert cli("new", "Preset", "-y", "--no-git", "--preset", str(preset)).exit_code == 0
    assert answers_of(Path.cwd() / "preset")["author_name"] == "Team"


def test_non_tty_stdin_behaves_as_defaults_and_says_so(cli: Cli) -> None:
    result = cli("new", "Quiet One", "--no-git", input="")
    assert result.exit_code == 0, result.output
    assert "stdin is not a terminal" in result.stderr
    assert answers_of(Path.cwd() / "quiet-one")["database"] == COPIER_YML["database"]["default"]


@pytest.mark.parametrize(
    "name", ["Acme Orders API", "  Hello, World!!  ", "Data2Go v3", "ÄBC Service"]
)
def test_dest_default_is_the_slug_copier_derives(cli: Cli, name: str) -> None:
    result = cli("new", name, "-y", "--no-git")
    assert result.exit_code == 0, result.output
    [project] = Path.cwd().iterdir()
    assert answers_of(project)["project_slug"] == project.name
    assert render_default("project_slug", {"project_name": name}) == project.name


def test_existing_empty_dest_is_used(cli: Cli) -> None:
    (Path.cwd() / "empty").mkdir()
    result = cli("new", "Acme", "empty", "-y", "--no-git")
    assert result.exit_code == 0, result.output
    assert (Path.cwd() / "empty" / ".copier-answers.yml").is_file()


def test_template_option_uses_another_copy(cli: Cli, copier_template: Path) -> None:
    """`--template` takes another copy (here pytest-copier's git copy, tagged 99.99.99)."""
    result = cli("new", "Forked", "--template", str(copier_template), "-y")
    assert result.exit_code == 0, result.output
    answers = answers_of(Path.cwd() / "forked")
    assert answers["_src_path"] == str(copier_template)
    assert answers["_commit"] == "99.99.99"


# --- bad input: one line, exit 2, nothing written ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        pytest.param(["   "], ["cannot derive a project slug"], id="empty-name"),
        pytest.param(["!!!"], ["cannot derive a project slug"], id="no-slug"),
        pytest.param(["123 Go"], ["'123-go' is not a valid slug"], id="slug-starts-with-digit"),
        pytest.param(["Json"], ["'json' would shadow the standard library"], id="stdlib-package"),
        pytest.param(
            ["Acme", "--data", "package_name=class"], ["Python keyword"], id="keyword-package"
        ),
        pytest.param(
            ["Acme", "--data", "package_name=Bad-Name"],
            ["is not a valid package name"],
            id="invalid-package",
        ),
        pytest.param(
            ["Acme", "--broker", "rabbitmq"],
            ["broker only applies to a task runner with a queue"],
            id="broker-without-queue",
        ),
        pytest.param(
            ["Acme", "--tasks", "arq", "--broker", "rabbitmq"],
            ["ARQ runs on redis, not 'rabbitmq'"],
            id="broker-the-runner-lacks",
        ),
        pytest.param(["Acme", "--data", "tasks=rq"], ["background, arq, celery"], id="data-choice"),
        pytest.param(
            ["Acme", "--data", "colour=blue"], ["unknown question 'colour'"], id="data-key"
        ),
        pytest.param(["Acme", "--bogus"], ["No such option: --bogus"], id="unknown-option"),
        pytest.param(
            ["Acme", "--data", "metrics=flase"],
            ["metrics must be true or false, not 'flase'"],
            id="data-yes-or-no",
        ),
        pytest.param(
            ["Acme", "--data", "cache"], ["malformed --data 'cache'"], id="data-no-equals"
        ),
        pytest.param(["Acme", "--data", "=none"], ["malformed --data '=none'"], id="data-no-key"),
        pytest.param(
            ["Acme", "--data", "cache=none", "--cache", "redis"], ["given both"], id="data-vs-flag"
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    cli: Cli, args: list[str], fragments: list[str]
) -> None:
    result = cli("new", *args, "-y", "--no-git")
    assert_usage_error(result, *fragments)
    assert snapshot(Path.cwd()) == {}
    assert list(Path.cwd().iterdir()) == []


def test_unknown_template_version_lists_the_known_ones(cli: Cli) -> None:
    result = cli("new", "Acme", "--vcs-ref", "0.0.0", "-y")
    assert_usage_error(result, "unknown template version '0.0.0'", __version__)
    assert list(Path.cwd().iterdir()) == []


def test_non_empty_dest_is_refused_and_untouched(cli: Cli) -> None:
    dest = Path.cwd() / "acme"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    before = snapshot(Path.cwd())
    result = cli("new", "Acme", "-y")
    assert_usage_error(result, "acme already exists and is not empty")
    assert snapshot(Path.cwd()) == before
    assert sorted(p.name for p in dest.iterdir()) == ["notes.txt"]


def test_dest_that_is_a_file_is_refused(cli: Cli) -> None:
    (Path.cwd() / "acme").write_text("x")
    assert_usage_error(cli("new", "Acme", "-y"), "already exists")
    assert snapshot(Path.cwd()) == {"acme": b"x"}


def test_git_missing_is_refused_before_generating(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    result = cli("new", "Acme", "-y")
    assert_usage_error(result, "git is not installed")
    assert list(Path.cwd().iterdir()) == []


def test_interrupted_prompt_leaves_nothing(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C at a Copier prompt: no partial directory, exit 2."""
    import copier._main

    def ctrl_c(*args: object, **kwargs: object) -> dict[str, object]:
        raise KeyboardInterrupt

    monkeypatch.setattr("fastgen.new._stdin_is_interactive", lambda: True)
    monkeypatch.setattr(copier._main, "unsafe_prompt", ctrl_c)
    result = cli("new", "Acme", "--no-git")
    assert_usage_error(result, "interrupted")
    assert list(Path.cwd().iterdir()) == []


@pytest.mark.parametrize("pre_existing", [False, True], ids=["new-dest", "empty-dest"])
def test_interrupt_while_rendering_leaves_dest_as_it_was(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, pre_existing: bool
) -> None:
    import fastgen.render  # `new -y` renders the bundled template without Copier

    real_render = fastgen.render.render

    def interrupted(root: Path, dest: Path, **kwargs: Any) -> object:
        real_render(root, dest, **kwargs)
        raise KeyboardInterrupt  # arrives after files were written

    monkeypatch.setattr(fastgen.render, "render", interrupted)
    if pre_existing:
        (Path.cwd() / "acme").mkdir()
    result = cli("new", "Acme", "-y", "--no-git")
    assert_usage_error(result, "interrupted")
    expected = ["acme"] if pre_existing else []
    assert [p.name for p in Path.cwd().iterdir()] == expected
    assert snapshot(Path.cwd()) == {}


@pytest.mark.parametrize("step", ["git_init", "initial_commit", "summary"])
def test_interrupt_after_rendering_leaves_nothing(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """Late steps too: git init, the commit (while uv locks) and the summary; with the parent
    folders `new` created for DEST."""
    import fastgen.new

    real = getattr(fastgen.new, step)

    def interrupted(*args: Any, **kwargs: Any) -> object:
        real(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(fastgen.new, step, interrupted)
    result = cli("new", "Acme", "services/backend/acme", "-y")
    assert_usage_error(result, "interrupted; nothing was written")
    assert list(Path.cwd().iterdir()) == []


def run_until(
    command: list[Path | str], cwd: Path, delay: float
) -> subprocess.CompletedProcess[str]:
    """Run `command`, send it SIGINT (Ctrl-C) after `delay` seconds, and wait for it."""
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=user_env()
    )
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.6, 1.0])
def test_sigint_at_any_point_of_new_leaves_nothing(
    installed_fastgen: Path, tmp_path: Path, delay: float
) -> None:
    """Ctrl-C into the installed `fastgen new`: either it finished first, or it leaves no
    directory and says so in one line; a rerun then succeeds."""
    command = [installed_fastgen, "new", "Acme Orders", "-y"]
    result = run_until(command, tmp_path, delay)
    print(f"\nSIGINT at {delay} s: exit {result.returncode}")
    assert "Traceback" not in result.stderr
    project = tmp_path / "acme-orders"
    if result.returncode == 0:  # it was done: the whole project, committed
        assert (project / ".git").is_dir() and "Created Acme Orders" in result.stdout
        shutil.rmtree(project)
    else:
        assert result.returncode == 2, result.stderr
        assert result.stderr == "Error: interrupted; nothing was written\n"
        assert list(tmp_path.iterdir()) == []
    rerun = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=user_env())
    assert rerun.returncode == 0, rerun.stderr


def interrupt_entry_point(finder: str, signal_at: bytes, cwd: Path) -> None:
    """`fastgen new Acme -y` through the entry point, with `finder`, a meta path finder's class
    `Finder`, first on the meta path; Ctrl-C once it prints the line `signal_at`. It must say
    the one line of an interrupt, exit 2 and leave `cwd` empty."""
    code = (
        f"import sys, time, weakref\n{finder}\n"
        "sys.meta_path.insert(0, Finder())\n"
        "sys.argv = ['fastgen', 'new', 'Acme', '-y']\n"
        "from fastgen.entry import main\n"
        "main()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    assert signal_at in iter(process.stdout.readline, b"")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert (process.returncode, err) == (2, b"Error: interrupted; nothing was written\n")
    assert list(cwd.iterdir()) == []


def test_sigint_during_imports_is_one_line(tmp_path: Path) -> None:
    """The entry point, held inside its first import of the CLI, as a slow disk would hold it."""
    slow = """
class Finder:
    def find_spec(self, name, path=None, target=None):
        if name == 'typer':
            print('importing', flush=True)
            time.sleep(30)
"""
    interrupt_entry_point(slow, b"importing\n", tmp_path)


def test_sigint_inside_a_weakref_callback_still_interrupts(tmp_path: Path) -> None:
    """Python prints an exception raised in a weakref callback and drops it; importlib runs such
    callbacks, and a Ctrl-C once landed in one and was lost (with a traceback)."""
    collecting = """
class Held:
    pass

class Finder:
    def find_spec(self, name, path=None, target=None):
        if name == 'jinja2':
            held = Held()
            self.ref = weakref.ref(held, self.collect)
            del held

    def collect(self, ref):
        print('collecting', flush=True)
        time.sleep(30)
"""
    interrupt_entry_point(collecting, b"collecting\n", tmp_path)


# --- the installed entry point ----------------------------------------------------------------


def test_installed_entry_point_runs_as_a_subprocess(tmp_path: Path) -> None:
    fastgen = Path(sys.executable).parent / "fastgen"
    version = subprocess.run([fastgen, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"fastgen {__version__}"
    module = subprocess.run(
        [sys.executable, "-m", "fastgen", "new", "Sub Process", "--no-git"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert module.returncode == 0, module.stderr
    assert "stdin is not a terminal" in module.stderr
    assert (tmp_path / "sub-process" / ".copier-answers.yml").is_file()


def test_start_up_does_not_import_copier() -> None:
    """Completion re-runs the CLI on every <TAB>: Copier (~0.6 s) is imported only to render."""
    code = "import sys, fastgen.main; print([m for m in ('copier', 'jinja2') if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("name", CHOICE_QUESTIONS)
def test_shell_completion_offers_the_choices(name: str) -> None:
    fastgen = Path(sys.executable).parent / "fastgen"
    flag = "--" + name.replace("_", "-")
    env = {
        **os.environ,
        "_FASTGEN_COMPLETE": "complete_bash",
        "COMP_WORDS": f"fastgen new Acme {flag} ",
        "COMP_CWORD": "4",
    }
    result = subprocess.run([fastgen], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.split() == choice_values(name)


def complete(words: str) -> list[str]:
    """What bash completion offers for the last of `words` (empty: a new word)."""
    fastgen = Path(sys.executable).parent / "fastgen"
    env = {
        **os.environ,
        "_FASTGEN_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    result = subprocess.run([fastgen], env=env, capture_output=True, text=True, check=True)
    return result.stdout.split()


@pytest.mark.parametrize("command", ["new Acme", "update"])
def test_shell_completion_offers_data_keys_then_choices(command: str) -> None:
    asked = [
        name
        for name, spec in COPIER_YML.items()
        if not name.startswith("_") and not (isinstance(spec, dict) and spec.get("when") is False)
    ]
    assert complete(f"fastgen {command} --data ") == [f"{name}=" for name in asked]
    assert complete(f"fastgen {command} --data c") == [f"{n}=" for n in asked if n[0] == "c"]
    assert complete(f"fastgen {command} --data cache=") == [
        f"cache={value}" for value in choice_values("cache")
    ]


def test_wheel_generates_offline_and_fast(
    installed_fastgen: Path, offline: list[str], tmp_path: Path
) -> None:
    """From the installed wheel with the network cut; the wall time is printed, not asserted."""
    env = user_env()
    start = time.perf_counter()
    result = subprocess.run(
        [*offline, installed_fastgen, "new", "Acme Orders API", "--defaults"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    elapsed = time.perf_counter() - start
    print(f"\nfastgen new 'Acme Orders API' --defaults, offline, installed wheel: {elapsed:.2f}s")
    assert result.returncode == 0, result.stderr
    project = tmp_path / "acme-orders-api"
    assert answers_of(project)["project_name"] == "Acme Orders API"
    assert (project / ".git").is_dir()
    assert (project / "pyproject.toml").is_file()


def secret_key(project: Path) -> str:
    [line] = [x for x in (project / ".env").read_text().splitlines() if x.startswith("SECRET_KEY=")]
    return line.removeprefix("SECRET_KEY=")


def test_each_project_from_one_installed_wheel_gets_its_own_secret(
    installed_fastgen: Path, tmp_path: Path
) -> None:
    """The wheel's precompiled templates must not hold the secret as a constant."""
    keys = []
    for name in ("First Api", "Second Api"):
        result = subprocess.run(
            [installed_fastgen, "new", name, "-y", "--no-git"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=user_env(),
        )
        assert result.returncode == 0, result.stderr
        keys.append(secret_key(tmp_path / name.lower().replace(" ", "-")))
    assert keys[0] != keys[1]
    assert all(re.fullmatch(r"[0-9a-f]{64}", key) for key in keys)


def test_each_project_from_source_gets_its_own_secret(cli: Cli) -> None:
    """In one process (compiled templates kept in memory) and through the bytecode cache."""
    for name in ("First Api", "Second Api"):
        assert cli("new", name, "-y", "--no-git").exit_code == 0
    keys = {secret_key(Path.cwd() / slug) for slug in ("first-api", "second-api")}
    assert len(keys) == 2


# --- names, DEST and prompts: every bad input is one line, exit 2, nothing written -------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Café Ünïcode API", "cafe-unicode-api"), ("Łódź Straße Œuvre", "lodz-strasse-oeuvre")],
)
def test_accented_names_are_transliterated_by_copier_yml(cli: Cli, name: str, slug: str) -> None:
    result = cli("new", name, "-y", "--no-git")
    assert result.exit_code == 0, result.output
    assert answers_of(Path.cwd() / slug)["package_name"] == slug.replace("-", "_")
    # copier.yml is the source: plain `copier copy` derives the same slug.
    assert render_default("project_slug", {"project_name": name}) == slug


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        pytest.param(
            ["日本語 API"],
            ["'日本語' would be dropped", "--data project_slug=", "--data package_name="],
            id="non-latin-script",
        ),
        pytest.param(
            ["123 Orders"],
            ["'123-orders' is not a valid slug", "--data project_slug=", "'123 Orders'"],
            id="slug-starts-with-digit",
        ),
        pytest.param(
            ["Acme Orders Fulfilment Service API"],
            ["is too long", "--data package_name="],
            id="package-over-32",
        ),
        pytest.param(["x" * 300], ["is too long", "--data package_name="], id="300-characters"),
        pytest.param(
            ["x" * 300, "--data", "package_name=short"],
            ["300 bytes", "--data project_slug="],
            id="300-character-directory",
        ),
        pytest.param(
            ["Acme", "--data", "project_slug=Bad Slug"],
            ["not a valid slug", "--data project_slug="],
            id="given-slug",
        ),
        pytest.param(
            ["Acme", "--template", "/nonexistent/fork"],
            ["/nonexistent/fork is not a directory"],
            id="template-path",
        ),
        pytest.param(
            ["Acme", "--database", "sqlite", "--database", "mysql"],
            ["--database is given more than once"],
            id="repeated-flag",
        ),
        pytest.param(["Acme", "-y", "--defaults"], ["given more than once"], id="repeated-alias"),
    ],
)
def test_bad_names_and_flags_are_refused_with_a_hint(
    cli: Cli, args: list[str], fragments: list[str]
) -> None:
    result = cli("new", *args, "--no-git")
    assert_usage_error(result, *fragments)
    assert list(Path.cwd().iterdir()) == []


def test_dest_under_a_file_is_refused(cli: Cli) -> None:
    (Path.cwd() / "existing.txt").write_text("x")
    result = cli("new", "Dest Api", "existing.txt/sub", "-y")
    assert_usage_error(result, "existing.txt is a file")
    assert snapshot(Path.cwd()) == {"existing.txt": b"x"}


def test_unwritable_dest_is_refused(tmp_path: Path) -> None:
    """As another user when run as root (root may write anywhere), else with chmod."""
    parent = Path(tempfile.mkdtemp(prefix="fastgen-ro-"))
    try:
        command = [sys.executable, "-m", "fastgen", "new", "Acme", str(parent / "acme"), "-y"]
        if os.geteuid() == 0:
            parent.chmod(0o755)
            command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
        else:
            parent.chmod(0o555)
        env = {**os.environ, "HOME": str(parent)}
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        assert result.returncode == 2, result.stderr
        assert result.stderr.splitlines() == [
            f"Error: cannot write to {parent}: permission denied; choose another DEST"
        ]
        assert list(parent.iterdir()) == []
    finally:
        parent.chmod(0o755)
        shutil.rmtree(parent)


def _prompt_with(monkeypatch: pytest.MonkeyPatch, answer: Callable[..., dict[str, object]]) -> None:
    import copier._main

    monkeypatch.setattr("fastgen.new._stdin_is_interactive", lambda: True)
    monkeypatch.setattr(copier._main, "unsafe_prompt", answer)


def test_end_of_input_at_a_prompt_leaves_nothing(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-D at a Copier prompt: one line, exit 2, no `--data-file` (fastgen has none)."""

    def ctrl_d(*args: object, **kwargs: object) -> dict[str, object]:
        raise EOFError

    _prompt_with(monkeypatch, ctrl_d)
    result = cli("new", "Acme", "--no-git")
    assert_usage_error(result, "end of input", "--defaults")
    assert "--data-file" not in result.stderr
    assert list(Path.cwd().iterdir()) == []


def test_missing_name_is_asked_for_when_interactive(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _prompt_with(monkeypatch, lambda questions, answers: answers)  # every default
    result = cli("new", "--no-git", input="Named Later\n")
    assert result.exit_code == 0, result.output
    assert answers_of(Path.cwd() / "named-later")["project_name"] == "Named Later"


def test_end_of_input_at_the_name_prompt(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fastgen.new._stdin_is_interactive", lambda: True)
    assert_usage_error(cli("new", "--no-git", input=""), "interrupted")
    assert list(Path.cwd().iterdir()) == []


def test_missing_name_without_a_terminal_is_an_error(cli: Cli) -> None:
    assert_usage_error(cli("new", "-y"), "a project name is required")
    assert list(Path.cwd().iterdir()) == []


# --- help -------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["new"], ["update"], ["check"], ["options"]])
def test_help_is_clean(command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    for noise in ("<bool>", "<str>", "<path>", "{"):
        assert noise not in result.stdout, f"{noise!r} in:\n{result.stdout}"
    cut = [line for line in result.stdout.splitlines()[1:] if line.endswith("...")]
    assert cut == [], "help cut short"


def test_a_conditional_question_says_in_words_when_it_is_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    several = [tasks for tasks in choice_values("tasks") if len(runner_brokers(tasks)) > 1]
    phrase = f"tasks is {' or '.join(several)}"
    help_text = CliRunner().invoke(app, ["new", "--help"]).stdout
    options_text = CliRunner().invoke(app, ["options"]).stdout
    assert "Asked for some values of --tasks (see `fastgen options`)." in " ".join(
        help_text.split()
    )
    assert f"asked only when {phrase}" in options_text
    for text in (help_text, options_text):
        assert "profiles." not in text and "length" not in text


@pytest.mark.parametrize(
    "command", [[], ["new"], ["update"], ["check"], ["options"], ["add"], ["add", "resource"]]
)
def test_h_is_short_for_help(command: list[str]) -> None:
    short, long = (CliRunner().invoke(app, [*command, flag]) for flag in ("-h", "--help"))
    assert short.exit_code == long.exit_code == 0
    assert short.stdout == long.stdout and short.stdout.startswith("Usage: fastgen")


def test_every_question_fits_on_one_prompt_line() -> None:
    """Copier prompts `🎤 <help>  ` on one line, cut at the terminal's width (80 here)."""
    for name, spec in COPIER_YML.items():
        if isinstance(spec, dict) and "help" in spec:
            assert len(" ".join(spec["help"].split())) <= 74, name


# --- git and uv.lock --------------------------------------------------------------------------


def test_new_commits_a_uv_lock_and_the_project_uses_it(cli: Cli) -> None:
    result = cli("new", "Locked Api", "-y")
    assert result.exit_code == 0, result.output
    project = Path.cwd() / "locked-api"
    tracked = subprocess.run(
        ["git", "ls-files", "uv.lock"], cwd=project, capture_output=True, text=True, check=True
    )
    assert tracked.stdout.strip() == "uv.lock"
    assert "no uv.lock" not in result.stdout
    dockerfile = (project / "Dockerfile").read_text()
    assert dockerfile.count("uv sync --locked") == 2
    assert "uv sync --no-dev" not in dockerfile
    workflow = (project / ".github" / "workflows" / "ci.yml").read_text()
    assert "run: uv sync --locked\n" in workflow


def test_uv_lock_starts_as_soon_as_pyproject_toml_is_written(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`uv lock` needs only pyproject.toml, so it runs while the rest of the project renders."""
    import fastgen.new

    present: list[set[str]] = []
    real_start = fastgen.new.UvLock.start

    def start(lock: fastgen.new.UvLock) -> None:
        if lock.process is None:
            present.append({path.name for path in lock.dest.iterdir()})
        real_start(lock)

    monkeypatch.setattr(fastgen.new.UvLock, "start", start)
    result = cli("new", "Early Lock", "-y", "--no-git")
    assert result.exit_code == 0, result.output
    assert "pyproject.toml" in present[0] and "src" not in present[0]
    assert (Path.cwd() / "early-lock" / "uv.lock").is_file()


@pytest.mark.parametrize("uv", ["absent", "broken"])
def test_without_uv_the_summary_says_how_to_lock(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, uv: str
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git") or "git")
    if uv == "broken":  # executable, but not a program: starting it fails
        (bin_dir / "uv").write_text("not a program\n")
        (bin_dir / "uv").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    result = cli("new", "Unlocked Api", "-y")
    assert result.exit_code == 0, result.output
    assert "no uv.lock" in result.stdout and "uv lock" in result.stdout
    project = Path.cwd() / "unlocked-api"
    assert not (project / "uv.lock").exists()
    assert "uv lock" in (project / "README.md").read_text()


def test_new_inside_a_git_work_tree_does_not_git_init(cli: Cli) -> None:
    outer = Path.cwd()
    subprocess.run(["git", "init", "--quiet"], cwd=outer, check=True)
    result = cli("new", "Inner Api", "services/inner", "-y")
    assert result.exit_code == 0, result.output
    project = outer / "services" / "inner"
    assert not (project / ".git").exists()
    assert "no `git init`" in result.stdout and "git add services/inner" in result.stdout
    log = subprocess.run(["git", "log"], cwd=outer, capture_output=True, text=True)
    assert log.returncode != 0  # nothing committed for the user


def test_cli_modules_have_no_import_cycle() -> None:
    """Each module's fastgen imports, followed transitively, never lead back to it."""
    package = ROOT / "cli" / "fastgen"
    imports: dict[str, set[str]] = {}
    for module in package.glob("*.py"):
        tree = ast.parse(module.read_text())
        imports[module.stem] = {
            node.module.removeprefix("fastgen.")
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fastgen.")
        }

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(imports[start])
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo += imports.get(name, set())
        return seen

    assert [name for name in imports if name in reachable(name)] == []
