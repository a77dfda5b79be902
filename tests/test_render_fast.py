"""`fastgen new` and `fastgen add resource` render without Copier, and write exactly what
`copier copy` writes.

For each case, `fastgen new --defaults` (with Copier's own `run_copy` made unavailable, so
the fast path is the one taken) is compared with `copier.run_copy` of the bundled template
from the canonical URL, given only the user's answers, as a team using plain Copier would
run it: every path, file or folder, executable bit and byte must match. The one random
answer, `secret_key`, is passed to Copier as the fast render chose it.

Likewise the resource that `fastgen add resource` renders (its answers built from `--field`
specs and the project's resources, as the command builds them) is compared with
`copier.run_copy` of the bundled resource template with the same answers and answers file.
"""

from __future__ import annotations

import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import Result

import fastgen.add
import fastgen.new
from fastgen.add import BUILT_IN, RESOURCE_ANSWERS, resolve_references
from fastgen.fields import parse_fields
from fastgen.resource_source import resource_template
from fastgen.source import bundled_template, copier_git

CASES = {
    "defaults": ("Gen Bench", {}),
    "mysql-none-celery-rabbitmq": (
        "Orders",
        {"database": "mysql", "cache": "none", "tasks": "celery", "broker": "rabbitmq"},
    ),
    "sqlite-redis-arq-py3.11": (
        "Acme Orders API",
        {"database": "sqlite", "tasks": "arq", "python_version": "3.11"},
    ),
    "postgresql-none-celery-redis-accents": (
        "Café Straße",
        {"cache": "none", "tasks": "celery", "author_email": "ops@example.org"},
    ),
    "mysql-redis-arq-oidc": ("Orders", {"database": "mysql", "tasks": "arq", "auth": "oidc"}),
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
    # No git identity: `fastgen new` would default the authors to it, and plain Copier does not.
    (tmp_path / "gitconfig").write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
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


CUSTOMERS = {"singular": "customer", "table": "customers", "route": "/customers"}
RESOURCE_CASES = {
    "postgresql-strings": (
        "postgresql",
        ("customers", "customer", "customers", "/customers"),
        ["name:str:unique", "email:str:120", "note:text?", "vip:bool"],
        {},
    ),
    "mysql-every-type-and-references": (
        "mysql",
        ("kitchen_sinks", "kitchen_sink", "kitchen_sinks", "/kitchen-sinks"),
        [
            *("title:str:120:unique", "body:text?", "quantity:int:index", "big_number:bigint?"),
            *("price:decimal:10,3", "ratio:float?", "active:bool", "due_on:date?"),
            *("seen_at:datetime:index", "token:uuid:unique", "settings_blob:json?"),
            *("buyer:ref:customers", "seller:ref:customers?", "item:ref?"),
        ],
        {"customers": CUSTOMERS, **BUILT_IN},
    ),
    "sqlite-one-reference": (
        "sqlite",
        ("orders", "order", "shop_orders", "/shop/orders"),
        ["customer:ref", "total:decimal", "shipped_at:datetime?"],
        {"customers": CUSTOMERS},
    ),
}


@pytest.mark.parametrize("case", RESOURCE_CASES)
def test_add_resource_matches_copier_copy(case: str, tmp_path: Path) -> None:
    import copier

    database, (plural, singular, table, route), specs, existing = RESOURCE_CASES[case]
    fields = resolve_references(parse_fields(specs), existing)
    data = {
        "package_name": "shop",
        "database": database,
        **{"plural": plural, "singular": singular, "table": table, "route": route},
        "fields": [field.answer() for field in fields],
        "revision": "0002",
        "down_revision": "0001",
        "created": "2026-12-01",
    }
    answers_file = RESOURCE_ANSWERS.format(plural)
    fast = tmp_path / "fast" / "resource"  # the same folder name: `_folder_name` is in the context
    fastgen.add.render(data, answers_file, fast)

    plain = tmp_path / "plain" / "resource"
    with resource_template() as source, copier_git(source.git_env()):
        copier.run_copy(
            source.url,
            plain,
            data=data,
            answers_file=answers_file,
            vcs_ref=source.version,
            defaults=True,
            unsafe=True,
            quiet=True,
        )

    expected, got = tree(plain), tree(fast)
    assert sorted(got) == sorted(expected)
    assert [path for path in expected if expected[path] != got[path]] == []
    recorded = yaml.safe_load((fast / answers_file).read_text())
    assert recorded["_src_path"] == source.url
    assert recorded["_commit"] == source.version


@pytest.mark.parametrize("case", ["defaults", "mysql-none-celery-rabbitmq", "resource"])
def test_precompiled_templates_render_the_same_files(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wheel's precompiled templates (hatch_build.py) render what the sources render, and
    with them nothing is compiled at run time."""
    import fastgen.render
    from fastgen.resource_source import RESOURCE_URL, resource_root
    from fastgen.source import TEMPLATE_URL, template_root

    if case == "resource":
        source, url, answers_file = resource_root(), RESOURCE_URL, ".copier-answers.resource-x.yml"
        fields = resolve_references(parse_fields(["buyer:ref:items", "name:str"]), BUILT_IN)
        data: dict[str, Any] = {
            **{"package_name": "shop", "database": "sqlite", "plural": "orders"},
            **{"singular": "order", "fields": [f.answer() for f in fields]},
            **{"revision": "0002", "down_revision": "0001", "created": "2026-12-01"},
        }
    else:
        name, answers = CASES[case]
        source, url, answers_file = template_root(), TEMPLATE_URL, None
        data = {"project_name": name, **answers, "secret_key": "not-random"}
    copy = tmp_path / "copy"  # the template alone, as a wheel lays it out
    copy.mkdir()
    for name in ("copier.yml", "profiles.yml"):
        if (source / name).is_file():
            shutil.copy(source / name, copy)
    for folder in ("template", "includes", "resource"):
        if (source / folder).is_dir():
            shutil.copytree(source / folder, copy / folder)
    assert fastgen.render.compile_templates(copy, copy / "compiled") > 0

    compiled_at_run_time: list[str] = []
    real_get_source = fastgen.render._Loader.get_source

    def get_source(loader: Any, environment: Any, template: str) -> Any:
        if Path(loader.searchpath[0]) == copy:
            compiled_at_run_time.append(template)
        return real_get_source(loader, environment, template)

    monkeypatch.setattr(fastgen.render._Loader, "get_source", get_source)
    trees = []
    for root in (source, copy):
        dest = tmp_path / str(root == copy) / "project"
        fastgen.render.render(
            root,
            dest,
            data=data,
            user_defaults={},
            src_path=url,
            commit="0.1.0",
            answers_file=answers_file,
        )
        trees.append(tree(dest))
    assert trees[0] == trees[1]
    assert compiled_at_run_time == []
