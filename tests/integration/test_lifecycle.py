"""`boleta infra up|down|status` and `boleta up` on a private stack (own state dir and ports)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from boleta.stack.process import port_open

pytestmark = pytest.mark.lifecycle

BOLETA = [sys.executable, "-m", "boleta.cli"]


@pytest.fixture
def private_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOLETA_")}
    env.update(
        {
            "BOLETA_HOME": str(tmp_path / "home"),
            "BOLETA_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
            "BOLETA_KAFKA_CONTROLLER_PORT": "19093",
            "BOLETA_REDIS_URL": "redis://127.0.0.1:16379/0",
            "BOLETA_MONGO_URL": "mongodb://127.0.0.1:27117/",
            "BOLETA_KAFKA_HEAP": "256m",
            "BOLETA_COMMAND_PORT": "15051",
            "BOLETA_COMMAND_METRICS_PORT": "19100",
            "BOLETA_TALLIES_METRICS_PORT": "19101",
            "BOLETA_AUDIT_METRICS_PORT": "19102",
            "BOLETA_BOARD_METRICS_PORT": "19103",
            "BOLETA_QUERY_PORT": "18000",
        }
    )
    yield env
    subprocess.run([*BOLETA, "infra", "down"], env=env, capture_output=True, check=False)
    for proc in _processes_of(env["BOLETA_HOME"]):
        proc.kill()


def _boleta(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BOLETA, *args], env=env, capture_output=True, text=True, timeout=240, check=False
    )


def _status(env: dict[str, str]) -> tuple[int, dict[str, dict[str, object]]]:
    result = _boleta(env, "infra", "status", "--json")
    return result.returncode, {s["name"]: s for s in json.loads(result.stdout)}


def _processes_of(home: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if home in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


def test_up_is_idempotent_status_is_truthful_and_down_leaves_nothing(
    private_env: dict[str, str],
) -> None:
    first = _boleta(private_env, "infra", "up")
    assert first.returncode == 0, first.stderr
    code, before = _status(private_env)
    assert code == 0
    assert all(s["state"] == "running" for s in before.values())

    again = _boleta(private_env, "infra", "up")
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stderr
    _, after = _status(private_env)
    assert {n: s["pid"] for n, s in after.items()} == {n: s["pid"] for n, s in before.items()}

    # One service killed: status says so, and exits non-zero.
    os.kill(int(str(before["redis"]["pid"])), signal.SIGKILL)
    deadline = time.monotonic() + 60
    while (status := _status(private_env))[0] != 3:  # until the killed process is gone
        assert time.monotonic() < deadline, f"status never saw redis stopped: {status}"
        time.sleep(0.2)
    code, killed = status
    assert code == 3
    assert killed["redis"]["state"] == "stopped"
    assert killed["kafka"]["state"] == killed["ferretdb"]["state"] == "running"

    # A stranger on our port is reported, not silently used.
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", 16379))
        squatter.listen()
        blocked = _boleta(private_env, "infra", "up")
        assert blocked.returncode != 0
        assert "127.0.0.1:16379 is already taken" in blocked.stderr
        assert "BOLETA_REDIS_URL" in blocked.stderr

    healed = _boleta(private_env, "infra", "up")
    assert healed.returncode == 0, healed.stderr
    assert _status(private_env)[0] == 0

    down = _boleta(private_env, "infra", "down")
    assert down.returncode == 0
    deadline = time.monotonic() + 60
    while _processes_of(private_env["BOLETA_HOME"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_of(private_env["BOLETA_HOME"]) == []
    code, stopped = _status(private_env)
    assert code == 3
    assert all(s["state"] == "stopped" for s in stopped.values())


def test_foreground_up_stops_everything_on_ctrl_c(private_env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [*BOLETA, "up"],
        env=private_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 240
    for line in proc.stdout:
        lines.append(line)
        if "boleta is up" in line or time.monotonic() > deadline:
            break
    assert any("boleta is up" in line for line in lines), "".join(lines)
    assert any("127.0.0.1:19092" in line for line in lines)
    assert _status(private_env)[0] == 0

    text = "".join(lines)
    for service in ("commands", "tallies", "audit", "queries"):
        assert f"✓ {service}" in text, text
    assert port_open("127.0.0.1", 15051)

    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert _processes_of(private_env["BOLETA_HOME"]) == []
    for port in (15051, 19100, 19101, 19102, 18000, 19092, 16379, 27117):
        assert not port_open("127.0.0.1", port), f"something still listens on {port}"
