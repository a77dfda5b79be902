"""Build a git bundle of the template's history with one tag per released version.

Used at wheel-build time (hatch_build.py, which loads this file by path, so it must
stay standard-library only) and, in a development checkout, at run time.

Copier needs a project's old template version to be reachable by ref. Git tags may
not travel with the repository (only the branch is sure to), so the refs are derived
from history instead: for every `version` that pyproject.toml has held, the tag
`<version>` points at the newest commit that still had it. The working tree's
template is the current version: when it differs from HEAD, a commit of it is made
(with a private index, on no branch, leaving the repository's index and refs alone).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

# What a template version is made of (relative to the repository root).
TEMPLATE_PATHS = ("copier.yml", "profiles.yml", "template", "resource", "pyproject.toml")
MANIFEST = "bundle.json"


def git(repo: Path, *args: str, env: dict[str, str] | None = None, strip: bool = True) -> str:
    """git's output, stripped unless `strip` is False (a status line may begin with a space)."""
    result = subprocess.run(
        ["git", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    return result.stdout.strip() if strip else result.stdout


def _version_of(pyproject_text: str) -> str | None:
    try:
        version = tomllib.loads(pyproject_text).get("project", {}).get("version")
    except tomllib.TOMLDecodeError:
        return None
    return str(version) if version else None


def _is_git_root(path: Path) -> bool:
    try:
        top = git(path, "rev-parse", "--show-toplevel")
    except (subprocess.CalledProcessError, FileNotFoundError, NotADirectoryError):
        return False
    return Path(top).resolve() == path.resolve()


_IDENTITY = {
    "GIT_AUTHOR_NAME": "fastgen",
    "GIT_AUTHOR_EMAIL": "fastgen@localhost",
    "GIT_COMMITTER_NAME": "fastgen",
    "GIT_COMMITTER_EMAIL": "fastgen@localhost",
}


def _working_tree_commit(repo: Path, head: str | None) -> str:
    """A commit of the working tree's template paths on top of HEAD (HEAD if unchanged)."""
    with tempfile.TemporaryDirectory(prefix="fastgen-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), **_IDENTITY}
        if head:
            git(repo, "read-tree", head, env=env)
        paths = [p for p in TEMPLATE_PATHS if (repo / p).exists()]
        git(repo, "add", "--all", "--", *paths, env=env)
        tree = git(repo, "write-tree", env=env)
    if head and tree == git(repo, "rev-parse", f"{head}^{{tree}}"):
        return head
    parent = ["-p", head] if head else []
    return git(
        repo, "commit-tree", tree, *parent, "-m", "fastgen: working tree template", env=_IDENTITY
    )


def version_refs(repo: Path, tip: str) -> dict[str, str]:
    """{version: newest commit that had it}, from pyproject.toml along first-parent history."""
    log = git(repo, "log", "--first-parent", "--format=%H", tip, "--", "pyproject.toml")
    changes: list[tuple[str, str | None]] = []
    for commit in log.splitlines():
        try:
            text = git(repo, "show", f"{commit}:pyproject.toml")
        except subprocess.CalledProcessError:  # removed in this commit
            text = ""
        changes.append((commit, _version_of(text)))
    refs: dict[str, str] = {}
    newest = tip  # the newest commit of the stretch of history being walked
    for index, (commit, version) in enumerate(changes):
        older = changes[index + 1][1] if index + 1 < len(changes) else None
        if version != older:  # `commit` is where `version` began
            if version:
                refs.setdefault(version, newest)
            newest = f"{commit}^"
    return {version: git(repo, "rev-parse", ref) for version, ref in refs.items()}


def _standalone_repo(root: Path, workdir: Path) -> Path:
    """A one-commit repository of the template files, for a source tree without git."""
    repo = workdir / "standalone"
    repo.mkdir()
    git(repo, "init", "--quiet")
    git(
        repo,
        "--work-tree",
        str(root),
        "add",
        "--all",
        "--",
        *[p for p in TEMPLATE_PATHS if (root / p).exists()],
    )
    tree = git(repo, "write-tree")
    commit = git(repo, "commit-tree", tree, "-m", "fastgen template", env=_IDENTITY)
    git(repo, "update-ref", "HEAD", commit)
    return repo


def build_bundle(root: Path, out: Path) -> dict[str, object]:
    """Write `out` (a git bundle) and `out.parent / bundle.json`; return the manifest.

    The manifest records the current `version` (the ref to generate from) and every
    version tag the bundle holds.
    """
    root = root.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    current = _version_of((root / "pyproject.toml").read_text(encoding="utf-8"))
    if not current:
        raise RuntimeError(f"{root / 'pyproject.toml'} has no [project] version")
    with tempfile.TemporaryDirectory(prefix="fastgen-bundle-") as tmp:
        repo = root if _is_git_root(root) else _standalone_repo(root, Path(tmp))
        if repo == root and git(repo, "rev-parse", "--is-shallow-repository") == "true":
            # A shallow clone cannot be bundled; ship the current version alone.
            print(
                f"fastgen: {root} is a shallow clone, so the template bundle holds only version "
                f"{current}; `git fetch --unshallow` to let updates start from older versions",
                file=sys.stderr,
            )
            repo = _standalone_repo(root, Path(tmp))
        try:
            head: str | None = git(repo, "rev-parse", "--verify", "--quiet", "HEAD")
        except subprocess.CalledProcessError:
            head = None
        tip = _working_tree_commit(repo, head) if repo == root else str(head)
        refs = version_refs(repo, tip)
        refs[current] = tip
        # Assemble the refs in a scratch bare repository borrowing the objects.
        scratch = Path(tmp) / "scratch.git"
        git(Path(tmp), "init", "--quiet", "--bare", str(scratch))
        common = Path(git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir"))
        (scratch / "objects" / "info" / "alternates").write_text(f"{common / 'objects'}\n")
        git(scratch, "update-ref", "refs/heads/main", tip)
        git(scratch, "symbolic-ref", "HEAD", "refs/heads/main")
        for version, commit in refs.items():
            git(scratch, "update-ref", f"refs/tags/{version}", commit)
        git(scratch, "bundle", "create", "--quiet", str(out.resolve()), "HEAD", "--all")
    manifest: dict[str, object] = {"version": current, "versions": sorted(refs)}
    (out.parent / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def build_subtree_bundle(source: Path, subdir: str, out: Path) -> None:
    """Write `out`: the bundle `source` with each version tag re-rooted at `subdir`.

    A template kept in a sub-directory of this repository (the resource template)
    becomes a template of its own, with the same versions, so Copier can copy and
    update from it like from the main one.
    """
    with tempfile.TemporaryDirectory(prefix="fastgen-subtree-") as tmp:
        repo = Path(tmp) / "subtree.git"
        git(Path(tmp), "clone", "--quiet", "--bare", str(source.resolve()), str(repo))
        head = git(repo, "rev-parse", "HEAD")
        for ref in git(repo, "for-each-ref", "--format=%(refname)").splitlines():
            commit = git(repo, "rev-parse", f"{ref}^{{commit}}")
            try:
                tree = git(repo, "rev-parse", "--verify", "--quiet", f"{commit}:{subdir}")
            except subprocess.CalledProcessError:  # a version from before `subdir` existed
                git(repo, "update-ref", "-d", ref)
                continue
            message = f"fastgen: {subdir}/ of {commit}"
            rooted = git(repo, "commit-tree", tree, "-m", message, env=_IDENTITY)
            git(repo, "update-ref", ref, rooted)
            if commit == head:
                git(repo, "update-ref", "HEAD", rooted)
        git(repo, "bundle", "create", "--quiet", str(out.resolve()), "HEAD", "--all")
