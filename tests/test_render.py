"""What the template renders for which answers: files present and absent, parsed settings."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

import profiles
from projects import COMBOS, Combo

# `${{ }}` is GitHub Actions syntax, meant to survive rendering.
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{|\{%|%\}")


@pytest.fixture(scope="module")
def rendered() -> dict[Combo, Path]:
    """Renders on demand, once per combination for the whole module."""
    return {}


@pytest.fixture
def render(
    copier: Any, rendered: dict[Combo, Path], tmp_path_factory: pytest.TempPathFactory
) -> Any:
    def render(combo: Combo) -> Path:
        if combo not in rendered:
            dst = tmp_path_factory.mktemp(combo.id) / "orders"
            rendered[combo] = copier.copy(dst, project_name="Acme Orders", **combo.answers).path
        return rendered[combo]

    return render


def package(project: Path) -> Path:
    return project / "src" / "acme_orders"


def dependencies(project: Path) -> set[str]:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    return {re.split(r"[<>=\[]", dep)[0] for dep in pyproject["project"]["dependencies"]}


def env_keys(path: Path) -> set[str]:
    return {
        line.split("=", 1)[0]
        for line in path.read_text().splitlines()
        if line and not line.startswith("#")
    }


@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_renders_clean(render: Any, combo: Combo) -> None:
    project = render(combo)

    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            text = path.read_text()
            assert not LEFTOVER_JINJA.search(text), f"unrendered Jinja in {path}"
            assert "\n\n\n\n" not in text, f"a gap of blank lines in {path}"


@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_files_follow_the_answers(render: Any, combo: Combo) -> None:
    project = render(combo)
    src = package(project)

    # The cache and the task runner are one module each, whatever the choice: one interface.
    cache = (src / "cache.py").read_text()
    assert ("from redis" in cache) == (combo.cache == "redis")
    assert (project / "tests" / "test_cache.py").exists() == (combo.cache == "redis")
    runner = (src / "runner.py").read_text()
    # Each worker's library is imported by its own runner only.
    libraries = {tasks for tasks, record in profiles.load()["tasks"].items() if record["worker"]}
    assert libraries & set(re.findall(r"^from (\w+)", runner, re.M)) == ({combo.tasks} & libraries)
    assert (src / "worker.py").exists() == combo.worker
    assert (src / "items" / "jobs.py").exists()
    assert (project / "tests" / "test_jobs.py").exists()
    # A broker that hangs is tested where there is one; a commit between a PATCH's read and
    # its write, where another transaction can commit there (not SQLite's write lock).
    assert (project / "tests" / "test_hung_broker.py").exists() == combo.worker
    database_server = combo.database != "sqlite"
    assert (project / "tests" / "test_item_freshness.py").exists() == database_server
    makefile = (project / "Makefile").read_text()
    assert ("\nworker:" in makefile) == combo.worker


@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_only_the_registry_names_a_resource(render: Any, combo: Combo) -> None:
    """The app, Alembic and the worker reach `items` through resources.RESOURCES alone."""
    project = render(combo)
    src = package(project)
    wiring = [
        path
        for path in [*src.glob("*.py"), project / "migrations" / "env.py"]
        if path.name != "resources.py"
    ]

    for path in wiring:
        # An attribute such as a mapping's `.items()` is not the resource.
        assert not re.search(r"(?<!\.)\bitems?\b", path.read_text(), re.IGNORECASE), path
    assert "import acme_orders.items\n" in (src / "resources.py").read_text()


@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_dependencies_follow_the_answers(render: Any, combo: Combo) -> None:
    deps = dependencies(render(combo))
    known = profiles.load()

    def names(requirements: list[str]) -> set[str]:
        return {re.split(r"[<>=\[]", requirement)[0] for requirement in requirements}

    drivers = {record["driver"] for record in known["database"].values()}
    assert deps & drivers == {known["database"][combo.database]["driver"]}
    # Each runner's libraries on its broker, and no other runner's.
    runner = names(combo.runner["dependencies"][combo.queue_broker or ""])
    others = {
        name
        for tasks, record in known["tasks"].items()
        if tasks != combo.tasks
        for requirements in record["dependencies"].values()
        for name in names(requirements)
    }
    assert runner <= deps and not (others - runner - {"redis"}) & deps
    # redis-py where the app talks to Redis itself: the cache, a runner's queue pool, or a
    # transport that brings it (Celery's on Redis).
    redis_client = known["cache"][combo.cache]["redis_client"] or combo.runner["redis_client"]
    assert ("redis" in deps or (combo.uses_redis and not redis_client)) == combo.uses_redis
    # Tracing's packages are always there; an instrumentation per library the app drives itself.
    assert {"opentelemetry-sdk", "opentelemetry-instrumentation-sqlalchemy"} <= deps
    assert ("opentelemetry-instrumentation-redis" in deps) == redis_client
    tracing = {name for r in known["tasks"].values() for name in names(r["tracing_dependencies"])}
    assert deps & tracing == names(combo.runner["tracing_dependencies"])


@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_settings_follow_the_answers(render: Any, combo: Combo) -> None:
    project = render(combo)
    keys = env_keys(project / ".env.example")

    assert {"DATABASE_URL", "ENVIRONMENT", "SECRET_KEY", "NAMESPACE", "PORT"} <= keys
    assert ("REDIS_URL" in keys) == combo.uses_redis
    assert ("CACHE_URL" in keys) == (combo.cache == "redis")
    assert (combo.runner["broker_url_setting"].upper() in keys) == bool(combo.runner["worker"])
    assert ("DB_POOL_SIZE" in keys) == (combo.database != "sqlite")
    settings = (package(project) / "settings.py").read_text()
    for key in keys - {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}:
        if key.startswith(("MARIADB_", "RABBITMQ_")):
            continue
        assert f"\n    {key.lower()}:" in settings, f"{key} is documented but not a setting"


def test_each_project_gets_its_own_secret(render: Any, copier: Any, tmp_path: Path) -> None:
    first = render(COMBOS[0])
    second = copier.copy(tmp_path / "other", project_name="Acme Orders", **COMBOS[0].answers).path

    secrets = [env_keys_values(p / ".env")["SECRET_KEY"] for p in (first, second)]
    assert secrets[0] != secrets[1]
    assert all(re.fullmatch(r"[0-9a-f]{64}", secret) for secret in secrets)
    assert "SECRET_KEY=change-me" in (first / ".env.example").read_text()


def env_keys_values(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs if not key.startswith("#")}


def test_answers_file_records_the_answers_only(render: Any) -> None:
    combo = Combo("mysql", "none", "celery", "rabbitmq")
    answers = yaml.safe_load((render(combo) / ".copier-answers.yml").read_text())

    assert {key: answers[key] for key in combo.answers} == combo.answers
    assert answers["package_name"] == "acme_orders"
    assert "secret_key" not in answers
    assert "uses_redis" not in answers


def test_broker_is_only_recorded_for_a_runner_with_a_choice_of_brokers(render: Any) -> None:
    for combo in COMBOS[:4]:
        answers = yaml.safe_load((render(combo) / ".copier-answers.yml").read_text())
        assert ("broker" in answers) == (combo.broker is not None)


UNSUPPORTED = [
    pytest.param({"tasks": "arq", "broker": "rabbitmq"}, "runs on redis", id="arq-rabbitmq"),
    pytest.param({"tasks": "background", "broker": "rabbitmq"}, "broker", id="bg-rabbitmq"),
    pytest.param({"database": "oracle"}, "database", id="unknown-database"),
    pytest.param({"cache": "memcached"}, "cache", id="unknown-cache"),
    pytest.param({"tasks": "dramatiq"}, "tasks", id="unknown-tasks"),
    pytest.param({"python_version": "3.10"}, "python_version", id="old-python"),
    pytest.param({"package_name": "class"}, "keyword", id="keyword-package"),
    pytest.param({"package_name": "json"}, "standard library", id="stdlib-package"),
    pytest.param({"package_name": "redis"}, "depends on", id="dependency-package"),
    pytest.param({"package_name": "Orders-API"}, "package_name", id="invalid-package"),
    pytest.param({"package_name": "o" * 33}, "too long", id="long-package"),
    pytest.param({"project_slug": "-orders"}, "slug", id="invalid-slug"),
    pytest.param({"author_email": "nobody"}, "e-mail", id="invalid-email"),
    pytest.param({"project_name": "O" * 61}, "too long", id="long-name"),
    pytest.param({"description": '"' * 39}, "too long", id="long-description"),
]


@pytest.mark.parametrize(("answers", "message"), UNSUPPORTED)
def test_impossible_answers_fail_cleanly(
    copier: Any, tmp_path: Path, answers: dict[str, str], message: str
) -> None:
    destination = tmp_path / "orders"

    with pytest.raises(ValueError, match=message):
        copier.copy(destination, **{"project_name": "Acme Orders", **answers})
    assert not destination.exists() or not any(destination.iterdir())
