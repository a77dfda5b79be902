"""`fastgen add resource`: field specs, names, refusals, dry runs, the rendered code, and
(end to end) the served endpoints and an update of a project with added resources.

The matrix (tests/test_matrix.py) adds `customers` and `orders` to every combination
and runs lint, migrations both ways and the project's own tests over them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner, Result

import fastgen.source
from added_resources import CUSTOMERS, add_customers_and_orders, add_resource
from conftest import ROOT, install_wheel, user_env
from fastgen.errors import FastgenError
from fastgen.fields import Field, parse_field, parse_fields
from fastgen.migrations import head, merge_heads, next_revision
from fastgen.plurals import singular_of
from fastgen.registry_file import resources_in, with_resource
from projects import (
    DEFAULT,
    Combo,
    free_port,
    fresh_database,
    install,
    left_behind,
    removed_after,
    require_services,
    run,
    services_for,
    shared_state,
    started,
    wait_for,
)
from test_update import (
    assert_own_tests_pass,
    commit_all,
    git,
    interrupt_each,
    new_with_installed,
    set_version,
)

EVERY_TYPE = [
    "kitchen_sinks",
    *("-f", "title:str:120:unique", "-f", "body:text?", "-f", "quantity:int:index"),
    *("-f", "big_number:bigint?", "-f", "price:decimal:10,3", "-f", "ratio:float?"),
    *("-f", "active:bool", "-f", "due_on:date?", "-f", "seen_at:datetime:index"),
    *("-f", "token:uuid:unique", "-f", "settings_blob:json?"),
    *("-f", "buyer:ref:customers", "-f", "seller:ref:customers?", "-f", "item:ref?"),
]
LONG = "extraordinary_things"  # 20 characters, the most a name may have
TYPES = ("str", "text", "int", "bigint", "decimal", "float", "bool", "date", "datetime", "uuid")
TYPES_OFFERED = (*TYPES, "json", "ref")  # in the order `--field`'s help lists them
# A bool cannot be unique (two rows at most): it is indexed instead.
LONG_FIELDS = [
    f"{kind}_{'x' * 20}"[:20] + f":{kind}:{'index' if kind == 'bool' else 'unique'}"
    for kind in TYPES[2:]
] + [f"{kind}_{'y' * 20}"[:20] + f":{kind}?" for kind in (*TYPES, "json")]


def invoke(*args: str) -> Result:
    from fastgen.main import app

    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def new_project(base: Path, name: str = "Shop", *answers: str) -> Path:
    result = invoke("new", name, str(base / name.lower()), *answers, "-y")
    assert result.exit_code == 0, result.output
    return base / name.lower()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated SQLite project, committed; the refusal tests must leave it as it is."""
    return new_project(tmp_path_factory.mktemp("shop"), "Shop", "--database", "sqlite")


def unchanged(project: Path, head_before: str) -> bool:
    status = git(project, "status", "--porcelain", "--untracked-files=all")
    return status == "" and git(project, "rev-parse", "HEAD") == head_before


# --- field specs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("name:str", Field("name", "str", length=200)),
        ("name:str:120:unique", Field("name", "str", length=120, unique=True)),
        ("note:text?", Field("note", "text", optional=True)),
        ("title:str:80?:index", Field("title", "str", length=80, optional=True, index=True)),
        ("total:decimal", Field("total", "decimal", precision=12, scale=2)),
        ("rate:decimal:8,4", Field("rate", "decimal", precision=8, scale=4)),
        ("customer:ref", Field("customer", "ref")),
        ("buyer:ref:customers?", Field("buyer", "ref", optional=True, target="customers")),
        ("shipped_at:datetime?", Field("shipped_at", "datetime", optional=True)),
    ],
)
def test_field_specs(spec: str, expected: Field) -> None:
    assert parse_field(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("price:money", "unknown field type 'money'"),
        ("name:str:primary", "unknown modifier 'primary'"),
        ("name", "has no type"),
        ("Name:str", "is not an identifier"),
        ("z_:int", "is not an identifier"),
        ("a__b:int", "is not an identifier"),
        ("stored_text:str", "is reserved"),
        ("class:str", "is a Python keyword"),
        ("id:int", "is reserved"),
        ("json:json", "is reserved"),
        ("model_name:str", "is reserved"),
        ("mapped_column:date", "is reserved"),
        ("l:int", "is reserved"),
        ("order:str", "is reserved"),
        ("limit:int", "is reserved"),
        ("name:str:0", "bad str argument"),
        ("total:decimal:2,4", "scale <= precision"),
        ("body:text:unique", "cannot be unique or indexed"),
        ("name:str:index:index", "modifier 'index' is given twice"),
        ("vip:bool:unique", "a bool column cannot be unique"),
    ],
)
def test_bad_field_specs(spec: str, message: str) -> None:
    with pytest.raises(FastgenError, match=re.escape(message)):
        parse_field(spec)


