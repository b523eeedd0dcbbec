"""End to end: from ``CastVote`` sent to the vote visible in the tallies.

Method: the load generator sends ``CastVote`` at a steady rate and writes, per
acknowledged vote, the wall-clock time it was sent and the partition and offset of the
reply. Meanwhile a watcher reads the tallies' checkpoint hash (partition -> last applied
offset) every millisecond and notes when it changes. The tallies script stores the
checkpoint in the same atomic step as the counts, so a vote at (p, o) is visible from the
first observation with checkpoint[p] >= o. Latency = that time - sent time; both clocks
are this machine's wall clock; the watcher's resolution is about one poll interval.
"""

from __future__ import annotations

import bisect
import csv
import statistics
import threading
import time
from pathlib import Path

import redis

from boleta.settings import Settings
from domain.readmodel import CHECKPOINT, tallies_key

POLL_S = 0.001


class CheckpointWatch:
    """Records (unix ns, offset) per partition each time the tallies checkpoint moves."""

    def __init__(self, settings: Settings) -> None:
        self._client = redis.Redis.from_url(settings.redis_url)
        self._key = tallies_key(CHECKPOINT, tag=settings.tallies_tag)
        self.changes: dict[int, tuple[list[int], list[int]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="checkpoint-watch", daemon=True)

    def __enter__(self) -> CheckpointWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._client.close()

    def _run(self) -> None:
        last: dict[int, int] = {}
        hgetall = self._client.hgetall
        while not self._stop.is_set():
            stored = hgetall(self._key)
            seen = time.time_ns()
            for raw_partition, raw_offset in stored.items():
                partition, offset = int(raw_partition), int(raw_offset)
                if last.get(partition) != offset:
                    last[partition] = offset
                    times, offsets = self.changes.setdefault(partition, ([], []))
                    times.append(seen)
                    offsets.append(offset)
            time.sleep(POLL_S)

    def visible_at(self, partition: int, offset: int) -> int | None:
        """Unix ns of the first observation that shows (partition, offset) applied."""
        times, offsets = self.changes.get(partition, ([], []))
        i = bisect.bisect_left(offsets, offset)
        return times[i] if i < len(times) else None


def latencies(acks: Path, watch: CheckpointWatch) -> tuple[list[float], int]:
    """(sent -> visible in ms for each acknowledged vote, how many never became visible)."""
    result: list[float] = []
    missing = 0
    with acks.open() as lines:
        for sent, _acked, partition, offset in csv.reader(lines):
            visible = watch.visible_at(int(partition), int(offset))
            if visible is None:
                missing += 1
            else:
                result.append((visible - int(sent)) / 1e6)
    return result, missing


def percentiles(values: list[float]) -> tuple[float, float]:
    """(p50, p99) of ``values``."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (float("nan"), float("nan"))
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49], q[98]
