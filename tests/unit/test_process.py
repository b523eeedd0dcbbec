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


def test_our_child_runs_until_it_exits_even_when_its_command_line_no_longer_shows(
    tmp_path: Path,
) -> None:
    """A process we started is running until it exits, and then its exit code is known,
    whatever its command line reads meanwhile. (While a process exits, the kernel frees its
    memory before it becomes a zombie, and its command line reads empty: the chaos suite's
    dead-letter crash row once saw "not running" with no exit code.) Here the child
    replaces itself with ``sleep``, so its command line stops showing the marker."""
    marker = f"import os; os.execv('/bin/sleep', ['sleep', '60'])  # {tmp_path}"
    proc = _managed(tmp_path, marker)
    pid = proc.start([sys.executable, "-c", marker])
    deadline = time.monotonic() + 10
    while psutil.Process(pid).cmdline() != ["sleep", "60"]:
        assert time.monotonic() < deadline, "the child did not exec sleep"
        time.sleep(0.01)
    assert proc.running(), "our child still runs, whatever its command line says"
    assert proc.pid() == pid
    psutil.Process(pid).send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while proc.running():
        assert time.monotonic() < deadline, "the child did not die"
        time.sleep(0.01)
    assert proc.returncode == -signal.SIGKILL, f"pid {pid} exited, its code was lost"
    assert not proc.pid_file.exists()
