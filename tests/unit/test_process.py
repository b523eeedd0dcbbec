"""The one process manager, on real subprocesses: pid files trusted only while the process
still runs the command we started, output captured in a log, readiness failures that name
the log, and SIGTERM then SIGKILL of the whole group."""

from __future__ import annotations

import signal
import socket
import sys
import time
from pathlib import Path

import psutil
import pytest

from boleta.stack import process as process_module
from boleta.stack.process import ManagedProcess, PortTakenError, StartError, ensure_port_free


def _managed(tmp_path: Path, marker: str) -> ManagedProcess:
    return ManagedProcess("sleeper", tmp_path / "run", tmp_path / "logs", markers=(marker,))


def test_start_stop_and_stale_pid_file(tmp_path: Path) -> None:
    marker = f"import time; time.sleep(60)  # {tmp_path}"
    proc = _managed(tmp_path, marker)
    pid = proc.start([sys.executable, "-c", marker])
    assert proc.pid() == pid
    assert proc.stop(grace=5) is True
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


# A leader that starts a child which ignores SIGTERM, prints both pids, then waits. (What
# they print is not in their source, which the log's header line repeats.)
STUBBORN = """
import os, signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import signal, time; "
    "signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('SIGTERM', 'ignored', flush=True); time.sleep(600)"])
print("pids", os.getpid(), child.pid, flush=True)
time.sleep(600)
"""


def _wait_for_log(proc: ManagedProcess, *texts: str) -> str:
    proc.wait_ready(
        lambda: all(t in proc.log_file.read_text() for t in texts), 30, "the test process"
    )
    return proc.log_file.read_text()


def test_output_goes_to_the_log_and_the_exit_code_is_kept(tmp_path: Path) -> None:
    proc = ManagedProcess("talker", tmp_path / "run", tmp_path / "logs")
    proc.start(
        [sys.executable, "-c", "import sys, time; print('to', 'out'); "
         "print('to', 'err', file=sys.stderr, flush=True); time.sleep(600)"]
    )  # fmt: skip
    text = _wait_for_log(proc, "to err")
    assert "to out" in text
    assert "--- boleta starts talker" in text
    assert proc.stop(grace=10) is True
    assert proc.returncode == -signal.SIGTERM


def test_stop_kills_the_group_when_a_child_ignores_sigterm(tmp_path: Path) -> None:
    proc = ManagedProcess("stubborn", tmp_path / "run", tmp_path / "logs")
    proc.start([sys.executable, "-c", STUBBORN])
    text = _wait_for_log(proc, "SIGTERM ignored", "pids ")
    leader, child = (int(p) for p in text.split("pids ")[1].split()[:2])
    started = time.monotonic()
    assert proc.stop(grace=1.0) is True
    # The leader died of SIGTERM at once; the child outlived the grace, then got SIGKILL.
    assert time.monotonic() - started >= 1.0
    assert proc.returncode == -signal.SIGTERM
    assert not psutil.pid_exists(leader)
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


def test_kill_takes_the_whole_group(tmp_path: Path) -> None:
    proc = ManagedProcess("stubborn", tmp_path / "run", tmp_path / "logs")
    proc.start([sys.executable, "-c", STUBBORN])
    text = _wait_for_log(proc, "SIGTERM ignored", "pids ")
    child = int(text.split("pids ")[1].split()[1])
    proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not proc.running()
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


def test_readiness_timeout_names_the_step_the_log_and_the_setting(tmp_path: Path) -> None:
    proc = ManagedProcess("slow", tmp_path / "run", tmp_path / "logs", settings=("BOLETA_X",))
    proc.start([sys.executable, "-c", "print('still', 'warming up', flush=True); "
                "import time; time.sleep(600)"])  # fmt: skip
    try:
        with pytest.raises(StartError) as caught:
            proc.wait_ready(lambda: False, 0.5, "the slow thing")
    finally:
        proc.stop(grace=5)
    message = str(caught.value)
    assert message.startswith("starting the slow thing failed: it was not ready after 0s")
    assert str(proc.log_file) in message
    assert "still warming up" in message
    assert "change BOLETA_X" in message


def test_a_process_that_exits_while_starting_is_reported_with_its_code(tmp_path: Path) -> None:
    proc = ManagedProcess("crasher", tmp_path / "run", tmp_path / "logs")
    proc.start([sys.executable, "-c", "import sys; sys.exit('bad config: ' + 'no such file')"])
    with pytest.raises(StartError) as caught:
        proc.wait_ready(lambda: False, 30, "the crasher")
    message = str(caught.value)
    assert "it exited with code 1 before it was ready" in message
    assert "bad config: no such file" in message
    assert str(proc.log_file) in message


def test_a_process_that_exits_while_it_is_looked_at_has_its_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once ``pid()`` says None for a process we started, its exit code is known, even when
    the process exits between the two looks (the chaos suite's kills after the DLQ)."""
    marker = f"import time; time.sleep(60)  # {tmp_path} exits mid-look"
    proc = _managed(tmp_path, marker)
    pid = proc.start([sys.executable, "-c", marker])
    real = process_module._is_ours

    def exits_meanwhile(looked_at: int, markers: tuple[str, ...]) -> bool:
        psutil.Process(looked_at).send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while psutil.Process(looked_at).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the child did not die"
            time.sleep(0.01)
        return real(looked_at, markers)

    monkeypatch.setattr(process_module, "_is_ours", exits_meanwhile)
    assert proc.pid() is None
    assert proc.returncode == -signal.SIGKILL, f"pid {pid} exited, its code was lost"
