"""The audit log's timeline: a small index of the counted votes in log order.

A newest-first page of the log must not need a sort over the whole log: FerretDB v1 (the
local MongoDB-protocol server) sorts everything but ``$natural`` in memory, which took
tens of seconds at 100,000 votes. The timeline is found by ``_id`` alone, so a page costs
a handful of lookups on any MongoDB-protocol server.

One document per partition and block of ``BLOCK`` offsets:
``{_id: "p<partition>:<block>", e: {"o<offset>": {i: event_id, v: vote_id, c: contest,
b: band, a: album, y: year, r: rank, t: cast_at[, w: voter_id][, s: superseded_by]}}}``:
all a page shows, ordered and
filtered without reading the audit documents. Blocks stay small on purpose: FerretDB's
cost to read a document grows faster than its size. The newest block of a partition follows
from the audit log's checkpoint. Writing a vote again sets the same field to the same
value, so redelivery and replay are harmless.

One document per counted vote finds it by vote_id: ``{_id: "v:<vote_id>", i: event_id}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

BLOCK = 64
ENTRIES_FIELD = "e"


def timeline_collection(audit_collection: str) -> str:
    return f"{audit_collection}_timeline"


def block_key(partition: int, offset: int) -> str:
    return f"p{partition}:{offset // BLOCK}"


def first_offset(key: str) -> tuple[int, int]:
    """(partition, first offset) of a block key."""
    partition, block = key[1:].split(":")
    return int(partition), int(block) * BLOCK


def is_new_block(key: str, checkpoints: Mapping[int, int]) -> bool:
    """True when no applied batch wrote to this block: it starts past its partition's
    checkpoint (only a batch cut short before its checkpoint can have written it)."""
    partition, first = first_offset(key)
    return first > checkpoints.get(partition, -1)


def vote_key(vote_id: str) -> str:
    return f"v:{vote_id}"


def entry_field(offset: int) -> str:
    return f"o{offset}"


def offset_of(field: str) -> int:
    return int(field[1:])


def timeline_change(
    documents: Iterable[Mapping[str, Any]],
) -> dict[str, dict[str, dict[str, Any]]]:
    """Block key -> entry field -> entry, for audit documents (``_id`` = event_id)."""
    blocks: dict[str, dict[str, dict[str, Any]]] = {}
    for doc in documents:
        entry = {
            "i": doc["_id"],
            "v": doc["vote_id"],
            "c": doc["contest"],
            "b": doc["band"],
            "a": doc["album"],
            "y": doc["year"],
            "r": doc["rank"],
            "t": doc["cast_at"],
        }
        if "voter_id" in doc:
            entry["w"] = doc["voter_id"]
        if "superseded_by" in doc:
            entry["s"] = doc["superseded_by"]
        key = block_key(int(doc["partition"]), int(doc["offset"]))
        blocks.setdefault(key, {})[entry_field(int(doc["offset"]))] = entry
    return blocks
