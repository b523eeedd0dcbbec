"""Settings: one frozen, typed object built from ``BOLETA_*`` environment variables.

This is the only module that reads the environment (through :func:`load`); everything
else receives a :class:`Settings` as an argument.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

PREFIX = "BOLETA_"
REPO_ROOT = Path(__file__).resolve().parent.parent
# The command service's wait for room in a full producer queue (commands.kafka_log).
QUEUE_WAIT_MS = 1_000
# The local stack runs one Kafka node, or three as production does (a quorum of three,
# replication factor 3, min.insync.replicas 2). Node n (from 1) listens on the bootstrap's
# port + KAFKA_NODE_PORT_STEP * (n - 1) and its controller on kafka_controller_port + the
# same: 9092/9093, 9192/9193, 9292/9293 by default, clear of the metrics ports (9100-9103).
KAFKA_NODE_COUNTS = (1, 3)
KAFKA_NODE_PORT_STEP = 100

T = TypeVar("T")


class SettingsError(ValueError):
    """A ``BOLETA_*`` variable holds a value that cannot be used."""


def _default_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "boleta"


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting boleta reads. Field ``x`` is read from ``BOLETA_X``."""

    home: Path = REPO_ROOT / ".boleta"
    cache_dir: Path = field(default_factory=_default_cache_dir)
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_controller_port: int = 9093
    kafka_heap: str = "512m"  # per node
    kafka_nodes: int = 1  # the local stack's Kafka nodes: 1 or 3 (KAFKA_NODE_COUNTS)
    redis_url: str = "redis://127.0.0.1:6379/0"
    mongo_url: str = "mongodb://127.0.0.1:27017/"
    mongo_db: str = "boleta"
    topic: str = "votes"
    dlq_topic: str = "votes.dlq"
    partitions: int = 6
    ready_timeout_s: float = 120.0
    # Prometheus /metrics of the workers and the command service listen here.
    metrics_host: str = "127.0.0.1"
    # Command service (gRPC).
    command_host: str = "127.0.0.1"
    command_port: int = 50051
    command_token: str = field(default="", repr=False)
    command_metrics_port: int = 9100
    command_ack_timeout_s: float = 5.0
    command_max_inflight: int = 20_000
    # The most any two command processes' clocks may differ (they stamp cast_at). NTP or
    # chrony keeps real hosts within milliseconds; the audit pages' `since` relies on it
    # (see cast_order_slack).
    clock_skew_max_ms: int = 10_000
    # Tests only: the command service's clock runs this far ahead (or behind, negative) of
    # the host's, to inject clock skew between command processes (tests/chaos).
    clock_offset_ms: int = 0
    # TLS of the gRPC API: the server serves TLS with a PEM certificate chain and key;
    # clients (`boleta cast`, `boleta up`'s probe) trust the PEM roots in command_tls_ca,
    # or the server's own certificate (self-signed) when only that is set.
    command_tls_cert: str = ""
    command_tls_key: str = ""
    command_tls_ca: str = ""
    default_contest: str = "main"
    catalog_file: str = ""
    # Results as of a moment (query service and `boleta results --as-of`): a replay of the
    # log ends within as_of_timeout_s and reads at most as_of_max_events messages; the
    # query service keeps the final results of the as_of_cache_size latest moments asked.
    as_of_timeout_s: float = 20.0
    as_of_max_events: int = 1_000_000
    as_of_cache_size: int = 64
    # Projection workers. Groups are "<group_prefix>-tallies" and "<group_prefix>-audit".
    group_prefix: str = "boleta"
    tallies_tag: str = "{tallies}"
    tallies_metrics_port: int = 9101
    audit_metrics_port: int = 9102
    projection_batch_size: int = 2000
    # The board worker's batches are larger: each batch rewrites every partition's partial
    # bundle, up to 255 entries, whatever the batch's size; two batches are held at once (one
    # written, one prepared), so its peak RSS grows with them: 216 MB at 10,000, 199 at 5,000
    # (docs/performance.md, "The board worker's catch-up").
    board_batch_size: int = 5000
    # How long a worker waits to fill a batch. The tallies are what Grafana and the end-to-
    # end latency show: 20 ms. The audit log is read by people paging through it, and
    # FerretDB spends about a millisecond of CPU per request whatever its size, so a
    # batch every 20 ms cost it 0.37-0.43 of a core at 200-400 votes/s; every 250 ms,
    # 0.14-0.17 (docs/performance.md).
    projection_batch_timeout_ms: int = 20
    audit_batch_timeout_ms: int = 250
    # Tests only: a projection worker exits hard (code 75) right after its Nth batch with
    # poison is in the DLQ, before that batch is applied (tests/chaos). 0: never.
    crash_after_dead_letters: int = 0
    # Query service (HTTP), used from the query-service issue on.
    query_host: str = "127.0.0.1"
    query_port: int = 8000
    cors_origins: str = ""
    webapp_dir: Path = REPO_ROOT / "webapp" / "dist"
    # The public bulletin board (ADR 8, docs/verifiability.md). Partition N's checkpoint
    # origin is "<board_origin>/p<N>". Secrets only by reference: a file each (a mounted
    # Kubernetes Secret in production). Left empty, they are files under home/secrets/,
    # made on first use (local runs only). The signing key file holds one line in Go's
    # note signer format (`boleta board new-key FILE` makes one); the pseudonym secret
    # file holds at least 32 random bytes; the auditor token file one line.
    board_origin: str = "boleta.local/board"
    board_key_file: str = ""
    # The verifier key of board_key_file's key (public: name+id+base64), for the query
    # service, which publishes it and does not need the signing key. Empty: derived from
    # the signing key (local runs).
    board_verifier_key: str = ""
    board_secret_file: str = ""
    auditor_token_file: str = ""
    # A receipt promises its vote on the board (in a signed checkpoint) this long after
    # its cast_at: the board worker's maximum merge delay.
    board_publish_within_s: int = 60
    board_metrics_port: int = 9103
    # Kafka producer tuning.
    kafka_linger_ms: int = 5
    kafka_delivery_timeout_ms: int = 10_000
    kafka_compression: str = "lz4"
    # Votes the producer holds before Kafka confirms them; beyond it a vote waits up to 1 s
    # for room, then is answered RESOURCE_EXHAUSTED.
    kafka_queue_max_messages: int = 200_000
    # Kafka security, passed through to every confluent-kafka client (empty: plaintext).
    kafka_security_protocol: str = ""
    kafka_sasl_mechanism: str = ""
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = field(default="", repr=False)
    kafka_ssl_ca: str = ""

    @property
    def kafka_host_port(self) -> tuple[str, int]:
        return _host_port(self.kafka_bootstrap.split(",")[0], "BOLETA_KAFKA_BOOTSTRAP", 9092)

    @property
    def kafka_node_ports(self) -> list[tuple[int, int]]:
        """(client port, controller port) of each local Kafka node, node 1 first."""
        _, port = self.kafka_host_port
        step = KAFKA_NODE_PORT_STEP
        return [
            (port + step * n, self.kafka_controller_port + step * n)
            for n in range(self.kafka_nodes)
        ]

    @property
    def kafka_node_bootstrap(self) -> str:
        """Every local Kafka node's client address, comma-separated."""
        host, _ = self.kafka_host_port
        return ",".join(f"{host}:{port}" for port, _ in self.kafka_node_ports)

    @property
    def redis_host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.redis_url)
        return parts.hostname or "127.0.0.1", parts.port or 6379

    @property
    def mongo_host_port(self) -> tuple[str, int]:
        parts = urlsplit(self.mongo_url)
        return parts.hostname or "127.0.0.1", parts.port or 27017

    @property
    def kafka_security(self) -> dict[str, str]:
        """The librdkafka security properties that are set (SASL/SSL), for every client."""
        given = {
            "security.protocol": self.kafka_security_protocol,
            "sasl.mechanism": self.kafka_sasl_mechanism,
            "sasl.username": self.kafka_sasl_username,
            "sasl.password": self.kafka_sasl_password,
            "ssl.ca.location": self.kafka_ssl_ca,
        }
        return {key: value for key, value in given.items() if value}

    @property
    def command_tls_roots(self) -> str:
        """The PEM file a client trusts for the gRPC API; empty when it is not TLS."""
        return self.command_tls_ca or self.command_tls_cert

    @property
    def cast_order_slack_ms(self) -> int:
        """How far out of cast_at order the log can be: a vote stamped at t by one command
        process can reach the log after one stamped up to this much later by another. Its
        clock skew (``clock_skew_max_ms``) plus the longest a stamped vote can take to reach
        the log: up to 1 s waiting for room in the producer's queue, then librdkafka's
        ``delivery.timeout.ms``, after which the vote fails instead of being appended."""
        return self.clock_skew_max_ms + QUEUE_WAIT_MS + self.kafka_delivery_timeout_ms

    @property
    def as_of_final_delay_ms(self) -> int:
        """How long after a moment results as of it can still change (read side's clock):
        a vote stamped then reaches the log within ``cast_order_slack_ms``, stamped by a
        clock up to ``clock_skew_max_ms`` off the reader's."""
        return self.cast_order_slack_ms + self.clock_skew_max_ms

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def redacted(url: str) -> str:
    """``url`` fit for a log or a terminal: a password in it becomes ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _host_port(value: str, name: str, default_port: int) -> tuple[str, int]:
    host, _, port = value.strip().rpartition(":")
    if not host:
        return value.strip(), default_port
    try:
        return host, int(port)
    except ValueError:
        raise SettingsError(
            f"{name}={value!r}: the port must be a number, e.g. 127.0.0.1:9092"
        ) from None


def _convert(name: str, raw: str, kind: Callable[[str], T]) -> T:
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a valid {kind.__name__}") from None


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``BOLETA_*`` variables (``os.environ`` by default).

    Unknown ``BOLETA_*`` names are an error: a typo must not silently fall back to a default.
    """
    env = os.environ if environ is None else environ
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}
    for key, raw in env.items():
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX) :].lower()
        if name not in fields:
            known = ", ".join(PREFIX + n.upper() for n in fields)
            raise SettingsError(f"unknown setting {key}; known settings: {known}")
        kind = fields[name].type
        if kind in ("Path", Path):
            values[name] = Path(raw).expanduser()
        elif kind in ("int", int):
            values[name] = _convert(key, raw, int)
        elif kind in ("float", float):
            values[name] = _convert(key, raw, float)
        else:
            values[name] = raw
    settings = Settings(**values)
    if settings.partitions < 1:
        raise SettingsError(f"BOLETA_PARTITIONS={settings.partitions}: must be at least 1")
    settings.kafka_host_port  # noqa: B018 - validates the bootstrap address early
    settings = _with_kafka_nodes(settings)
    if bool(settings.command_tls_cert) != bool(settings.command_tls_key):
        raise SettingsError(
            "BOLETA_COMMAND_TLS_CERT and BOLETA_COMMAND_TLS_KEY go together: set both "
            "(PEM files) for a TLS gRPC API, or neither"
        )
    if settings.clock_skew_max_ms < 0:
        raise SettingsError(
            f"BOLETA_CLOCK_SKEW_MAX_MS={settings.clock_skew_max_ms}: must be 0 or more"
        )
    if not (settings.tallies_tag.startswith("{") and settings.tallies_tag.endswith("}")):
        raise SettingsError(
            f"BOLETA_TALLIES_TAG={settings.tallies_tag!r}: must be a hash tag like {{tallies}}"
        )
    return settings


