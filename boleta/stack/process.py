"""Background processes with pid files: start detached, find again, stop for good.

A pid file alone is not trusted: the process must also still run the command line we
started (its ``marker``), so a recycled pid is never mistaken for our service.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil


class PortTakenError(RuntimeError):
    """A port we must listen on is held by a process that is not ours."""


@dataclass(frozen=True, slots=True)
class ManagedProcess:
    """One service process: pid file, log file, and texts one of which its command line holds."""

    name: str
    run_dir: Path
    log_dir: Path
    markers: tuple[str, ...]

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid of our running process, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if _is_ours(pid, self.markers):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> int:
        """Start ``argv`` in its own session, output appended to the log file."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            log.write(f"\n--- boleta starts {self.name}: {' '.join(argv)}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        self.pid_file.write_text(str(proc.pid))
        # Until the child has exec'd, its command line is still ours: wait for the switch so
        # that pid() does not mistake a starting service for a stranger.
        deadline = time.monotonic() + 5
        while not _is_ours(proc.pid, self.markers) and proc.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        return proc.pid

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM the process group, SIGKILL it after ``timeout``. True if it was running."""
        pid = self.pid()
        if pid is None:
            return False
        _signal_group(pid, signal.SIGTERM)
        try:
            psutil.Process(pid).wait(timeout)
        except psutil.TimeoutExpired:
            _signal_group(pid, signal.SIGKILL)
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).wait(10)
        except psutil.NoSuchProcess:
            pass
        _reap_group(pid)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL the whole process group now (what the tests use to simulate a crash)."""
        pid = self.pid()
        if pid is not None:
            _signal_group(pid, signal.SIGKILL)
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).wait(10)
            _reap_group(pid)


def _is_ours(pid: int, markers: tuple[str, ...]) -> bool:
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        cmdline = " ".join(proc.cmdline())
        return any(marker in cmdline for marker in markers)
    except psutil.Error:
        return False


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(os.getpgid(pid), sig)
    except ProcessLookupError:
        return
    except PermissionError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _reap_group(pid: int) -> None:
    """Kill whatever is left of the session the service ran in (children included)."""
    leftovers = [p for p in psutil.process_iter(["pid"]) if _sid(p) == pid]
    for proc in leftovers:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(leftovers, timeout=5)


def _sid(proc: psutil.Process) -> int | None:
    try:
        return os.getsid(proc.pid)
    except OSError:
        return None


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_owner(port: int) -> str:
    """Describe the process listening on ``port`` (pid and command), as far as we can see it."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                return "an unknown process"
            try:
                cmd = " ".join(psutil.Process(conn.pid).cmdline())[:120]
            except psutil.Error:
                cmd = "?"
            return f"pid {conn.pid} ({cmd})"
    return "an unknown process"


def ensure_port_free(service: str, host: str, port: int, setting: str) -> None:
    if port_open(host, port):
        raise PortTakenError(
            f"{service} cannot start: {host}:{port} is already taken by {port_owner(port)}. "
            f"Stop that process, or move boleta's {service} with {setting}."
        )


def wait_until(check: Callable[[], bool], timeout: float, what: str, proc: ManagedProcess) -> None:
    """Poll ``check()`` until true; fail with the log tail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc.pid() is None:
            raise RuntimeError(
                f"{proc.name} exited while starting; last log lines:\n{tail(proc.log_file)}"
            )
        time.sleep(0.2)
    raise TimeoutError(
        f"{what} not ready after {timeout:.0f}s; last log lines:\n{tail(proc.log_file)}"
    )


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
