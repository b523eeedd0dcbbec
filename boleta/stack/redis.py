"""Debian's redis-server on the settings' port, data under the state directory, AOF on."""

from __future__ import annotations

import redis

from boleta.settings import Settings
from boleta.stack.process import ManagedProcess, ensure_port_free
from boleta.stack.tools import require_tool


def process(settings: Settings) -> ManagedProcess:
    host, port = settings.redis_host_port
    data = settings.home / "redis"
    # redis-server rewrites its process title to "redis-server host:port" once it runs.
    return ManagedProcess(
        "redis",
        settings.home / "run",
        settings.home / "logs",
        markers=(f"--dir {data}", f"redis-server {host}:{port}"),
        settings=("BOLETA_REDIS_URL",),
    )


def start(settings: Settings) -> None:
    host, port = settings.redis_host_port
    ensure_port_free("Redis", host, port, "BOLETA_REDIS_URL")
    binary = require_tool("redis-server", "Redis (Debian package 'redis-server')")
    data = settings.home / "redis"
    data.mkdir(parents=True, exist_ok=True)
    process(settings).start(
        [
            binary,
            "--port",
            str(port),
            "--dir",
            str(data),
            "--bind",
            host,
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--daemonize",
            "no",
            "--protected-mode",
            "no",
            "--logfile",
            "",
        ]
    )


def ready(settings: Settings) -> bool:
    try:
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=1, socket_connect_timeout=1
        )
        with client:
            return bool(client.ping())
    except redis.RedisError:
        return False


def wait_ready(settings: Settings) -> None:
    process(settings).wait_ready(lambda: ready(settings), settings.ready_timeout_s, "Redis")
