"""The public board checked against the log, from first principles: the entries, leaves,
tiles and roots the log implies (recomputed here from the log's messages with the domain's
hashing, not read back through the board worker's code) against everything the board holds
and every checkpoint it served."""

from __future__ import annotations

import re
import time
from collections import defaultdict
from typing import Any

import httpx
import pymongo
import redis

from boleta.board_keys import SignatureError, open_note
from boleta.board_secrets import board_pseudonyms, board_signer, checkpoint_origin
from boleta.serve_projections import board_sink
from boleta.settings import Settings
from domain import vote_cast_codec
from domain.board import (
    TILE_WIDTH,
    MalformedNote,
    TileState,
    append,
    board_entry,
    encode_bundle,
    encode_entry,
    leaf_hash,
    parse_checkpoint,
    root,
)
from domain.codec import UndecodableEvent
from domain.readmodel import (
    BOARD_PREFIX,
    files_collection,
    state_collection,
)
from projections.board_codes import RedisCodes
from projections.log_reader import end_offsets, replay, replay_consumer
from tests.chaos.watch import Watch
from tests.integration.kafka_helpers import read_all
from tests.integration.projection_helpers import wait_for

SETTLE_S = 180
TILE = re.compile(r"tile/(entries|[0-9]+)/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([0-9]+))?")


class CheckpointWatch(Watch):
    """Polls the query service's checkpoints while a row runs: every distinct one served."""

    def __init__(self, base: str, partitions: int, every_s: float = 0.05) -> None:
        super().__init__("checkpoints")
        self.base, self.partitions, self.every_s = base, partitions, every_s
        self.served: dict[int, list[str]] = defaultdict(list)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=5) as http:
            while self.watching():
                for p in range(self.partitions):
                    try:
                        answer = http.get(f"/board/p{p}/checkpoint")
                    except httpx.HTTPError:
                        continue  # the service is faulted too in some rows: poll on
                    seen = self.served[p]
                    if answer.status_code == 200 and (not seen or seen[-1] != answer.text):
                        seen.append(answer.text)
                time.sleep(self.every_s)

    def count(self) -> int:
        return sum(len(v) for v in self.served.values())


def log_entries(world: Settings) -> dict[int, list[bytes]]:
    """Each partition's board entries as the log implies them: every vote event, in offset
    order, with its pseudonyms (an undecodable message has none)."""
    codec, pseudonyms = vote_cast_codec(), board_pseudonyms(world)
    entries: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    for msg in read_all(world, world.topic):
        try:
            event = codec.decode(msg.value(), dict(msg.headers() or []))
        except UndecodableEvent:
            continue
        entry = encode_entry(board_entry(event, msg.offset(), pseudonyms))
        entries[msg.partition()].append((msg.offset(), entry))
    return {p: [e for _, e in sorted(items)] for p, items in entries.items()}


