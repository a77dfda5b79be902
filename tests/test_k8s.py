"""The generated Kubernetes manifests (deploy/k8s), for every combination, offline.

Each combination's `deploy/` is rendered once, and both overlays are built with `kubectl kustomize`.
Every object then goes through:

- `kubernetes-validate` in strict mode, against the schemas of a pinned Kubernetes version;
- for KEDA's ScaledObject, which kubernetes-validate does not know, the generated project's own
  check (deploy/k8s/check.py, which its CI runs too): the CRD's schema, vendored in
  deploy/k8s/schemas/ with its source named, closed to unknown fields as `kubectl apply` is;
  and here, the trigger's metadata keys against those its KEDA scaler reads;
- what must hold for the combination: the probe paths, a non-root user on a read-only root
  filesystem, no `latest` image, the worker exactly when there is one, a queue trigger that
  matches the broker, and a shutdown that fits in the grace period.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

import profiles
from projects import COMBOS, Combo, render_combo

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_TEMPLATE = ROOT / "template" / "deploy"
# The oldest Kubernetes release still supported upstream when this was written.
KUBERNETES_VERSION = "1.35.0"
SLUG = "acme-orders"
PACKAGE = "acme_orders"
OVERLAYS = ("dev", "prod")
RELEASE = "0.1.0"
# Who deploy/k8s/base/network-policy.yaml lets in, as generated: the ingress controller to the
# API's port, Prometheus to the metrics ports.
INGRESS_CONTROLLER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
}
SCRAPER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
}

# The metadata each KEDA scaler reads (pkg/scalers/redis_scaler.go, redis_streams_scaler.go and
# rabbitmq_scaler.go);
# `<name>FromEnv` names an environment variable of the scaled container.
TRIGGER_METADATA = {
    "redis": {
        "address", "addressFromEnv", "host", "hostFromEnv", "port", "portFromEnv",
        "username", "usernameFromEnv", "passwordFromEnv", "databaseIndex", "listName",
        "listLength", "activationListLength", "enableTLS", "unsafeSsl",
    },
    "rabbitmq": {
        "host", "hostFromEnv", "protocol", "mode", "value", "activationValue", "queueName",
        "vhostName", "queueLength", "useRegex", "excludeUnacknowledged", "operation", "timeout",
        "unsafeSsl",
    },
    "redis-streams": {
        "address", "addressFromEnv", "host", "hostFromEnv", "port", "portFromEnv",
        "username", "usernameFromEnv", "passwordFromEnv", "databaseIndex", "stream",
        "consumerGroup", "pendingEntriesCount", "streamLength", "lagCount", "enableTLS",
        "unsafeSsl",
    },
}  # fmt: skip


def _kubectl() -> str:
    path = shutil.which("kubectl")
    if path is None:
        reason = "kubectl is not installed: it renders the kustomize overlays"
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A function from a combination to its overlays' objects, each rendered once."""
    kubectl = _kubectl()
    root = tmp_path_factory.mktemp("k8s")

    @cache
    def objects(combo: Combo) -> dict[str, list[dict[str, Any]]]:
        """The objects of each overlay; the project is in ROOT/<combo id>, the overlays' YAML
        in ROOT/<combo id>/rendered/<overlay>.yaml."""
        dst = root / combo.id
        # Only deploy/: the rest of the project is not read here.
        render_combo(combo, dst, exclude=["*", "!deploy/", "!deploy/**"])
        built = {}
        (dst / "rendered").mkdir()
        for overlay in OVERLAYS:
            result = subprocess.run(
                [kubectl, "kustomize", str(dst / "deploy" / "k8s" / "overlays" / overlay)],
                capture_output=True,
                text=True,
            )
            assert result.returncode == 0, f"kubectl kustomize {overlay}:\n{result.stderr}"
            (dst / "rendered" / f"{overlay}.yaml").write_text(result.stdout)
            built[overlay] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
        return built

    objects.root = root  # type: ignore[attr-defined]
    yield objects


def queue_of(combo: Combo) -> str:
    """The worker's queue, `<NAMESPACE>:<queue_key>` (profiles.yml)."""
    return f"{SLUG}:{combo.runner['queue_key']}"


