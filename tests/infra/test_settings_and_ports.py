"""The manifests agree with the code: setting names, required settings, ports, topics."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from boleta import settings as boleta_settings
from tests.infra.manifests import (
    ROOT,
    Doc,
    config_map,
    environment,
    of_kind,
    one,
    python_containers,
)

pytestmark = pytest.mark.infra

# What each process needs set in a cluster (the defaults are loopback addresses).
NEEDS = {
    ("serve", "commands"): {"KAFKA_BOOTSTRAP", "COMMAND_HOST", "METRICS_HOST"},
    ("project", "tallies"): {"KAFKA_BOOTSTRAP", "REDIS_URL", "METRICS_HOST"},
    ("project", "audit"): {"KAFKA_BOOTSTRAP", "MONGO_URL", "METRICS_HOST"},
    ("project", "board"): {"KAFKA_BOOTSTRAP", "MONGO_URL", "METRICS_HOST"},
    ("serve", "queries"): {"KAFKA_BOOTSTRAP", "REDIS_URL", "MONGO_URL", "QUERY_HOST"},
}
NAME = re.compile(r"\bBOLETA_[A-Z0-9_]+\b")


def ports_of(role: tuple[str, ...], s: boleta_settings.Settings) -> set[int]:
    ports: dict[tuple[str, ...], set[int]] = {
        ("serve", "commands"): {s.command_port, s.command_metrics_port},
        ("project", "tallies"): {s.tallies_metrics_port},
        ("project", "audit"): {s.audit_metrics_port},
        ("project", "board"): {s.board_metrics_port},
        ("serve", "queries"): {s.query_port},
    }
    return ports[role]


def loaded(docs: list[Doc], container: Doc) -> boleta_settings.Settings:
    return boleta_settings.load(environment(docs, container))


def test_every_boleta_name_is_a_setting_the_code_reads(docs: list[Doc]) -> None:
    text = yaml.safe_dump_all(docs)
    cloudrun = [p.read_text() for p in (ROOT / "infra" / "cloudrun").glob("**/*.y*ml")]
    used = set(NAME.findall("\n".join([text, *cloudrun])))
    assert used, "no BOLETA_* setting found in the manifests"
    assert used <= set(boleta_settings.names()), f"unknown: {used - set(boleta_settings.names())}"


def test_the_needs_table_covers_every_loopback_default() -> None:
    defaults = boleta_settings.Settings()
    loopback = {
        name.removeprefix("BOLETA_")
        for name in boleta_settings.names()
        if "127.0.0.1" in str(getattr(defaults, name.removeprefix("BOLETA_").lower()))
    }
    assert loopback
    assert loopback <= set().union(*NEEDS.values())


def test_each_process_gets_the_settings_it_needs(docs: list[Doc]) -> None:
    seen = set()
    for workload, container in python_containers(docs):
        role = tuple(container["args"])
        assert role in NEEDS, f"{workload['metadata']['name']}: unknown command {role}"
        seen.add(role)
        env = environment(docs, container)
        missing = {f"BOLETA_{n}" for n in NEEDS[role]} - set(env)
        assert not missing, f"{workload['metadata']['name']} lacks {missing}"
        s = boleta_settings.load(env)  # types parse; unknown names would raise
        for needed in NEEDS[role]:
            value = str(getattr(s, needed.lower()))
            if needed.endswith("_HOST"):  # a bind address: every interface of the pod
                assert value == "0.0.0.0", f"{workload['metadata']['name']}: {needed}={value}"
            else:
                assert "127.0.0.1" not in value, f"{needed}={value}"
                assert "localhost" not in value, f"{needed}={value}"
    assert seen == set(NEEDS), f"no Deployment runs {set(NEEDS) - seen}"


def probe_ports(container: Doc) -> list[int]:
    ports = []
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe: dict[str, Any] = container.get(kind, {})
        for handler in ("grpc", "httpGet", "tcpSocket"):
            if handler in probe:
                ports.append(probe[handler]["port"])
    return ports


def test_container_ports_and_probes_match_the_settings(docs: list[Doc]) -> None:
    for workload, container in python_containers(docs):
        role = tuple(container["args"])
        expected = ports_of(role, loaded(docs, container))
        declared = {p["containerPort"] for p in container.get("ports", [])}
        name = workload["metadata"]["name"]
        assert declared == expected, f"{name}: ports {declared}, settings say {expected}"
        assert probe_ports(container), f"{name}: no probe"
        assert set(probe_ports(container)) <= expected, f"{name}: a probe on a closed port"


def test_the_command_service_is_probed_over_grpc_health(docs: list[Doc]) -> None:
    container = one(docs, "Deployment", "commands")["spec"]["template"]["spec"]["containers"][0]
    port = loaded(docs, container).command_port
    for kind in ("readinessProbe", "livenessProbe"):
        assert container[kind]["grpc"]["port"] == port
    service = one(docs, "Service", "commands")
    assert [p["port"] for p in service["spec"]["ports"]] == [port]


def test_the_query_service_probes_healthz_and_readyz(docs: list[Doc]) -> None:
    container = one(docs, "Deployment", "queries")["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    port = loaded(docs, container).query_port
    assert [p["port"] for p in one(docs, "Service", "queries")["spec"]["ports"]] == [port]


def test_addresses_point_at_the_services_in_the_manifests(docs: list[Doc]) -> None:
    s = boleta_settings.load(config_map(docs, "boleta-settings")["data"])
    kafka = of_kind(docs, "Kafka")[0]
    listener = kafka["spec"]["kafka"]["listeners"][0]
    assert s.kafka_host_port == (f"{kafka['metadata']['name']}-kafka-bootstrap", listener["port"])
    redis_host, redis_port = s.redis_host_port
    assert [p["port"] for p in one(docs, "Service", redis_host)["spec"]["ports"]] == [redis_port]
    mongo_port = urlsplit(boleta_settings.Settings().mongo_url).port
    assert [p["port"] for p in one(docs, "Service", "mongo")["spec"]["ports"]] == [mongo_port]


def test_topics_match_the_code(docs: list[Doc]) -> None:
    s = boleta_settings.load(config_map(docs, "boleta-settings")["data"])
    defaults = boleta_settings.Settings()
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(docs, "KafkaTopic")}
    assert set(topics) == {s.topic, s.dlq_topic} == {defaults.topic, defaults.dlq_topic}
    votes = topics[s.topic]
    assert votes["partitions"] == s.partitions == 12
    assert votes["config"]["retention.ms"] == -1  # the log is kept forever
    for name in ("tallies", "audit", "board"):
        assert one(docs, "Deployment", name)["spec"]["replicas"] <= votes["partitions"]
    assert not [
        h
        for h in of_kind(docs, "HorizontalPodAutoscaler")
        if h["spec"]["scaleTargetRef"]["name"] in ("tallies", "audit", "board")
    ]
