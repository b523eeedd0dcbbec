"""The board's recount, rebuild and verification on the real stack (Kafka, FerretDB, Redis):
the board worker builds the board from the log, the query service serves it, and
``boleta recount`` (a separate process, reading only HTTP) recounts it.

- A recount of a closed contest equals its final results, the live tallies, exactly (and
  every other contest's too); with ``--compare`` it equals the results API at the board's
  positions while the log runs past them.
- A changed hash tile or entry (a file rewritten in the board's collection), a wrong key,
  or a board that is not an extension of the one seen on an earlier run fail the recount
  with a message that says what failed.
- ``boleta rebuild board`` is byte-identical with the live board, ``boleta verify`` passes;
  a forged entry (a whole new tree, signed) fails both.
- ``?positions=`` answers 400 to anything but its form, 404 past the end of the log.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pymongo
import pytest
import redis
from bson import Binary
from confluent_kafka import Producer

from boleta.board_keys import NoteSigner, generate_signer_key
from boleta.board_secrets import board_pseudonyms, board_signer, checkpoint_origin
from boleta.serve_projections import Model
from boleta.settings import Settings
from commands.handler import new_event_id
from domain import VoteCast, vote_cast_codec
from domain.board import Checkpoint, TileState, append, format_checkpoint, state_root
from domain.board.entry import board_entry, encode_entry
from domain.board.reading import tree_paths
from domain.names import name_key
from domain.projection import name_fields
from domain.readmodel import file_id, files_collection, state_collection, state_id
from domain.votes import event_key
from projections.log_reader import end_offsets, replay, replay_consumer
from projections.redis_sink import RedisTallies
from tests.integration.cli_helpers import boleta, recount
from tests.integration.http_helpers import serving
from tests.integration.kafka_helpers import free_port
from tests.integration.projection_helpers import produce_raw, running_worker, wait_for

PARTITIONS = 3
SPELLINGS = ("Mayfield", "MAYFIELD", "Green Ridge", "green  ridge", "Norrtälje", "Lien")
CONTESTS = ("final", "open", "once")


@pytest.fixture
def world(isolated: Settings, tmp_path: Path) -> Settings:
    """A private boleta with a catalog of the three contests (its windows: write_catalog)."""
    settings = isolated.replace(
        partitions=PARTITIONS,
        query_port=free_port(),
        board_metrics_port=0,
        catalog_file=str(tmp_path / "catalog.json"),
    )
    write_catalog(settings, closes_at=None)
    return settings


def cast(world: Settings, count: int, start: datetime) -> list[VoteCast]:
    """``count`` votes cast from ``start`` on, 37 ms apart, in the three contests; "once"
    counts one vote per voter (voters vote again), every eleventh vote is a retry of an
    earlier one, names come in several spellings. Produced keyed as the command service
    keys them, then one undecodable message."""
    events: list[VoteCast] = []
    for i in range(count):
        at = start + timedelta(milliseconds=37 * i)
        contest = CONTESTS[i % 3]
        earlier = [e for e in events if e.contest == contest]
        if i % 11 == 10 and earlier:
            retried = earlier[len(earlier) // 2]
            events.append(msgspec.structs.replace(retried, event_id=new_event_id(at), cast_at=at))
            continue
        once = contest == "once"
        events.append(
            VoteCast(
                event_id=new_event_id(at),
                vote_id=str(uuid.uuid4()),
                contest=contest,
                band=SPELLINGS[i * 7 % len(SPELLINGS)],
                album=f"Album {i % 4}",
                year=2000 + i % 9,
                rank=1 + i % 10,
                cast_at=at,
                voter_id=f"+5511{i % 23:04d}" if once else "",
                one_vote_per_voter=once,
            )
        )
    codec = vote_cast_codec()
    producer = Producer({"bootstrap.servers": world.kafka_bootstrap, "enable.idempotence": True})
    for event in events:
        producer.produce(
            world.topic,
            key=event_key(event).encode(),
            value=codec.encode(event),
            headers=codec.headers,
        )
    assert producer.flush(30) == 0
    produce_raw(world, b"\x00not a vote", [("content-type", b"application/x-poison")])
    return events


def board_sizes(settings: Settings) -> dict[int, int]:
    with pymongo.MongoClient(settings.mongo_url) as client:
        docs = client[settings.mongo_db][state_collection()].find({})
        return {int(d["_id"][1:]): int(d["size"]) for d in docs}


def write_catalog(world: Settings, closes_at: datetime | None) -> None:
    """The catalog: contest "final" closes at ``closes_at`` (None: never)."""
    final: dict[str, Any] = {"slug": "final", "title": "Closed"}
    if closes_at is not None:
        final["closes_at"] = closes_at.isoformat()
    catalog = {
        "contests": [
            final,
            {"slug": "open", "title": "Open"},
            {"slug": "once", "title": "One vote per voter", "one_vote_per_voter": True},
        ]
    }
    Path(world.catalog_file).write_text(json.dumps(catalog))


def log_ends(world: Settings) -> dict[int, int]:
    consumer = replay_consumer(world.kafka_bootstrap, "test-recount-ends")
    try:
        return end_offsets(consumer, world.topic)
    finally:
        consumer.close()


def tallies(world: Settings) -> dict[str, Any]:
    with redis.Redis.from_url(world.redis_url) as client:
        return RedisTallies(client, tag=world.tallies_tag).snapshot()


def tallies_caught_up(world: Settings) -> bool:
    checkpoints = tallies(world)["checkpoints"]
    return all(checkpoints.get(p, -1) >= end - 1 for p, end in log_ends(world).items())


def by_key(counted: dict[str, Any]) -> dict[str, Any]:
    """A contest of the recount's JSON, counted by key (ADR 7): bands, albums, total."""
    albums: Counter[str] = Counter()
    for row in counted["albums"]:
        albums[name_fields(row["band"], row["album"])[1]] += row["votes"]
    bands = Counter({name_key(b): v for b, v in counted["bands"].items()})
    return {"bands": dict(bands), "albums": dict(albums), "total": counted["total"]}