def tree_levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Level 0: the leaf hashes; level L+1: the root of each full tile of level L."""
    levels = [leaves]
    while len(levels[-1]) >= TILE_WIDTH:
        below = levels[-1]
        full = len(below) - len(below) % TILE_WIDTH
        levels.append([root(below[i : i + TILE_WIDTH]) for i in range(0, full, TILE_WIDTH)])
    return levels


def expected_file(path: str, entries: list[bytes], levels: list[list[bytes]]) -> bytes | None:
    """The bytes a tile path must hold for a log with ``entries`` (None: no such file)."""
    match = TILE.fullmatch(path)
    if match is None:
        return None
    index = int(match[2].replace("x", "").replace("/", ""))
    width = int(match[3]) if match[3] else TILE_WIDTH
    first = index * TILE_WIDTH
    if match[1] == "entries":
        items = entries[first : first + width]
        return encode_bundle(items) if len(items) == width else None
    level = int(match[1])
    hashes = levels[level][first : first + width] if level < len(levels) else []
    return b"".join(hashes) if len(hashes) == width else None


def required_files(entries: dict[int, list[bytes]]) -> set[str]:
    """The files a board of ``entries`` must hold: its full tiles and bundles, and the
    partial ones of its size."""
    return {f"p{p}/{w.path}" for p, items in entries.items() for w in append(TileState(), items)[1]}


def codes_of(world: Settings, prefix: str) -> dict[str, tuple[int, int]]:
    with redis.Redis.from_url(world.redis_url) as client:
        return RedisCodes(client, world.tallies_tag, prefix).all()


def board_state(world: Settings, prefix: str = BOARD_PREFIX) -> dict[str, Any]:
    with pymongo.MongoClient(world.mongo_url, serverSelectionTimeoutMS=10_000) as client:
        db = client[world.mongo_db]
        return {
            "files": {d["_id"]: bytes(d["data"]) for d in db[files_collection(prefix)].find({})},
            "states": {int(d["_id"][1:]): d for d in db[state_collection(prefix)].find({})},
            "codes": codes_of(world, prefix),
        }


def check_board(
    world: Settings, served: dict[int, list[str]] | None = None, rebuild: bool = False
) -> list[str]:
    """Every failed check of the board against the log (empty: exact)."""
    entries = log_entries(world)
    sizes = {p: len(e) for p, e in entries.items()}

    def caught_up() -> bool:
        states = board_state(world)["states"]
        return {p: int(s["size"]) for p, s in states.items() if s["size"]} == sizes

    try:
        wait_for(caught_up, SETTLE_S, "the board to hold every vote event of the log")
    except AssertionError:
        stored = {p: int(s["size"]) for p, s in board_state(world)["states"].items()}
        return [f"the board did not settle: sizes {stored}, the log has {sizes}"]
    board = board_state(world)
    verifier = board_signer(world).verifier
    failures: list[str] = []
    leaves = {p: [leaf_hash(e) for e in items] for p, items in entries.items()}
    levels = {p: tree_levels(h) for p, h in leaves.items()}
    for file_id, data in board["files"].items():
        log, _, path = file_id.partition("/")
        p = int(log[1:])
        if expected_file(path, entries.get(p, []), levels.get(p, [[]])) != data:
            failures.append(f"board file {file_id} is not what the log implies")
    codes = {leaf.hex(): (p, i) for p, hashes in leaves.items() for i, leaf in enumerate(hashes)}
    if board["codes"] != codes:
        failures.append(
            f"tracking codes: {len(board['codes'])} stored, {len(codes)} in the log, "
            f"{len(board['codes'].keys() ^ codes.keys())} differ"
        )
    notes_of = {
        p: [*(served or {}).get(p, []), str(s["checkpoint"])] for p, s in board["states"].items()
    }
    for p, notes in notes_of.items():
        for note in notes:
            failures += check_checkpoint(world, p, note, verifier, leaves.get(p, []))
    if rebuild:
        failures += check_rebuild(world, board, entries)
    return failures


def check_checkpoint(
    world: Settings, partition: int, note: str, verifier: Any, leaves: list[bytes]
) -> list[str]:
    """A checkpoint is signed by the board's key, names its partition's origin, and its
    root is that of the log's first ``size`` entries: so it is consistent with every
    other checkpoint of the partition, earlier or later."""
    try:
        checkpoint = parse_checkpoint(open_note(note.encode(), verifier))
    except (SignatureError, MalformedNote) as exc:
        return [f"p{partition}: a checkpoint does not verify: {exc}"]
    if checkpoint.origin != checkpoint_origin(world, partition):
        return [f"p{partition}: a checkpoint names origin {checkpoint.origin!r}"]
    if checkpoint.size > len(leaves) or checkpoint.root != root(leaves[: checkpoint.size]):
        return [f"p{partition}: the checkpoint of size {checkpoint.size} is not of the log"]
    return []


def check_rebuild(
    world: Settings, live: dict[str, Any], entries: dict[int, list[bytes]]
) -> list[str]:
    """A second board replayed from the log, in other collections, is the live one to the
    byte: every file both hold (partial tiles depend on where batches ended), every file a
    board of the log's entries must hold, and every checkpoint."""
    prefix = f"rebuilt{int(time.time())}"
    rebuilt = board_sink(world, prefix=prefix)
    rebuilt.positions()  # a new board: nothing stored yet
    consumer = replay_consumer(world.kafka_bootstrap, f"{world.group_prefix}-board-rebuild")
    try:
        ends = end_offsets(consumer, world.topic)
        for batch in replay(consumer, world.topic, vote_cast_codec(), ends):
            rebuilt.apply(batch)
    finally:
        consumer.close()
    new = board_state(world, prefix)
    failures = []
    both = new["files"].keys() & live["files"].keys()
    differ = sorted(k for k in both if new["files"][k] != live["files"][k])
    if differ:
        failures.append(f"the rebuilt board differs in {len(differ)} files, e.g. {differ[:3]}")
    missing = sorted(required_files(entries) - new["files"].keys())
    if missing:
        failures.append(f"the rebuilt board lacks {len(missing)} files, e.g. {missing[:3]}")
    checkpoints = {p: s["checkpoint"] for p, s in new["states"].items()}
    if checkpoints != {p: s["checkpoint"] for p, s in live["states"].items()}:
        failures.append("the rebuilt board's checkpoints differ from the live ones")
    return failures