def _with_kafka_nodes(settings: Settings) -> Settings:
    """Check BOLETA_KAFKA_NODES; with several nodes, the bootstrap lists every one of them
    (given the first node's address alone, the others are added), so a client reaches the
    cluster whichever node is down."""
    if settings.kafka_nodes not in KAFKA_NODE_COUNTS:
        raise SettingsError(
            f"BOLETA_KAFKA_NODES={settings.kafka_nodes}: the local stack runs 1 Kafka node or "
            "3 (a quorum of three with replication factor 3, as in production)"
        )
    if settings.kafka_nodes == 1:
        return settings
    given = [a.strip() for a in settings.kafka_bootstrap.split(",") if a.strip()]
    every = settings.kafka_node_bootstrap
    if len(given) == 1:
        return settings.replace(kafka_bootstrap=every)
    if ",".join(given) != every:
        raise SettingsError(
            f"BOLETA_KAFKA_BOOTSTRAP={settings.kafka_bootstrap!r}: with "
            f"BOLETA_KAFKA_NODES={settings.kafka_nodes}, node n listens on the first node's "
            f"port + {KAFKA_NODE_PORT_STEP} * (n - 1); give the first node's address alone "
            f"or every node's: {every}"
        )
    return settings


def names() -> list[str]:
    """The environment variable names boleta reads (manifests are checked against these)."""
    return [PREFIX + f.name.upper() for f in dataclasses.fields(Settings)]


def environment(settings: Settings) -> dict[str, str]:
    """The process environment that makes a child boleta read exactly ``settings``: ours,
    less any ``BOLETA_*`` variable, plus one per setting (like a pod gets its ConfigMap)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    for f in dataclasses.fields(settings):
        env[PREFIX + f.name.upper()] = str(getattr(settings, f.name))
    return env
