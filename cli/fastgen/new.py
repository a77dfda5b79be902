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
from fastgen.bundle import git
from fastgen.errors import FastgenError
from fastgen.preset import load_preset
from fastgen.questions import (
    Question,
    check_answers,
    complete_data,
    deciding_choices,
    flag_questions,
    render_default,
    render_validator,
)
from fastgen.source import (
    FAILURE,
    TEMPLATE_URL,
    bundled_template,
    copier_errors,
    copier_git,
    installed_version,
    render_errors,
)
from fastgen.ui import note, parse_data

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
    # Only the names: which values ask it takes rendering copier.yml, too slow for start-up
    # (completion runs it on every <TAB>).
    deciding = ", ".join(other.flag for other in deciding_choices(question))
    condition = f" Asked for some values of {deciding} (see `fastgen options`)." if deciding else ""
    return f"{question.help.rstrip('.')}. One of: {values}.{condition}"


def _flag_parameter(q: Question) -> inspect.Parameter:
    if q.type == "bool":  # a capability: `--tracing/--no-tracing`
        option = typer.Option(
            f"{q.flag}/--no-{q.flag[2:]}",
            help=f"{q.help.rstrip('.')}. [default: {'on' if q.default else 'off'}]",
            rich_help_panel=ANSWERS_PANEL,
            show_default=False,
        )
        annotation: Any = Annotated[bool | None, option]
    else:
        option = typer.Option(
            q.flag,
            help=_choice_help(q),
            metavar="|".join(q.values),
            autocompletion=_completer(q),
            rich_help_panel=ANSWERS_PANEL,
            show_default=False,
        )
        annotation = Annotated[str | None, option]
    return inspect.Parameter(
        q.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation
    )


def with_choice_flags(func: Callable[..., None]) -> Callable[..., None]:
    """Add one `--<question>` option per choice question of copier.yml, and a
    `--<question>/--no-<question>` switch per yes/no question.

    The wrapped command receives them as `choices={name: value or None}` (a switch as "true"
    or "false", as `--data` gives it); the flags, their help and their completion never
    drift from copier.yml because they are built from it.
    """
    extra = [_flag_parameter(q) for q in flag_questions()]
    names = [p.name for p in extra]
    signature = inspect.signature(func)
    own = [p for p in signature.parameters.values() if p.name != "choices"]

    @functools.wraps(func)
    def command(**kwargs: Any) -> None:
        flags = {name: kwargs.pop(name) for name in names}
        choices = {k: str(v).lower() if isinstance(v, bool) else v for k, v in flags.items()}
        func(**kwargs, choices=choices)

    command.__signature__ = signature.replace(parameters=own + extra)  # type: ignore[attr-defined]
    command.__annotations__ = {
        **{k: v for k, v in func.__annotations__.items() if k != "choices"},
        **{p.name: p.annotation for p in extra},
    }
    return command


def check_names(context: dict[str, Any]) -> dict[str, str]:
    """The slug and package name copier.yml derives, checked by its own validators.

    Refused before anything is written, with the `--data` that fixes it. A name whose
    letters the slug would drop (a script without a transliteration in copier.yml) is
    refused rather than silently reduced.
    """
    name = str(context["project_name"])
    fix = "choose names with --data project_slug=NAME --data package_name=NAME"
    if "project_slug" not in context:
        dropped = "".join(
            c
            for c in dict.fromkeys(name)
            if c.isalnum()
            and not c.isascii()
            and not render_default("project_slug", {"project_name": c})
        )
        if dropped:
            raise FastgenError(
                f"cannot make an ASCII project slug from {name!r}: {dropped!r} would be "
                f"dropped; {fix}"
            )
    slug = str(context.get("project_slug") or render_default("project_slug", context))
    if not slug:
        raise FastgenError(
            f"cannot derive a project slug from {name!r}: use letters or digits, or {fix}"
        )
    names = {"project_slug": slug}
    names["package_name"] = str(
        context.get("package_name") or render_default("package_name", {**context, **names})
    )
    for key in names:
        if problem := render_validator(key, {**context, **names}):
            given = key in context
            hint = (
                f"choose another with --data {key}=NAME"
                if given
                else f"{fix} (derived from {name!r})"
            )
            raise FastgenError(f"{problem}; {hint}")
    return names


def _is_git_url(src: str) -> bool:
    return src.startswith(("git@", "git+", "https://", "http://", "ssh://", "file://")) or (
        src.endswith((".git", ".bundle"))
    )


