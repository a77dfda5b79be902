"""Generated projects as test subjects: the combinations, and how to install and run one.

Every valid combination of the choices is declared here as data, so the matrix, the
static-file checks and the update tests share one list.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import profiles

ROOT = Path(__file__).resolve().parent.parent

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432"
MYSQL_URL = "mysql://root@127.0.0.1:3306"
REDIS_URL = "redis://127.0.0.1:6379"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


@dataclass(frozen=True)
class Combo:
    database: str
    cache: str
    tasks: str
    broker: str | None = None
    # Shows only in the image and CI; None is the template's default.
    python_version: str | None = None
    # More answers (capability switches), as (question, value) pairs.
    extra: tuple[tuple[str, Any], ...] = ()

    @property
    def id(self) -> str:
        choices = [self.database, self.cache, self.tasks, self.broker]
        python = [f"py{self.python_version}"] if self.python_version else []
        # A switch turned off shows as `no_tracing`, any other extra answer as name-value.
        extra = [
            f"no_{name}" if value is False else f"{name}-{value}".lower()
            for name, value in self.extra
        ]
        return "-".join([choice for choice in choices if choice] + python + extra)

    @property
    def answers(self) -> dict[str, Any]:
        answers: dict[str, Any] = {
            "database": self.database,
            "cache": self.cache,
            "tasks": self.tasks,
        }
        if self.broker:
            answers["broker"] = self.broker
        if self.python_version:
            answers["python_version"] = self.python_version
        return answers | dict(self.extra)

    @property
    def runner(self) -> dict[str, Any]:
        """The task runner's record in profiles.yml, with what differs on its broker (as
        copier.yml's `runner`)."""
        record: dict[str, Any] = profiles.load()["tasks"][self.tasks]
        overrides: dict[str, Any] = record["on_broker"].get(self.queue_broker, {})
        return record | overrides

    @property
    def queue_broker(self) -> str | None:
        """The broker its runner's queue lives on, chosen or the only one (None: in process)."""
        return self.broker or next(iter(profiles.runner_brokers(self.tasks)), None)

    @property
    def software(self) -> list[str]:
        """The services it runs against, by software (postgresql, redis, ...)."""
        return profiles.services(self.database, self.cache, self.queue_broker)

    @property
    def uses_redis(self) -> bool:
        return "redis" in self.software

    @property
    def worker(self) -> bool:
        return bool(self.runner["worker"])

    @property
    def services(self) -> set[str]:
        """The services it runs against, by their compose names."""
        return {profiles.load()["services"][name]["compose_name"] for name in self.software}


DATABASES = tuple(profiles.choice_values("database"))

# Every valid combination: each runner on each broker it offers a choice of.
COMBOS = [
    Combo(database, cache, tasks, broker)
    for database in profiles.choice_values("database")
    for cache in profiles.choice_values("cache")
    for tasks in profiles.choice_values("tasks")
    for broker in profiles.broker_choices(tasks)
]
DEFAULT = Combo("postgresql", "redis", "background")
# Served over HTTP (tests/test_matrix.py): the default, and each worker kind on each of its brokers.
SERVED = [
    DEFAULT,
    Combo("postgresql", "redis", "arq"),
    Combo("mysql", "none", "celery", "rabbitmq"),
    Combo("sqlite", "redis", "celery", "redis"),
    Combo("mysql", "none", "taskiq", "rabbitmq"),
]
# Also in the end-to-end lane, besides SERVED: each runner on each of its brokers with a cache,
# and each kind of auth where issue 21 asks for it (local accounts on PostgreSQL and Redis and
# on SQLite alone, an OpenID provider's tokens on MariaDB).
ALSO_END_TO_END = [
    Combo("postgresql", "redis", "taskiq", "redis"),
    Combo("postgresql", "redis", "background", extra=(("auth", "local"),)),
    Combo("sqlite", "none", "background", extra=(("auth", "local"),)),
    Combo("mysql", "redis", "arq", extra=(("auth", "oidc"),)),
]
# Questions besides the profiled choices that join the pairwise lane, with the values to cover,
# the default first (the capability switches and `auth` of copier.yml). The combinations carry
# them as `Combo.extra`; the other lanes render them at their defaults.
SWITCHES: list[tuple[str, tuple[Any, ...]]] = [
    *(
        (capability, (True, False))
        for capability in ("live_events", "metrics", "tracing", "kubernetes")
    ),
    ("auth", tuple(profiles.choice_values("auth"))),
]


