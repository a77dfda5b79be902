"""`fastgen new`: generate a project with Copier."""

import functools
import inspect
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from fastgen import __version__
from fastgen.preset import Preset, PresetError, load_preset
from fastgen.questions import Question, by_name, choice_questions, render_default
from fastgen.source import bundled_template, copier_errors, copier_git
from fastgen.ui import FAILURE, fail, note, parse_data

ANSWERS_PANEL = "Answers (from copier.yml)"
NEXT_TARGETS = ("install", "services", "migrate", "test", "run")


def _completer(question: Question) -> Callable[[str], list[tuple[str, str]]]:
    def complete(incomplete: str) -> list[tuple[str, str]]:
        return [(c.value, c.label) for c in question.choices if c.value.startswith(incomplete)]

    return complete


def _choice_help(question: Question) -> str:
    values = ", ".join(
        f"{value} (default)" if value == question.default else value for value in question.values
    )
    condition = (
        f" Asked when {question.when.strip('{} ')}." if isinstance(question.when, str) else ""
    )
    return f"{question.help.rstrip('.')}. One of: {values}.{condition}"


def with_choice_flags(func: Callable[..., None]) -> Callable[..., None]:
    """Add one `--<question>` option per choice question of copier.yml.

    The wrapped command receives them as `choices={name: value or None}`; the flags,
    their help and their completion never drift from copier.yml because they are
    built from it.
    """
    extra = [
        inspect.Parameter(
            q.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                str | None,
                typer.Option(
                    q.flag,
                    help=_choice_help(q),
                    metavar="|".join(q.values),
                    autocompletion=_completer(q),
                    rich_help_panel=ANSWERS_PANEL,
                    show_default=False,
                ),
            ],
        )
        for q in choice_questions()
    ]
    names = [p.name for p in extra]
    signature = inspect.signature(func)
    own = [p for p in signature.parameters.values() if p.name != "choices"]

    @functools.wraps(func)
    def command(**kwargs: Any) -> None:
        choices = {name: kwargs.pop(name) for name in names}
        func(**kwargs, choices=choices)

    command.__signature__ = signature.replace(parameters=own + extra)  # type: ignore[attr-defined]
    command.__annotations__ = {
        **{k: v for k, v in func.__annotations__.items() if k != "choices"},
        **{p.name: p.annotation for p in extra},
    }
    return command


def _check_answers(answers: dict[str, Any]) -> None:
    """Reject unknown keys and choices early, with the valid ones listed."""
    known = by_name()
    for key, value in answers.items():
        question = known.get(key)
        if question is None:
            fail(f"unknown question {key!r}; valid keys: {', '.join(known)}")
        if question.choices and str(value) not in question.values:
            fail(
                f"unknown {key} {value!r}; choose one of: {', '.join(question.values)}"
                f" (flag {question.flag})"
            )


def _is_git_url(src: str) -> bool:
    return src.startswith(("git@", "git+", "https://", "http://", "ssh://", "file://")) or (
        src.endswith((".git", ".bundle"))
    )


def _clean(dest: Path, existed: bool) -> None:
    """Leave DEST as it was: absent, or the empty directory the user gave."""
    if not existed:
        shutil.rmtree(dest, ignore_errors=True)
    elif dest.is_dir():
        for child in dest.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)


