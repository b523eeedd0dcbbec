"""Security and availability rules: secrets by reference, hardened pods, network policies,
resources, disruption budgets, the Kafka sizes of each overlay, one image."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.infra.manifests import (
    K8S,
    PYTHON_IMAGE,
    ROOT,
    Doc,
    containers,
    environment,
    of_kind,
    one,
    pod_labels,
    python_containers,
    selects,
    workloads,
)

pytestmark = pytest.mark.infra

SECRET_NAME = re.compile(r"(PASSWORD|TOKEN|SECRET|_KEY$|MONGO_URL)", re.IGNORECASE)
CREDENTIALS_IN_URL = re.compile(r"://[^/@\s:]+:[^/@\s]+@")
EXPOSED = {"commands", "queries"}  # reachable from outside the namespace, nothing else


def under_a_secret(workload: Doc, container: Doc, path: str) -> bool:
    """Whether ``path`` is inside a read-only mount of a Secret volume of ``container``."""
    volumes = workload["spec"]["template"]["spec"].get("volumes", [])
    secrets = {v["name"] for v in volumes if "secret" in v}
    return any(
        m["name"] in secrets
        and m.get("readOnly") is True
        and path.startswith(m["mountPath"].rstrip("/") + "/")
        for m in container.get("volumeMounts", [])
    )


def test_no_secret_values_in_git(docs: list[Doc]) -> None:
    for secret in of_kind(docs, "Secret"):
        assert not secret.get("data"), secret["metadata"]
        assert not secret.get("stringData"), secret["metadata"]
    for path in K8S.rglob("kustomization.yaml"):
        assert "secretGenerator" not in yaml.safe_load(path.read_text()), path
    for workload in workloads(docs):
        for container in containers(workload):
            for var in container.get("env", []):
                if var["name"].endswith("_FILE") and "value" in var:
                    assert under_a_secret(workload, container, var["value"]), (
                        f"{var['name']}={var['value']}: a file setting names a file of a "
                        "mounted Secret"
                    )
                elif SECRET_NAME.search(var["name"]):
                    assert "value" not in var, f"{var['name']} must come from a secretKeyRef"
    for cm in of_kind(docs, "ConfigMap"):
        for key, value in cm.get("data", {}).items():
            assert not CREDENTIALS_IN_URL.search(value), f"credentials in {key}"
            assert not SECRET_NAME.search(key), f"{key} belongs in a Secret"


def test_pods_run_hardened(docs: list[Doc]) -> None:
    for workload in workloads(docs):
        pod = workload["spec"]["template"]["spec"]
        name = workload["metadata"]["name"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"].get("runAsUser", 0) != 0, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        for container in containers(workload):
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert "add" not in sc["capabilities"], name


def test_every_container_has_requests_and_a_memory_limit(docs: list[Doc]) -> None:
    for workload in workloads(docs):
        for container in containers(workload):
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), container["name"]
            assert "memory" in resources["limits"], container["name"]


def test_every_workload_has_a_disruption_budget_that_allows_a_drain(docs: list[Doc]) -> None:
    budgets = of_kind(docs, "PodDisruptionBudget")
    for workload in workloads(docs):
        if workload["metadata"]["name"] == "grafana":
            continue  # one stateless replica: nothing to protect
        matching = [b for b in budgets if selects(b["spec"]["selector"], pod_labels(workload))]
        assert len(matching) == 1, workload["metadata"]["name"]
        spec = matching[0]["spec"]
        replicas = workload["spec"].get("replicas", 1)
        if hpa := [
            h
            for h in of_kind(docs, "HorizontalPodAutoscaler")
            if h["spec"]["scaleTargetRef"]["name"] == workload["metadata"]["name"]
        ]:
            replicas = hpa[0]["spec"]["minReplicas"]
        allows = spec.get("maxUnavailable", 0) >= 1 or spec.get("minAvailable", 0) < replicas
        assert allows, f"{workload['metadata']['name']}: the budget blocks every drain"


def externally_reachable(docs: list[Doc]) -> set[str]:
    """Workloads that some NetworkPolicy opens to sources outside the namespace."""
    reachable = set()
    for policy in of_kind(docs, "NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            sources = rule.get("from")
            outside = not sources or any(
                "ipBlock" in s or "namespaceSelector" in s for s in sources
            )
            if outside:
                reachable |= {
                    w["metadata"]["name"]
                    for w in workloads(docs)
                    if selects(policy["spec"]["podSelector"], pod_labels(w))
                }
    return reachable


def test_only_the_command_and_query_services_are_reachable_from_outside(docs: list[Doc]) -> None:
    deny = [
        p
        for p in of_kind(docs, "NetworkPolicy")
        if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"]
    ]
    assert deny, "no default-deny ingress policy"
    assert externally_reachable(docs) == EXPOSED


def test_python_processes_share_one_image_with_a_pinned_tag(docs: list[Doc]) -> None:
    images = {c["image"] for _, c in python_containers(docs)}
    assert len(images) == 1, images
    name, _, tag = images.pop().partition(":")
    assert name == PYTHON_IMAGE
    assert tag not in ("", "latest"), "the overlay must pin a tag"
    assert len({tuple(c["args"]) for _, c in python_containers(docs)}) == 5
    dockerfile = (ROOT / "Dockerfile").read_text()
    user = re.search(r"^USER\s+(\d+)", dockerfile, re.MULTILINE)
    assert user, "the Dockerfile must switch to a numeric non-root USER"
    for workload, _ in python_containers(docs):
        assert workload["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(
            user.group(1)
        )


def test_the_command_service_autoscales_on_cpu(docs: list[Doc]) -> None:
    hpa = one(docs, "HorizontalPodAutoscaler", "commands")["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "commands",
    }
    assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]
    assert hpa["minReplicas"] <= hpa["maxReplicas"]
    container = one(docs, "Deployment", "commands")["spec"]["template"]["spec"]["containers"][0]
    assert "cpu" in container["resources"]["requests"]  # utilisation is relative to it


def kafka_sizes(docs: list[Doc]) -> tuple[int, dict[str, object]]:
    pools = of_kind(docs, "KafkaNodePool")
    brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
    return brokers, of_kind(docs, "Kafka")[0]["spec"]["kafka"]["config"]


def test_replication_fits_the_brokers(docs: list[Doc]) -> None:
    brokers, config = kafka_sizes(docs)
    assert int(str(config["min.insync.replicas"])) <= int(str(config["default.replication.factor"]))
    assert int(str(config["default.replication.factor"])) <= brokers
    for topic in of_kind(docs, "KafkaTopic"):
        spec = topic["spec"]
        assert spec["config"]["min.insync.replicas"] <= spec["replicas"] <= brokers


def test_prod_runs_three_dual_role_nodes_rf3_min_isr2(rendered: dict[str, list[Doc]]) -> None:
    docs = rendered["prod"]
    (pool,) = of_kind(docs, "KafkaNodePool")
    assert pool["spec"]["replicas"] == 3
    assert sorted(pool["spec"]["roles"]) == ["broker", "controller"]
    _, config = kafka_sizes(docs)
    assert config["min.insync.replicas"] == 2
    assert config["default.replication.factor"] == 3
    votes = one(docs, "KafkaTopic", "votes")["spec"]
    assert (votes["replicas"], votes["config"]["min.insync.replicas"]) == (3, 2)


def test_dev_runs_one_kafka_node(rendered: dict[str, list[Doc]]) -> None:
    brokers, _ = kafka_sizes(rendered["dev"])
    assert brokers == 1


def test_mongo_auth_comes_from_a_secret(docs: list[Doc]) -> None:
    mongo = one(docs, "StatefulSet", "mongo")["spec"]["template"]["spec"]["containers"][0]
    assert mongo["image"].split(":")[0] == "mongo"  # the official image
    refs = {v["name"]: v["valueFrom"]["secretKeyRef"] for v in mongo["env"]}
    assert set(refs) == {"MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD"}
    for _, container in python_containers(docs):
        assert "BOLETA_MONGO_URL" not in environment(docs, container, secret="") or any(
            v["name"] == "BOLETA_MONGO_URL" and "secretKeyRef" in v["valueFrom"]
            for v in container.get("env", [])
        )


def test_redis_keeps_an_append_only_file_on_a_volume(docs: list[Doc]) -> None:
    redis = one(docs, "StatefulSet", "redis")
    args = redis["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--appendonly") + 1] == "yes"
    claims = [c["metadata"]["name"] for c in redis["spec"]["volumeClaimTemplates"]]
    mounts = redis["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "data", "mountPath": args[args.index("--dir") + 1]} in mounts
    assert claims == ["data"]


BOARD_SECRET = "boleta-board"
# Which of the board's files each process needs (ADR 8, docs/deploy.md): the signers sign
# receipts or checkpoints and compute pseudonyms; the query service computes pseudonyms and
# publishes the verifier key, and must not hold the signing key.
BOARD_FILES = {
    ("serve", "commands"): {
        "BOLETA_BOARD_KEY_FILE": "signer.key",
        "BOLETA_BOARD_SECRET_FILE": "pseudonyms.key",
    },
    ("project", "board"): {
        "BOLETA_BOARD_KEY_FILE": "signer.key",
        "BOLETA_BOARD_SECRET_FILE": "pseudonyms.key",
    },
    ("serve", "queries"): {"BOLETA_BOARD_SECRET_FILE": "pseudonyms.key"},
}


def mounted_files(workload: Doc, container: Doc, secret: str) -> dict[str, str]:
    """path in the container -> key of ``secret``, for its read-only mounts of it; each
    readable by the pod's group (files of a Secret volume are root's)."""
    pod = workload["spec"]["template"]["spec"]
    files: dict[str, str] = {}
    for volume in pod.get("volumes", []):
        source = volume.get("secret", {})
        if source.get("secretName") != secret:
            continue
        mode = source.get("defaultMode", 0o644)
        group = pod["securityContext"].get("fsGroup")
        why = (
            f"{workload['metadata']['name']}: {secret}'s files must be readable by the "
            f"process's group (defaultMode {mode:o}, fsGroup {group})"
        )
        assert mode & 0o040, why
        assert group == pod["securityContext"]["runAsGroup"], why
        for mount in container.get("volumeMounts", []):
            if mount["name"] == volume["name"] and mount.get("readOnly") is True:
                for item in source.get("items", []):
                    files[f"{mount['mountPath'].rstrip('/')}/{item['path']}"] = item["key"]
    return files


def test_every_process_reads_the_same_board_secrets(docs: list[Doc]) -> None:
    seen = set()
    for workload, container in python_containers(docs):
        role = tuple(container["args"])
        needs = BOARD_FILES.get(role, {})
        name = workload["metadata"]["name"]
        files = mounted_files(workload, container, BOARD_SECRET)
        env = {v["name"]: v for v in container.get("env", [])}
        for setting, key in needs.items():
            assert setting in env, f"{name} lacks {setting}: it would make its own"
            assert files.get(env[setting].get("value", "")) == key, (
                f"{name}: {setting} must name {key} of the Secret {BOARD_SECRET}"
            )
        if role == ("serve", "queries"):
            assert "signer.key" not in files.values(), f"{name} must not hold the signing key"
            assert "BOLETA_BOARD_KEY_FILE" not in env
            ref = env["BOLETA_BOARD_VERIFIER_KEY"]["valueFrom"]["secretKeyRef"]
            assert (ref["name"], ref["key"]) == (BOARD_SECRET, "verifier.key")
        seen.add(role)
    assert set(BOARD_FILES) <= seen
