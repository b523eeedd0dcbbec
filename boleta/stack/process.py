"""One way to run a process, for the local stack, the benchmark and the chaos suite.

A process starts in its own session (so its group can be signalled as one), with all its
output appended to a log file that every error names. Its pid goes to a pid file, so that
another ``boleta`` invocation finds it again; a pid file alone is not trusted: the process
must also still run the command line we started (its ``marker``), so a recycled pid is
never mistaken for ours. Readiness is polled until a check passes, the process exits, or
time runs out. Stopping is SIGTERM to the group, then SIGKILL to what is left of it after a
grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import psutil

POLL_S = 0.05


class PortTakenError(RuntimeError):
    """A port we must listen on is held by a process that is not ours."""


class StartError(RuntimeError):
    """A process exited, or did not become ready, while it was starting."""


class ManagedProcess:
    """One process: its name, pid file, log file, and texts one of which its command line holds.

    ``settings`` names the ``BOLETA_*`` settings that change how it starts (its address,
    its port), for the error message when it fails to.
    """

    def __init__(
        self,
        name: str,
        run_dir: Path,
        log_dir: Path,
        markers: tuple[str, ...] = (),
        settings: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.run_dir = run_dir
        self.log_dir = log_dir
        self.markers = markers
        self.settings = settings
        self.returncode: int | None = None
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid of our running process, or None (a stale pid file is removed).

        A process this manager started is judged by its Popen alone: until it is reaped its
        pid cannot be anyone else's, and once this says None its exit code is in
        ``returncode``. (Its command line is no witness: while a process exits, the kernel
        frees its memory before it becomes a zombie, and its command line reads empty.)
        Any other pid file is trusted only while that process runs our command line."""
        try:
            pid: int | None = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            pid = None
        child = self._popen
        if child is not None and child.pid == pid:
            if child.poll() is None:
                return pid
            self.returncode = child.returncode  # reaped: no zombie is left behind
            self.pid_file.unlink(missing_ok=True)
            return None
        if pid is not None and _is_ours(pid, self.markers):
            return pid
        if pid is not None:
            self.pid_file.unlink(missing_ok=True)
        return None

    def running(self) -> bool:
        return self.pid() is not None

    def start(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> int:
        """Start ``argv`` in its own session, output appended to the log file.

        ``env`` is the whole environment of the process (default: ours). Without markers,
        the command line itself is the marker."""
        if self.running():
            raise RuntimeError(f"{self.name} is already running (pid file {self.pid_file})")
        self.markers = self.markers or (" ".join(argv),)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.returncode = None
        with self.log_file.open("ab") as log:
            log.write(f"\n--- boleta starts {self.name}: {' '.join(argv)}\n".encode())
            log.flush()
            self._popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=dict(os.environ if env is None else env),
                start_new_session=True,
            )
        pid = self._popen.pid
        self.pid_file.write_text(str(pid))
        # Until the child has exec'd, its command line is still ours: wait for the switch so
        # that pid() does not mistake a starting service for a stranger.
        deadline = time.monotonic() + 5
        while not _is_ours(pid, self.markers) and self._popen.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        return pid

    def wait_ready(self, check: Callable[[], bool], timeout: float, what: str = "") -> None:
        """Poll ``check()`` until true. If the process exits first, or time runs out, the
        error names the step, the log file and its last lines, and the settings to change."""
        deadline = time.monotonic() + timeout
        while not check():
            if not self.running():
                code = "" if self.returncode is None else f" with code {self.returncode}"
                raise StartError(self.explain(what, f"it exited{code} before it was ready"))
            if time.monotonic() > deadline:
                raise StartError(self.explain(what, f"it was not ready after {timeout:.0f}s"))
            time.sleep(POLL_S)

    def explain(self, what: str, failure: str) -> str:
        """An error message: the step, what went wrong, the log to read, what to change."""
        message = (
            f"starting {what or self.name} failed: {failure}.\n"
            f"Last lines of its log {self.log_file}:\n{tail(self.log_file)}"
        )
        if self.settings:
            names = " or ".join(self.settings)
            message += f"\nIf its port is taken or its address is wrong, change {names}."
        return message

    def stop(self, grace: float = 30.0) -> bool:
        """SIGTERM the process group, SIGKILL what is left of it after ``grace`` seconds.
        True if it was running; its exit code (when we started it) is in ``returncode``."""
        pid = self.pid()
        if pid is None:
            return False
        group = _session(pid)
        _signal_group(pid, signal.SIGTERM)
        if not self._wait_gone(pid, group, grace):
            self._kill(pid, group)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL the whole process group now (what the tests use to simulate a crash)."""
        pid = self.pid()
        if pid is not None:
            self._kill(pid, _session(pid))

    def _kill(self, pid: int, group: list[psutil.Process]) -> None:
        _signal_group(pid, signal.SIGKILL)
        for proc in group:  # also those that left the group but not the session
            with contextlib.suppress(psutil.Error):
                proc.kill()
        self._wait_gone(pid, group, 10)

    def _wait_gone(self, pid: int, group: list[psutil.Process], timeout: float) -> bool:
        """Wait until the leader and every other process of its session are gone."""
        deadline = time.monotonic() + timeout
        held = self._popen is not None and self._popen.pid == pid
        if held and self._popen is not None:
            try:  # our child: wait through its Popen, which keeps the exit code
                self.returncode = self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
        others = [p for p in group if not (held and p.pid == pid)]
        _, alive = psutil.wait_procs(others, timeout=max(0.0, deadline - time.monotonic()))
        return not alive

    def tail(self, lines: int = 20) -> str:
        return tail(self.log_file, lines)


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


def _session(pid: int) -> list[psutil.Process]:
    """The processes of the session ``pid`` leads (itself and its children included)."""
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(OSError):
            if os.getsid(proc.pid) == pid:
                found.append(proc)
    return found


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


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a log file, indented, for an error message."""
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except FileNotFoundError:
        return f"    (no log at {path})"
    return "\n".join(f"    {line}" for line in text) or "    (empty)"