def check_dest(target: Path) -> None:
    """Refuse a DEST that cannot be written, before Copier creates anything."""
    limit = os.pathconf(target.anchor, "PC_NAME_MAX")
    for part in target.parts:
        if len(os.fsencode(part)) > limit:
            raise FastgenError(
                f"directory name {part[:24]}... is {len(os.fsencode(part))} bytes, over the file "
                f"system's {limit}: give a shorter DEST or --data project_slug=NAME"
            )
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FastgenError(
            f"{_display(target)} already exists and is not empty; choose another DEST"
        )
    ancestor = next(p for p in (target, *target.parents) if p.exists())
    if not ancestor.is_dir():
        raise FastgenError(
            f"{_display(ancestor)} is a file, so {_display(target)} cannot be created"
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise FastgenError(
            f"cannot write to {_display(ancestor)}: permission denied; choose another DEST"
        )


def _first_missing(dest: Path) -> Path | None:
    """The outermost of DEST and its parents that does not exist yet: what `new` creates."""
    missing = [path for path in (dest, *dest.parents) if not path.exists()]
    return missing[-1] if missing else None


def _clean(dest: Path, created: Path | None) -> None:
    """Leave DEST as it was: absent with the parents `new` created, or the empty directory
    the user gave."""
    if created is not None:
        shutil.rmtree(created, ignore_errors=True)
    elif dest.is_dir():
        for child in dest.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)


def _stdin_is_interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def enclosing_repo(dest: Path) -> Path | None:
    """The git work tree DEST would be created in, if any (a monorepo)."""
    ancestor = next(p for p in (dest, *dest.parents) if p.exists())
    try:
        return Path(git(ancestor, "rev-parse", "--show-toplevel"))
    except subprocess.CalledProcessError:
        return None


def git_init(dest: Path) -> None:
    git(dest, "init", "--quiet", "--initial-branch=main")


def author_defaults(dest: Path) -> dict[str, str]:
    """`author_name` and `author_email` from git's `user.name` and `user.email`, where set.

    Read where DEST will be, so that a conditional include (`includeIf "gitdir:..."`)
    applies. They are defaults: flags, `--data`, a preset's answers and the user's Copier
    settings win. An e-mail copier.yml's validator refuses is left out, so it fails no run.
    """
    from fastgen.render import copier_settings_defaults

    ancestor = next(p for p in (dest, *dest.parents) if p.exists())
    try:
        listing = git(ancestor, "config", "--get-regexp", r"^user\.(name|email)$")
    except (subprocess.CalledProcessError, OSError):
        return {}  # neither is set (or no git: `new` says so later)
    keys = {"user.name": "author_name", "user.email": "author_email"}
    found = {}
    for line in listing.splitlines():
        key, _, value = line.partition(" ")
        if key.lower() in keys and value.strip():
            found[keys[key.lower()]] = value.strip()  # the last one git lists wins, as in git
    if "author_email" in found and render_validator("author_email", found):
        del found["author_email"]
    try:
        configured = copier_settings_defaults()
    except ValueError:  # a damaged settings file: the render names it
        configured = {}
    return {key: value for key, value in found.items() if key not in configured}


def commit_identity(dest: Path, answers: dict[str, Any]) -> dict[str, str]:
    """The environment `initial_commit` needs: none when git knows the user in DEST.

    Asked in DEST once it is a repository, so that a conditional include (`includeIf
    "gitdir:..."`) applies; without an identity, e.g. on a fresh CI box, the project's author.
    """
    has_identity = subprocess.run(
        ["git", "config", "user.email"], cwd=dest, capture_output=True, text=True
    ).stdout.strip()
    if has_identity:
        return {}
    name, email = str(answers.get("author_name", "fastgen")), str(answers.get("author_email"))
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_COMMITTER_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_EMAIL": email,
    }


def initial_commit(dest: Path, identity: dict[str, str], message: str) -> None:
    """The project's first commit, so `fastgen update` has a base to merge from.

    Without git's automatic maintenance, which has nothing to do in a one-commit repository
    and would cost one more git process.
    """
    git(dest, "add", "--all")
    git(
        dest,
        *("-c", "maintenance.auto=false", "commit", "--quiet", "--no-verify"),
        *("--message", message),
        env=identity,
    )


def _uv_lock(uv: str) -> list[str]:
    """`uv lock` with this Python named: uv then skips looking for an interpreter.

    The lock is universal (the same whichever Python satisfies `requires-python`, which this
    one does: the template's floor is fastgen's own), and the search is what `uv lock` spends
    most of its time on, e.g. 0.15 of 0.2 s behind a pyenv shim.
    """
    return [uv, "lock", "--quiet", *(["--python", sys.executable] if sys.executable else [])]


