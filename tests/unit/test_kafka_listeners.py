"""Extra listeners advertise another address (the chaos suite's proxies)."""

from __future__ import annotations

from pathlib import Path

import pytest

from boleta import settings as settings_mod
from boleta.stack import kafka, kafka_config


def properties(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if "=" in line]
    return dict(line.split("=", 1) for line in lines if not line.startswith("#"))


def test_an_extra_listener_listens_on_its_port_and_advertises_the_proxy(tmp_path: Path) -> None:
    settings = settings_mod.load({"BOLETA_HOME": str(tmp_path)})
    proxied = kafka.Listener("VIA_PROXY", 29094, "127.0.0.1:29194")
    config = properties(kafka._write_config(settings, [proxied]))
    assert config["listeners"].split(",")[2:] == ["VIA_PROXY://127.0.0.1:29094"]
    assert config["advertised.listeners"].split(",")[2:] == ["VIA_PROXY://127.0.0.1:29194"]
    assert "VIA_PROXY:PLAINTEXT" in config["listener.security.protocol.map"].split(",")
    assert config["inter.broker.listener.name"] == "PLAINTEXT"


def test_without_extra_listeners_the_broker_has_its_two(tmp_path: Path) -> None:
    settings = settings_mod.load({"BOLETA_HOME": str(tmp_path)})
    config = properties(kafka._write_config(settings))
    assert config["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert config["advertised.listeners"] == config["listeners"]
    assert config["listener.security.protocol.map"] == "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"


def test_a_node_of_three_fetches_over_its_inter_broker_listener(tmp_path: Path) -> None:
    """The replicated chaos rows route each node's fetches through a proxy of its own: the
    node's replicas fetch over the listener marked ``inter_broker``, on every node."""
    settings = settings_mod.load({"BOLETA_HOME": str(tmp_path), "BOLETA_KAFKA_NODES": "3"})
    links = [
        kafka.Listener("REPL1", 21153, "127.0.0.1:21163"),
        kafka.Listener("REPL2", 21154, "127.0.0.1:21154", inter_broker=True),
    ]
    config = kafka_config.broker_properties(settings, 2, links)
    assert config["inter.broker.listener.name"] == "REPL2"
    assert config["advertised.listeners"].split(",")[2:] == [
        "REPL1://127.0.0.1:21163",
        "REPL2://127.0.0.1:21154",
    ]
    both = [kafka.Listener(x.name, x.port, x.advertised, inter_broker=True) for x in links]
    with pytest.raises(AssertionError, match="one listener"):
        kafka_config.broker_properties(settings, 2, both)
