"""The command service as a process: SIGTERM under load, and `boleta cast --file` of the seed."""

from __future__ import annotations

import asyncio
import collections
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from boleta.services import grpc_serving
from boleta.settings import REPO_ROOT, Settings
from domain import vote_cast_codec
from proto.boleta.v1 import voting_pb2, voting_pb2_grpc
from tests.integration.kafka_helpers import free_port, read_all

SEED = REPO_ROOT.parent / "shared" / "data" / "seed-votes.json"
LOAD_GOING = 500  # votes acknowledged before SIGTERM: the callers are in full flow
READY = "command service listening"  # logged after the signal handlers and health SERVING


@pytest.fixture
def service_process(
    settings: Settings, topic: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    env = {
        **os.environ,
        "BOLETA_TOPIC": topic,
        "BOLETA_COMMAND_PORT": str(port),
        "BOLETA_COMMAND_METRICS_PORT": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "boleta.cli", "serve", "commands"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    target = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while not grpc_serving(target):
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        assert time.monotonic() < deadline, "command service did not become ready"
        time.sleep(0.2)
    yield proc, target
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_sigterm_under_load_loses_no_acknowledged_vote(
    settings: Settings, topic: str, service_process: tuple[subprocess.Popen[bytes], str]
) -> None:
    proc, target = service_process
    acknowledged: list[str] = []
    failures: collections.Counter[str] = collections.Counter()

    async def caster(stub: voting_pb2_grpc.VotingServiceStub) -> None:
        while True:
            votes = [
                voting_pb2.Vote(
                    vote_id=str(uuid.uuid4()), band="Mayfield", album="A", year="2001", rank="1"
                )
                for _ in range(50)
            ]
            try:
                reply = await stub.CastVotes(voting_pb2.CastVotesRequest(votes=votes), timeout=5)
            except grpc.aio.AioRpcError as exc:
                failures[exc.code().name] += 1
                return
            for result in reply.results:
                if result.HasField("accepted"):
                    acknowledged.append(result.accepted.vote_id)
                else:
                    failures[result.rejected.reason] += 1

    async def load() -> None:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = voting_pb2_grpc.VotingServiceStub(channel)
            tasks = [asyncio.create_task(caster(stub)) for _ in range(16)]
            deadline = time.monotonic() + 120
            while len(acknowledged) < LOAD_GOING:  # SIGTERM only once the load is going
                assert time.monotonic() < deadline, f"only {len(acknowledged)} votes acknowledged"
                assert not all(t.done() for t in tasks), f"every caller failed: {failures}"
                await asyncio.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(asyncio.gather(*tasks), 60)

    asyncio.run(load())
    assert proc.wait(30) == 0
    assert len(acknowledged) >= LOAD_GOING
    in_log = {m.key().decode() for m in read_all(settings, topic)}
    lost = set(acknowledged) - in_log
    assert not lost, f"{len(lost)} acknowledged votes are not in the log"
    assert sum(failures.values()) > 0, "SIGTERM never interrupted the callers"


def test_cast_file_of_the_seed_accepts_all_1000(
    settings: Settings, topic: str, service_process: tuple[subprocess.Popen[bytes], str]
) -> None:
    assert SEED.exists(), f"the seed's file must be beside the repo at {SEED}"
    _, target = service_process
    result = subprocess.run(
        [sys.executable, "-m", "boleta.cli", "cast", "--file", str(SEED), "--target", target],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1000" in result.stdout

    rows = json.loads(SEED.read_text())
    expected = collections.Counter(" ".join(r["name"].split()) for r in rows)
    codec = vote_cast_codec()
    events = [codec.decode(m.value(), dict(m.headers())) for m in read_all(settings, topic)]
    assert len(events) == 1000
    assert len({e.vote_id for e in events}) == 1000
    assert collections.Counter(e.band for e in events) == expected
    assert expected["Mayfield"] == 258


def test_cast_file_reports_a_malformed_file(tmp_path: Path) -> None:
    bad = tmp_path / "votes.json"
    bad.write_text('[{"name": "A", "album": "B", "year": 2008, "rank": "1"}]')
    result = subprocess.run(
        [sys.executable, "-m", "boleta.cli", "cast", "--file", str(bad), "--target", "127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Expected `str`, got `int` - at `$[0].year`" in result.stdout


def test_two_processes_share_the_port(settings: Settings, topic: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "BOLETA_TOPIC": topic,
        "BOLETA_COMMAND_PORT": str(port),
        "BOLETA_COMMAND_METRICS_PORT": "0",
    }
    logs = [tmp_path / f"commands-{i}.log" for i in range(2)]
    procs = []
    for log in logs:
        with log.open("wb") as sink:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "boleta.cli", "serve", "commands"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=sink,
                )
            )
    try:
        # Each process says it listens once its SIGTERM handler is in: a process that could
        # not bind the shared port exits instead.
        deadline = time.monotonic() + 120
        while not all(READY in log.read_text() for log in logs):
            exited = [
                log.read_text() for p, log in zip(procs, logs, strict=True) if p.poll() is not None
            ]
            assert not exited, f"a process could not serve on the shared port: {exited}"
            assert time.monotonic() < deadline, "the two command services did not both start"
            time.sleep(0.2)
        assert grpc_serving(f"127.0.0.1:{port}", timeout=30)
    finally:
        for proc in procs:
            proc.terminate()
        codes = [proc.wait(60) for proc in procs]
    assert codes == [0, 0], [log.read_text()[-2000:] for log in logs]
