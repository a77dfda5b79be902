"""The command line: one command reproduces the README's table for one database.

    .venv/bin/python -m bench                       # PostgreSQL, ~10 min, rewrites the README
    .venv/bin/python -m bench --database mysql      # MariaDB, raw aiomysql baselines
    .venv/bin/python -m bench --database sqlite     # SQLite, raw aiosqlite baselines
    .venv/bin/python -m bench --quick               # a look in under two minutes

Needs uv, wrk (Debian: `apt-get install -y wrk`), Redis on 127.0.0.1:6379 and the database's
server: PostgreSQL on 5432 (user postgres, no password) or MariaDB on 3306 (root, no password).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest

from bench.common import BENCH, log, machine
from bench.cpu import Batches, asgi_costs
from bench.generator import generator_timings
from bench.load import Load, run_rounds
from bench.prepare import (
    ADDED,
    KINDS,
    Database,
    Project,
    Table,
    add_resource,
    clean_clone,
    generate_all,
    package_versions,
)
from bench.report import markdown, results_name, summarize, update_readme
from bench.scenarios import scenario
from bench.servers import Fleet, Services, launch
from projects import REDIS_URL, Combo, reachable, run

WRK_INSTALL = "wrk is missing: install it with `apt-get update && apt-get install -y wrk` (Debian)"
ITEM_ID = 4242  # the row every read targets (or the last one, with fewer --items)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--database", choices=list(KINDS), default="postgresql")
    p.add_argument("--duration", type=int, default=10, help="seconds per measurement (10)")
    p.add_argument("--warmup", type=int, default=3, help="warm-up seconds before each (3; 0: none)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    p.add_argument("--connections", type=int, default=64, help="wrk connections (64)")
    p.add_argument("--items", type=int, default=10_000, help="seeded items (10000)")
    p.add_argument("--asgi-seconds", type=float, default=2.0, help="in-process s per endpoint (2)")
    p.add_argument("--asgi-batches", type=int, default=5)
    p.add_argument("--asgi-warmup", type=int, default=200, help="in-process warm-up requests (200)")
    p.add_argument(
        "--no-compile",
        dest="compile",
        action="store_false",
        help="install the projects without compiling bytecode (faster; smoke test)",
    )
    p.add_argument(
        "--generator-runs",
        type=int,
        help="timed `fastgen new` runs (5 with PostgreSQL, else 0); 0 skips the generator timings",
    )
    p.add_argument(
        "--no-green", dest="green", action="store_false", help="skip generate -> tests green"
    )
    p.add_argument(
        "--no-variants",
        dest="variants",
        action="store_false",
        help="skip the settings variants (ACCESS_LOG=true, DB_POOL_PRE_PING=true)",
    )
    p.add_argument(
        "--no-metrics",
        dest="metrics",
        action="store_false",
        help="skip the metrics-off variant (METRICS_ENABLED=false)",
    )
    p.add_argument("--ref", default="HEAD", help="template commit to benchmark (HEAD)")
    p.add_argument("--out", type=Path, default=BENCH / "results")
    p.add_argument(
        "--readme",
        type=Path,
        default=BENCH / "README.md",
        help="file whose results block for the database gets the table (bench/README.md)",
    )
    p.add_argument("--no-readme", dest="readme", action="store_const", const=None)
    p.add_argument(
        "--server",
        help="the database server's URL, without database "
        "(PostgreSQL and MariaDB; a uniquely named database is created)",
    )
    p.add_argument("--redis", default=REDIS_URL, help="Redis server URL, without DB number")
    p.add_argument("--redis-db", type=int, default=13, help="Redis DB number, away from tests (13)")
    p.add_argument("--keep", action="store_true", help="keep the work directory and database")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a look in under two minutes: 3 s per measurement after 1 s, one round, short "
        "in-process batches, no settings variants, no generator timings; the README is left alone",
    )
    args = p.parse_args(argv)
    if args.generator_runs is None:
        args.generator_runs = 5 if args.database == "postgresql" else 0
    if args.quick:
        args.duration, args.warmup, args.rounds = 3, 1, 1
        args.asgi_seconds, args.asgi_batches, args.asgi_warmup = 0.5, 3, 50
        args.variants, args.generator_runs, args.green, args.readme = False, 0, False, None
    return args


def preflight(args: argparse.Namespace) -> None:
    if missing := [tool for tool in ("uv", "git") if shutil.which(tool) is None]:
        raise SystemExit(f"missing: {', '.join(missing)}")
    if shutil.which("wrk") is None:
        raise SystemExit(WRK_INSTALL)
    kind = KINDS[args.database]
    ports = {"Redis": 6379} | ({kind.label: kind.port} if kind.port else {})
    for name, port in ports.items():
        if not reachable(port):
            raise SystemExit(f"{name} is not reachable on 127.0.0.1:{port}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    preflight(args)
    # The projects and the wheel run in venvs of their own.
    os.environ.pop("VIRTUAL_ENV", None)
    try:
        return bench(args)
    except pytest.fail.Exception as exc:  # a helper from tests/projects.py gave up
        raise SystemExit(str(exc)) from None


def bench(args: argparse.Namespace) -> int:
    kind = KINDS[args.database]
    groups = {group for group, on in (("variants", args.variants), ("metrics", args.metrics)) if on}
    plan = scenario(args.database, kind.driver, kind.label, min(ITEM_ID, args.items), groups)
    token = secrets.token_hex(4)
    work = Path(tempfile.mkdtemp(prefix="fastgen-bench-"))
    logs = work / "logs"
    logs.mkdir()
    database = Database.named(args.database, f"fastgen_bench_{token}", args.server, work)
    services = Services(
        database_url=database.url,
        redis_url=f"{args.redis.rstrip('/')}/{args.redis_db}",
        namespace=f"fastgen-bench-{token}",
        secret=secrets.token_hex(32),
    )
    log(f"work directory {work}")
    started = dt.datetime.now(dt.UTC)
    projects: dict[str, Project] = {}
    try:
        source = work / "source"
        commit = clean_clone(args.ref, source)
        log(f"template at {args.ref} = {commit[:12]}")
        combos = {
            "app": Combo(args.database, "redis", "arq"),
            "nocache": Combo(args.database, "none", "arq"),
        }
        projects.update(generate_all(source, work, combos, args.compile))
        for project in projects.values():
            add_resource(project)
        log(f"rendered and installed {', '.join(projects)} ({database.label})")
        owner = projects["app"]
        database.create(owner, args.items)
        database.tool(owner, "copy", ADDED[0])
        fleet = Fleet(
            [launch(server, projects, services) for server in plan.servers],
            plan.measures,
            Table(database, owner, args.items),
            logs,
        )
        load = Load(args.duration, args.warmup, args.rounds, args.connections)
        load_results = run_rounds(fleet, load)
        asgi = asgi_costs(fleet, Batches(args.asgi_seconds, args.asgi_batches, args.asgi_warmup))
        generator = None
        if args.generator_runs > 0:
            generator = generator_timings(
                source,
                work / "generator",
                args.generator_runs,
                database if args.green and args.database == "postgresql" else None,
                services.redis_url,
                services.namespace,
                owner,
            )
        versions = package_versions(owner.python, database.driver)
    finally:
        cleanup(args, work, database, services, projects)
    report = {
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "database": args.database,
        "database_label": database.label,
        "driver": database.driver,
        "commit": commit,
        "versions": versions,
        "load": load_results,
        "asgi": asgi,
        "generator": generator,
    }
    report["summary"] = summarize(plan, load_results, asgi)
    table = markdown(report)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    for name in (f"{stamp}-{args.database}", results_name(args.database)):
        (args.out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
        (args.out / f"{name}.md").write_text(table)
    if args.readme:
        update_readme(args.readme, table, args.database)
    print(table)
    log(f"wrote {args.out / results_name(args.database)}.json and .md")
    return 0


def cleanup(
    args: argparse.Namespace,
    work: Path,
    database: Database,
    services: Services,
    projects: dict[str, Project],
) -> None:
    log("cleaning up")
    owner = projects.get("app")
    if owner is not None:
        clean = [owner.python, str(BENCH / "dbtool.py"), "redis-clean"]
        try:
            run([*clean, services.redis_url, services.namespace], owner.path)
            log("Redis keys removed")
            if not args.keep:
                database.drop(owner)
                log(f"database {database.url.rsplit('/', 1)[1]} dropped")
        except pytest.fail.Exception as exc:
            log(f"cleanup failed: {exc}")
    if args.keep:
        log(f"kept {work} and {database.url}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    log("cleaned up")
