"""Render the bundled template the way `copier copy` does, without Copier's machinery.

`copier.run_copy` of the bundled template, non-interactive, spends most of its time on work
whose result is known in advance (measured in bench/README.md):

- importing Copier, which imports questionary and prompt_toolkit even when nothing is asked;
- `git clone --mirror` of the bundle, `git worktree add`, and submodule sync and update, only
  to check out files that are already installed next to this module;
- one `git config --get core.fileMode` per rendered file (47), which only matters on a
  destination that is already a git repository with `core.fileMode=false`: a new project
  is not in one yet (`git init` runs afterwards), and a monorepo's `git add` records the mode;
- compiling every file and every path segment as a Jinja template on every run.

This module answers copier.yml's questions with Copier's rules (data, then the preset's
defaults, then the rendered default; typed, checked against the choices and validated) and
renders `template/` with the Jinja settings Copier uses, caching compiled templates between
runs. `fastgen new` uses it for its own bundled template when nothing is prompted, and
`fastgen add resource` for the bundled resource template; any other template, version or an
interactive session goes through Copier. tests/test_render_fast.py proves the output
byte-identical to `copier.run_copy` of each bundle for several answers.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path, PurePath
from typing import Any

import jinja2
import yaml
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    ModuleLoader,
    meta,
)
from jinja2.sandbox import SandboxedEnvironment

# Copier's defaults for what copier.yml leaves unset.
_ANSWERS_FILE = ".copier-answers.yml"
_SUFFIX = ".jinja"
# Precompiled templates in a wheel (see compile_templates), and what they were compiled with.
_COMPILED = "compiled"
_MANIFEST = "versions.json"
_FILTERS_DIST = "jinja2-ansible-filters"
# The question settings this renderer follows; `help` and `multiline` only shape a prompt.
_QUESTION_KEYS = {"type", "help", "default", "choices", "when", "validator", "multiline"}


def _bool(value: Any) -> bool:
    """Copier's `cast_to_bool`."""
    try:
        return bool(float(value))
    except (TypeError, ValueError):
        pass
    if isinstance(value, str):
        lower = value.strip().lower()
        if not lower:
            return False
        if lower in {"y", "yes", "t", "true", "on"}:
            return True
        if lower in {"n", "no", "f", "false", "off", "~", "null", "none"}:
            return False
    return bool(value)


def _str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"Could not convert {value} to string")


