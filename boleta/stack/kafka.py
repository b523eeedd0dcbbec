"""Apache Kafka in KRaft mode, one combined broker + controller node, run from Maven jars."""

from __future__ import annotations

import base64
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from boleta.settings import REPO_ROOT, Settings
from boleta.stack.process import ManagedProcess, ensure_port_free
from boleta.stack.tools import require_tool, run_step

KAFKA_DIR = REPO_ROOT / "infra" / "local" / "kafka"
MAIN_CLASS = "kafka.Kafka"


def kafka_version() -> str:
    text = (KAFKA_DIR / "pom.xml").read_text()
    return text.split("<kafka.version>")[1].split("</kafka.version>")[0]


def lib_dir(settings: Settings) -> Path:
    return settings.cache_dir / f"kafka-{kafka_version()}" / "lib"


def install(settings: Settings) -> Path:
    """Resolve the broker's jars from Maven Central into the cache (once per version)."""
    lib = lib_dir(settings)
    done = lib / ".complete"
    if done.exists():
        return lib
    require_tool("mvn", "Maven (Debian package 'maven')")
    require_tool("java", "a Java 17+ runtime (Debian package 'openjdk-17-jre-headless')")
    partial = lib.with_name("lib.partial")
    shutil.rmtree(partial, ignore_errors=True)
    run_step(
        f"resolving Kafka {kafka_version()} jars from Maven Central",
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(KAFKA_DIR / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={partial}",
            "-DincludeScope=runtime",
        ],
        log=settings.home / "logs" / "install-kafka.log",
    )
    shutil.rmtree(lib, ignore_errors=True)
    partial.rename(lib)
    done.touch()
    return lib


def process(settings: Settings) -> ManagedProcess:
    return ManagedProcess(
        "kafka",
        settings.home / "run",
        settings.home / "logs",
        markers=(str(settings.home / "kafka" / "server.properties"),),
        settings=("BOLETA_KAFKA_BOOTSTRAP", "BOLETA_KAFKA_CONTROLLER_PORT"),
    )


def _java(settings: Settings, main: str, *args: str) -> list[str]:
    return [
        require_tool("java", "a Java 17+ runtime (Debian package 'openjdk-17-jre-headless')"),
        f"-Xms{settings.kafka_heap}",
        f"-Xmx{settings.kafka_heap}",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={KAFKA_DIR / 'log4j2.properties'}",
        "-cp",
        f"{lib_dir(settings)}/*",
        main,
        *args,
    ]


@dataclass(frozen=True, slots=True)
class Listener:
    """An extra plaintext listener on ``port`` that advertises ``advertised`` (host:port):
    clients that reach the broker through a proxy must be told the proxy's address, or
    their next connection would bypass it."""

    name: str
    port: int
    advertised: str


def _write_config(settings: Settings, listeners: Sequence[Listener] = ()) -> Path:
    host, port = settings.kafka_host_port
    home = settings.home / "kafka"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "server.properties"
    config.write_text(
        Template((KAFKA_DIR / "server.properties.template").read_text()).substitute(
            host=host,
            port=port,
            controller_port=settings.kafka_controller_port,
            log_dirs=home / "data",
            partitions=settings.partitions,
            extra_listeners="".join(f",{x.name}://{host}:{x.port}" for x in listeners),
            extra_advertised="".join(f",{x.name}://{x.advertised}" for x in listeners),
            extra_protocols="".join(f",{x.name}:PLAINTEXT" for x in listeners),
        )
    )
    return config


def new_cluster_id() -> str:
    """A random cluster id as Kafka's own ``Uuid.randomUuid()`` makes it: URL-safe base64
    of 16 random bytes without padding, drawn again when it would begin with ``-`` (about
    1 in 64 do), which command-line tools read as an option."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def format_storage(settings: Settings, config: Path, cluster_id: str) -> None:
    """Format the KRaft log directories once. The id is passed as ``--cluster-id=ID`` so
    that no id, whatever it starts with, can be read as an option."""
    run_step(
        "formatting Kafka's storage",
        _java(
            settings,
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            f"--cluster-id={cluster_id}",
            "-c",
            str(config),
        ),
        log=settings.home / "logs" / "kafka-format.log",
    )


def start(settings: Settings, listeners: Sequence[Listener] = ()) -> None:
    host, port = settings.kafka_host_port
    ensure_port_free("Kafka", host, port, "BOLETA_KAFKA_BOOTSTRAP")
    ensure_port_free(
        "Kafka's controller", host, settings.kafka_controller_port, "BOLETA_KAFKA_CONTROLLER_PORT"
    )
    for listener in listeners:
        ensure_port_free(f"Kafka's {listener.name} listener", host, listener.port, "its port")
    install(settings)
    config = _write_config(settings, listeners)
    if not (settings.home / "kafka" / "data" / "meta.properties").exists():
        format_storage(settings, config, new_cluster_id())
    process(settings).start(_java(settings, MAIN_CLASS, str(config)))


def admin(settings: Settings, quiet: bool = False) -> AdminClient:
    config: dict[str, str | int | float | bool] = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "socket.timeout.ms": 5000,
    }
    if quiet:  # readiness polls expect "connection refused" while the broker starts
        config["log_level"] = 0
    return AdminClient(config)


def ready(settings: Settings) -> bool:
    """The broker answers a DescribeCluster request and has a controller."""
    client = admin(settings, quiet=True)  # must outlive the future, or librdkafka destroys it
    try:
        cluster = client.describe_cluster(request_timeout=3).result(timeout=5)
    except (KafkaException, TimeoutError, RuntimeError):
        return False
    return bool(cluster.nodes) and cluster.controller is not None


def wait_ready(settings: Settings) -> None:
    process(settings).wait_ready(lambda: ready(settings), settings.ready_timeout_s, "Kafka")


def create_topics(settings: Settings, partitions: int | None = None, *names: str) -> None:
    """Create the vote topics (idempotent). ``votes`` keeps every event forever."""
    parts = partitions or settings.partitions
    infinite = {"retention.ms": "-1", "retention.bytes": "-1"}
    wanted = names or (settings.topic, settings.dlq_topic)
    client = admin(settings)
    existing = set(client.list_topics(timeout=10).topics)
    new = [
        NewTopic(n, num_partitions=parts, replication_factor=1, config=infinite)
        for n in wanted
        if n not in existing
    ]
    if not new:
        return
    for name, future in client.create_topics(new, operation_timeout=30).items():
        try:
            future.result()
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise RuntimeError(f"cannot create topic {name}: {exc}") from exc