def factor_row(combo: Combo) -> dict[str, Any]:
    """A combination as a row of the covering array's factors (see pairwise_combos)."""
    return (
        {"database": combo.database, "cache": combo.cache, "runner": (combo.tasks, combo.broker)}
        | {name: values[0] for name, values in SWITCHES}
        | dict(combo.extra)
    )


def pairwise_combos() -> list[Combo]:
    """The end-to-end lane: every pair of values of two questions in at least one combination.

    A covering array over the profiled choices (a runner and its broker are one value) and
    SWITCHES, starting from DEFAULT and ALSO_END_TO_END, so that those are in it. SERVED are
    served by tests of their own; seeding the array with them too would add rows.
    """
    runners = [
        (tasks, broker)
        for tasks in profiles.choice_values("tasks")
        for broker in profiles.broker_choices(tasks)
    ]
    factors: dict[str, list[Any]] = {
        "database": profiles.choice_values("database"),
        "cache": profiles.choice_values("cache"),
        "runner": runners,
        **{name: list(values) for name, values in SWITCHES},
    }
    seeds = [factor_row(combo) for combo in [DEFAULT, *ALSO_END_TO_END]]
    return [
        Combo(
            row["database"],
            row["cache"],
            tasks=row["runner"][0],
            broker=row["runner"][1],
            # A switch at its default (the first value) is left to the template.
            extra=tuple((name, row[name]) for name, values in SWITCHES if row[name] != values[0]),
        )
        for row in profiles.covering_array(factors, seeds)
    ]


PAIRWISE = pairwise_combos()


def value_cover(combos: Sequence[Combo]) -> list[Combo]:
    """Few of `combos` (greedily) in which every value of every question they have appears."""
    values = [set(factor_row(combo).items()) for combo in combos]
    wanted = set().union(*values)
    chosen: list[Combo] = []
    while wanted:
        best = max(range(len(combos)), key=lambda i: len(values[i] & wanted))
        chosen.append(combos[best])
        wanted -= values[best]
    return chosen


# The end-to-end combinations that also get `fastgen add resource` (tests/added_resources.py):
# each value of each question is in one of them. Their tests add about half again to a
# project's own suite, so the other combinations leave them out.
ADDING_RESOURCES = value_cover(PAIRWISE)


def render_combo(combo: Combo, dst: Path, exclude: Sequence[str] = (), source: Path = ROOT) -> None:
    """Render this checkout's template (its working tree) for `combo` with plain Copier.

    The benchmark passes `source`, a clean clone, to render only what is committed."""
    import copier  # slow to import; only the tests that render need it

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Dirty template changes")
        copier.run_copy(
            str(source),
            dst,
            data={"project_name": "Acme Orders", **combo.answers},
            defaults=True,
            unsafe=True,
            vcs_ref="HEAD",
            quiet=True,
            exclude=list(exclude),
        )


