"""Extra listeners advertise another address (the chaos suite's proxies)."""

from __future__ import annotations

from pathlib import Path

from boleta import settings as settings_mod
from boleta.stack import kafka


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