def each(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [obj for obj in each(objects, kind) if obj["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for obj in objects:
        if obj["kind"] in ("Deployment", "Job"):
            yield obj["metadata"]["name"], obj["spec"]["template"]["spec"]


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def config(objects: list[dict[str, Any]]) -> dict[str, str]:
    (config_map,) = each(objects, "ConfigMap")
    data: dict[str, str] = config_map["data"]
    return data


# ---- schemas -------------------------------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_every_object_passes_the_kubernetes_schemas(
    rendered: Any, combo: Combo, overlay: str
) -> None:
    errors = []
    for obj in rendered(combo)[overlay]:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["apiVersion"] == "keda.sh/v1alpha1":
            # Its schema is deploy/k8s/check.py's (below); here, the scalers' metadata keys.
            for trigger in obj["spec"]["triggers"]:
                unknown = set(trigger["metadata"]) - TRIGGER_METADATA[trigger["type"]]
                if unknown:
                    errors.append(f"{name}: unknown {trigger['type']} metadata {sorted(unknown)}")
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{name}: {error.message} at {'.'.join(map(str, error.path))}")
    assert not errors, "\n".join(errors)


def run_check(project: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(project / "deploy" / "k8s" / "check.py"), *map(str, files)],
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_the_projects_own_check_passes(rendered: Any, combo: Combo) -> None:
    rendered(combo)
    project = rendered.root / combo.id

    result = run_check(project, *(project / "rendered" / f"{o}.yaml" for o in OVERLAYS))

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda obj: (
                obj["spec"].update(minReplicas=0) if obj["kind"] == "ScaledObject" else None
            ),
            "ScaledObject: Additional properties are not allowed ('minReplicas' was unexpected)",
        ),
        (
            lambda obj: (
                obj["spec"]["triggers"][0].update(type="rabbitmq")
                if obj["kind"] == "ScaledObject"
                else None
            ),
            "ScaledObject: a rabbitmq trigger, not redis",
        ),
        (
            lambda obj: (
                obj["spec"]["template"]["spec"]["containers"][0].update(image="x:latest")
                if obj["kind"] == "Job"
                else None
            ),
            "image x:latest is not pinned to a release",
        ),
    ],
    ids=["unknown-field", "wrong-trigger", "latest"],
)
def test_the_projects_own_check_catches(
    rendered: Any, tmp_path: Path, change: Any, problem: str
) -> None:
    combo = next(c for c in COMBOS if c.tasks == "arq" and c.database == "postgresql")
    objects = rendered(combo)["prod"]
    bad = tmp_path / "bad.yaml"
    changed = [dict(obj) for obj in yaml.safe_load_all(yaml.safe_dump_all(objects))]
    for obj in changed:
        change(obj)
    bad.write_text(yaml.safe_dump_all(changed))

    result = run_check(rendered.root / combo.id, bad)

    assert result.returncode == 1
    assert problem in result.stderr