def reachable(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:PORT."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def require_services(combo: Combo) -> None:
    """Skip, with one line saying why, when a needed local service is down; under CI, fail."""
    known = profiles.load()["services"]
    ports = {known[name]["label"]: known[name]["port"] for name in combo.software}
    down = [name for name, port in ports.items() if not reachable(port)]
    if down:
        reason = f"{', '.join(down)} not reachable on 127.0.0.1 (see .ci/run to start it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def project_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment with `env` over it, for a generated project's commands.

    They write bytecode: a project's processes (alembic three times, pytest and the servers its
    tests start) import the same modules, which this machine's PYTHONDONTWRITEBYTECODE would
    have each of them compile again."""
    merged = {**os.environ, **(env or {})}
    merged.pop("PYTHONDONTWRITEBYTECODE", None)
    return merged


def run(
    cmd: Sequence[str | Path],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> str:
    """Run a command; on failure, fail the test with its whole output."""
    result = subprocess.run(
        [str(part) for part in cmd],
        cwd=cwd,
        env=project_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        pytest.fail(
            f"`{' '.join(map(str, cmd))}` exited {result.returncode} in {cwd}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}",
            pytrace=False,
        )
    return result.stdout


def uv() -> str:
    path = shutil.which("uv")
    if path is None:
        pytest.fail("uv is required to install generated projects")
    return path


def install(project: Path, compile_bytecode: bool = False) -> Path:
    """Install a generated project into its own .venv from its own pyproject (uv, warm cache).

    `compile_bytecode`, as the Docker image does, for timings (PYTHONDONTWRITEBYTECODE is set)."""
    flags = ["--compile-bytecode"] if compile_bytecode else []
    run([uv(), "sync", "--quiet", *flags, "--python", sys.executable], project)
    return project / ".venv" / "bin"


@dataclass(frozen=True)
class Services:
    """Where a generated project finds the local services, isolated from every other run."""

    combo: Combo
    name: str
    redis_db: int

    @property
    def database_url(self) -> str:
        if self.combo.database == "postgresql":
            return f"{POSTGRES_URL}/{self.name}"
        if self.combo.database == "mysql":
            return f"{MYSQL_URL}/{self.name}"
        return f"sqlite:///./{self.name}.db"

    @property
    def env(self) -> dict[str, str]:
        env = {
            "DATABASE_URL": self.database_url,
            "NAMESPACE": self.name,
        }
        if self.combo.uses_redis:
            env["REDIS_URL"] = f"{REDIS_URL}/{self.redis_db}"
        if "rabbitmq" in self.combo.software:
            env[self.combo.runner["broker_url_setting"].upper()] = RABBITMQ_URL
        return env


# The name of one run of a generated project (services_for): its databases and NAMESPACE.
RUN_NAME = re.compile(r"fg_[0-9a-f]{10}")


def services_for(combo: Combo) -> Services:
    """A unique database name and a Redis database number (1-15) for one run of a combo."""
    name = f"fg_{uuid.uuid4().hex[:10]}"
    choices = dataclasses.replace(combo, python_version=None, extra=())  # what COMBOS lists
    return Services(combo, name, 1 + COMBOS.index(choices) % 15)


@contextmanager
def fresh_database(services: Services) -> Iterator[None]:
    """Create the project's own database on the local server for a run, and drop it after."""
    name = services.name
    if services.combo.database == "postgresql":
        create = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f'CREATE DATABASE "{name}"']
        drop = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f'DROP DATABASE "{name}"']
    elif services.combo.database == "mysql":
        create = ["mysql", "-h127.0.0.1", "-uroot", "-e", f"CREATE DATABASE `{name}`"]
        drop = ["mysql", "-h127.0.0.1", "-uroot", "-e", f"DROP DATABASE `{name}`"]
    else:
        yield
        return
    run(create, Path.cwd())
    try:
        yield
    finally:
        run(drop, Path.cwd())


