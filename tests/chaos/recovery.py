"""Recovery figures of a fault row, from the vote load's ledger and a watch on the tallies:
the longest time without an acknowledged vote, the end-to-end p99 of the votes cast during
the fault (from a vote's first send to its being counted in the tallies, retries
included), and the time the tallies took after the fault to count every vote acknowledged
before its end."""

from __future__ import annotations

import bisect
import itertools
import math
import time
from collections.abc import Collection, Sequence

import redis

from boleta.settings import Settings
from projections.redis_sink import RedisTallies
from tests.chaos.load import Ledger
from tests.chaos.watch import Watch


class Visibility(Watch):
    """Polls the tallies' positions (the next offset to count, per partition) every
    ``every_s``: when each (partition, offset) became counted, to ``every_s``."""

    def __init__(self, world: Settings, every_s: float = 0.05) -> None:
        super().__init__("visibility")
        self.world, self.every_s = world, every_s
        self.times: dict[int, list[int]] = {}  # partition -> unix ns of each sample
        self.ends: dict[int, list[int]] = {}  # partition -> its position at that sample

    def _run(self) -> None:
        with redis.Redis.from_url(self.world.redis_url, socket_timeout=5) as client:
            tallies = RedisTallies(client, tag=self.world.tallies_tag)
            while self.watching(self.every_s):
                try:
                    positions = tallies.positions()
                except redis.RedisError:
                    continue
                now = time.time_ns()
                for partition, end in positions.items():
                    ends = self.ends.setdefault(partition, [])
                    if not ends or end > ends[-1]:  # positions only move forward
                        ends.append(end)
                        self.times.setdefault(partition, []).append(now)

    def counted_at(self, partition: int, offset: int) -> int | None:
        """The first sample at which ``offset`` of ``partition`` was counted (None: not
        yet)."""
        ends = self.ends.get(partition, [])
        i = bisect.bisect_right(ends, offset)
        return self.times[partition][i] if i < len(ends) else None


def acked_since(
    ledger: Ledger, sent_after_ns: int, partitions: Collection[int] | None = None
) -> list[int]:
    """When (unix ns) each vote of a call sent after ``sent_after_ns`` was acknowledged, on
    ``partitions`` only when given."""
    return [
        at
        for at, (sent, partition, _) in zip(ledger.acked_at, ledger.acks, strict=True)
        if sent > sent_after_ns and (partitions is None or partition in partitions)
    ]


def longest_gap_s(times_ns: Sequence[int], start_ns: int, end_ns: int) -> float:
    """The longest time without any of ``times_ns`` from the last one before ``start_ns``
    to ``end_ns``."""
    before = [t for t in times_ns if t <= start_ns]
    inside = sorted(t for t in times_ns if start_ns < t < end_ns)
    points = [max(before, default=start_ns), *inside, end_ns]
    return max(b - a for a, b in itertools.pairwise(points)) / 1e9


def p99(values: Sequence[float]) -> float:
    """The nearest-rank 99th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def figures(
    ledger: Ledger, seen: Visibility, fault_ns: int, healed_ns: int, timeout: float = 180
) -> dict[str, float]:
    """The row's recovery figures for a fault from ``fault_ns`` to ``healed_ns`` (the
    load must be over; waits up to ``timeout`` for the tallies to count its votes)."""
    acks = list(zip(ledger.acked_ids, ledger.acks, strict=True))
    before_heal = [
        (p, o) for (_, (_, p, o)), at in zip(acks, ledger.acked_at, strict=True) if at <= healed_ns
    ]
    deadline = time.monotonic() + timeout
    while any(seen.counted_at(p, o) is None for _, (_, p, o) in acks):
        assert time.monotonic() < deadline, "the tallies did not count every acknowledged vote"
        time.sleep(0.1)
    caught_up = max((seen.counted_at(p, o) or 0 for p, o in before_heal), default=healed_ns)
    in_fault = [
        ((seen.counted_at(p, o) or 0) - ledger.first_sent[vote_id]) / 1e6
        for vote_id, (_, p, o) in acks
        if fault_ns <= ledger.first_sent[vote_id] <= healed_ns
    ]
    return {
        "longest_without_an_ack_s": round(longest_gap_s(ledger.acked_at, fault_ns, healed_ns), 1),
        "end_to_end_p99_in_fault_ms": round(p99(in_fault)) if in_fault else math.nan,
        "votes_cast_in_fault": len(in_fault),
        "counted_after_heal_s": round(max(0, caught_up - healed_ns) / 1e9, 1),
    }
