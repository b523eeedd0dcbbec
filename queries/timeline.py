"""A newest-first page of the audit log, read from its timeline (see domain.timeline).

Each partition is read newest first, block by block, from below its position; the
partitions are merged by (cast_at, event_id), newest first. The position of a page is
where each partition's reading stopped, so paging on visits every vote exactly once
whatever the clocks did. Reads are ``_id`` lookups only, several blocks at a time. A
rare filter stops after ``budget`` blocks and returns what it found with the position it
reached, so no page takes unbounded time. ``since`` ends a partition's reading once its
votes are more than ``MAX_CLOCK_SKEW`` older than it (the log is in cast order up to the
command processes' clock skew).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from domain.asof import MAX_CLOCK_SKEW
from domain.timeline import BLOCK, ENTRIES_FIELD, block_key, offset_of

Entry = dict[str, Any]  # domain.timeline's entry, with its partition "p" and offset "o"
Positions = dict[int, int]  # partition -> the offset reading continues below
Fetch = Callable[[list[str]], Awaitable[dict[str, dict[str, Any]]]]  # keys -> found docs
Match = Callable[[Entry], bool]

PREFETCH = 8  # at most this many blocks read at once per partition (1, 2, 4, ... as needed)
BUDGET = 160  # blocks one page may read (about 10,000 votes)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@dataclass
class _Partition:
    partition: int
    below: int  # offsets below this are still to be read
    buffer: list[tuple[int, Entry]] = field(default_factory=list)  # newest (highest) last
    next_block: int = 0
    prefetch: int = 1

    def __post_init__(self) -> None:
        self.next_block = (self.below - 1) // BLOCK

    @property
    def done(self) -> bool:
        return not self.buffer and self.next_block < 0

    def wanted(self) -> list[str]:
        if self.buffer or self.next_block < 0:
            return []
        lowest = max(self.next_block - self.prefetch + 1, 0)
        self.prefetch = min(self.prefetch * 2, PREFETCH)
        blocks = range(self.next_block, lowest - 1, -1)
        return [block_key(self.partition, b * BLOCK) for b in blocks]

    def fill(self, found: dict[str, dict[str, Any]], keys: list[str]) -> None:
        for key in keys:
            block = found.get(key) or {}
            for name, stored in block.get(ENTRIES_FIELD, {}).items():
                offset = offset_of(name)
                if offset < self.below:
                    entry = {**stored, "t": _aware(stored["t"]), "p": self.partition, "o": offset}
                    self.buffer.append((offset, entry))
        self.next_block -= len(keys)
        self.buffer.sort(key=lambda item: item[0])

    def head(self) -> tuple[datetime, str]:
        entry = self.buffer[-1][1]
        return entry["t"], entry["i"]

    def pop(self) -> Entry:
        offset, entry = self.buffer.pop()
        self.below = offset
        return entry

    def stop(self) -> None:
        self.buffer.clear()
        self.next_block = -1
        self.below = 0


async def newest_first(
    fetch: Fetch,
    matches: Match,
    limit: int,
    positions: Positions,
    since: datetime | None = None,
    budget: int = BUDGET,
) -> tuple[list[Entry], Positions | None]:
    """Up to ``limit`` matching entries below ``positions``, newest first, and the
    positions to continue from (None when nothing is left to read)."""
    parts = [_Partition(p, below) for p, below in sorted(positions.items()) if below > 0]
    found: list[Entry] = []
    resume: Positions | None = None
    blocks = 0
    while True:
        wanted = {part.partition: part.wanted() for part in parts}
        keys = [key for ks in wanted.values() for key in ks]
        if keys:
            if blocks >= budget:
                return found, resume or _positions(parts)
            fetched = await fetch(keys)
            blocks += len(keys)
            for part in parts:
                part.fill(fetched, wanted[part.partition])
            continue  # a partition may still be empty: read its next blocks first
        live = [part for part in parts if not part.done]
        if not live:
            return found, None
        newest = max(live, key=lambda part: part.head())
        entry = newest.pop()
        if since is not None and entry["t"] < since - MAX_CLOCK_SKEW:
            newest.stop()
            continue
        if not matches(entry):
            continue
        if len(found) == limit:  # one more exists: the page ends where it was full
            return found, resume
        found.append(entry)
        if len(found) == limit:
            resume = _positions(parts)


def _positions(parts: list[_Partition]) -> Positions:
    """Where each partition's reading stands: below its last vote taken, or below the
    blocks read and found empty (so a page cut short by the budget still moves on)."""
    return {
        part.partition: part.below
        if part.buffer
        else min(part.below, max(part.next_block + 1, 0) * BLOCK)
        for part in parts
    }
