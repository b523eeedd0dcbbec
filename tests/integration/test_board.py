"""The public board on the real stack: the board worker reads the log (real Kafka) into
FerretDB, the query service serves it over HTTP, and the off-the-shelf verifier
(tests/verifier: golang.org/x/mod's tlog and note, transparency-dev's formats and merkle)
reads it from there: every checkpoint verified, every root recomputed from the tiles, the
entries hashed to their leaves, a receipt's tlog-proof checked, and an older checkpoint
proved consistent with the newer one."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pymongo
import pytest
import redis

from boleta.board_secrets import board_pseudonyms, checkpoint_origin
from boleta.serve_projections import Model, board_sink
from boleta.settings import Settings
from domain import vote_cast_codec
from domain.board import board_entry, tracking_code
from domain.projection import Delivered
from domain.readmodel import files_collection, state_collection
from projections.board_codes import RedisCodes
from projections.log_reader import end_offsets, replay, replay_consumer
from tests.integration.http_helpers import serving
from tests.integration.kafka_helpers import free_port, read_all
from tests.integration.projection_helpers import (
    make_events,
    produce,
    produce_raw,
    running_worker,
    wait_for,
)
from tests.verifier import build_verifier

PARTITIONS = 3


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    binary = build_verifier(tmp_path_factory.mktemp("verifier"))
    if binary is None:
        pytest.skip("Go is not installed: the off-the-shelf verifier (tests/verifier) needs it")
    return binary


@pytest.fixture
def world(isolated: Settings) -> Settings:
    return isolated.replace(partitions=PARTITIONS, query_port=free_port(), board_metrics_port=0)


def board_sizes(settings: Settings) -> dict[int, int]:
    with pymongo.MongoClient(settings.mongo_url) as client:
        docs = client[settings.mongo_db][state_collection()].find({})
        return {int(d["_id"][1:]): int(d["size"]) for d in docs}


def board_bytes(settings: Settings, prefix: str) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Every file, and every partition's state (checkpoint included), of a board."""
    with pymongo.MongoClient(settings.mongo_url) as client:
        db = client[settings.mongo_db]
        files = {d["_id"]: bytes(d["data"]) for d in db[files_collection(prefix)].find({})}
        states = {d["_id"]: d for d in db[state_collection(prefix)].find({})}
        return files, states