# ---- what each combination needs ----------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_the_api_is_probed_and_drains_within_its_grace_period(
    rendered: Any, combo: Combo, overlay: str
) -> None:
    objects = rendered(combo)[overlay]
    api = one(objects, "Deployment", f"{SLUG}-api")
    pod = api["spec"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == "api"]

    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    settings = config(objects)
    shutdown = float(settings["SHUTDOWN_DRAIN_SECONDS"]) + int(settings["SHUTDOWN_TIMEOUT_SECONDS"])
    assert pause >= 1
    assert pod["terminationGracePeriodSeconds"] > pause + shutdown
    assert container["resources"]["requests"] and container["resources"]["limits"]

    service = one(objects, "Service", f"{SLUG}-api")
    assert (
        service["spec"]["selector"].items() <= api["spec"]["template"]["metadata"]["labels"].items()
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_every_pod_runs_as_non_root_on_a_read_only_root(
    rendered: Any, combo: Combo, overlay: str
) -> None:
    for name, pod in pod_specs(rendered(combo)[overlay]):
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        for container in containers(pod):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, (name, container["name"])
            assert context["allowPrivilegeEscalation"] is False, (name, container["name"])
            assert context["capabilities"]["drop"] == ["ALL"], (name, container["name"])
            # Python and its libraries may need a scratch directory.
            mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
            assert "/tmp" in mounts, (name, container["name"])
            assert container["resources"]["limits"]["memory"], (name, container["name"])


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_every_image_is_a_pinned_release(rendered: Any, combo: Combo, overlay: str) -> None:
    for name, pod in pod_specs(rendered(combo)[overlay]):
        for container in containers(pod):
            image = container["image"]
            repository, _, tag = image.rpartition(":")
            assert repository.endswith(f"/{SLUG}"), (name, image)
            assert re.fullmatch(r"\d+\.\d+\.\d+", tag), (name, image)


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_secrets_are_referenced_never_rendered(rendered: Any, combo: Combo, overlay: str) -> None:
    objects = rendered(combo)[overlay]

    assert not each(objects, "Secret")
    for name, pod in pod_specs(objects):
        for container in containers(pod):
            refs = [
                source["secretRef"]["name"]
                for source in container["envFrom"]
                if "secretRef" in source
            ]
            assert refs == [f"{SLUG}-secrets"], (name, container["name"])
    assert not {"SECRET_KEY", "REDIS_URL", "CELERY_BROKER_URL"} & set(config(objects))


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_the_worker_is_there_exactly_when_the_project_has_one(
    rendered: Any, combo: Combo, overlay: str
) -> None:
    objects = rendered(combo)[overlay]
    workers = [
        container
        for _, pod in pod_specs(objects)
        for container in pod["containers"]
        if container["name"] == "worker"
    ]

    assert len(workers) == combo.worker
    for worker in workers:
        assert (
            worker["command"]
            == profiles.load(PACKAGE)["tasks"][combo.tasks]["worker_command"].split()
        )
        assert any(part.startswith(f"{PACKAGE}.worker") for part in worker["command"])
        # The worker's own health check (compose's), so that a hung worker is restarted.
        assert f"{PACKAGE}.worker" in " ".join(worker["livenessProbe"]["exec"]["command"])
        # Celery would otherwise start a process per CPU of the node, whatever the pod's limit.
        env = {var["name"]: var["value"] for var in worker.get("env", [])}
        assert ("CELERY_WORKER_CONCURRENCY" in env) == (combo.tasks == "celery")


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_metrics_are_scrapable_in_the_pod_and_never_public(
    rendered: Any, combo: Combo, overlay: str
) -> None:
    objects = rendered(combo)[overlay]
    served = []
    # Long-running processes only: the migration Job exits before a scrape would find it.
    for deployment in each(objects, "Deployment"):
        name, pod = deployment["metadata"]["name"], deployment["spec"]["template"]["spec"]
        ports: list[int] = []
        for container in pod["containers"]:
            env = {var["name"]: var["value"] for var in container.get("env", [])}
            declared = {port["containerPort"] for port in container.get("ports", [])}
            # Every process of the pod has METRICS_PORT, and no two share one.
            assert "METRICS_PORT" in env, (name, container["name"])
            assert int(env["METRICS_PORT"]) in declared, (name, container["name"])
            ports.append(int(env["METRICS_PORT"]))
            served.append(int(env["METRICS_PORT"]))
        assert len(set(ports)) == len(ports), name
    assert not {"METRICS_PORT", "METRICS_ENABLED"} & set(config(objects))
    assert len(served) == 1 + combo.worker
    for service in each(objects, "Service"):
        assert [port["targetPort"] for port in service["spec"]["ports"]] == ["http"]
    for ingress in each(objects, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["port"] in ({"name": "http"}, {"number": 80})


@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_without_metrics_no_pod_serves_them_and_every_object_still_passes(
    rendered: Any, combo: Combo
) -> None:
    off = replace(combo, extra=(("metrics", False),))
    for overlay in OVERLAYS:
        objects = rendered(off)[overlay]
        for name, spec in pod_specs(objects):
            for container in containers(spec):
                env = {var["name"] for var in container.get("env", [])}
                assert "METRICS_PORT" not in env, (name, container["name"])
                assert [port["name"] for port in container.get("ports", [])] in ([], ["http"])
        for deployment in each(objects, "Deployment"):
            assert "annotations" not in deployment["spec"]["template"]["metadata"]
        policies = [policy["metadata"]["name"] for policy in each(objects, "NetworkPolicy")]
        assert policies == [f"{SLUG}-api-from-ingress"]
        for obj in objects:
            if obj["apiVersion"] != "keda.sh/v1alpha1":
                kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_a_server_database_scales_the_api_and_migrates_once_per_release(
    rendered: Any, combo: Combo, overlay: str
) -> None:
    objects = rendered(combo)[overlay]
    api = one(objects, "Deployment", f"{SLUG}-api")
    server = combo.database != "sqlite"

    assert len(each(objects, "HorizontalPodAutoscaler")) == server
    assert len(each(objects, "PodDisruptionBudget")) == server
    if server:
        assert "replicas" not in api["spec"]  # the HPA owns it
        hpa = one(objects, "HorizontalPodAutoscaler", f"{SLUG}-api")
        assert hpa["spec"]["scaleTargetRef"]["name"] == f"{SLUG}-api"
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
        pdb = one(objects, "PodDisruptionBudget", f"{SLUG}-api")
        assert (
            pdb["spec"]["selector"]["matchLabels"].items()
            <= api["spec"]["template"]["metadata"]["labels"].items()
        )
        job = one(objects, "Job", f"{SLUG}-migrate.{RELEASE}")
        assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
            "alembic", "upgrade", "head",
        ]  # fmt: skip
        assert "initContainers" not in api["spec"]["template"]["spec"]
    else:
        # SQLite: one pod on one volume, replaced (not rolled) so that two never share the file.
        assert api["spec"]["replicas"] == 1
        assert api["spec"]["strategy"]["type"] == "Recreate"
        assert not each(objects, "Job")
        (migrate,) = api["spec"]["template"]["spec"]["initContainers"]
        assert migrate["command"] == ["alembic", "upgrade", "head"]
        (claim,) = each(objects, "PersistentVolumeClaim")
        volumes = api["spec"]["template"]["spec"]["volumes"]
        assert {
            "name": "data",
            "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]},
        } in volumes
        assert config(objects)["DATABASE_URL"].startswith("sqlite:////app/data/")


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_the_worker_scales_on_its_queue_through_the_brokers_trigger(
    rendered: Any, combo: Combo, overlay: str
) -> None:
    objects = rendered(combo)[overlay]
    scaled = each(objects, "ScaledObject")

    # A SQLite worker shares the API's pod and volume: it cannot scale out.
    assert len(scaled) == (combo.worker and combo.database != "sqlite")
    for scaled_object in scaled:
        spec = scaled_object["spec"]
        one(objects, "Deployment", spec["scaleTargetRef"]["name"])
        assert spec["scaleTargetRef"]["name"] == f"{SLUG}-worker"
        (trigger,) = spec["triggers"]
        # The runner's own trigger on its queue, or its broker's scaler.
        assert trigger["type"] == (combo.runner["queue_trigger"] or combo.queue_broker)
        if trigger["type"] == "rabbitmq":
            assert trigger["metadata"]["queueName"] == queue_of(combo)
            assert trigger["metadata"]["mode"] == "QueueLength"
            assert trigger["metadata"]["hostFromEnv"] == combo.runner["broker_url_setting"].upper()
        elif trigger["type"] == "redis-streams":
            # A stream whose acknowledged messages are deleted: its length, not a group's lag.
            assert trigger["metadata"]["stream"] == queue_of(combo)
            assert "consumerGroup" not in trigger["metadata"]
        else:
            # ARQ's sorted set and Celery's Redis list: the `redis` scaler counts both.
            assert trigger["metadata"]["listName"] == queue_of(combo)
        # Only a count that includes the jobs running lets the worker scale to zero.
        assert spec["minReplicaCount"] == (0 if combo.runner["scales_to_zero"] else 1)
        assert spec["maxReplicaCount"] > spec["minReplicaCount"]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels, matchExpressions with In) matches `labels`."""
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return selector.get("matchLabels", {}).items() <= labels.items()


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_only_the_ingress_controller_and_the_scraper_reach_the_pods(
    rendered: Any, combo: Combo, overlay: str
) -> None:
    objects = rendered(combo)[overlay]
    policies = each(objects, "NetworkPolicy")
    for deployment in each(objects, "Deployment"):
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]
        declared = {port["name"] for c in pod["spec"]["containers"] for port in c.get("ports", [])}
        allowed: dict[str, list[dict[str, Any]]] = {}
        for policy in policies:
            if not selects(policy["spec"]["podSelector"], pod["metadata"]["labels"]):
                continue
            assert policy["spec"]["policyTypes"] == ["Ingress"], policy["metadata"]["name"]
            for rule in policy["spec"]["ingress"]:
                # A rule without `from` or `ports` would let anyone in, or onto any port.
                assert rule["from"] and rule["ports"], policy["metadata"]["name"]
                for port in rule["ports"]:
                    allowed.setdefault(port["port"], []).extend(rule["from"])

        # Selected, so everything not allowed is refused; each port the pod serves is allowed.
        assert set(allowed) == declared, name
        for port, peers in allowed.items():
            expected = INGRESS_CONTROLLER if port == "http" else SCRAPER
            assert peers == [expected], (name, port)


@pytest.mark.parametrize("combo", COMBOS, ids=lambda combo: combo.id)
def test_the_prod_ingress_serves_its_hosts_over_tls(rendered: Any, combo: Combo) -> None:
    (ingress,) = each(rendered(combo)["prod"], "Ingress")
    tls = ingress["spec"]["tls"]

    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    assert hosts <= {host for entry in tls for host in entry["hosts"]}
    assert all(entry["secretName"] == f"{SLUG}-tls" for entry in tls)
    assert not each(rendered(combo)["dev"], "Ingress")


def test_deploy_templates_keep_their_conditionals_few() -> None:
    for path in DEPLOY_TEMPLATE.rglob("*.jinja"):
        ifs = [line for line in path.read_text().splitlines() if "{% if" in line]
        assert len(ifs) <= 4, path
