"""Apache Kafka in KRaft mode, run from Maven jars: one combined broker + controller node,
or three (BOLETA_KAFKA_NODES=3) whose controller quorum is all three, as in production."""

from __future__ import annotations

import base64
import shutil
import uuid
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from boleta.settings import Settings
from boleta.stack.kafka_config import (
    KAFKA_DIR,
    Listener,
    new_topic,
    node_address,
    node_home,
    node_name,
    node_title,
    nodes,
    render_config,
)
from boleta.stack.process import ManagedProcess, ensure_port_free
from boleta.stack.tools import require_tool, run_step

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


def process(settings: Settings, node: int = 1) -> ManagedProcess:
    return ManagedProcess(
        node_name(settings, node),
        settings.home / "run",
        settings.home / "logs",
        markers=(str(node_home(settings, node) / "server.properties"),),
        settings=("BOLETA_KAFKA_BOOTSTRAP", "BOLETA_KAFKA_CONTROLLER_PORT"),
    )


def processes(settings: Settings) -> list[ManagedProcess]:
    return [process(settings, node) for node in nodes(settings)]


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


def _write_config(settings: Settings, listeners: Sequence[Listener] = (), node: int = 1) -> Path:
    home = node_home(settings, node)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "server.properties"
    config.write_text(render_config(settings, node, listeners))
    return config


def new_cluster_id() -> str:
    """A random cluster id as Kafka's own ``Uuid.randomUuid()`` makes it: URL-safe base64
    of 16 random bytes without padding, drawn again when it would begin with ``-`` (about
    1 in 64 do), which command-line tools read as an option."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def format_storage(settings: Settings, config: Path, cluster_id: str, node: int = 1) -> None:
    """Format a node's KRaft log directories once. The id is passed as ``--cluster-id=ID``
    so that no id, whatever it starts with, can be read as an option. One node makes a
    quorum of itself (``--standalone``); several name their voters in the config."""
    alone = ["--standalone"] if settings.kafka_nodes == 1 else []
    run_step(
        f"formatting Kafka's storage{'' if settings.kafka_nodes == 1 else f' (node {node})'}",
        _java(
            settings,
            "kafka.tools.StorageTool",
            "format",
            *alone,
            f"--cluster-id={cluster_id}",
            "-c",
            str(config),
        ),
        log=settings.home / "logs" / f"{node_name(settings, node)}-format.log",
    )


def _cluster_id(settings: Settings) -> str:
    """The id a formatted node of the cluster already has, or a new one."""
    for node in nodes(settings):
        meta = node_home(settings, node) / "data" / "meta.properties"
        if meta.exists():
            for line in meta.read_text().splitlines():
                if line.startswith("cluster.id="):
                    return line.split("=", 1)[1].strip()
    return new_cluster_id()


def start(settings: Settings, listeners: Mapping[int, Sequence[Listener]] | None = None) -> None:
    """Start every node that is not running, each formatted first if it never was (one
    after another: the formatting steps report progress on one console). ``listeners``:
    each node's extra listeners."""
    install(settings)
    cluster_id = _cluster_id(settings)
    for node in nodes(settings):
        if process(settings, node).pid() is None:
            _start_node(settings, node, cluster_id, (listeners or {}).get(node, ()))


def start_node(settings: Settings, node: int, listeners: Sequence[Listener] = ()) -> None:
    """Start one node of the cluster (formatted first if it never was) and wait until it is
    back in the cluster: a rolling restart's step."""
    install(settings)
    _start_node(settings, node, _cluster_id(settings), listeners)
    wait_node_ready(settings, node)


def _start_node(
    settings: Settings, node: int, cluster_id: str, listeners: Sequence[Listener]
) -> None:
    host, port, controller_port = node_address(settings, node)
    name = node_title(settings, node)
    ensure_port_free(name, host, port, "BOLETA_KAFKA_BOOTSTRAP")
    ensure_port_free(f"{name}'s controller", host, controller_port, "BOLETA_KAFKA_CONTROLLER_PORT")
    for listener in listeners:
        ensure_port_free(f"Kafka's {listener.name} listener", host, listener.port, "its port")
    config = _write_config(settings, listeners, node)
    if not (node_home(settings, node) / "data" / "meta.properties").exists():
        format_storage(settings, config, cluster_id, node)
    process(settings, node).start(_java(settings, MAIN_CLASS, str(config)))


def admin(settings: Settings, quiet: bool = False) -> AdminClient:
    config: dict[str, str | int | float | bool] = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "socket.timeout.ms": 5000,
    }
    if quiet:  # readiness polls expect "connection refused" while the broker starts
        config["log_level"] = 0
    return AdminClient(config)


def ready(settings: Settings) -> bool:
    """Every node answers a DescribeCluster request, is registered, and there is a
    controller."""
    return all(node_ready(settings, node) for node in nodes(settings))


def node_ready(settings: Settings, node: int = 1) -> bool:
    """The node answers a DescribeCluster request (asked of it alone), the cluster has a
    controller, and the node is one of the cluster's brokers."""
    host, port, _ = node_address(settings, node)
    one = settings.replace(kafka_bootstrap=f"{host}:{port}")
    client = admin(one, quiet=True)  # must outlive the future, or librdkafka destroys it
    try:
        cluster = client.describe_cluster(request_timeout=3).result(timeout=5)
    except (KafkaException, TimeoutError, RuntimeError):
        return False
    return cluster.controller is not None and node in {n.id for n in cluster.nodes}


def wait_ready(settings: Settings) -> None:
    for node in nodes(settings):
        wait_node_ready(settings, node)


def wait_node_ready(settings: Settings, node: int) -> None:
    process(settings, node).wait_ready(
        partial(node_ready, settings, node), settings.ready_timeout_s, node_title(settings, node)
    )


def create_topics(settings: Settings, partitions: int | None = None, *names: str) -> None:
    """Create the vote topics (idempotent) with ``topic_config``: ``votes`` keeps every
    event forever, on every node of a replicated cluster."""
    parts = partitions or settings.partitions
    wanted = names or (settings.topic, settings.dlq_topic)
    client = admin(settings)
    existing = set(client.list_topics(timeout=10).topics)
    new = [new_topic(settings, n, parts) for n in wanted if n not in existing]
    if not new:
        return
    for name, future in client.create_topics(new, operation_timeout=30).items():
        try:
            future.result()
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise RuntimeError(f"cannot create topic {name}: {exc}") from exc