def test_shell_completion_offers_field_types_then_modifiers() -> None:
    fastgen = Path(sys.executable).parent / "fastgen"

    def complete(word: str) -> list[str]:
        words = f"fastgen add resource notes --field {word}"
        env = {"_FASTGEN_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": "5"}
        done = subprocess.run(
            [fastgen], env={**user_env(), **env}, capture_output=True, text=True, check=True
        )
        return done.stdout.split()

    assert complete("due:") == [f"due:{kind}" for kind in TYPES_OFFERED]
    assert complete("due:d") == ["due:decimal", "due:date", "due:datetime"]
    assert complete("title:str:120:") == ["title:str:120:unique", "title:str:120:index"]
    assert complete("title:str:i") == ["title:str:index"]
    assert complete("ti") == []


def test_a_field_given_twice_is_refused() -> None:
    with pytest.raises(FastgenError, match="'customer_id' is given twice"):
        parse_fields(["customer:ref", "customer_id:int"])


@pytest.mark.parametrize(
    ("plural", "singular"),
    [
        ("customers", "customer"),
        ("categories", "category"),
        ("addresses", "address"),
        ("boxes", "box"),
        ("matches", "match"),
        ("cases", "case"),
        ("order_items", "order_item"),
        ("status", "status"),
        ("people", "person"),
        ("statuses", "status"),
        ("series", "series"),
        ("news", "news"),
        ("analyses", "analysis"),
        ("order_statuses", "order_status"),
    ],
)
def test_singular_rule(plural: str, singular: str) -> None:
    assert singular_of(plural) == singular