@pytest.fixture
def counted(world: Settings) -> Iterator[tuple[Settings, str, list[VoteCast]]]:
    """The votes, counted by the tallies worker and on the board, served."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    events = cast(world, 600, start)
    write_catalog(world, closes_at=start + timedelta(milliseconds=37 * 300))
    with running_worker(world, Model.tallies), running_worker(world, Model.board):
        wait_for(lambda: sum(board_sizes(world).values()) == len(events), 60, "the board")
        wait_for(lambda: tallies_caught_up(world), 60, "the tallies")
        with serving(world) as base:
            yield world, base, events


def test_the_recount_of_a_closed_contest_is_its_final_results(
    counted: tuple[Settings, str, list[VoteCast]], tmp_path: Path
) -> None:
    world, base, events = counted
    done = recount(world, base, tmp_path / "state", "--catalog", world.catalog_file, "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    live = tallies(world)["contests"]
    # The closed contest had votes cast after its close: counted nowhere, by both.
    closes_at = datetime.fromisoformat(
        json.loads(Path(world.catalog_file).read_text())["contests"][0]["closes_at"]
    )
    assert any(e.contest == "final" and e.cast_at >= closes_at for e in events)
    for contest in CONTESTS:
        expected = {k: live[contest][k] for k in ("bands", "albums", "total")}
        assert by_key(found["contests"][contest]) == expected, contest
    assert found["total"] == sum(t["total"] for t in live.values())
    sizes = board_sizes(world)
    assert {log["partition"]: log["size"] for log in found["logs"]} == sizes
    ends = vote_ends(world)
    assert found["positions"] == ",".join(f"{p}:{ends[p]}" for p in sorted(ends))
    assert found["windows"] == "the catalog given"
    # Without the catalog the windows come from the operator's API, and the output says so.
    again = recount(world, base, tmp_path / "state")
    assert again.returncode == 0, again.stderr
    assert "operator's own API" in " ".join(again.stdout.split())
    assert "consistent with the checkpoints seen before" in " ".join(again.stdout.split())


def vote_ends(world: Settings) -> dict[int, int]:
    """Per partition, the offset after its last vote event (the undecodable message that
    ends one partition has no entry)."""
    consumer = replay_consumer(world.kafka_bootstrap, "test-recount-last")
    try:
        found = {p: 0 for p in range(PARTITIONS)}
        for batch in replay(consumer, world.topic, vote_cast_codec(), log_ends(world)):
            for d in batch:
                if d.event is not None:
                    found[d.partition] = d.offset + 1
        return found
    finally:
        consumer.close()


def test_compare_equals_the_results_api_at_the_board_s_positions(
    world: Settings, tmp_path: Path
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    write_catalog(world, closes_at=start + timedelta(milliseconds=37 * 150))
    first = cast(world, 300, start)
    with running_worker(world, Model.board):
        wait_for(lambda: sum(board_sizes(world).values()) == len(first), 60, "the board")
    later = cast(world, 200, datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30))
    with running_worker(world, Model.tallies), serving(world) as base:
        wait_for(lambda: tallies_caught_up(world), 60, "the tallies")
        done = recount(world, base, tmp_path / "state", "--compare", "--json")
        assert done.returncode == 0, done.stderr + done.stdout
        found = json.loads(done.stdout)
        assert found["compare"] == {"equal": True, "differences": []}
        # The live results are past the board's positions: the comparison was at them.
        live = httpx.get(f"{base}/api/v1/contests/open/results", timeout=10).json()
        assert live["total"] > found["contests"]["open"]["total"] > 0
        assert len(later) > 0
        text = recount(world, base, tmp_path / "state", "--compare")
        assert text.returncode == 0, text.stderr
        assert "equal to the results API at these positions" in " ".join(text.stdout.split())


def rewrite(world: Settings, partition: int, path: str, change: Any) -> bytes:
    """Rewrite a served file of the board with ``change(bytes)``; returns the old bytes."""
    with pymongo.MongoClient(world.mongo_url) as client:
        files = client[world.mongo_db][files_collection()]
        doc = files.find_one({"_id": file_id(partition, path)})
        assert doc is not None, path
        old = bytes(doc["data"])
        files.update_one({"_id": doc["_id"]}, {"$set": {"data": Binary(change(old))}})
        return old


def test_a_tampered_board_or_another_key_fails_the_recount(
    counted: tuple[Settings, str, list[VoteCast]], tmp_path: Path
) -> None:
    world, base, _ = counted
    state = tmp_path / "state"
    assert recount(world, base, state).returncode == 0
    p, size = max(board_sizes(world).items(), key=lambda kv: kv[1])
    paths = list(tree_paths(size))
    tile = next(path for path in paths if path.startswith("tile/0/000"))
    bundle = next(path for path in paths if path.startswith("tile/entries/000"))

    def fails(*extra: str, key: str | None = None) -> str:
        done = recount(world, base, state, *extra, key=key)
        assert done.returncode == 1, done.stdout
        return " ".join(done.stderr.split())

    # Another key: the checkpoints do not verify.
    other = generate_signer_key(world.board_origin)
    wrong = NoteSigner.from_text(other).verifier_key_text
    assert "checkpoint does not verify with the key given" in fails(key=wrong)
    # A changed hash: the tile is not the hashes of the entries below it.
    old = rewrite(world, p, tile, lambda b: bytes([b[0] ^ 1]) + b[1:])
    assert f"board log p{p}: {tile} is not the hashes of the entries below it" in fails()
    rewrite(world, p, tile, lambda _b: old)
    # A changed entry (still a canonical entry): its leaf hash is not in the tile.
    old = rewrite(world, p, bundle, lambda b: b.replace(b"Album ", b"Albun ", 1))
    assert f"board log p{p}: {tile} is not the hashes of the entries below it" in fails()
    rewrite(world, p, bundle, lambda _b: old)
    assert recount(world, base, state).returncode == 0
    # A board that is not an extension of the one seen before: the earlier checkpoint kept
    # in the state directory, as another tree of the same size would have it.
    seen = next(state.glob(f"*p{p}.checkpoint"))
    forged = Checkpoint(checkpoint_origin(world, p), size - 1, bytes(32))
    seen.write_text(board_signer(world).sign(format_checkpoint(forged)))
    assert "do not have the earlier checkpoint's root" in fails()
    gone = Checkpoint(checkpoint_origin(world, p), size + 1, bytes(32))
    seen.write_text(board_signer(world).sign(format_checkpoint(gone)))
    assert "the log went back" in fails()


def forge_entry(world: Settings, partition: int) -> None:
    """Replace partition's board by a tree of the log's entries with one band changed,
    properly built, signed and stored: only the log can tell it from the real one."""
    pseudonyms, signer = board_pseudonyms(world), board_signer(world)
    consumer = replay_consumer(world.kafka_bootstrap, "test-forge")
    entries = []
    try:
        ends = end_offsets(consumer, world.topic)
        for batch in replay(consumer, world.topic, vote_cast_codec(), {partition: ends[partition]}):
            entries += [
                encode_entry(board_entry(d.event, d.offset, pseudonyms))
                for d in batch
                if d.event is not None
            ]
    finally:
        consumer.close()
    entries[3] = entries[3].replace(b'"band":"', b'"band":"Forged ', 1)
    tiles, writes = append(TileState(), entries)
    note = signer.sign(
        format_checkpoint(
            Checkpoint(checkpoint_origin(world, partition), tiles.size, state_root(tiles))
        )
    )
    with pymongo.MongoClient(world.mongo_url) as client:
        db = client[world.mongo_db]
        for w in writes:
            db[files_collection()].replace_one(
                {"_id": file_id(partition, w.path)},
                {"_id": file_id(partition, w.path), "data": Binary(w.data)},
                upsert=True,
            )
        db[state_collection()].update_one(
            {"_id": state_id(partition)},
            {"$set": {"checkpoint": note}},
        )


def scratch_collections(world: Settings) -> list[str]:
    with pymongo.MongoClient(world.mongo_url) as client:
        names = client[world.mongo_db].list_collection_names()
        return sorted(n for n in names if n.startswith("board_rebuild_"))


def scratch_codes(world: Settings) -> list[bytes]:
    with redis.Redis.from_url(world.redis_url) as client:
        return list(client.scan_iter(match=f"boleta:{world.tallies_tag}:board_rebuild_*"))


def test_rebuild_board_is_byte_identical_and_verify_passes_until_an_entry_is_forged(
    world: Settings,
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    write_catalog(world, closes_at=start + timedelta(milliseconds=37 * 200))
    events = cast(world, 400, start)
    with (
        running_worker(world, Model.tallies),
        running_worker(world, Model.audit),
        running_worker(world, Model.board),
    ):
        wait_for(lambda: sum(board_sizes(world).values()) == len(events), 60, "the board")
        rebuilt = boleta(world, "rebuild", "board")
        assert rebuilt.returncode == 0, rebuilt.stderr + rebuilt.stdout
        with pymongo.MongoClient(world.mongo_url) as client:
            db = client[world.mongo_db]
            files = db[files_collection()].count_documents({})
            checkpoints = db[state_collection()].count_documents({})
        line = " ".join(rebuilt.stdout.split())
        assert f"byte-identical: {files} files, {checkpoints} checkpoints" in line
        assert checkpoints == PARTITIONS
        assert scratch_collections(world) == []
        assert scratch_codes(world) == []
        verified = boleta(world, "verify", "--wait", "60")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert f"board_entries_equal_to_the_log: {len(events)}" in verified.stderr

    forge_entry(world, 1)
    verified = boleta(world, "verify", "--wait", "5")
    assert verified.returncode == 1, verified.stdout + verified.stderr
    shown = " ".join(verified.stdout.split())
    assert "board p1: leaf 3 is not the log's vote event at offset" in shown
    assert "Forged" in shown
    rebuilt = boleta(world, "rebuild", "board")
    assert rebuilt.returncode == 1, rebuilt.stdout
    shown = " ".join(rebuilt.stdout.split())
    assert "p1: the checkpoints differ" in shown
    assert "the live bytes are not the rebuilt tree's" in shown
    kept = scratch_collections(world)
    assert {name.rsplit("_", 1)[1] for name in kept} >= {"files", "state"}
    assert all(name in shown for name in kept)
    assert scratch_codes(world)  # the scratch board's tracking codes, kept too
    # Without the pseudonym secret the board cannot be checked: said so, the rest checked.
    blind = world.replace(board_secret_file=str(Path(world.catalog_file).with_name("none")))
    verified = boleta(blind, "verify", "--wait", "5")
    assert verified.returncode == 1, verified.stdout + verified.stderr
    assert "board: not checked: BOLETA_BOARD_SECRET_FILE" in " ".join(verified.stdout.split())
    assert "Traceback" not in verified.stderr
    assert "tallies_total" in verified.stderr


@pytest.mark.parametrize(
    "positions",
    ["", "0", "0:", "0:1;1:2", "-1:3", "0:1,", "p0:5", "0:1.5", "0:" + "9" * 19, '{"$ne":null}'],
)
def test_positions_are_refused_unless_well_formed(world: Settings, positions: str) -> None:
    with serving(world) as base:
        answer = httpx.get(
            f"{base}/api/v1/contests/main/results", params={"positions": positions}, timeout=10
        )
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["extra"][0]["key"] == "positions"
    assert "<partition>:<end> pairs joined by commas" in body["detail"]


def test_positions_past_the_log_are_not_there_yet_and_others_count_exactly_their_prefix(
    world: Settings,
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    write_catalog(world, closes_at=start + timedelta(hours=1))
    events = cast(world, 60, start)
    ends = log_ends(world)
    with serving(world) as base:
        url = f"{base}/api/v1/contests/open/results"
        past = httpx.get(url, params={"positions": f"0:{ends[0] + 1}"}, timeout=30)
        assert past.status_code == 404, past.text
        assert "past the end of the log" in past.json()["detail"]
        whole = ",".join(f"{p}:{e}" for p, e in ends.items())
        answer = httpx.get(url, params={"positions": whole}, timeout=30)
        assert answer.status_code == 200, answer.text
        first: dict[str, VoteCast] = {}
        for e in events:
            first.setdefault(e.vote_id, e)
        assert answer.json()["total"] == sum(1 for e in first.values() if e.contest == "open")
        assert answer.json()["final"] is True
        none = httpx.get(url, params={"positions": "0:0"}, timeout=30)
        assert none.status_code == 200
        assert none.json()["total"] == 0
        # With as_of too: of that prefix, the votes cast up to it.
        as_of = start + timedelta(milliseconds=37 * 30)
        earlier = httpx.get(
            url, params={"positions": whole, "as_of": as_of.isoformat()}, timeout=30
        )
        assert earlier.status_code == 200, earlier.text
        assert earlier.json()["total"] == sum(
            1 for e in first.values() if e.contest == "open" and e.cast_at <= as_of
        )
