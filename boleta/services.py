"""Boleta's own processes as the local stack runs them (``boleta up``)."""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from boleta.settings import Settings
from boleta.stack.process import ManagedProcess, ensure_port_free


@dataclass(frozen=True, slots=True)
class AppService:
    name: str
    argv: tuple[str, ...]
    port: int
    port_setting: str
    ready: Callable[[Settings], bool]
    url: Callable[[Settings], str]


def tls_roots(settings: Settings) -> bytes | None:
    """The PEM roots a client of the command service trusts; None when it is not TLS."""
    path = settings.command_tls_roots
    return Path(path).read_bytes() if path else None


def grpc_serving(target: str, timeout: float = 1.0, roots: bytes | None = None) -> bool:
    if roots is not None:
        chan = grpc.secure_channel(target, grpc.ssl_channel_credentials(roots))
    else:
        chan = grpc.insecure_channel(target)
    with chan:
        try:
            reply = health_pb2_grpc.HealthStub(chan).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=timeout
            )
        except grpc.RpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our URL
            return bool(response.status == 200)
    except OSError:
        return False


def command_target(settings: Settings) -> str:
    return f"{settings.command_host}:{settings.command_port}"


def app_services(settings: Settings) -> list[AppService]:
    cli = (sys.executable, "-m", "boleta.cli")
    return [
        AppService(
            "commands",
            (*cli, "serve", "commands"),
            settings.command_port,
            "BOLETA_COMMAND_PORT",
            lambda s: grpc_serving(command_target(s), roots=tls_roots(s)),
            lambda s: f"grpc://{command_target(s)} (metrics :{s.command_metrics_port})",
        ),
        AppService(
            "tallies",
            (*cli, "project", "tallies"),
            settings.tallies_metrics_port,
            "BOLETA_TALLIES_METRICS_PORT",
            lambda s: http_ok(f"http://127.0.0.1:{s.tallies_metrics_port}/metrics"),
            lambda s: f"projection -> Redis (metrics :{s.tallies_metrics_port})",
        ),
        AppService(
            "audit",
            (*cli, "project", "audit"),
            settings.audit_metrics_port,
            "BOLETA_AUDIT_METRICS_PORT",
            lambda s: http_ok(f"http://127.0.0.1:{s.audit_metrics_port}/metrics"),
            lambda s: f"projection -> MongoDB (metrics :{s.audit_metrics_port})",
        ),
        AppService(
            "board",
            (*cli, "project", "board"),
            settings.board_metrics_port,
            "BOLETA_BOARD_METRICS_PORT",
            lambda s: http_ok(f"http://127.0.0.1:{s.board_metrics_port}/metrics"),
            lambda s: f"public board -> MongoDB (metrics :{s.board_metrics_port})",
        ),
        AppService(
            "queries",
            (*cli, "serve", "queries"),
            settings.query_port,
            "BOLETA_QUERY_PORT",
            lambda s: http_ok(f"http://{s.query_host}:{s.query_port}/healthz"),
            lambda s: f"http://{s.query_host}:{s.query_port}/ (API /api/v1, docs /schema)",
        ),
    ]


def process(settings: Settings, service: AppService) -> ManagedProcess:
    return ManagedProcess(
        service.name,
        settings.home / "run",
        settings.home / "logs",
        markers=(" ".join(service.argv),),
        settings=(service.port_setting,),
    )


def start(settings: Settings, service: AppService) -> None:
    proc = process(settings, service)
    if proc.pid() is None:
        ensure_port_free(service.name, settings.command_host, service.port, service.port_setting)
        proc.start(service.argv)
    proc.wait_ready(lambda: service.ready(settings), settings.ready_timeout_s, service.name)
