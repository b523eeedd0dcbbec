"""FerretDB v1 (MongoDB wire protocol, SQLite backend), built with Go from our small main."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pymongo
import pymongo.errors

from boleta.settings import REPO_ROOT, Settings
from boleta.stack.process import ManagedProcess, ensure_port_free
from boleta.stack.tools import go_binary, go_build, run_step

SOURCE_DIR = REPO_ROOT / "infra" / "local" / "ferretdb"
SOURCES = ("go.mod", "go.sum", "main.go", "patches.json")


class PatchError(RuntimeError):
    pass


def binary_path(settings: Settings) -> Path:
    return go_binary(settings.cache_dir, SOURCE_DIR, SOURCES, "ferretdb")


def install(settings: Settings) -> Path:
    """Build the FerretDB binary (once per source version; Go's caches make rebuilds quick)."""
    binary = binary_path(settings)
    log = settings.home / "logs" / "install-ferretdb.log"
    go_build(SOURCE_DIR, binary, "FerretDB v1", lambda go: _patched(go, binary.parent, log), log)
    shutil.rmtree(binary.parent / "src", ignore_errors=True)  # the vendored copy (~100 MB)
    return binary


def _patched(go: str, workdir: Path, log: Path) -> Path:
    """A copy of our sources with vendored dependencies, patched by patches.json (each
    patch replaces one exact line of a dependency, and says why)."""
    build_dir = workdir / "src"
    shutil.rmtree(build_dir, ignore_errors=True)
    build_dir.mkdir(parents=True)
    for source in ("go.mod", "go.sum", "main.go"):
        shutil.copy2(SOURCE_DIR / source, build_dir / source)
    run_step("vendoring FerretDB's modules", [go, "mod", "vendor"], cwd=build_dir, log=log)
    for patch in json.loads((SOURCE_DIR / "patches.json").read_text()):
        target = build_dir / "vendor" / patch["module"] / patch["file"]
        text = target.read_text()
        if text.count(patch["old"]) != 1:
            raise PatchError(
                f"{target} does not contain {patch['old']!r} exactly once: the pinned "
                "module changed; update infra/local/ferretdb/patches.json"
            )
        target.write_text(text.replace(patch["old"], patch["new"]))
    return build_dir


def process(settings: Settings) -> ManagedProcess:
    return ManagedProcess(
        "ferretdb",
        settings.home / "run",
        settings.home / "logs",
        markers=(f"--data-dir {settings.home / 'ferretdb'}",),
        settings=("BOLETA_MONGO_URL",),
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
    process(settings).wait_ready(lambda: ready(settings), settings.ready_timeout_s, "FerretDB")