def _stdin_is_interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _git(dest: Path, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(["git", *args], cwd=dest, check=True, capture_output=True, text=True, env=env)


def git_init(dest: Path, answers: dict[str, Any], message: str) -> None:
    """`git init` + an initial commit, so `fastgen update` has a base to merge from."""
    _git(dest, "init", "--quiet", "--initial-branch=main")
    env = dict(os.environ)
    has_identity = subprocess.run(
        ["git", "config", "user.email"], cwd=dest, capture_output=True, text=True
    ).stdout.strip()
    if not has_identity:  # fall back to the project's author, e.g. on a fresh CI box
        name, email = str(answers.get("author_name", "fastgen")), str(answers.get("author_email"))
        env |= {"GIT_AUTHOR_NAME": name, "GIT_COMMITTER_NAME": name}
        env |= {"GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_EMAIL": email}
    _git(dest, "add", "--all")
    _git(dest, "commit", "--quiet", "--no-verify", "--message", message, env=env)


def _display(path: Path) -> str:
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return str(path)
    return str(relative) if str(relative) != "." else "."


def _make_targets(dest: Path) -> set[str]:
    makefile = dest / "Makefile"
    if not makefile.is_file():
        return set()
    lines = makefile.read_text(encoding="utf-8").splitlines()
    return {line.split(":", 1)[0].strip() for line in lines if line[:1].isalpha() and ":" in line}


def summary(dest: Path, answers: dict[str, Any]) -> str:
    shown = " ".join(f"{q.name}={answers[q.name]}" for q in choice_questions() if q.name in answers)
    lines = [f"Created {answers.get('project_name', dest.name)} in {_display(dest)}", f"  {shown}"]
    targets = _make_targets(dest)
    steps = [f"cd {_display(dest)}"] + [f"make {t}" for t in NEXT_TARGETS if t in targets]
    if "worker" in targets:
        steps.append("make worker   # in a second terminal")
    lines += ["Next:", *(f"  {step}" for step in steps)]
    return "\n".join(lines)


@with_choice_flags
def new(
    project_name: Annotated[str, typer.Argument(help='Human name, e.g. "Acme Orders API".')],
    dest: Annotated[
        Path | None,
        typer.Argument(help="Directory to create. [default: ./<project_slug>]", show_default=False),
    ] = None,
    *,
    defaults: Annotated[
        bool,
        typer.Option("--defaults", "-y", help="Use defaults for unanswered questions; no prompts."),
    ] = False,
    data: Annotated[
        list[str] | None,
        typer.Option("--data", "-d", metavar="KEY=VALUE", help="Answer any question (repeatable)."),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            metavar="SRC",
            help="Another copy of this template (path or git URL), e.g. a team's fork.",
        ),
    ] = None,
    vcs_ref: Annotated[
        str | None,
        typer.Option("--vcs-ref", help="Template version (git ref) to generate from."),
    ] = None,
    no_git: Annotated[
        bool, typer.Option("--no-git", help="Do not git init and commit the new project.")
    ] = False,
    trust: Annotated[
        bool,
        typer.Option("--trust", help="Allow --template to run its tasks and Jinja extensions."),
    ] = False,
    preset: Annotated[
        Path | None,
        typer.Option(
            "--preset",
            metavar="FILE",
            help="A team's YAML answers file: answers, locked answers, template source.",
            exists=False,
        ),
    ] = None,
    choices: dict[str, str | None],
) -> None:
    """Generate a new FastAPI project."""
    answers: dict[str, Any] = parse_data(data)
    for key, value in choices.items():
        if value is None:
            continue
        if key in answers and answers[key] != value:
            fail(f"{key} is given both as a flag ({value}) and with --data ({answers[key]})")
        answers[key] = value
    if answers.setdefault("project_name", project_name) != project_name:
        fail("project_name is given both as the argument and with --data")

    team = _load_preset(preset) if preset else None
    suggested: dict[str, Any] = {}  # prompt defaults: the preset's open answers
    if team is not None:
        for key, value in team.locked_answers.items():
            if key in answers and str(answers[key]) != str(value):
                fail(f"{key} is locked to {value!r} by preset {team.path.name}")
            answers[key] = value
        suggested = team.open_answers
        template = template or team.template
        vcs_ref = vcs_ref or team.vcs_ref
    if template is None:
        _check_answers({**suggested, **answers})

    context = {**suggested, **answers}
    slug = str(context.get("project_slug") or render_default("project_slug", context))
    answers["project_slug"] = slug
    if not slug:
        fail(f"cannot derive a project slug from {project_name!r}: use letters or digits")
    target = (dest or Path(slug)).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        fail(f"{_display(target)} already exists and is not empty; choose another DEST")

    interactive = not defaults and _stdin_is_interactive()
    if not defaults and not interactive:
        note("stdin is not a terminal: using defaults for unanswered questions (as --defaults)")

    if template is not None and not _is_git_url(template) and Path(template).exists():
        template = str(Path(template).resolve())  # the answers file records the path as given
        if not (Path(template) / ".git").exists():
            note(f"{template} is not a git repository: the project cannot be updated from it")
    if shutil.which("git") is None:
        fail("git is not installed: fastgen needs it to generate and later update projects")

    options: dict[str, Any] = {
        "dest": target,
        "data": answers,
        "user_defaults": suggested,
        "defaults": not interactive,
    }
    if template is None:
        with bundled_template() as bundled, copier_git(bundled.git_env()):
            if vcs_ref and vcs_ref not in bundled.versions:
                fail(
                    f"unknown template version {vcs_ref!r}; this fastgen has: "
                    f"{', '.join(bundled.versions)}"
                )
            answers_file = generate(
                src=bundled.url, vcs_ref=vcs_ref or bundled.version, unsafe=True, **options
            )
    else:
        answers_file = generate(src=template, vcs_ref=vcs_ref, unsafe=trust, **options)
    recorded = yaml.safe_load(answers_file.read_text(encoding="utf-8")) or {}
    if not no_git:
        try:
            git_init(target, recorded, f"Generate {project_name} with fastgen {__version__}")
        except subprocess.CalledProcessError as err:
            fail(f"the project was generated but git failed: {err.stderr or err}", FAILURE)
    typer.echo(summary(target, recorded))


def _load_preset(path: Path) -> Preset:
    try:
        return load_preset(path)
    except PresetError as err:
        fail(str(err))


def generate(
    *,
    src: str,
    dest: Path,
    data: dict[str, Any],
    user_defaults: dict[str, Any],
    defaults: bool,
    vcs_ref: str | None,
    unsafe: bool,
) -> Path:
    """Run Copier; on any failure or interrupt, leave DEST as it was. Returns the answers file."""
    import copier  # lazy: it costs ~0.6 s and completion re-runs the CLI

    existed = dest.exists()
    try:
        with copier_errors(src):
            worker = copier.run_copy(
                src,
                dest,
                data=data,
                user_defaults=user_defaults,
                defaults=defaults,
                vcs_ref=vcs_ref,
                unsafe=unsafe,
                quiet=True,
            )
    except BaseException:
        _clean(dest, existed)
        raise
    return dest / worker.answers_relpath