def test_start_up_imports_inflect_only_for_a_singular() -> None:
    """`fastgen add resource` pays for inflect only when it needs a singular; printed, with
    the start-up, as a measurement (typeguard's checks made inflect's import 1.3-2 s)."""
    code = (
        "import sys, time; start = time.perf_counter(); import fastgen.main; "
        "loaded = 'inflect' in sys.modules; main = time.perf_counter() - start; "
        "from fastgen.plurals import singular_of; start = time.perf_counter(); "
        "singular_of('people'); "
        "print(loaded, f'{main:.3f}', f'{time.perf_counter() - start:.3f}')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded, main, inflect = out.stdout.split()
    print(f"\nimport fastgen.main: {main} s; first singular_of (imports inflect): {inflect} s")
    assert loaded == "False"


# --- the registry and the migration head ------------------------------------------------------

DOTTED = """\
from collections.abc import Sequence

import shop.items
import shop.zebras
from shop.registry import Resource

RESOURCES: Sequence[Resource] = [
    shop.items.resource,
    shop.zebras.resource,
]
"""
FROM_IMPORT = """\
from shop import items
from shop.registry import Resource

RESOURCES = (
    items.resource,
)
"""


def test_registry_gets_the_resource_in_import_order_and_at_the_end() -> None:
    text = with_resource(DOTTED, "shop", "orders")
    assert "import shop.items\nimport shop.orders\nimport shop.zebras\n" in text
    assert resources_in(text, "shop") == ["items", "zebras", "orders"]
    text = with_resource(FROM_IMPORT, "shop", "customers")
    assert "from shop import customers, items\n" in text
    assert resources_in(text, "shop") == ["items", "customers"]


def test_registry_orders_imports_as_ruff_does() -> None:
    """Runs of digits compare as numbers, unless one has a leading zero (ruff's natord)."""
    text = DOTTED
    for name in ("x10s", "x2x_34s", "x9s", "x07fc_36s"):
        text = with_resource(text, "shop", name)
    imports = [line.removeprefix("import shop.") for line in text.splitlines()[2:8]]
    assert imports == ["items", "x07fc_36s", "x2x_34s", "x9s", "x10s", "zebras"]


def test_head_and_next_revision(tmp_path: Path) -> None:
    def migration(name: str, revision: str, down: str | None) -> None:
        body = f"revision: str = {revision!r}\ndown_revision: str | None = {down!r}\n"
        (tmp_path / name).write_text(body)

    assert head(tmp_path) is None and next_revision(tmp_path) == "0001"
    migration("0001_a.py", "0001", None)
    migration("0002_b.py", "0002", "0001")
    assert head(tmp_path) == "0002" and next_revision(tmp_path) == "0003"
    migration("abc_c.py", "abc", "0001")
    with pytest.raises(FastgenError, match=r"several heads \(0002, abc\)"):
        head(tmp_path)


def test_an_update_that_leaves_two_heads_gets_a_merge_revision(tmp_path: Path) -> None:
    """Items' later revision and an added resource's both follow 0001: one revision merges
    them, so that `alembic upgrade head` has one head, and the next resource follows it."""
    for name, revision, down in [
        ("0001_create_items.py", "0001", None),
        ("0001_status_index.py", "0001_status_index", "0001"),
        ("0002_create_customers.py", "0002", "0001"),
    ]:
        body = f"revision: str = {revision!r}\ndown_revision: str | None = {down!r}\n"
        (tmp_path / name).write_text(body)

    merge = merge_heads(tmp_path, "2026-12-05")

    assert merge is not None and merge.name == "0003_merge_heads.py"
    assert 'down_revision: str | Sequence[str] | None = ("0001_status_index", "0002")' in (
        merge.read_text()
    )
    assert head(tmp_path) == "0003" and next_revision(tmp_path) == "0004"
    assert merge_heads(tmp_path, "2026-12-05") is None
    ruff = Path(sys.executable).parent / "ruff"
    lint = ["--no-cache", "--line-length", "100"]
    run([ruff, "check", *lint, "--select", "E,F,W,I,UP,B", str(merge)], tmp_path)
    run([ruff, "format", *lint, "--check", str(merge)], tmp_path)


# --- the command: refusals leave the project untouched ----------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["items", "-f", "name:str"], "resource 'items' exists already"),
        (["lambda", "-f", "name:str"], "resource name 'lambda' is a Python keyword"),
        (["classes", "-f", "name:str"], "singular name 'class' is a Python keyword"),
        (["settings", "-f", "name:str"], "would shadow the module shop.settings"),
        (["registry", "-f", "name:str"], "would shadow the module shop.registry"),
        (["Bad-Name", "-f", "name:str"], "resource name 'Bad-Name' is not an identifier"),
        (["notes", "-f", "body:markdown"], "unknown field type 'markdown'"),
        (["notes", "-f", "body:str:primary"], "unknown modifier 'primary'"),
        (["notes", "-f", "name:str:unique:unique"], "modifier 'unique' is given twice"),
        (["tests", "-f", "name:str"], "would shadow the project's tests/ directory"),
        (["migrations", "-f", "name:str"], "would shadow the project's migrations/ directory"),
        (["orders", "-f", "customer:ref"], "refers to a missing resource 'customer'"),
        (["orders", "-f", "buyer:ref:people"], "refers to a missing resource 'people'"),
        (["notes"], "give at least one --field"),
        (["tags", "-f", "name:str", "--route", "tags"], "route 'tags' is not a path"),
        (["entries", "-f", "name:str", "--table", "items"], "table 'items' belongs to"),
        (["people", "-f", "status:str", "--job"], "field name 'status' is reserved by --job"),
        (["notes", "-f", "title:str", "--owned"], "--owned needs the project's auth"),
        (["notes", "-f", "author:ref:users"], "refers to a missing resource 'users'"),
    ],
)
def test_bad_input_is_refused(shop: Path, args: list[str], message: str) -> None:
    before = git(shop, "rev-parse", "HEAD")
    result = invoke("add", "resource", *args, "--path", str(shop))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert unchanged(shop, before)


