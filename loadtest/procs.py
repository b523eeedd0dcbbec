"""Boleta processes started by the benchmark: private settings, readiness, peak RSS.

Each process runs ``python -m boleta.cli ...`` with the benchmark's settings passed as
``BOLETA_*`` variables, like a pod gets its ConfigMap, and is run by boleta's one process
manager (:mod:`boleta.stack.process`). A sampler thread records the peak resident memory
of every process (children included) while it runs.
"""

from __future__ import annotations

import dataclasses
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from boleta.services import grpc_serving
from boleta.settings import Settings, environment
from boleta.stack.process import ManagedProcess

SAMPLE_S = 0.2


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class PeakRss:
    """Peak RSS (bytes) per role name, sampled from a thread."""

    def __init__(self) -> None:
        self.peaks: dict[str, int] = {}
        self._watched: dict[str, psutil.Process] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)
        self._thread.start()

    def watch(self, role: str, pid: int) -> None:
        with self._lock:
            self._watched[role] = psutil.Process(pid)

    def forget(self, role: str) -> None:
        self.sample()
        with self._lock:
            self._watched.pop(role, None)

    def sample(self) -> None:
        with self._lock:
            watched = list(self._watched.items())
        for role, proc in watched:
            try:
                rss = proc.memory_info().rss + sum(
                    c.memory_info().rss for c in proc.children(recursive=True)
                )
            except psutil.Error:
                continue
            self.peaks[role] = max(self.peaks.get(role, 0), rss)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            self.sample()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


@dataclasses.dataclass
class AppProcess:
    role: str
    process: ManagedProcess
    pid: int

    @property
    def log(self) -> Path:
        return self.process.log_file

    def alive(self) -> bool:
        return self.process.running()

    def log_tail(self, lines: int = 20) -> str:
        return self.process.tail(lines)

    def stop(self, timeout: float = 20.0) -> None:
        self.process.stop(timeout)


class Apps:
    """Starts boleta processes and stops all of them on exit; tracks their peak RSS."""

    def __init__(self, log_dir: Path | None = None) -> None:
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="boleta-bench-"))
        self.rss = PeakRss()
        self._running: list[AppProcess] = []

    def start(
        self, role: str, settings: Settings, *argv: str, module: str = "boleta.cli"
    ) -> AppProcess:
        """Runs ``python -m module *argv`` with ``settings`` as its environment."""
        process = ManagedProcess(role, self.log_dir, self.log_dir)
        pid = process.start([sys.executable, "-m", module, *argv], environment(settings))
        app = AppProcess(role, process, pid)
        self._running.append(app)
        self.rss.watch(role, pid)
        return app

    def wait(self, app: AppProcess, ready: Callable[[], bool], timeout: float = 60.0) -> None:
        app.process.wait_ready(ready, timeout, app.role)

    def commands(self, role: str, settings: Settings) -> AppProcess:
        return self.start(role, settings, "serve", "commands")

    def stop(self, *apps: AppProcess) -> None:
        for app in apps:
            self.rss.forget(app.role)
            app.stop()
            if app in self._running:
                self._running.remove(app)

    def close(self) -> None:
        self.stop(*list(self._running))
        self.rss.close()


@dataclasses.dataclass
class Service:
    """Server processes (command service or echo) sharing ``target``."""

    target: str
    processes: list[AppProcess]

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the processes have used so far."""
        return sum(cpu_seconds(app) for app in self.processes)


def cpu_seconds(app: AppProcess) -> float:
    """CPU time (user + system) ``app`` and its children have used so far."""
    try:
        proc = psutil.Process(app.pid)
        total = 0.0
        for each in (proc, *proc.children(recursive=True)):
            times = each.cpu_times()
            total += times.user + times.system
        return total
    except psutil.Error:
        return 0.0


@contextmanager
def command_service(
    apps: Apps, settings: Settings, processes: int, role: str = "commands"
) -> Iterator[Service]:
    """``processes`` command services sharing one port (SO_REUSEPORT)."""
    with _sharing_port(apps, settings, processes, role, apps.commands) as service:
        yield service


@contextmanager
def echo_service(
    apps: Apps, settings: Settings, processes: int, role: str = "echo"
) -> Iterator[Service]:
    """``processes`` no-op servers of the same proto (:mod:`loadtest.echo`) sharing one
    port, started like :func:`command_service`: the unary anchor."""
    target = f"{settings.command_host}:{settings.command_port}"

    def start(name: str, settings: Settings) -> AppProcess:
        return apps.start(name, settings, target, module="loadtest.echo")

    with _sharing_port(apps, settings, processes, role, start) as service:
        yield service


@contextmanager
def _sharing_port(
    apps: Apps,
    settings: Settings,
    processes: int,
    role: str,
    start: Callable[[str, Settings], AppProcess],
) -> Iterator[Service]:
    target = f"{settings.command_host}:{settings.command_port}"
    started = [
        start(role if processes == 1 else f"{role}-{i + 1}", settings) for i in range(processes)
    ]
    try:
        for app in started:
            apps.wait(app, lambda: grpc_serving(target))
        time.sleep(0.5 if processes > 1 else 0)  # let every process bind before load comes
        for app in started:
            if not app.alive():
                raise RuntimeError(f"{app.role} exited:\n{app.log_tail()}")
        yield Service(target, started)
    finally:
        apps.stop(*started)