def verify(
    verifier: Path, base: str, partition: int, vkey: str, origin: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    argv = [str(verifier), "-dir", f"{base}/board/p{partition}/", "-vkey", vkey]
    argv += ["-origin", origin, *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def codes_in_log(settings: Settings) -> Iterator[tuple[int, int, str]]:
    """(partition, offset, tracking code) of every vote event in the log, recomputed from
    the log alone (what a command service computes once Kafka gives it the offset)."""
    codec, pseudonyms = vote_cast_codec(), board_pseudonyms(settings)
    for msg in read_all(settings, settings.topic):
        try:
            event = codec.decode(msg.value(), dict(msg.headers() or []))
        except ValueError:  # the poison message: no vote event, no leaf
            continue
        partition, offset = msg.partition(), msg.offset()
        yield partition, offset, tracking_code(board_entry(event, offset, pseudonyms)).hex()


def log_messages(settings: Settings, purpose: str) -> tuple[dict[int, int], list[Delivered]]:
    """Each partition's end offset, and every message up to it as a replay decodes it."""
    consumer = replay_consumer(settings.kafka_bootstrap, purpose)
    try:
        until = end_offsets(consumer, settings.topic)
        replayed = replay(consumer, settings.topic, vote_cast_codec(), until)
        return until, [m for batch in replayed for m in batch]
    finally:
        consumer.close()


def board_as_built_at_once(settings: Settings, batch: list[Delivered]) -> dict[str, Any]:
    """Checks the board against one built from ``batch`` in one go (prefix ``clean``):
    the same checkpoints, and every file of that one stored with the same bytes. Returns
    the board's states."""
    clean = board_sink(settings, prefix="clean")
    assert clean.positions() == {}
    assert clean.apply(batch) == sum(1 for m in batch if m.event is not None)
    files, states = board_bytes(settings, "board")
    clean_files, clean_states = board_bytes(settings, "clean")
    assert {k: v["checkpoint"] for k, v in states.items()} == {
        k: v["checkpoint"] for k, v in clean_states.items()
    }
    assert {k: v for k, v in files.items() if k in clean_files} == clean_files
    return states


def test_the_served_board_is_accepted_by_an_off_the_shelf_verifier(
    world: Settings, verifier: Path, tmp_path: Path
) -> None:
    first = [
        msgspec.structs.replace(e, voter_id=f"+502555{i % 40:04d}") if i % 3 else e
        for i, e in enumerate(make_events(300, duplicate_every=9))
    ]
    produce(world, first)
    produce_raw(world, b"\x00not a vote", [("content-type", b"application/x-poison")])
    with running_worker(world, Model.board):
        wait_for(
            lambda: sum(board_sizes(world).values()) == len(first),
            60,
            "the board to hold every vote",
        )
        with serving(world) as base, httpx.Client(base_url=base, timeout=10) as http:
            listing = http.get("/board").json()
            vkey = listing["verifier_key"]
            assert [log["origin"] for log in listing["logs"]] == [
                checkpoint_origin(world, p) for p in range(PARTITIONS)
            ]
            old = {}
            for p in range(PARTITIONS):
                old[p] = tmp_path / f"old-{p}"
                old[p].write_text(http.get(f"/board/p{p}/checkpoint").text)
            produce(world, make_events(600))
            wait_for(lambda: sum(board_sizes(world).values()) == 900, 60, "the board to grow")
            for p in range(PARTITIONS):
                origin = checkpoint_origin(world, p)
                result = verify(verifier, base, p, vkey, origin, "-old", str(old[p]))
                assert result.returncode == 0, result.stderr
                assert result.stdout.strip() == "ok"
            # A receipt: the code recomputed from the log is found, and its proof verifies.
            partition, _, code = next(iter(codes_in_log(world)))
            answer = http.get(f"/api/v1/receipts/{code}")
            assert answer.status_code == 200, answer.text
            receipt = answer.json()
            assert (receipt["partition"], receipt["tracking_code"]) == (partition, code)
            proof = tmp_path / "receipt.tlog-proof"
            proof.write_text(receipt["tlog_proof"])
            origin = checkpoint_origin(world, partition)
            result = verify(
                verifier, base, partition, vkey, origin, "-tlogproof", str(proof), "-code", code
            )
            assert result.returncode == 0, result.stderr
            # A changed code is refused by the verifier, and unknown to the API.
            other = f"{int(code[0], 16) ^ 1:x}{code[1:]}"
            result = verify(
                verifier, base, partition, vkey, origin, "-tlogproof", str(proof), "-code", other
            )
            assert result.returncode == 1, result.stdout
            assert http.get(f"/api/v1/receipts/{other}").status_code == 404
            assert http.get("/api/v1/receipts/not-a-code").status_code == 400
            # Cache headers: a full tile is immutable, a checkpoint is not cached.
            sizes = board_sizes(world)
            full = next(p for p, n in sizes.items() if n >= 256)
            tile = http.get(f"/board/p{full}/tile/0/000")
            assert tile.status_code == 200
            assert len(tile.content) == 256 * 32
            assert "immutable" in tile.headers["cache-control"]
            assert http.get(f"/board/p{full}/checkpoint").headers["cache-control"] == "no-cache"
            for bad in ("/board/p9/checkpoint", "/board/p0/tile/9/../000", "/board/p0/tile/0/1"):
                assert http.get(bad).status_code == 404, bad
            assert http.get("/board/x0/checkpoint").status_code == 400


def test_every_vote_event_has_its_leaf_and_a_rebuild_is_byte_identical(world: Settings) -> None:
    events = make_events(500, duplicate_every=7)
    produce(world, events)
    with running_worker(world, Model.board):
        wait_for(lambda: sum(board_sizes(world).values()) == len(events), 60, "the board")
    codes = {code: (p, o) for p, o, code in codes_in_log(world)}
    with redis.Redis.from_url(world.redis_url) as client:
        stored = RedisCodes(client, world.tallies_tag).all()
    assert stored.keys() == codes.keys()
    # A second board from the same log, in other collections, is the same to the byte.
    rebuilt = board_sink(world, prefix="rebuilt")
    assert rebuilt.positions() == {}
    consumer = replay_consumer(world.kafka_bootstrap, "test-board-rebuild")
    try:
        for batch in replay(
            consumer, world.topic, vote_cast_codec(), end_offsets(consumer, world.topic)
        ):
            rebuilt.apply(batch)
    finally:
        consumer.close()
    live_files, live_states = board_bytes(world, "board")
    new_files, new_states = board_bytes(world, "rebuilt")
    # Partial tiles depend on where batches ended; the full ones, and any file both hold,
    # are the same bytes.
    assert {k for k in new_files if ".p/" not in k} == {k for k in live_files if ".p/" not in k}
    assert all(new_files[k] == live_files[k] for k in new_files.keys() & live_files.keys())
    assert {k: v["checkpoint"] for k, v in new_states.items()} == {
        k: v["checkpoint"] for k, v in live_states.items()
    }


def test_codes_lost_by_redis_are_written_again_from_the_board(world: Settings) -> None:
    first, later = make_events(300), make_events(40)
    produce(world, first)
    with running_worker(world, Model.board), redis.Redis.from_url(world.redis_url) as client:
        codes = RedisCodes(client, world.tallies_tag)
        wait_for(lambda: len(codes.all()) == len(first), 60, "every code in Redis")
        before = codes.all()
        codes.drop()  # Redis lost them (the board's files in MongoDB are intact)
        wait_for(lambda: codes.all() == before, 30, "the codes written again while idle")
        produce(world, later)
        wait_for(lambda: len(codes.all()) == len(first) + len(later), 60, "new votes' codes")
        assert codes.all().keys() == {code for _, _, code in codes_in_log(world)}


def test_a_worker_behind_another_on_a_partition_re_seeks_and_moves_nothing_back(
    world: Settings,
) -> None:
    """Two workers on one partition during a rebalance: the one behind finds the stored
    position ahead of its batch, commits nothing of that partition and asks to re-seek."""
    produce(world, make_events(120))
    _, batch = log_messages(world, "test-board-behind")
    batch = [m for m in batch if m.partition == 0]  # one partition: the race is on it
    ahead, behind = board_sink(world), board_sink(world)
    assert ahead.positions() == behind.positions() == {}
    half, three_quarters = len(batch) // 2, 3 * len(batch) // 4
    assert ahead.apply(batch[:half]) == half
    assert behind.apply(batch[:half]) is None, "its partitions were made by the other"
    assert behind.positions() == ahead.positions()
    assert ahead.apply(batch[half:]) == len(batch) - half
    before = board_bytes(world, "board")
    assert behind.apply(batch[half:three_quarters]) is None, "the other is ahead of it"
    after = board_bytes(world, "board")
    assert {k: v["checkpoint"] for k, v in after[1].items()} == {
        k: v["checkpoint"] for k, v in before[1].items()
    }
    assert after[0] == {**before[0], **{k: after[0][k] for k in after[0].keys() - before[0].keys()}}
    assert all(after[0][k] == before[0][k] for k in before[0])
    resumed = behind.positions()
    assert resumed == {int(p[1:]): int(s["offset"]) + 1 for p, s in after[1].items()}


def test_files_stored_before_a_lost_position_are_found_and_the_rest_written(
    world: Settings,
) -> None:
    """A worker killed after a batch's files, before its position: its successor starts
    from the stored position, writes those files again with the batch after them (the ones
    found stored hold the same bytes and are left as they are) and commits."""
    events = make_events(400)
    produce(world, events)
    _, batch = log_messages(world, "test-board-files-again")
    killed = board_sink(world)
    assert killed.positions() == {}
    assert killed.apply(batch[: len(batch) // 2]) == len(batch) // 2
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(world.mongo_url) as client:
        client[world.mongo_db][state_collection()].delete_many({})  # the position never was
    successor = board_sink(world)
    assert successor.positions() == {}
    assert successor.apply(batch) == len(events)
    board_as_built_at_once(world, batch)


def test_a_resumed_worker_reads_its_edge_from_the_files_and_drops_a_stored_one(
    world: Settings,
) -> None:
    """A position stores its offset, size and checkpoint; a worker that resumes reads the
    tree's edge (partial tiles, partial bundle) back from the files of that size, and goes
    on to the same board as one that never stopped. A position written by the former
    layout, with the edge in it, loses those fields at its next commit."""
    events = make_events(1200)  # ~400 a partition
    produce(world, events)
    until, batch = log_messages(world, "test-board-edge")
    # Each partition stops at 300 entries, an edge on two tile levels (a full level 0 tile
    # and 44 entries, a level 1 tile of width 1), and goes on from there.
    assert min(until.values()) > 300
    before = [m for m in batch if m.offset < 300]
    first = board_sink(world)
    assert first.positions() == {}
    assert first.apply(before) == len(before) == 300 * PARTITIONS
    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(world.mongo_url) as client:
        states = client[world.mongo_db][state_collection()]
        assert all(set(d) == {"_id", "offset", "size", "checkpoint"} for d in states.find({}))
        states.update_many({}, {"$set": {"partial": [b"former"], "entries": [b"edge"]}})
    resumed = board_sink(world)
    assert resumed.positions() == dict.fromkeys(range(PARTITIONS), 300)
    assert resumed.apply([m for m in batch if m.offset >= 300]) == len(events) - len(before)
    states_after = board_as_built_at_once(world, batch).values()
    assert all(set(d) == {"_id", "offset", "size", "checkpoint"} for d in states_after)


def test_codes_of_one_bucket_beyond_what_one_redis_call_unpacks_are_all_stored(
    world: Settings,
) -> None:
    """A batch's codes go in one script call, an HSET per bucket of up to 500 codes: a
    bucket holding more (a huge batch) is not refused by Lua's unpack limit (8,000)."""
    leaves = [b"\xab\xc0" + i.to_bytes(30, "big") for i in range(5000)]  # one bucket
    others = [bytes([i]) * 32 for i in range(200)]
    with redis.Redis.from_url(world.redis_url) as client:
        codes = RedisCodes(client, world.tallies_tag)
        codes.add_runs([(1, 7, leaves), (2, 0, others)])
        stored = codes.all()
    assert stored == {
        **{leaf.hex(): (1, 7 + i) for i, leaf in enumerate(leaves)},
        **{leaf.hex(): (2, i) for i, leaf in enumerate(others)},
    }