def test_outside_a_project_is_refused(tmp_path: Path) -> None:
    result = invoke("add", "resource", "notes", "-f", "body:text", "--path", str(tmp_path))
    assert result.exit_code == 2
    assert "is not a fastgen project" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_dirty_tree_is_refused(shop: Path) -> None:
    before = git(shop, "rev-parse", "HEAD")
    (shop / "scratch.txt").write_text("work in progress\n")
    try:
        result = invoke("add", "resource", "notes", "-f", "body:text", "--path", str(shop))
        assert result.exit_code == 2
        assert "uncommitted changes" in result.stderr
        assert git(shop, "status", "--porcelain") == "?? scratch.txt\n"
    finally:
        (shop / "scratch.txt").unlink()
    assert unchanged(shop, before)


def test_dry_run_lists_the_files_and_writes_nothing(shop: Path) -> None:
    before = git(shop, "rev-parse", "HEAD")
    result = invoke("add", "resource", *CUSTOMERS, "--dry-run", "--path", str(shop))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "Would add resource customers to shop: class Customer, table customers, route /customers\n"
    )
    listed = set(re.findall(r"(?m)^  (?:create|update) (\S+)$", result.stdout))
    assert listed == {
        ".copier-answers.resource-customers.yml",
        "migrations/versions/0002_create_customers.py",
        *(f"src/shop/customers/{m}.py" for m in ("__init__", "dependencies", "keys")),
        *(f"src/shop/customers/{m}.py" for m in ("models", "router", "schemas", "service")),
        "tests/make_customers.py",
        *(f"tests/test_customers{suffix}.py" for suffix in ("", "_http", "_races")),
        "src/shop/resources.py",
    }
    assert unchanged(shop, before)


def test_job_and_events_add_their_modules_and_tests(shop: Path) -> None:
    """`--job --events` gives a resource items' job, status and live events, each tested."""
    args = ["people", "-f", "name:str", "--job", "--events", "--dry-run", "--path", str(shop)]
    result = invoke("add", "resource", *args)
    assert result.exit_code == 0, result.output
    listed = set(re.findall(r"(?m)^  create (\S+)$", result.stdout))
    assert {"src/shop/people/jobs.py", "src/shop/people/events.py"} <= listed
    assert {"tests/test_people_jobs.py", "tests/test_people_events.py"} <= listed
    plain = invoke("add", "resource", "people", "-f", "name:str", "--dry-run", "--path", str(shop))
    assert not {"src/shop/people/jobs.py", "src/shop/people/events.py"} & set(
        re.findall(r"(?m)^  create (\S+)$", plain.stdout)
    )


def test_owned_adds_an_owner_and_refers_to_the_local_users(tmp_path: Path) -> None:
    """`--owned` in an auth=local project: the owner column, its index and its tests, code that
    ruff leaves alone, and a reference to the accounts' table, which is not a resource."""
    project = new_project(tmp_path, "Shop", "--database", "sqlite", "--auth", "local")
    before = git(project, "rev-parse", "HEAD")
    for args, message in [
        (["notes", "-f", "owner:str", "--owned"], "field name 'owner' is reserved by --owned"),
        (["users", "-f", "name:str"], "resource 'users' exists already"),
    ]:
        refused = invoke("add", "resource", *args, "--path", str(project))
        assert refused.exit_code == 2 and message in refused.stderr, refused.output
        assert unchanged(project, before)

    output = add_resource(
        project, "notes", "-f", "title:str", "-f", "author:ref:users", "--owned", "--events"
    )

    assert "create tests/test_notes_auth.py" in output
    answers = yaml.safe_load((project / ".copier-answers.resource-notes.yml").read_text())
    assert (answers["auth"], answers["owned"]) == ("local", True)
    [author] = answers["fields"][1:]
    assert (author["target_table"], author["target_module"]) == ("users", "auth")
    package = project / "src" / "shop" / "notes"
    assert (
        "owner: Mapped[str] = mapped_column(String(255), index=True)"
        in (package / "models.py").read_text()
    )
    assert "from ..auth.models import User" in (package / "references.py").read_text()
    migration = (project / "migrations" / "versions" / "0002_create_notes.py").read_text()
    assert 'sa.Column("owner", sa.String(length=255), nullable=False)' in migration
    assert 'op.f("ix_notes_owner")' in migration
    ruff = Path(sys.executable).parent / "ruff"
    run([ruff, "check", "--no-cache", "."], project)
    run([ruff, "format", "--no-cache", "--check", "."], project)
    before = git(project, "rev-parse", "HEAD")
    unowning = invoke("update", str(project), "--data", "auth=none")
    assert unowning.exit_code == 2 and "resource 'notes' is owned" in unowning.stderr
    assert unchanged(project, before)


