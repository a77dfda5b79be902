"""Where the template lives, and how Copier reaches it.

An installed wheel carries `copier.yml` and `template/` under `fastgen/_template/`
(see the hatch force-include in pyproject.toml), plus `template.bundle`: a git bundle
of the template's history with one tag per version (built by hatch_build.py). A
development checkout has neither, so it uses the repository root holding this
package and builds the bundle on the fly from the repository's git.

Projects record the canonical `TEMPLATE_URL` and a version tag, never a local path.
At run time git is told, through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/
`GIT_CONFIG_VALUE_n`, that the canonical URL is the local bundle (`insteadOf`), so
`fastgen new` and `fastgen update` work offline and on any teammate's machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastgen.bundle import MANIFEST, build_bundle, git
from fastgen.errors import FastgenError

FAILURE = 1  # exit status of a run that failed (2, the default, is bad input)
ANSWERS_FILE = ".copier-answers.yml"
TEMPLATE_URL = "https://github.com/fastgen-copier/fastgen.git"

_PACKAGE_DIR = Path(__file__).resolve().parent
_INSTALLED = _PACKAGE_DIR / "_template"


@cache
def template_root() -> Path:
    """The directory holding `copier.yml` (and `template/`) that this fastgen ships."""
    for candidate in (_INSTALLED, _PACKAGE_DIR.parent.parent):
        if (candidate / "copier.yml").is_file() and (candidate / "template").is_dir():
            return candidate
    raise RuntimeError(f"fastgen is installed without its template (looked next to {_PACKAGE_DIR})")


def copier_yml() -> Path:
    return template_root() / "copier.yml"


@dataclass(frozen=True)
class BundledTemplate:
    """The template as Copier sees it: canonical URL, version tag, local bundle."""

    url: str
    version: str
    versions: tuple[str, ...]
    bundle: Path

    def git_env(self) -> dict[str, str]:
        """Git config, through the environment, mapping the canonical URL to the bundle."""
        count = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)
        return {
            "GIT_CONFIG_COUNT": str(count + 1),
            f"GIT_CONFIG_KEY_{count}": f"url.{self.bundle}.insteadOf",
            f"GIT_CONFIG_VALUE_{count}": self.url,
        }


def _manifest(directory: Path) -> dict[str, object]:
    data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def installed_version() -> str | None:
    """The template version this fastgen generates, without touching git (fast)."""
    if (_INSTALLED / MANIFEST).is_file():
        return str(_manifest(_INSTALLED)["version"])
    import tomllib

    pyproject = template_root() / "pyproject.toml"
    if not pyproject.is_file():
        return None
    return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])


@contextmanager
def bundled_template() -> Iterator[BundledTemplate]:
    """The bundled template; in a development checkout, a bundle built for this run."""
    if (_INSTALLED / "template.bundle").is_file():
        manifest = _manifest(_INSTALLED)
        yield _describe(manifest, _INSTALLED / "template.bundle")
        return
    with tempfile.TemporaryDirectory(prefix="fastgen-dev-bundle-") as tmp:
        bundle = Path(tmp) / "template.bundle"
        yield _describe(build_bundle(template_root(), bundle), bundle)


def _describe(manifest: dict[str, object], bundle: Path) -> BundledTemplate:
    versions = manifest.get("versions", [])
    return BundledTemplate(
        url=TEMPLATE_URL,
        version=str(manifest["version"]),
        versions=tuple(str(v) for v in versions) if isinstance(versions, list) else (),
        bundle=bundle,
    )


@contextmanager
def copier_git(env: dict[str, str]) -> Iterator[None]:
    """Run Copier with `env` in its git calls and a private, throwaway mirror cache.

    Copier runs git through plumbum, whose environment is a snapshot taken at import,
    so both it and `os.environ` get the variables. The private cache keeps Copier's
    mirror of the canonical URL from outliving the bundle it was cloned from.
    """
    from plumbum import local

    with tempfile.TemporaryDirectory(prefix="fastgen-copier-cache-") as cache_dir:
        values = {**env, "COPIER_CACHE_DIR": cache_dir}
        saved = {key: os.environ.get(key) for key in values}
        os.environ.update(values)
        try:
            with local.env(**values):
                yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@contextmanager
def render_errors(src: str) -> Iterator[None]:
    """Turn a render's failures into FastgenError (2: bad input, 1: the run failed)."""
    from jinja2 import TemplateError

    try:
        yield
    except ValueError as err:
        raise FastgenError(str(err)) from err  # Copier's validator and choice messages
    except TemplateError as err:
        raise FastgenError(f"the template {src} failed to render: {err}", FAILURE) from err
    except OSError as err:  # plumbum's failed git runs are OSErrors too, without a file name
        if err.filename is None:
            raise FastgenError(f"the template {src} could not be run: {err}", FAILURE) from err
        raise FastgenError(f"cannot write {err.filename}: {err.strerror or err}") from err


@contextmanager
def copier_errors(src: str) -> Iterator[None]:
    """Copier's own failures as FastgenError, and the rest as `render_errors` does."""
    from copier.errors import InteractiveSessionError, UnsafeTemplateError, UserMessageError

    try:
        with render_errors(src):
            yield
    except InteractiveSessionError as err:  # end of input (Ctrl-D) at a prompt
        raise FastgenError(
            "no answer (end of input at a prompt); nothing was written. Answer with flags or "
            "--data KEY=VALUE, or use --defaults"
        ) from err
    except UnsafeTemplateError as err:
        raise FastgenError(f"{err}; pass --trust if you trust {src}") from err
    except UserMessageError as err:
        raise FastgenError(str(err), FAILURE) from err


def version_key(text: str) -> Any:
    """A comparable PEP 440 version, or None when `text` is not one."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text)
    except InvalidVersion:
        return None


def newest_tag(src: str) -> str | None:
    """The newest PEP 440 version tag of a git template source (a fork), or None if it has none.

    A source that cannot be reached (a URL that does not resolve, a path that is gone, a
    repository that asks for credentials) is a FastgenError (exit 1) saying so: never a guess.
    """
    try:
        listing = git(
            Path.cwd(), "ls-remote", "--tags", "--refs", src, env={"GIT_TERMINAL_PROMPT": "0"}
        )
    except (subprocess.CalledProcessError, OSError) as err:
        said = getattr(err, "stderr", None) or str(err)
        reason = said.strip().splitlines()[-1] if said.strip() else "git ls-remote failed"
        raise FastgenError(f"cannot reach the template source {src} ({reason})", FAILURE) from err
    tags = [line.rsplit("refs/tags/", 1)[-1] for line in listing.splitlines()]
    versions = [(key, tag) for tag in tags if (key := version_key(tag)) is not None]
    return max(versions)[1] if versions else None
