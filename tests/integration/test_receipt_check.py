"""A voter's check, end to end on the real stack: ``boleta cast --receipts FILE`` through the
real command service and Kafka, the board worker publishing, the query service serving,
then ``boleta receipt check FILE`` proving every vote on the board with the organiser's
key; a receipt changed by one byte, or another key, is refused."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pymongo
import pytest

from boleta import serve_commands
from boleta.board_keys import NoteSigner, generate_signer_key
from boleta.board_secrets import board_signer
from boleta.serve_projections import Model
from boleta.settings import Settings
from domain.readmodel import state_collection
from tests.integration.http_helpers import serving
from tests.integration.kafka_helpers import free_port
from tests.integration.projection_helpers import running_worker

PARTITIONS = 3


@pytest.fixture
async def world(isolated: Settings) -> AsyncIterator[Settings]:
    """A private boleta: the command service in this process, on the isolated topics."""
    configured = isolated.replace(
        partitions=PARTITIONS,
        query_port=free_port(),
        command_port=free_port(),
        command_metrics_port=0,
        board_metrics_port=0,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(serve_commands.serve(configured, stop))
    target = f"{configured.command_host}:{configured.command_port}"
    async with grpc.aio.insecure_channel(target) as channel:
        await asyncio.wait_for(channel.channel_ready(), 10)
    yield configured
    stop.set()
    await asyncio.wait_for(task, 30)


async def boleta(*argv: str) -> tuple[int, str]:
    """A boleta command in a child process (this loop keeps serving it)."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "boleta.cli",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(child.communicate(), 180)
    assert child.returncode is not None
    return child.returncode, out.decode()


async def on_board(world: Settings, entries: int) -> None:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(world.mongo_url)
    with client:
        states = client[world.mongo_db][state_collection()]
        for _ in range(600):
            if sum(int(str(d["size"])) for d in states.find({})) >= entries:
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"the board did not reach {entries} entries")


async def test_receipt_check_proves_every_cast_vote_on_the_board(
    world: Settings, tmp_path: Path
) -> None:
    target = f"{world.command_host}:{world.command_port}"
    receipts, votes = tmp_path / "receipts.jsonl", tmp_path / "votes.json"
    rows = [{"name": f"Band {i}", "album": "Noite", "year": "2008", "rank": "1"} for i in range(9)]
    votes.write_text(json.dumps(rows))
    with running_worker(world, Model.board), serving(world) as base:
        cast = ["cast", "--target", target, "--receipts", str(receipts)]
        code, out = await boleta(*cast, "--file", str(votes), "--batch-size", "4")
        assert code == 0, out
        await on_board(world, len(rows))
        key = board_signer(world).verifier_key_text

        code, out = await boleta("receipt", "check", str(receipts), "--board", base, "--key", key)
        assert code == 0, out
        assert f"{len(rows)} of {len(rows)} tracking codes proved on the board" in out
        assert out.count("✓") == len(rows)

        first = json.loads(receipts.read_text().splitlines()[0])
        batch = first["receipt"].split("\n")
        tracking = batch[3].split()[2]  # "<partition> <offset> <code>", the first vote
        code, out = await boleta("receipt", "check", tracking, "--board", base, "--key", key)
        assert code == 0, out
        assert "1 of 1 tracking codes proved" in out

        # One byte of a receipt changed: its signature no longer holds.
        forged = tmp_path / "forged.jsonl"
        changed = first["receipt"].replace(
            tracking, tracking[:-1] + ("0" if tracking[-1] != "0" else "1")
        )
        forged.write_text(json.dumps({**first, "receipt": changed}) + "\n")
        code, out = await boleta("receipt", "check", str(forged), "--board", base, "--key", key)
        assert code == 2, out
        assert "not signed by the key" in out

        # Another key: the receipts, and the board's checkpoints, are not its.
        other = NoteSigner.from_text(generate_signer_key(world.board_origin)).verifier_key_text
        code, out = await boleta("receipt", "check", str(receipts), "--board", base, "--key", other)
        assert code == 2, out
        code, out = await boleta("receipt", "check", tracking, "--board", base, "--key", other)
        assert code == 1, out
        assert "does not hold" in out
