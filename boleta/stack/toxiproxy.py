"""Shopify's Toxiproxy, built with Go from our small main, and its HTTP API.

The chaos suite puts one proxy between each client and server of its private stack and
injects network faults (partitions, latency, resets, bandwidth) by adding and removing
"toxics" on a proxy. Only the chaos suite starts it; ``boleta infra install`` builds it so
that a fresh clone's ``make test`` has it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from boleta.settings import REPO_ROOT, Settings
from boleta.stack.process import ManagedProcess, ensure_port_free
from boleta.stack.tools import go_binary, go_build

SOURCE_DIR = REPO_ROOT / "infra" / "local" / "toxiproxy"
SOURCES = ("go.mod", "go.sum", "main.go")
HOST = "127.0.0.1"

Stream = Literal["downstream", "upstream"]


class ToxiproxyError(RuntimeError):
    """The Toxiproxy API refused a request; the message carries its answer."""


def binary_path(settings: Settings) -> Path:
    return go_binary(settings.cache_dir, SOURCE_DIR, SOURCES, "toxiproxy")


def install(settings: Settings) -> Path:
    """Build the Toxiproxy binary (once per source version)."""
    log = settings.home / "logs" / "install-toxiproxy.log"
    return go_build(SOURCE_DIR, binary_path(settings), "Toxiproxy", log=log)


def process(settings: Settings, api_port: int) -> ManagedProcess:
    return ManagedProcess(
        "toxiproxy",
        settings.home / "run",
        settings.home / "logs",
        markers=(f"--port {api_port}",),
    )


def start(settings: Settings, api_port: int) -> Toxiproxy:
    """Start Toxiproxy with its API on ``api_port`` and wait until it answers."""
    ensure_port_free("Toxiproxy", HOST, api_port, "the chaos stack's TOXIPROXY_PORT")
    binary = install(settings)
    proc = process(settings, api_port)
    proc.start([str(binary), "--host", HOST, "--port", str(api_port)])
    api = Toxiproxy(f"http://{HOST}:{api_port}")
    proc.wait_ready(api.ready, settings.ready_timeout_s, "Toxiproxy")
    return api


@dataclass(frozen=True, slots=True)
class Toxiproxy:
    """The HTTP API of one Toxiproxy server (``/proxies``, ``/proxies/NAME/toxics``)."""

    url: str
    timeout_s: float = 10.0

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - our own server on 127.0.0.1
            self.url + path, data=data, method=method
        )
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                text = response.read().decode()
        except urllib.error.HTTPError as exc:
            answer = exc.read().decode(errors="replace")
            raise ToxiproxyError(f"{method} {path}: HTTP {exc.code}: {answer}") from None
        return json.loads(text) if text.strip() else None

    def ready(self) -> bool:
        try:
            self._call("GET", "/proxies")
        except (OSError, ToxiproxyError):
            return False
        return True

    def create(self, name: str, listen: str, upstream: str) -> None:
        """A proxy that listens on ``listen`` (host:port) and forwards to ``upstream``."""
        self._call("POST", "/proxies", {"name": name, "listen": listen, "upstream": upstream})

    def add(
        self,
        proxy: str,
        kind: str,
        attributes: dict[str, int | float],
        stream: Stream = "downstream",
        name: str | None = None,
    ) -> str:
        """Add a toxic (``timeout``, ``latency``, ``reset_peer``, ``bandwidth``, ...) to one
        direction of a proxy; returns its name, for :meth:`remove`."""
        toxic = name or f"{kind}_{stream}"
        self._call(
            "POST",
            f"/proxies/{proxy}/toxics",
            {
                "name": toxic,
                "type": kind,
                "stream": stream,
                "toxicity": 1.0,
                "attributes": attributes,
            },
        )
        return toxic

    def remove(self, proxy: str, toxic: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{toxic}")

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._call("GET", f"/proxies/{proxy}/toxics")
        return found

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        """Disabling a proxy closes its connections and refuses new ones."""
        self._call("POST", f"/proxies/{proxy}", {"enabled": enabled})

    def reset(self) -> None:
        """Every proxy enabled, every toxic removed."""
        self._call("POST", "/reset")
