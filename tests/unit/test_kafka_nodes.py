"""BOLETA_KAFKA_NODES: one local Kafka node or three, each on its own ports and directory."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from boleta import settings as settings_mod
from boleta.stack import kafka, kafka_config
from tests.chaos import network, replicated
from tests.chaos import stack as chaos_stack

THREE = {"BOLETA_KAFKA_NODES": "3"}


@pytest.mark.parametrize("count", ["0", "2", "4", "5"])
def test_only_one_node_or_three(count: str) -> None:
    with pytest.raises(
        settings_mod.SettingsError, match=f"BOLETA_KAFKA_NODES={count}: .* 1 .* or 3"
    ):
        settings_mod.load({"BOLETA_KAFKA_NODES": count})


def test_one_node_by_default_with_the_bootstrap_as_given() -> None:
    settings = settings_mod.load({})
    assert settings.kafka_nodes == 1
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.kafka_node_ports == [(9092, 9093)]


def test_three_nodes_step_their_ports_by_100_and_the_bootstrap_lists_them_all() -> None:
    settings = settings_mod.load(THREE)
    assert settings.kafka_node_ports == [(9092, 9093), (9192, 9193), (9292, 9293)]
    every = "127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292"
    assert settings.kafka_bootstrap == every
    assert settings_mod.load({**THREE, "BOLETA_KAFKA_BOOTSTRAP": every}) == settings
    # A child process given the settings' environment reads the same settings.
    assert settings_mod.load(settings_mod.environment(settings)) == settings


def test_a_bootstrap_list_that_is_not_the_nodes_is_refused() -> None:
    with pytest.raises(settings_mod.SettingsError, match="give the first node's address alone"):
        settings_mod.load({**THREE, "BOLETA_KAFKA_BOOTSTRAP": "127.0.0.1:9092,127.0.0.1:9093"})


def default_ports(settings: settings_mod.Settings) -> set[int]:
    """Every port the local stack and its processes listen on, but Kafka's."""
    return {
        settings.redis_host_port[1],
        settings.mongo_host_port[1],
        settings.command_port,
        settings.command_metrics_port,
        settings.tallies_metrics_port,
        settings.audit_metrics_port,
        settings.board_metrics_port,
        settings.query_port,
    }


def kafka_ports(settings: settings_mod.Settings) -> list[int]:
    return [port for pair in settings.kafka_node_ports for port in pair]


def chaos_ports() -> set[int]:
    """The chaos suite's single-node private stack: its settings, listeners and proxies."""
    private = chaos_stack.private_settings(Path("/nonexistent"))
    links = {p for link in network.LINKS.values() for p in (link.listen, link.upstream)}
    return {*kafka_ports(private), *default_ports(private), *links, network.TOXIPROXY_PORT}


def test_three_nodes_collide_with_no_other_port() -> None:
    settings = settings_mod.load(THREE)
    ports = kafka_ports(settings)
    assert len(set(ports)) == len(ports) == 6
    assert not set(ports) & default_ports(settings)
    assert not set(ports) & chaos_ports()


def test_the_chaos_suites_replicated_stack_has_ports_of_its_own() -> None:
    """Its three nodes, Redis, FerretDB and processes may run beside the single-node private
    stack of the other rows and the default stack."""
    settings = replicated.replicated_settings(Path("/nonexistent"))
    ports = [*kafka_ports(settings), *default_ports(settings)]
    assert len(ports) == len(set(ports)) == 14
    assert not set(ports) & chaos_ports()
    default = settings_mod.load(THREE)
    assert not set(ports) & {*kafka_ports(default), *default_ports(default)}
    low, _ = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert max(ports) < low, "a port among the ephemeral ones may be a client's"


def test_each_node_has_its_id_ports_directory_and_the_quorum_of_all(tmp_path: Path) -> None:
    settings = settings_mod.load({**THREE, "BOLETA_HOME": str(tmp_path)})
    voters = "1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293"
    dirs = set()
    for node, (port, controller) in zip(
        kafka_config.nodes(settings), settings.kafka_node_ports, strict=True
    ):
        config = kafka_config.broker_properties(settings, node)
        assert config["node.id"] == str(node)
        assert config["controller.quorum.voters"] == voters
        assert "controller.quorum.bootstrap.servers" not in config
        assert (
            config["listeners"]
            == f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}"
        )
        assert config["log.dirs"] == str(tmp_path / "kafka" / f"node-{node}" / "data")
        dirs.add(config["log.dirs"])
        assert kafka.process(settings, node).name == f"kafka-{node}"
    assert len(dirs) == 3


def test_one_node_keeps_its_layout_and_quorum_of_itself(tmp_path: Path) -> None:
    settings = dataclasses.replace(settings_mod.load({}), home=tmp_path)
    config = kafka_config.broker_properties(settings)
    assert config["node.id"] == "1"
    assert config["controller.quorum.bootstrap.servers"] == "127.0.0.1:9093"
    assert config["log.dirs"] == str(tmp_path / "kafka" / "data")
    assert (config["default.replication.factor"], config["min.insync.replicas"]) == ("1", "1")
    assert kafka.process(settings).name == "kafka"
