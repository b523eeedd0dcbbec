"""Every install and start step explains its failure: each service's start and each kind
of install step is broken for real (a port taken, an address that is not ours, a missing
binary, a broken input), and the error must name the step, carry the tool's own last
lines, name the log to read and, where one applies, the setting to change."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from boleta import settings as settings_mod
from boleta.settings import Settings
from boleta.stack import ferretdb, kafka
from boleta.stack import redis as redis_service
from boleta.stack.process import StartError
from boleta.stack.tools import MissingToolError, StepError, go_build, run_step

pytestmark = pytest.mark.lifecycle

NOT_OURS = "192.0.2.1"  # TEST-NET-1: an address no interface of this machine has


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port bound but not listening: the start's own check sees nothing (connections
    are refused), the tool's bind fails. This is the race of two starts on one port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(tmp_path: Path, **env: str) -> Settings:
    values = {
        "BOLETA_HOME": str(tmp_path / "home"),
        "BOLETA_KAFKA_BOOTSTRAP": f"127.0.0.1:{_free_port()}",
        "BOLETA_KAFKA_CONTROLLER_PORT": str(_free_port()),
        "BOLETA_REDIS_URL": f"redis://127.0.0.1:{_free_port()}/0",
        "BOLETA_MONGO_URL": f"mongodb://127.0.0.1:{_free_port()}/",
        "BOLETA_KAFKA_HEAP": "256m",
        "BOLETA_READY_TIMEOUT_S": "90",
    }
    return settings_mod.load({**values, **env})


def _start_error(module: object, settings: Settings) -> str:
    process = module.process(settings)  # type: ignore[attr-defined]

    def up() -> None:
        module.start(settings)  # type: ignore[attr-defined]
        module.wait_ready(settings)  # type: ignore[attr-defined]

    try:
        with pytest.raises(StartError) as caught:
            up()
    finally:
        process.stop(10)
    message = str(caught.value)
    assert str(process.log_file) in message, message
    return message


def test_redis_on_a_taken_port(tmp_path: Path, held_port: int) -> None:
    settings = _settings(tmp_path, BOLETA_REDIS_URL=f"redis://127.0.0.1:{held_port}/0")
    message = _start_error(redis_service, settings)
    assert message.startswith("starting Redis failed: it exited"), message
    assert f"127.0.0.1:{held_port}: bind: Address already in use" in message
    assert "change BOLETA_REDIS_URL" in message


def test_ferretdb_on_an_address_that_is_not_ours(tmp_path: Path) -> None:
    settings = _settings(tmp_path, BOLETA_MONGO_URL=f"mongodb://{NOT_OURS}:27017/")
    message = _start_error(ferretdb, settings)
    assert message.startswith("starting FerretDB failed: it exited"), message
    assert re.search(rf"{NOT_OURS}:27017.*cannot assign requested address", message), message
    assert "change BOLETA_MONGO_URL" in message


def test_kafka_on_a_taken_controller_port(tmp_path: Path, held_port: int) -> None:
    settings = _settings(tmp_path, BOLETA_KAFKA_CONTROLLER_PORT=str(held_port))
    message = _start_error(kafka, settings)
    assert message.startswith("starting Kafka failed: it exited"), message
    assert re.search(rf"127.0.0.1:{held_port}.*Address already in use", message), message
    assert "BOLETA_KAFKA_CONTROLLER_PORT" in message


def test_kafka_without_java(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(tmp_path)
    kafka.install(settings)  # from the cache: the jars are there, java is not
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolError, match=r"'java' is not on PATH: .*Run `make deps`"):
        kafka.start(settings)


def test_a_go_build_that_fails_shows_the_compiler_error(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "go.mod").write_text("module broken\n\ngo 1.21\n")
    (source / "main.go").write_text("package main\n\nfunc main() { notDefined() }\n")
    log = tmp_path / "logs" / "install-broken.log"
    with pytest.raises(StepError) as caught:
        go_build(source, tmp_path / "bin" / "broken", "the broken program", log=log)
    message = str(caught.value)
    assert message.startswith("building the broken program with Go"), message
    assert "undefined: notDefined" in message
    assert str(log) in message
    assert "undefined: notDefined" in log.read_text()


def test_a_maven_step_that_fails_shows_maven_s_error(tmp_path: Path) -> None:
    pom = tmp_path / "pom.xml"
    pom.write_text("<project><modelVersion>4.0.0</modelVersion><broken>\n")
    log = tmp_path / "maven.log"
    with pytest.raises(StepError) as caught:
        run_step("resolving jars", ["mvn", "-q", "-B", "-o", "-f", str(pom), "validate"], log=log)
    message = str(caught.value)
    assert message.startswith("resolving jars failed (exit 1): mvn"), message
    assert re.search(r"Non-(readable|parseable) POM .*pom.xml", message), message
    assert str(log) in message


def test_an_npm_step_of_the_makefile_that_fails_shows_npm_s_error(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "broken", "version": "1.0.0"}\n')
    log = tmp_path / "logs" / "webapp-install.log"
    result = subprocess.run(
        [sys.executable, "-m", "boleta.stack.step", str(log), "installing packages",
         "npm", "ci", "--no-audit", "--no-fund"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: installing packages failed (exit 1): npm ci")
    assert "package-lock.json" in result.stderr  # npm's own explanation: no lock file
    assert str(log) in result.stderr
