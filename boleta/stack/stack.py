"""The local stack as a whole: install, start, wait, report and stop Kafka, Redis and FerretDB."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from types import ModuleType

from boleta.settings import Settings
from boleta.stack import ferretdb, kafka, kafka_config, redis, toxiproxy
from boleta.stack.process import ManagedProcess, port_open

SERVICES: dict[str, ModuleType] = {"kafka": kafka, "redis": redis, "ferretdb": ferretdb}


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    name: str
    address: str
    pid: int | None
    ready: bool
    detail: str

    @property
    def state(self) -> str:
        if self.pid is not None and self.ready:
            return "running"
        if self.pid is not None:
            return "starting or unhealthy"
        return "stopped"


def address(settings: Settings, name: str) -> str:
    if name == "kafka":
        return settings.kafka_node_bootstrap
    host, port = {
        "kafka": settings.kafka_host_port,
        "redis": settings.redis_host_port,
        "ferretdb": settings.mongo_host_port,
    }[name]
    return f"{host}:{port}"


def _process(settings: Settings, name: str) -> ManagedProcess:
    proc: ManagedProcess = SERVICES[name].process(settings)
    return proc


def _processes(settings: Settings, name: str) -> list[ManagedProcess]:
    """A service's processes: one each, one per node for Kafka."""
    return kafka.processes(settings) if name == "kafka" else [_process(settings, name)]


def install(settings: Settings) -> None:
    """Fetch Kafka's jars and build FerretDB and Toxiproxy (the chaos suite's network
    faults) if the cache lacks them (Redis comes from apt)."""
    kafka.install(settings)
    ferretdb.install(settings)
    toxiproxy.install(settings)


def _up_one(settings: Settings, name: str) -> str:
    module = SERVICES[name]
    if all(p.pid() is not None for p in _processes(settings, name)):
        module.wait_ready(settings)
        return "already running"
    module.start(settings)  # Kafka: the nodes that are not running
    module.wait_ready(settings)
    if name == "kafka":
        kafka.create_topics(settings)
    return "started"


def up(
    settings: Settings, on_ready: Callable[[str, str, float], None] | None = None
) -> dict[str, str]:
    """Start what is not running (in parallel) and wait until every service answers.

    Idempotent: running services are left alone; a port held by a stranger is an error.
    """
    install(settings)
    started = time.monotonic()
    outcome: dict[str, str] = {}
    with ThreadPoolExecutor(len(SERVICES)) as pool:
        futures = {name: pool.submit(_up_one, settings, name) for name in SERVICES}
        errors = []
        for name, future in futures.items():
            try:
                outcome[name] = future.result()
                if on_ready:
                    on_ready(name, outcome[name], time.monotonic() - started)
            except Exception as exc:
                errors.append(f"{name}: {exc}")
    if errors:
        raise RuntimeError("the local stack did not come up:\n" + "\n".join(errors))
    return outcome


def down(settings: Settings) -> dict[str, bool]:
    """Stop every service we started (each Kafka node); True for those that were running."""
    procs = [p for name in SERVICES for p in _processes(settings, name)]
    with ThreadPoolExecutor(len(procs)) as pool:
        futures = {p.name: pool.submit(p.stop) for p in procs}
        return {name: f.result() for name, f in futures.items()}


def _checks(settings: Settings) -> list[tuple[str, str, ManagedProcess, Callable[[], bool]]]:
    """(name, address, process, readiness check) of each process of the stack."""
    found: list[tuple[str, str, ManagedProcess, Callable[[], bool]]] = []
    for name, module in SERVICES.items():
        if name != "kafka":
            found.append(
                (
                    name,
                    address(settings, name),
                    _process(settings, name),
                    partial(module.ready, settings),
                )
            )
            continue
        for node in kafka_config.nodes(settings):
            host, port, _ = kafka_config.node_address(settings, node)
            found.append(
                (
                    kafka_config.node_name(settings, node),
                    f"{host}:{port}",
                    kafka.process(settings, node),
                    partial(kafka.node_ready, settings, node),
                )
            )
    return found


def status(settings: Settings) -> list[ServiceStatus]:
    """One line per process: each Kafka node has its own."""
    result = []
    for name, addr, process, ready in _checks(settings):
        pid = process.pid()
        ok = bool(ready()) if pid is not None else False
        host, port = addr.rsplit(":", 1)
        if pid is None and port_open(host, int(port)):
            detail = f"port {port} is held by a process boleta did not start"
        elif pid is not None and not ok:
            detail = "process runs but does not answer"
        else:
            detail = ""
        result.append(ServiceStatus(name, addr, pid, ok, detail))
    return result


def kill(settings: Settings, name: str) -> None:
    """SIGKILL one service, every node of Kafka (for fault tests)."""
    for process in _processes(settings, name):
        process.kill()
