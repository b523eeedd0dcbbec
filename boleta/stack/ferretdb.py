"""FerretDB v1 (MongoDB wire protocol, SQLite backend), built with Go from our small main."""

from __future__ import annotations

from pathlib import Path

import pymongo
import pymongo.errors

from boleta.settings import REPO_ROOT, Settings
from boleta.stack.process import ManagedProcess, ensure_port_free, wait_until
from boleta.stack.tools import go_binary, go_build

SOURCE_DIR = REPO_ROOT / "infra" / "local" / "ferretdb"
SOURCES = ("go.mod", "go.sum", "main.go")


def binary_path(settings: Settings) -> Path:
    return go_binary(settings.cache_dir, SOURCE_DIR, SOURCES, "ferretdb")


def install(settings: Settings) -> Path:
    """Build the FerretDB binary (once per source version; Go's caches make rebuilds quick)."""
    return go_build(SOURCE_DIR, binary_path(settings), "FerretDB v1")


def process(settings: Settings) -> ManagedProcess:
    return ManagedProcess(
        "ferretdb",
        settings.home / "run",
        settings.home / "logs",
        markers=(f"--data-dir {settings.home / 'ferretdb'}",),
    )


def start(settings: Settings) -> None:
    host, port = settings.mongo_host_port
    ensure_port_free("FerretDB", host, port, "BOLETA_MONGO_URL")
    binary = install(settings)
    process(settings).start(
        [
            str(binary),
            "--listen-addr",
            f"{host}:{port}",
            "--data-dir",
            str(settings.home / "ferretdb"),
        ]
    )


def ready(settings: Settings) -> bool:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        settings.mongo_url, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000
    )
    try:
        client.admin.command("ping")
        return True
    except pymongo.errors.PyMongoError:
        return False
    finally:
        client.close()


def wait_ready(settings: Settings) -> None:
    wait_until(lambda: ready(settings), settings.ready_timeout_s, "FerretDB", process(settings))
