"""Receipts through the real gRPC service and the real broker: every accepted vote's
tracking code is the leaf hash of the board entry of the event the log holds at its
offset (read back here and recomputed, as the board worker does), and its receipt is
signed by the board's key; ``boleta cast --receipts FILE`` writes receipts that verify."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import grpc
import pytest
from confluent_kafka import Message

from boleta import serve_commands
from boleta.board_keys import verify_receipt, verify_receipts
from boleta.board_secrets import board_pseudonyms, board_signer, checkpoint_origin
from boleta.settings import Settings
from domain import vote_cast_codec
from domain.board import Receipt, board_entry, encode_entry, leaf_hash
from proto.boleta.v1 import voting_pb2, voting_pb2_grpc
from tests.integration.kafka_helpers import free_port, read_all


@pytest.fixture
async def served(settings: Settings, topic: str) -> AsyncIterator[tuple[Settings, str]]:
    """The command service in this process, on a private topic: (its settings, target)."""
    configured = settings.replace(topic=topic, command_port=free_port(), command_metrics_port=0)
    stop = asyncio.Event()
    task = asyncio.create_task(serve_commands.serve(configured, stop))
    target = f"{configured.command_host}:{configured.command_port}"
    async with grpc.aio.insecure_channel(target) as channel:
        await asyncio.wait_for(channel.channel_ready(), 10)
    yield configured, target
    stop.set()
    await asyncio.wait_for(task, 30)


def vote(band: str = "Green Ridge", year: str = "2008", voter_id: str = "") -> voting_pb2.Vote:
    return voting_pb2.Vote(
        vote_id=str(uuid.uuid4()),
        band=band,
        album="Imbituva",
        year=year,
        rank="7",
        voter_id=voter_id,
    )


def logged(settings: Settings) -> dict[tuple[int, int], Message]:
    return {(m.partition(), m.offset()): m for m in read_all(settings, settings.topic)}


def code_from_the_log(settings: Settings, message: Message) -> str:
    """The tracking code of the board entry of the event ``message`` holds."""
    codec = vote_cast_codec()
    event = codec.decode(message.value(), dict(message.headers() or ()))
    entry = board_entry(event, message.offset(), board_pseudonyms(settings))
    return leaf_hash(encode_entry(entry)).hex()


def assert_promises(settings: Settings, receipt: Receipt, reply: voting_pb2.CastVoteResponse):
    assert receipt.tracking_code.hex() == reply.tracking_code
    assert (receipt.partition, receipt.offset) == (reply.partition, reply.offset)
    assert receipt.origin == checkpoint_origin(settings, reply.partition)
    assert receipt.cast_at == datetime.fromisoformat(reply.cast_at)
    bound = timedelta(seconds=settings.board_publish_within_s)
    assert receipt.publish_by == receipt.cast_at + bound


async def test_castvote_tracking_code_is_the_entry_of_the_logged_event(
    served: tuple[Settings, str],
) -> None:
    settings, target = served
    async with grpc.aio.insecure_channel(target) as channel:
        stub = voting_pb2_grpc.VotingServiceStub(channel)
        replies = [
            await stub.CastVote(voting_pb2.CastVoteRequest(vote=v), timeout=15)
            for v in (vote(), vote(voter_id="alice"), vote("Mayfield"))
        ]
    log = logged(settings)
    key = board_signer(settings).verifier_key_text
    for reply in replies:
        assert reply.tracking_code == code_from_the_log(
            settings, log[reply.partition, reply.offset]
        )
        assert_promises(settings, verify_receipt(reply.receipt, key), reply)
    assert len({r.tracking_code for r in replies}) == 3


async def test_castvotes_signs_its_accepted_votes_in_the_order_of_the_results(
    served: tuple[Settings, str],
) -> None:
    settings, target = served
    votes = [vote("A"), vote("B", year="1066"), vote("C"), vote("D", voter_id="bob"), vote("E")]
    async with grpc.aio.insecure_channel(target) as channel:
        stub = voting_pb2_grpc.VotingServiceStub(channel)
        response = await stub.CastVotes(voting_pb2.CastVotesRequest(votes=votes), timeout=15)
        refused = await stub.CastVotes(
            voting_pb2.CastVotesRequest(votes=[vote(year="1066")]), timeout=15
        )
    assert [r.WhichOneof("outcome") for r in response.results] == [
        "accepted",
        "rejected",
        "accepted",
        "accepted",
        "accepted",
    ]
    accepted = [r.accepted for r in response.results if r.HasField("accepted")]
    receipts = verify_receipts(response.receipt, board_signer(settings).verifier_key_text)
    assert len(receipts) == len(accepted) == 4
    log = logged(settings)
    for reply, receipt in zip(accepted, receipts, strict=True):
        assert reply.receipt == "", "the batch's receipt covers it"
        assert reply.tracking_code == code_from_the_log(
            settings, log[reply.partition, reply.offset]
        )
        assert_promises(settings, receipt, reply)
    assert refused.receipt == ""
    assert not refused.results[0].accepted.tracking_code


async def test_cast_receipts_file_holds_receipts_that_verify(
    served: tuple[Settings, str], tmp_path: Path
) -> None:
    settings, target = served
    receipts = tmp_path / "receipts.jsonl"
    votes = tmp_path / "votes.json"
    rows = [
        {"name": f"Band {i}", "album": "Imbituva", "year": "2008", "rank": "1st"} for i in range(7)
    ]
    rows.append({"name": "Late", "album": "Imbituva", "year": "1066", "rank": "1"})
    votes.write_text(json.dumps(rows))
    cli = [
        sys.executable,
        "-m",
        "boleta.cli",
        "cast",
        "--target",
        target,
        "--receipts",
        str(receipts),
    ]
    outputs = []
    for argv in (
        [*cli, "--band", "Green Ridge", "--album", "Imbituva", "--year", "2008", "--rank", "7"],
        [*cli, "--file", str(votes), "--batch-size", "3"],
    ):
        # A child process, and this loop keeps serving it.
        child = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        out, _ = await asyncio.wait_for(child.communicate(), 120)
        outputs.append(out.decode())
    assert "tracking_code=" in outputs[0]
    assert "invalid_argument" in outputs[1], "the file's last vote is refused"

    lines = [json.loads(line) for line in receipts.read_text().splitlines()]
    assert len(lines) == 1 + 3, "one line for the vote, one per batch of 3 that accepted votes"
    key = board_signer(settings).verifier_key_text
    single = verify_receipt(lines[0]["receipt"], key)
    batches = [verify_receipts(line["receipt"], key) for line in lines[1:]]
    assert sorted(len(b) for b in batches) == [1, 3, 3]  # the batches go concurrently
    found = [(lines[0]["vote_ids"][0], single)]
    for line, batch in zip(lines[1:], batches, strict=True):
        assert len(line["vote_ids"]) == len(batch)
        found += zip(line["vote_ids"], batch, strict=True)
    log = logged(settings)
    codec = vote_cast_codec()
    assert len(found) == len(log) == 8
    for vote_id, receipt in found:
        message = log[receipt.partition, receipt.offset]
        assert codec.decode(message.value(), dict(message.headers() or ())).vote_id == vote_id
        assert receipt.tracking_code.hex() == code_from_the_log(settings, message)
        assert receipt.origin == checkpoint_origin(settings, receipt.partition)
        printed = f"{vote_id} {receipt.tracking_code.hex()}"
        assert printed in outputs[1] or f"tracking_code={receipt.tracking_code.hex()}" in outputs[0]