def _port_slice() -> Iterator[int]:
    """This process's own ports: a slice per xdist worker (any other process, such as bench, a
    slice chosen by its pid), below Linux's ephemeral range (32768 and up)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    slot = int(worker.removeprefix("gw")) if worker else 8 + os.getpid() % 16
    first = 20_000 + 500 * slot
    return itertools.cycle(range(first, first + 500))


_PORTS = _port_slice()


def free_port() -> int:
    """A port nothing listens on, for a server a test is about to start.

    Not the kernel's pick (bind to port 0): a port it hands out and this process releases may be
    handed to another worker's server before this test's server binds it, and the test then
    talks to that other server (CI once saw 401 from a project with auth, where it had started
    one without). No bind(0) or outgoing connection is given a port from these slices.
    """
    for port in _PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # a service's, or a server of this worker's that is still running
            return port
    raise AssertionError("unreachable: the slice cycles")


@contextmanager
def started(
    command: list[str], cwd: Path, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a long-running command in its own process group; SIGTERM it on the way out."""
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=project_env(env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(
    check: Any, what: str, logs: list[Path], timeout: float = 30, interval: float = 0.2
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except httpx.TransportError:
            result = None
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"timed out waiting for {what}\n" + "\n".join(p.read_text() for p in logs))


# A namespace of some run of a generated project (services_for): other runs' names are theirs.
def shared_state(services: Services) -> set[str]:
    """The names on the shared services a run could leave behind: RabbitMQ's queues and
    exchanges, the Redis database's keys. Kept as `rabbitmq queue NAME`, `redis key NAME`."""
    names: set[str] = set()
    if "rabbitmq" in services.combo.software:
        for kind in ("queue", "exchange"):
            listed = run(["rabbitmqctl", "-q", f"list_{kind}s", "name"], Path.cwd())
            # The first line is the column's title.
            names |= {f"rabbitmq {kind} {name}" for name in listed.splitlines()[1:] if name}
    if services.combo.uses_redis:
        keys = run(["redis-cli", "-n", str(services.redis_db), "--scan"], Path.cwd())
        names |= {f"redis key {key}" for key in keys.splitlines() if key}
    return names


def left_behind(services: Services, before: set[str]) -> list[str]:
    """What appeared since `before` and is this run's: a name with its namespace, or a queue
    or exchange with none (Celery's defaults, shared by every app on the broker). A namespaced
    name holds `<NAMESPACE>:`; one of another namespace belongs to a concurrent run.

    Redis keys without any namespace are not counted: on a shared machine, projects of older
    templates write them into the same database at the same time (`arq:job:<id>`). That ARQ's
    job keys carry the namespace is checked by the generated project's own tests.

    Nor are RabbitMQ's server-named queues (`amq.gen-...`): they are exclusive, so they go with
    the connection that declared them, and one still there belongs to a process that still runs,
    never to this finished run. Nor a name that holds another run's name without a colon (live
    events' exchange is `<NAMESPACE>.events`): a concurrent run removes its own.
    """
    return sorted(
        name
        for name in shared_state(services) - before
        if services.name in name
        or (
            name.startswith("rabbitmq")
            and ":" not in name
            and not name.startswith("rabbitmq queue amq.gen-")
            and not RUN_NAME.search(name)
        )
    )


@contextmanager
def removed_after(project: Path, services: Services, package: str = "orders") -> Iterator[None]:
    """On the way out, remove what a served project made on the shared services.

    Its own tests' helper does it, so the generator knows no runner's key names.
    """
    try:
        yield
    finally:
        # A project without the helper keeps nothing outside its database.
        if (project / "tests" / "leftovers.py").is_file():
            remove = (
                "from tests.leftovers import remove_leftovers\n"
                f"from {package}.settings import Settings\n"
                "remove_leftovers(Settings())\n"
            )
            run([project / ".venv" / "bin" / "python", "-c", remove], project, services.env)


def assert_green(project: Path, combo: Combo, mypy_env: Mapping[str, str] | None = None) -> None:
    """What every combination must pass: ruff, ruff format and mypy, its migrations both ways
    on a fresh database of its own, and its own suite against the services, which it leaves
    as it found them."""
    bin = install(project)
    run([bin / "ruff", "check", "."], project)
    run([bin / "ruff", "format", "--check", "."], project)
    run([bin / "mypy"], project, mypy_env)

    services = services_for(combo)
    with fresh_database(services):
        # What `make migrate` does, on the project's own (fresh) database, both ways.
        for revision in ("head", "base", "head"):
            command = "upgrade" if revision == "head" else "downgrade"
            run([bin / "alembic", command, revision], project, services.env)
        assert_suite_passes(project, bin, services)


# Settings a developer may change in `.env` for the app, as its README tells them; the
# project's tests take from `.env` only where the services are, so these change none.
SETTINGS_OF_A_DEVELOPER = "OPEN_REGISTRATION=true\nDOCS_ENABLED=false\nLOG_FORMAT=json\n"


def with_settings_of_a_developer(project: Path) -> None:
    env = project / ".env"
    text = env.read_text() if env.exists() else ""
    if SETTINGS_OF_A_DEVELOPER not in text:
        env.write_text("".join(line + "\n" for line in text.splitlines()) + SETTINGS_OF_A_DEVELOPER)


def assert_suite_passes(project: Path, bin: Path, services: Services) -> None:
    """The project's own suite passes against the services, without a skip, and removes
    every key, queue and exchange it made on them."""
    before = shared_state(services)
    with_settings_of_a_developer(project)
    output = run([bin / "pytest", "-q", "-p", "no:cacheprovider"], project, services.env)
    assert " passed" in output and "skipped" not in output, output
    assert left_behind(services, before) == []
