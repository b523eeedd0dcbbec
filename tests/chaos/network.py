"""The chaos stack's network: one Toxiproxy proxy per client-server link, and the faults
the tests put on a link (partition, latency, resets, bandwidth).

Every boleta process of the chaos suite reaches its servers only through these proxies.
Kafka advertises the address its clients connected through, so each proxied Kafka link
has its own broker listener whose advertised address is the proxy's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from boleta.settings import Settings
from boleta.stack.kafka import Listener
from boleta.stack.toxiproxy import HOST, Toxiproxy

TOXIPROXY_PORT = 28474


@dataclass(frozen=True, slots=True)
class Link:
    """A proxy named ``name`` on ``HOST:listen``, forwarding to the server's ``upstream``."""

    name: str
    title: str
    server: str  # kafka, redis or ferretdb
    listen: int
    upstream: int

    @property
    def address(self) -> str:
        return f"{HOST}:{self.listen}"


LINKS = {
    link.name: link
    for link in (
        Link("commands-kafka", "command service -> Kafka", "kafka", 29194, 29094),
        Link("workers-kafka", "projection workers -> Kafka", "kafka", 29195, 29095),
        Link("tallies-redis", "tallies worker -> Redis", "redis", 26380, 26379),
        Link("audit-ferretdb", "audit worker -> FerretDB", "ferretdb", 27218, 27217),
        Link("board-ferretdb", "board worker -> FerretDB", "ferretdb", 27220, 27217),
        Link("queries-redis", "query service -> Redis", "redis", 26381, 26379),
        Link("queries-ferretdb", "query service -> FerretDB", "ferretdb", 27219, 27217),
        Link("queries-kafka", "query service -> Kafka", "kafka", 29196, 29096),
    )
}
# The links each boleta process uses (the harness's own checks connect directly).
APP_LINKS = {
    "commands": ("commands-kafka",),
    "tallies": ("workers-kafka", "tallies-redis"),
    "audit": ("workers-kafka", "audit-ferretdb"),
    "board": ("workers-kafka", "board-ferretdb"),
    "queries": ("queries-redis", "queries-ferretdb", "queries-kafka"),
}


def kafka_listeners() -> list[Listener]:
    """The broker's extra listeners, one per proxied Kafka link."""
    return [
        Listener(name.upper().replace("-", "_"), link.upstream, link.address)
        for name, link in LINKS.items()
        if link.server == "kafka"
    ]


def create_proxies(api: Toxiproxy) -> None:
    for link in LINKS.values():
        api.create(link.name, link.address, f"{HOST}:{link.upstream}")


def through_proxies(world: Settings, app: str) -> Settings:
    """``world`` as process ``app`` sees it: every server it uses behind its link's proxy."""
    changes: dict[str, str] = {}
    for name in APP_LINKS[app]:
        link = LINKS[name]
        if link.server == "kafka":
            changes["kafka_bootstrap"] = link.address
        elif link.server == "redis":
            db = world.redis_url.rsplit("/", 1)[1]
            changes["redis_url"] = f"redis://{link.address}/{db}"
        else:
            changes["mongo_url"] = f"mongodb://{link.address}/"
    return world.replace(**changes)


class Network:
    """Faults on the links, each a context manager that removes its toxics on exit."""

    def __init__(self, api: Toxiproxy) -> None:
        self.api = api

    @contextlib.contextmanager
    def _toxics(
        self,
        links: tuple[str, ...],
        kind: str,
        attributes: dict[str, int | float],
        streams: tuple[str, ...] = ("upstream", "downstream"),
    ) -> Iterator[None]:
        added: list[tuple[str, str]] = []
        try:
            for link in links:
                for stream in streams:
                    toxic = self.api.add(link, kind, attributes, stream)  # type: ignore[arg-type]
                    added.append((link, toxic))
            yield
        finally:
            for link, toxic in added:
                self.api.remove(link, toxic)

    def partition(self, *links: str) -> contextlib.AbstractContextManager[None]:
        """Nothing gets through either way (``timeout`` 0: connections stay open, silent);
        the proxy closes them when the partition heals, like peers whose TCP gave up."""
        return self._toxics(links, "timeout", {"timeout": 0})

    def latency(
        self, *links: str, ms: int = 200, jitter_ms: int = 50
    ) -> contextlib.AbstractContextManager[None]:
        """``ms`` plus or minus ``jitter_ms`` added each way."""
        return self._toxics(links, "latency", {"latency": ms, "jitter": jitter_ms})

    def resets(self, *links: str) -> contextlib.AbstractContextManager[None]:
        """Every connection is reset (TCP RST) as soon as the server answers on it, new ones
        included: the request has reached the server and may have been carried out, the
        client never sees the answer (the case that tests exactly-once)."""
        return self._toxics(links, "reset_peer", {"timeout": 0}, ("downstream",))

    def bandwidth(self, *links: str, kb_s: int) -> contextlib.AbstractContextManager[None]:
        """The server's answers limited to ``kb_s`` KB/s."""
        return self._toxics(links, "bandwidth", {"rate": kb_s}, ("downstream",))