class UvLock:
    """`uv lock` of a new project from the warm cache (offline), in the background.

    It needs only pyproject.toml, so it starts as soon as that file is written and runs
    while the rest renders and git initialises the repository; `finish` waits for it.
    """

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        uv = shutil.which("uv")
        if self.process is not None or uv is None or not (self.dest / "pyproject.toml").is_file():
            return
        try:
            self.process = subprocess.Popen(
                [*_uv_lock(uv), "--offline"],  # finish retries without --offline
                cwd=self.dest,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:  # e.g. a broken uv on PATH: the summary says there is no lock
            return

    def start_after(self, path: str) -> None:
        """`render`'s `written` callback."""
        if path == "pyproject.toml":
            self.start()

    def cancel(self) -> None:
        """Stop it before DEST is cleaned up, so that it writes nothing there afterwards."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()

    def finish(self) -> bool:
        """Whether uv.lock was written: offline, else from the index.

        Quiet either way: the summary says when no lock could be written.
        """
        if self.process is None:
            return False
        try:
            if self.process.wait(timeout=120) == 0:
                return True
            uv = shutil.which("uv") or "uv"
            done = subprocess.run(_uv_lock(uv), cwd=self.dest, capture_output=True, timeout=120)
        except (subprocess.TimeoutExpired, OSError):
            self.process.kill()
            return False
        return done.returncode == 0


def _display(path: Path) -> str:
    """`path` relative to the working directory when inside it, else absolute, normalised."""
    try:
        resolved = path.resolve()
        relative = resolved.relative_to(Path.cwd().resolve())
    except ValueError:
        return str(resolved)
    except OSError:
        # The working directory is gone.
        return str(path)
    return str(relative) if str(relative) != "." else "."


def _make_targets(dest: Path) -> set[str]:
    makefile = dest / "Makefile"
    if not makefile.is_file():
        return set()
    lines = makefile.read_text(encoding="utf-8").splitlines()
    return {line.split(":", 1)[0].strip() for line in lines if line[:1].isalpha() and ":" in line}


def _shown(value: Any) -> str:
    """An answer as `--data` takes it back: a switch is `true` or `false`."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def summary(dest: Path, answers: dict[str, Any], repo: Path | None, locked: bool) -> str:
    shown = " ".join(
        f"{q.name}={_shown(answers[q.name])}" for q in flag_questions() if q.name in answers
    )
    lines = [f"Created {answers.get('project_name', dest.name)} in {_display(dest)}", f"  {shown}"]
    if repo is not None:
        lines.append(
            f"  inside the git repository {_display(repo)}: no `git init`; commit it there "
            f"(git add {_display(dest)} && git commit) before `fastgen update`"
        )
    if not locked:
        lines.append(
            "  no uv.lock: uv could not resolve the dependencies; run `uv lock`, commit it"
        )
    targets = _make_targets(dest)
    steps = [f"cd {_display(dest)}"] + [f"make {t}" for t in NEXT_TARGETS if t in targets]
    if "worker" in targets:
        steps.append("make worker   # in a second terminal")
    lines += ["Next:", *(f"  {step}" for step in steps)]
    return "\n".join(lines)


def _ask_name(interactive: bool) -> str:
    if not interactive:
        raise FastgenError('a project name is required: fastgen new "Acme Orders API"')
    return str(typer.prompt("Project name (e.g. Acme Orders API)"))


@with_choice_flags
def new(
    project_name: Annotated[
        str | None,
        typer.Argument(
            metavar="PROJECT_NAME",
            help='Human name, e.g. "Acme Orders API" (asked for when omitted).',
        ),
    ] = None,
    dest: Annotated[
        Path | None,
        typer.Argument(
            metavar="DEST",
            help="Directory to create. [default: ./PROJECT_SLUG]",
            show_default=False,
        ),
    ] = None,
    *,
    defaults: Annotated[
        bool,
        typer.Option("--defaults", "-y", help="Use defaults for unanswered questions; no prompts."),
    ] = False,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            metavar="KEY=VALUE",
            help="Answer any question (repeatable).",
            autocompletion=complete_data,
        ),
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
        typer.Option(
            "--vcs-ref", metavar="REF", help="Template version (git ref) to generate from."
        ),
    ] = None,
    no_git: Annotated[
        bool,
        typer.Option(
            "--no-git",
            help="Do not git init and commit the new project (never done inside another "
            "git work tree).",
        ),
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
    interactive = not defaults and _stdin_is_interactive()
    answers: dict[str, Any] = parse_data(data)
    for key, value in choices.items():
        if value is None:
            continue
        if key in answers and answers[key] != value:
            raise FastgenError(
                f"{key} is given both as a flag ({value}) and with --data ({answers[key]})"
            )
        answers[key] = value
    if project_name is None:
        project_name = answers.get("project_name") or _ask_name(interactive)
    if answers.setdefault("project_name", project_name) != project_name:
        raise FastgenError("project_name is given both as the argument and with --data")

    team = load_preset(preset) if preset else None
    suggested: dict[str, Any] = {}  # prompt defaults: the preset's open answers
    if team is not None:
        team.refuse_changes(answers)
        answers |= team.locked_answers
        suggested = team.open_answers
        template = template or team.template
        vcs_ref = vcs_ref or team.vcs_ref
    if template is None:
        check_answers({**suggested, **answers})
        answers |= check_names({**suggested, **answers})
    else:
        answers["project_slug"] = str(
            answers.get("project_slug") or render_default("project_slug", answers)
        )
    target = (dest or Path(answers["project_slug"])).absolute()
    check_dest(target)
    suggested = {**author_defaults(target), **suggested}

    if not defaults and not interactive:
        note("stdin is not a terminal: using defaults for unanswered questions (as --defaults)")

    if template is not None and not _is_git_url(template):
        if not Path(template).is_dir():
            raise FastgenError(f"template {template} is not a directory or a git URL")
        template = str(Path(template).resolve())  # the answers file records the path as given
        if not (Path(template) / ".git").exists():
            note(f"{template} is not a git repository: the project cannot be updated from it")
    if shutil.which("git") is None:
        raise FastgenError(
            "git is not installed: fastgen needs it to generate and later update projects"
        )

    options: dict[str, Any] = {
        "dest": target,
        "data": answers,
        "user_defaults": suggested,
        "defaults": not interactive,
    }
    lock = UvLock(target)
    created = _first_missing(target)
    try:  # any failure or interrupt, up to the summary, leaves DEST as it was
        if template is None and not interactive and vcs_ref in (None, installed_version()):
            answers_file = generate_bundled(
                dest=target, data=answers, user_defaults=suggested, lock=lock
            )
        elif template is None:
            with bundled_template() as bundled, copier_git(bundled.git_env()):
                if vcs_ref and vcs_ref not in bundled.versions:
                    raise FastgenError(
                        f"unknown template version {vcs_ref!r}; this fastgen has: "
                        f"{', '.join(bundled.versions)}"
                    )
                answers_file = generate(
                    src=bundled.url, vcs_ref=vcs_ref or bundled.version, unsafe=True, **options
                )
        else:
            answers_file = generate(src=template, vcs_ref=vcs_ref, unsafe=trust, **options)
        lock.start()  # after Copier's render; the fast render started it already
        recorded = yaml.safe_load(answers_file.read_text(encoding="utf-8")) or {}
        repo = enclosing_repo(target)
        commit = not no_git and repo is None
        if commit:  # while uv locks
            git_init(target)
            identity = commit_identity(target, recorded)
        locked = lock.finish()  # the commit includes uv.lock
        if commit:
            initial_commit(target, identity, f"Generate {project_name} with fastgen {__version__}")
        typer.echo(summary(target, recorded, repo, locked))
    except subprocess.CalledProcessError as err:  # the project is complete: keep it
        lock.cancel()
        raise FastgenError(
            f"the project was generated in {target} but git failed: {err.stderr or err}",
            FAILURE,
        ) from err
    except BaseException:
        lock.cancel()
        _clean(target, created)
        raise


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
    """Run Copier. Returns the answers file."""
    import copier  # lazy: it costs ~0.6 s and completion re-runs the CLI

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
    return dest / worker.answers_relpath


def generate_bundled(
    *, dest: Path, data: dict[str, Any], user_defaults: dict[str, Any], lock: UvLock
) -> Path:
    """The bundled template's current version, rendered without Copier (see fastgen.render).

    Only for a run that prompts for nothing: the same files and answers file as `copier copy`
    from the canonical URL, in a fraction of the time. `lock` starts once pyproject.toml is
    written. Returns the answers file.
    """
    from fastgen import source
    from fastgen.render import render

    with render_errors(TEMPLATE_URL):
        return render(
            source.template_root(),
            dest,
            data=data,
            user_defaults=user_defaults,
            src_path=TEMPLATE_URL,
            commit=str(installed_version()),
            written=lock.start_after,
        )