@pytest.mark.parametrize("at", ["a file", "the registry"])
def test_an_interrupt_while_writing_leaves_the_project_as_it_was(
    shop: Path, monkeypatch: pytest.MonkeyPatch, at: str
) -> None:
    before = git(shop, "rev-parse", "HEAD")
    if at == "a file":
        real_copy, copied = shutil.copy2, []

        def copy(source: Path, target: Path) -> object:
            copied.append(target)
            if len(copied) == 4:
                Path(target).write_text("half a file")
                raise KeyboardInterrupt
            return real_copy(source, target)

        monkeypatch.setattr(shutil, "copy2", copy)
    else:
        real_write = Path.write_text

        def write_text(path: Path, text: str, **kwargs: Any) -> int:
            if path.name == "resources.py":
                real_write(path, text[: len(text) // 2], **kwargs)
                raise KeyboardInterrupt
            return real_write(path, text, **kwargs)

        monkeypatch.setattr(Path, "write_text", write_text)
    result = invoke("add", "resource", *CUSTOMERS, "--path", str(shop))
    assert result.exit_code == 2
    assert result.stderr == "Error: interrupted; nothing was written\n"
    assert unchanged(shop, before)


def test_sigint_during_add_resource_leaves_the_project_as_it_was(
    installed_fastgen: Path, tmp_path: Path
) -> None:
    new_with_installed(installed_fastgen, tmp_path)
    interrupt_each(
        [installed_fastgen, "add", "resource", *CUSTOMERS], tmp_path / "shop", (0.05, 0.15, 0.3)
    )


# --- what it writes ---------------------------------------------------------------------------


def test_added_resources_are_recorded_wired_and_formatted(tmp_path: Path) -> None:
    """Both resources and one of every field type: answers, registry, migration chain, and
    code that passes ruff and ruff format as written (mypy and tests run end to end)."""
    project = new_project(tmp_path, "Shop", "--database", "mysql")
    add_customers_and_orders(project)
    add_resource(project, *EVERY_TYPE)
    # The longest names fastgen accepts still make lines that ruff format leaves alone.
    add_resource(project, LONG, *(arg for spec in LONG_FIELDS for arg in ("-f", spec)))
    add_resource(project, f"{LONG[:-6]}others", "-f", f"{LONG[:-1]}:ref:unique")

    answers = yaml.safe_load((project / ".copier-answers.resource-orders.yml").read_text())
    assert answers["_src_path"] == "https://github.com/fastgen-copier/fastgen-resource.git"
    assert answers["_commit"] == fastgen.source.installed_version()
    assert answers["revision"] == "0003" and answers["down_revision"] == "0002"
    [customer] = [field for field in answers["fields"] if field["type"] == "ref"]
    assert customer["target"] == "customers" and customer["target_class"] == "Customer"
    registry = (project / "src/shop/resources.py").read_text()
    assert resources_in(registry, "shop")[:4] == ["items", "customers", "orders", "kitchen_sinks"]
    assert head(project / "migrations" / "versions") == "0006"

    ruff = Path(sys.executable).parent / "ruff"
    run([ruff, "check", "--no-cache", "."], project)
    run([ruff, "format", "--no-cache", "--check", "."], project)
    leftovers = [
        str(path)
        for path in project.rglob("*.py")
        if ".venv" not in path.parts and re.search(r"{{|{%", path.read_text())
    ]
    assert leftovers == []


def test_changing_the_database_brings_added_resources_along(tmp_path: Path) -> None:
    project = new_project(tmp_path, "Shop", "--database", "mysql")
    add_customers_and_orders(project)
    models = project / "src" / "shop" / "orders" / "models.py"
    assert "DATETIME(fsp=6)" in models.read_text()

    result = invoke("update", str(project), "--data", "database=sqlite")

    assert result.exit_code == 0, result.output
    assert "DATETIME" not in models.read_text()
    assert "Timestamp = DateTime(timezone=True)" in models.read_text()
    migration = project / "migrations" / "versions" / "0003_create_orders.py"
    assert "mysql" not in migration.read_text()
    assert git(project, "log", "-1", "--format=%s") == "Add resource orders\n"


# --- end to end -------------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize(
    "combo",
    [Combo("mysql", "redis", "background"), Combo("postgresql", "none", "background")],
    ids=lambda combo: combo.id,
)
def test_every_field_type_passes_its_own_tests(tmp_path: Path, combo: Combo) -> None:
    """Lint, types and the project's tests, API fuzzing included, over every field type."""
    require_services(combo)
    project = new_project(
        tmp_path, "Shop", *[f"--{k.replace('_', '-')}={v}" for k, v in combo.answers.items()]
    )
    add_customers_and_orders(project)
    add_resource(project, *EVERY_TYPE)
    run([install(project) / "mypy"], project)
    assert_own_tests_pass(project, combo)


@pytest.mark.e2e
@pytest.mark.parametrize(
    "combo",
    [DEFAULT, Combo("sqlite", "none", "celery", "redis")],
    ids=lambda combo: combo.id,
)
def test_served_resources_answer_over_http(tmp_path: Path, combo: Combo) -> None:
    require_services(combo)
    options = [f"--{key.replace('_', '-')}={value}" for key, value in combo.answers.items()]
    project = new_project(tmp_path, "Shop", *options)
    add_customers_and_orders(project)
    install(project)
    services = services_for(combo)
    port = free_port()
    env = {**services.env, "PORT": str(port), "ENVIRONMENT": "development"}
    log = tmp_path / "api.log"
    before = shared_state(services)

    # The orders' jobs stay queued (no worker runs): they are removed with the rest.
    with fresh_database(services), removed_after(project, services, package="shop"):
        run(["make", "migrate"], project, env)
        with (
            started(["make", "run"], project, env, log),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client,
        ):
            wait_for(lambda: client.get("/health/ready").status_code == 200, "readiness", [log])
            ada = {"name": "Ada", "email": "ada@example.com", "vip": True}
            created = client.post("/customers", json=ada)
            assert created.status_code == 201, created.text
            customer = created.json()
            assert client.post("/customers", json=ada).status_code == 409

            unknown = client.post("/orders", json={"customer_id": 2_000_000, "total": "1.00"})
            assert unknown.status_code == 422, unknown.text
            assert unknown.json()["detail"][0]["loc"] == ["body", "customer_id"]

            order = {"customer_id": customer["id"], "total": "12.50", "note": "gift"}
            posted = client.post("/orders", json=order | {"shipped_at": "2026-06-01T12:00+02:00"})
            assert posted.status_code == 201, posted.text
            url = posted.headers["location"]
            assert client.get(url).json()["shipped_at"] == "2026-06-01T10:00:00Z"
            client.get(url)  # cached, where there is a cache
            patched = client.patch(url, json={"total": "13.00", "note": None})
            assert patched.status_code == 200, patched.text
            after = client.get(url).json()
            assert (after["total"], after["note"]) == ("13.00", None)
            assert client.get("/orders").json()["total"] == 1

            assert client.delete(f"/customers/{customer['id']}").status_code == 409
            assert client.delete(url).status_code == 204
            assert client.get(url).status_code == 404
            assert client.delete(f"/customers/{customer['id']}").status_code == 204
    assert not left_behind(services, before)


@pytest.mark.e2e
def test_a_served_owned_resource_hides_other_callers_rows(tmp_path: Path) -> None:
    """Over `make run` (auth=local, on SQLite): a write without a token is a 401, another
    caller's owned row is a 404 to read, change or delete, and an admin sees it."""
    combo = Combo("sqlite", "none", "background", extra=(("auth", "local"),))
    require_services(combo)
    options = [f"--{key.replace('_', '-')}={value}" for key, value in combo.answers.items()]
    project = new_project(tmp_path, "Shop", *options)
    add_resource(project, "notes", "-f", "title:str", "-f", "author:ref:users", "--owned")
    install(project)
    services = services_for(combo)
    port = free_port()
    password = "a served password"
    env = {**services.env, "PORT": str(port), "ENVIRONMENT": "development"}
    log = tmp_path / "api.log"

    def log_in(client: httpx.Client, email: str) -> dict[str, str]:
        response = client.post("/auth/token", data={"username": email, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    with fresh_database(services):
        run(["make", "migrate"], project, env)
        run(
            ["make", "admin", "email=root@example.test"],
            project,
            env | {"ADMIN_PASSWORD": password},
        )
        with (
            started(["make", "run"], project, env, log),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client,
        ):
            wait_for(lambda: client.get("/health/ready").status_code == 200, "readiness", [log])
            root = log_in(client, "root@example.test")
            for name in ("ann", "bob"):
                account = {"email": f"{name}@example.test", "password": password}
                assert client.post("/users", json=account, headers=root).status_code == 201
            ann, bob = log_in(client, "ann@example.test"), log_in(client, "bob@example.test")
            ann_id = client.get("/users/me", headers=ann).json()["id"]
            body = {"title": "ann's", "author_id": ann_id}

            assert client.post("/notes", json=body).status_code == 401
            created = client.post("/notes", json=body, headers=ann)
            assert created.status_code == 201, created.text
            url = created.headers["location"]
            assert client.get(url, headers=ann).status_code == 200
            assert client.get(url, headers=bob).status_code == 404
            assert client.patch(url, json={"title": "bob's"}, headers=bob).status_code == 404
            assert client.delete(url, headers=bob).status_code == 404
            assert client.get("/notes", headers=bob).json()["total"] == 0
            assert client.get(url, headers=root).json()["title"] == "ann's"
            assert client.delete(url, headers=ann).status_code == 204


@pytest.mark.e2e
def test_update_brings_added_resources_forward_offline(
    offline: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project of a previous release, with both resources added and one of their files
    edited, is updated by the current wheel with the network cut: the resource template's
    change arrives, the edit stays, and the project's tests pass."""
    require_services(Combo("sqlite", "none", "background"))
    repo = tmp_path / "fastgen"
    ignore = shutil.ignore_patterns("__pycache__", ".venv", "*.pyc")
    for name in ("cli", "template", "resource"):
        shutil.copytree(ROOT / name, repo / name, ignore=ignore)
    for name in ("copier.yml", "profiles.yml", "pyproject.toml", "hatch_build.py", "README.md"):
        shutil.copy(ROOT / name, repo / name)
    current = re.search(r'(?m)^version = "(.*)"$', (repo / "pyproject.toml").read_text())
    assert current is not None
    router = repo / "resource" / "template" / "src" / "{{ package_name }}" / "{{ plural }}"
    router /= "router.py.jinja"
    shipped = router.read_text()
    set_version(repo, "0.0.1")  # the previous release: PATCH invalidated before its commit
    router.write_text(shipped.replace("    await session.commit()\n", "", 1))
    git(repo, "init", "--quiet", "--initial-branch=main")
    commit_all(repo, "Release 0.0.1")
    monkeypatch.setattr(fastgen.source, "template_root", lambda: repo)

    project = new_project(tmp_path, "Shop", "--database", "sqlite", "--cache", "none")
    add_customers_and_orders(project)
    orders_router = project / "src" / "shop" / "orders" / "router.py"
    orders_router.write_text(orders_router.read_text() + "# Reviewed by the orders team.\n")
    commit_all(project, "Our edit")

    set_version(repo, current.group(1))
    router.write_text(shipped)
    commit_all(repo, f"Release {current.group(1)}")
    fastgen_bin = install_wheel(repo, tmp_path / "wheel")
    env = user_env()
    updated = subprocess.run(
        [*offline, fastgen_bin, "update", project], capture_output=True, text=True, env=env
    )
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "Conflicts" not in updated.stdout
    text = orders_router.read_text()
    assert "# Reviewed by the orders team." in text
    assert "    await session.commit()\n" in text
    for name in ("customers", "orders"):
        answers = yaml.safe_load((project / f".copier-answers.resource-{name}.yml").read_text())
        assert answers["_commit"] == current.group(1)

    assert_own_tests_pass(project, Combo("sqlite", "none", "background"))
