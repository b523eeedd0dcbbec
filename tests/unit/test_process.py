"""Pid files are trusted only while the process still runs the command we started."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from boleta.stack.process import ManagedProcess, PortTakenError, ensure_port_free


def _managed(tmp_path: Path, marker: str) -> ManagedProcess:
    return ManagedProcess("sleeper", tmp_path / "run", tmp_path / "logs", markers=(marker,))


def test_start_stop_and_stale_pid_file(tmp_path: Path) -> None:
    marker = f"import time; time.sleep(60)  # {tmp_path}"
    proc = _managed(tmp_path, marker)
    pid = proc.start([sys.executable, "-c", marker])
    assert proc.pid() == pid
    assert proc.stop(timeout=5) is True
    assert proc.pid() is None
    assert proc.stop() is False

    # A pid file naming someone else's process (here: ours, the test runner) is stale.
    proc.pid_file.write_text(str(__import__("os").getpid()))
    assert proc.pid() is None
    assert not proc.pid_file.exists()


def test_port_held_by_a_stranger_is_reported(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortTakenError, match=rf"127.0.0.1:{port} is already taken by pid \d+"):
            ensure_port_free("Redis", "127.0.0.1", port, "BOLETA_REDIS_URL")
