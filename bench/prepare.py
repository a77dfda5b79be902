"""What a run measures against: a clean clone at --ref, the generated projects installed from
it, and one database (PostgreSQL, MariaDB or SQLite) migrated and seeded for all of them."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.common import BENCH, ROOT, log
from projects import MYSQL_URL, POSTGRES_URL, Combo, install, render_combo, run


@dataclass(frozen=True)
class Project:
    key: str
    path: Path
    package: str

    @property
    def python(self) -> str:
        return str(self.path / ".venv" / "bin" / "python")

    def bin(self, name: str) -> str:
        return str(self.path / ".venv" / "bin" / name)


def clean_clone(ref: str, dest: Path) -> str:
    """A clone of this repository at `ref`: the committed template, whatever the worktree holds."""
    run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(dest)], ROOT)
    run(["git", "-C", str(dest), "checkout", "--quiet", ref], ROOT)
    return run(["git", "-C", str(dest), "rev-parse", "HEAD"], ROOT).strip()


def generate(source: Path, dest: Path, key: str, combo: Combo, compile_bytecode: bool) -> Project:
    """Render `combo` from `source` (plain Copier) and install it into its own venv."""
    render_combo(combo, dest, source=source)
    # Compiled, as the Docker image is (UV_COMPILE_BYTECODE=1): startup times are realistic.
    install(dest, compile_bytecode=compile_bytecode)
    package = next(p.name for p in (dest / "src").iterdir() if (p / "__init__.py").exists())
    return Project(key, dest, package)


# A resource added the way a user adds one, with the columns of items (which the resource
# template renders too): its reads are measured against items' (issue 20).
ADDED = ["widgets", "--field", "name:str:unique", "--field", "description:text?", "--job"]


def add_resource(project: Project) -> None:
    """`fastgen add resource` of ADDED in a generated project (it needs the project's history)."""
    author = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    for command in (
        ["git", "init", "--quiet", "--initial-branch=main"],
        ["git", "add", "--all"],
        ["git", *author, "commit", "--quiet", "--message", "Generated"],
        [sys.executable, "-m", "fastgen", "add", "resource", *ADDED, "--path", "."],
    ):
        run(command, project.path)


def generate_all(
    source: Path, work: Path, combos: dict[str, Combo], compile_bytecode: bool
) -> dict[str, Project]:
    # The renders and installs are mostly waiting on the disk: all at once.
    with ThreadPoolExecutor() as pool:
        futures = {
            key: pool.submit(generate, source, work / key, key, combo, compile_bytecode)
            for key, combo in combos.items()
        }
        return {key: future.result() for key, future in futures.items()}


@dataclass(frozen=True)
class Kind:
    label: str
    driver: str
    server: str | None  # the server's URL without a database; None: a file
    port: int | None


KINDS = {
    "postgresql": Kind("PostgreSQL", "asyncpg", POSTGRES_URL, 5432),
    "mysql": Kind("MariaDB", "aiomysql", MYSQL_URL, 3306),
    "sqlite": Kind("SQLite", "aiosqlite", None, None),
}


@dataclass(frozen=True)
class Database:
    """One uniquely named database; `url` is the plain URL the apps and baselines get."""

    kind: str
    url: str

    @classmethod
    def named(cls, kind: str, name: str, server: str | None, work: Path) -> Database:
        if kind == "sqlite":
            return cls(kind, f"sqlite:///{work / (name + '.db')}")
        return cls(kind, f"{(server or KINDS[kind].server or '').rstrip('/')}/{name}")

    @property
    def driver(self) -> str:
        return KINDS[self.kind].driver

    @property
    def label(self) -> str:
        return KINDS[self.kind].label

    def tool(self, project: Project, command: str, *args: str) -> None:
        """bench/dbtool.py with the project's interpreter, which has the database's driver."""
        run([project.python, str(BENCH / "dbtool.py"), command, self.url, *args], project.path)

    def create(self, project: Project, items: int) -> None:
        self.tool(project, "create")
        run([project.bin("alembic"), "upgrade", "head"], project.path, {"DATABASE_URL": self.url})
        self.tool(project, "seed", str(items))
        log(f"{self.label} database {self.url.rsplit('/', 1)[1]} migrated, {items} items seeded")

    def reset(self, project: Project, items: int) -> None:
        """Delete the rows the load wrote, so every round reads the same table."""
        self.tool(project, "reset", str(items))

    def drop(self, project: Project) -> None:
        self.tool(project, "drop")


@dataclass(frozen=True)
class Table:
    """The seeded items table every server reads, and the project whose driver tends it."""

    database: Database
    owner: Project
    items: int

    def reset(self) -> None:
        """Delete the rows the load wrote, so every measurement reads the same table."""
        self.database.reset(self.owner, self.items)


def package_versions(python: str, driver: str) -> dict[str, str]:
    names = ["fastapi", "starlette", "pydantic", "uvicorn", "uvloop", "httptools", "sqlalchemy"]
    code = (
        "import importlib.metadata as m, json, platform;"
        f"v = {{n: m.version(n) for n in {[*names, driver, 'redis', 'structlog']!r}}};"
        "v['python'] = platform.python_version(); print(json.dumps(v))"
    )
    versions: dict[str, str] = json.loads(run([python, "-c", code], ROOT))
    return versions