def _yaml(text: Any) -> Any:
    """Copier's yaml.safe_load, with libyaml where it is built: profiles.yml is an answer."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


_CAST: dict[str, Any] = {
    "bool": _bool,
    "float": float,
    "int": int,
    "json": json.loads,
    "str": _str,
    "yaml": _yaml,
    "path": str,
}


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fastgen" / "jinja"


class _Loader(FileSystemLoader):
    """The template's files, and the strings copier.yml and path names hold, by name.

    Loading the strings by name (`string:<sha1>`) lets the bytecode cache keep them too:
    there are more of them (defaults, validators, path segments) than files.
    """

    def __init__(self, root: Path) -> None:
        super().__init__([str(root)])
        self.strings: dict[str, str] = {}

    def get_source(self, environment: Environment, template: str) -> Any:
        text = self.strings.get(template)
        if text is not None:
            return text, None, lambda: True
        return super().get_source(environment, template)


def _compiler_versions() -> dict[str, str]:
    """What compiled templates depend on besides their sources: Jinja, and the filters'
    signatures (Jinja decides at compile time what a filter is passed)."""
    from importlib.metadata import version

    return {"jinja2": jinja2.__version__, "jinja2-ansible-filters": version(_FILTERS_DIST)}


def _precompiled(root: Path) -> ModuleLoader | None:
    """The templates `compile_templates` wrote in `root` (a wheel's), if this Jinja runs them."""
    directory = root / _COMPILED
    try:
        manifest = json.loads((directory / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return ModuleLoader(directory) if manifest == _compiler_versions() else None


def _jinja(root: Path, envops: Mapping[str, Any], **options: Any) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"], **envops, **options
    )


@cache
def _environment(
    root: Path, envops: tuple[tuple[str, Any], ...]
) -> tuple[SandboxedEnvironment, _Loader]:
    """Copier's Jinja environment for `root`, and its loader of files and strings.

    Templates come precompiled from the wheel when it has them, else from a bytecode cache
    keyed by each template's name and a checksum of its source, so an edited template is
    recompiled; without a writable cache directory that cache is simply not used.
    """
    bytecode_cache = None
    directory = _cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if os.access(directory, os.W_OK):
            bytecode_cache = FileSystemBytecodeCache(str(directory))
    except OSError:
        pass
    files = _Loader(root)
    precompiled = _precompiled(root)
    loader = files if precompiled is None else ChoiceLoader([precompiled, files])
    env = _jinja(root, dict(envops), loader=loader, bytecode_cache=bytecode_cache)
    return env, files


def _plain(env: Environment, text: str) -> bool:
    """Whether `text` holds no Jinja syntax, so that it renders to itself.

    Most strings Copier renders are such: path segments ("src", "main.py"), types, choices.
    A newline is left to Jinja (it normalises them), as are line statements and comments.
    """
    markers = (env.block_start_string, env.variable_start_string, env.comment_start_string)
    return (
        env.line_statement_prefix is None
        and env.line_comment_prefix is None
        and "\n" not in text
        and "\r" not in text
        and not any(marker in text for marker in markers)
    )


def _envops(config: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    envops = {"keep_trailing_newline": True, **(config.get("_envops") or {})}  # Copier's
    return tuple(sorted(envops.items()))


class _Renderer:
    def __init__(self, root: Path, config: Mapping[str, Any]) -> None:
        self.root = root
        self.config = config
        self.env, self.loader = _environment(root, _envops(config))
        self._strings: dict[str, Any] = {}

    def string(self, text: str, context: Mapping[str, Any]) -> str:
        if _plain(self.env, text):
            return text  # what Jinja renders it to, without loading a compiled template
        template = self._strings.get(text)
        if template is None:
            name = "string:" + hashlib.sha1(text.encode()).hexdigest()
            self.loader.strings[name] = text
            template = self._strings[text] = self.env.get_template(name)
        return str(template.render(context))

    def value(self, value: Any, context: Mapping[str, Any]) -> Any:
        """Copier's `render_value`: strings are templates, lists render item by item."""
        if isinstance(value, str):
            return self.string(value, context)
        if isinstance(value, list):
            return [self.value(item, context) for item in value]
        return value


@cache
def _string_renderer(root: Path) -> _Renderer:
    return _Renderer(root, _load(root / "copier.yml"))


def render_string(copier_yml: Path, text: str, context: Mapping[str, Any]) -> str:
    """One of copier.yml's Jinja strings rendered as Copier would, compiled once (cached)."""
    return _string_renderer(copier_yml.resolve().parent).string(text, context)


def is_asked(copier_yml: Path, name: str, data: Mapping[str, Any]) -> bool:
    """Whether question `name` is asked, given `data` and the defaults of every other answer."""
    renderer = _string_renderer(copier_yml.resolve().parent)
    system = {"_folder_name": "project", "_copier_phase": "prompt"}
    _, hidden = answer_questions(renderer, data, {}, system, until=name)
    return name not in hidden


def _choices(raw: Any) -> list[Any]:
    if isinstance(raw, Mapping):
        raw = list(raw.values())
    values = []
    for item in raw or []:
        if isinstance(item, Mapping):  # {value: ..., disabled: ...} entries are not used here
            raise NotImplementedError("choice mappings")
        if isinstance(item, list) and len(item) == 2:
            item = item[1]
        values.append(item)
    return values


def answer_questions(
    renderer: _Renderer,
    data: Mapping[str, Any],
    user_defaults: Mapping[str, Any],
    system: Mapping[str, Any],
    until: str | None = None,
) -> tuple[dict[str, Any], set[str]]:
    """Every question's answer, and the hidden ones (`when` false), as `copier copy --defaults`;
    with `until`, only the questions before that one, and whether it is hidden."""
    answers: dict[str, Any] = {}
    hidden: set[str] = set()
    settings_defaults = copier_settings_defaults()
    for name, spec in renderer.config.items():
        if name.startswith("_"):
            continue
        if not isinstance(spec, Mapping):
            spec = {"default": spec}
        if set(spec) - _QUESTION_KEYS:
            raise NotImplementedError(f"question {name} uses settings this renderer does not know")
        context = {**system, **user_defaults, **data, **answers}
        type_name = spec.get("type") or type(spec.get("default")).__name__
        type_name = renderer.value(type_name, context)
        if type_name not in _CAST:
            type_name = "yaml"
        when = _bool(renderer.value(spec.get("when", True), context))
        if not when:
            hidden.add(name)
        if name == until:
            break
        if not when and "default" not in spec and name not in data:
            continue
        if name in data:
            raw = data[name]
        elif name in user_defaults:
            raw = user_defaults[name]
        elif name in settings_defaults or "default" in spec:
            raw = renderer.value(settings_defaults.get(name, spec.get("default")), context)
        else:
            raise ValueError(f'Question "{name}" is required')
        answer = _parse(name, type_name, raw, renderer.value(spec.get("choices"), context))
        if (when or name in data) and spec.get("validator"):
            message = renderer.string(spec["validator"], {**context, name: answer}).strip()
            if message:
                raise ValueError(f"Validation error for question '{name}': {message}")
        answers[name] = answer
    return answers, hidden


def _parse(name: str, type_name: str, raw: Any, choices: Any) -> Any:
    cast = _CAST[type_name]
    if raw is None and type_name not in {"json", "yaml"}:
        raise ValueError(f'Invalid answer "{raw}" to question "{name}" of type "{type_name}"')
    try:
        answer = cast(raw)
    except (TypeError, AttributeError):
        if type_name not in {"json", "yaml"}:
            raise
        answer = raw
    if choices:
        valid = [cast(choice) for choice in _choices(choices)]
        if answer not in valid:
            raise ValueError(f"Invalid choice for '{name}': {answer!r} is not in {valid}")
    return answer


def render(
    root: Path,
    dest: Path,
    *,
    data: Mapping[str, Any],
    user_defaults: Mapping[str, Any],
    src_path: str,
    commit: str,
    answers_file: str | None = None,
    written: Callable[[str], object] | None = None,
) -> Path:
    """Write the project `copier copy` would write into `dest`; returns the answers file.

    `answers_file` is Copier's option of that name (else copier.yml's, else its default).
    `written` is called with each file's path (relative, POSIX) once the file is complete;
    a folder's files come before its sub-folders, so the top-level files come first.
    Raises ValueError for an invalid answer (as Copier does) and jinja2's TemplateError
    when the template fails to render.
    """
    config = _load(root / "copier.yml")
    renderer = _Renderer(root, config)
    answers_rel = answers_file or str(config.get("_answers_file", _ANSWERS_FILE))
    suffix = str(config.get("_templates_suffix", _SUFFIX))
    conf = {"answers_file": PurePath(answers_rel), "src_path": PurePath(root), "sep": os.sep}
    system = {
        "_copier_conf": conf,
        "_folder_name": dest.name,
        "_copier_python": sys.executable,
        "_copier_phase": "prompt",
    }
    answers, hidden = answer_questions(renderer, data, user_defaults, system)
    remembered = {"_commit": commit, "_src_path": src_path}
    remembered |= {k: v for k, v in answers.items() if k not in hidden and not k.startswith("_")}
    context = {**answers, **system, "_copier_answers": remembered, "_copier_phase": "render"}

    from pathspec import PathSpec

    patterns = [renderer.string(str(p), context) for p in config.get("_exclude") or []]
    excluded = PathSpec.from_lines("gitignore", patterns).match_file
    if not config.get("_subdirectory"):  # Copier then adds default exclusions
        raise NotImplementedError("a template without _subdirectory")
    subdirectory = root / str(config["_subdirectory"])
    dest.mkdir(parents=True, exist_ok=True)
    for source in _scan(subdirectory):
        relative = source.relative_to(subdirectory)
        is_template = relative.name.endswith(suffix)
        if not is_template and (subdirectory / f"{relative}{suffix}").exists():
            continue  # the templated sibling wins
        if is_template:
            relative = relative.with_suffix("")
        parts = [renderer.string(part, context) for part in relative.parts]
        if not all(parts):
            continue  # a segment rendered empty: the file or folder is not wanted
        target_rel = Path(*parts)
        if parts[-1] == answers_rel:
            target_rel = Path(answers_rel)
        if excluded(str(target_rel)):
            continue
        target = dest / target_rel
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        if is_template:
            name = source.relative_to(root).as_posix()
            content = renderer.env.get_template(name).render(context).encode()
        else:
            content = source.read_bytes()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        mode = source.stat().st_mode
        if target.stat().st_mode != mode:
            target.chmod(mode)
        if written is not None:
            written(target_rel.as_posix())
    return dest / answers_rel


def _scan(directory: Path) -> list[Path]:
    """Paths below `directory`, each folder before its contents (as Copier's `scantree`),
    and a folder's files before its sub-folders. The order changes no output."""
    entries = sorted(os.scandir(directory), key=lambda entry: entry.is_dir())
    found: list[Path] = []
    for entry in entries:
        found.append(Path(entry.path))
        if entry.is_dir():
            found.extend(_scan(Path(entry.path)))
    return found


def compile_templates(root: Path, out: Path) -> int:
    """Compile `root`'s templates and Jinja strings into Python modules in `out`.

    The wheel ships them (hatch_build.py), so that no run compiles a template, the first one
    after an install included: `_precompiled` loads them with Jinja's ModuleLoader, by the
    same names, when the installed Jinja and filters are the ones they were compiled with.
    The strings are those `render` renders whatever the answers: question settings, `_exclude`
    patterns and path segments; the files: the template's, those in `includes` folders (the
    template's, or next to copier.yml: included by a name made at render time), those a
    copier.yml value names (imported by that value), and whatever they include or import by
    a literal name. Returns how many were compiled.
    """
    config = _load(root / "copier.yml")
    env = _jinja(root, dict(_envops(config)))
    suffix = str(config.get("_templates_suffix", _SUFFIX))
    strings: set[str] = {str(pattern) for pattern in config.get("_exclude") or []}

    def collect(value: Any) -> None:
        if isinstance(value, str):
            strings.add(value)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for name, spec in config.items():
        if not name.startswith("_"):
            spec = spec if isinstance(spec, Mapping) else {"default": spec}
            for key in ("type", "when", "default", "choices", "validator"):
                collect(spec.get(key))
    subdirectory = root / str(config["_subdirectory"])
    for path in _scan(subdirectory):
        relative = path.relative_to(subdirectory)
        strings.update((relative.with_suffix("") if path.name.endswith(suffix) else relative).parts)
    sources = {
        "string:" + hashlib.sha1(text.encode()).hexdigest(): text
        for text in strings
        if not _plain(env, text)
    }
    pending = [
        path.relative_to(root).as_posix()
        for folder in (subdirectory, root / "includes")
        for path in folder.rglob("*")
        if path.name.endswith(suffix) or (path.is_file() and "includes" in path.parts)
    ] + sorted(text for text in strings if _plain(env, text) and _is_file(root / text))
    # What copier.yml's strings include by a literal name (profiles.yml).
    pending += [
        name
        for text in sources.values()
        for name in meta.find_referenced_templates(env.parse(text))
        if name
    ]
    while pending:  # the files, and what they include or import by a literal name
        name = pending.pop()
        if name not in sources:
            sources[name] = (root / name).read_text(encoding="utf-8")
            pending += filter(None, meta.find_referenced_templates(env.parse(sources[name])))
    out.mkdir(parents=True, exist_ok=True)
    for name, text in sources.items():
        code = env.compile(text, name, raw=True, defer_init=True)
        (out / ModuleLoader.get_module_filename(name)).write_text(code, encoding="utf-8")
    (out / _MANIFEST).write_text(json.dumps(_compiler_versions()), encoding="utf-8")
    return len(sources)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # not a possible file name, such as one too long
        return False


def copier_settings_defaults() -> dict[str, Any]:
    """The answers the user's Copier settings give every template (`defaults`)."""
    return dict(_copier_settings().get("defaults") or {})


def _copier_settings() -> dict[str, Any]:
    """The user's Copier settings (`defaults` apply to every template), found as Copier does."""
    configured = os.environ.get("COPIER_SETTINGS_PATH")
    if configured:
        path = Path(configured)
    else:
        from platformdirs import user_config_path

        path = user_config_path("copier", appauthor=False) / "settings.yml"
    if not path.is_file():
        return {}
    settings = yaml.safe_load(path.read_bytes())
    if not isinstance(settings, dict) or not isinstance(settings.get("defaults", {}), dict):
        raise ValueError(f"Copier's settings file {path} is not a mapping with `defaults`")
    return settings


@cache
def _load(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    config = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    return config if isinstance(config, dict) else {}
