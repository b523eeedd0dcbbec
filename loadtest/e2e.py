"""End to end: from ``CastVote`` sent to the vote visible in the tallies.

Method: the load generator sends ``CastVote`` at a steady rate and writes, per
acknowledged vote, the wall-clock time it was sent and the partition and offset of the
reply. Meanwhile a watcher reads the tallies' checkpoint hash (partition -> last applied
offset) each time the tallies worker applies a batch and notes when it changes. The
tallies script stores the checkpoint in the same atomic step as the counts, so a vote at
(p, o) is visible from the first observation with checkpoint[p] >= o. Latency = that
time - sent time; both clocks are this machine's wall clock.

The watcher learns of a batch from the rate stream's entry that the same script adds
(``XREAD BLOCK``, woken when the script ends), so its resolution is one Redis round trip
and it costs the machine under test a few reads per batch. It read the checkpoint every
millisecond before: ~1,000 reads a second, about 0.08 of a core of the 2-core machine
between the bench process and Redis while the run was measured. With no entry for
``BLOCK_MS`` it reads the checkpoint anyway, so a model that writes no rate stream is still
watched.
"""

from __future__ import annotations

import bisect
import csv
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from boleta.settings import Settings
from domain.readmodel import CHECKPOINT, RATE, tallies_key
from loadtest.projection_bench import tallies_total
from loadtest.report import Figure

BLOCK_MS = 50  # the longest the watcher waits for a batch before it reads the checkpoint
Load = Callable[..., dict[str, float]]  # a load generator phase: (mode, target, **flags)


class CheckpointWatch:
    """Records (unix ns, offset) per partition each time the tallies checkpoint moves."""

    def __init__(self, settings: Settings) -> None:
        self._client = redis.Redis.from_url(settings.redis_url)
        self._key = tallies_key(CHECKPOINT, tag=settings.tallies_tag)
        self._stream = tallies_key(RATE, tag=settings.tallies_tag)
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
        client = self._client
        newest: Any = client.xrevrange(self._stream, count=1)  # RESP2: [(id, fields)]
        entry: bytes = newest[0][0] if newest else b"0-0"  # read before the checkpoint
        while not self._stop.is_set():
            stored = client.hgetall(self._key)
            seen = time.time_ns()
            for raw_partition, raw_offset in stored.items():
                partition, offset = int(raw_partition), int(raw_offset)
                if last.get(partition) != offset:
                    last[partition] = offset
                    times, offsets = self.changes.setdefault(partition, ([], []))
                    times.append(seen)
                    offsets.append(offset)
            woken: Any = client.xread({self._stream: entry}, block=BLOCK_MS)
            if woken:
                entry = woken[0][1][-1][0]

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


@dataclass(frozen=True)
class SteadyRun:
    """One steady run: what was offered, what came back, and sent -> visible latency."""

    rate: float  # asked of the load generator
    seconds: float
    sent: int
    offered_per_s: float
    acked: int
    acked_per_s: float  # over the whole run, until the last call ended
    failed: int  # failed or timed out (a steady run does not retry)
    never_visible: int  # acknowledged but not seen in the tallies
    p50_ms: float
    p99_ms: float
    ack_p50_ms: float
    ack_p99_ms: float
    behind_schedule: int

    def meets(self, p99_limit_ms: float) -> bool:
        """The SLO: p99 within the limit and every call acknowledged and visible."""
        return (
            self.failed == 0
            and self.never_visible == 0
            and self.acked > 0
            and self.p99_ms <= p99_limit_ms
        )


def steady_run(
    rate: float, seconds: float, summary: dict[str, Any], latencies: list[float], missing: int
) -> SteadyRun:
    """A :class:`SteadyRun` from the load generator's summary and the matched latencies."""
    p50, p99 = percentiles(latencies)
    sent = int(summary.get("sent") or summary["votes"] + summary["failed"])
    return SteadyRun(
        rate=rate,
        seconds=seconds,
        sent=sent,
        offered_per_s=sent / max(float(summary.get("send_seconds") or seconds), 1e-9),
        acked=int(summary["votes"]),
        acked_per_s=float(summary["votes_per_s"]),
        failed=int(summary["failed"]),
        never_visible=missing,
        p50_ms=p50,
        p99_ms=p99,
        ack_p50_ms=float(summary["p50_ms"]),
        ack_p99_ms=float(summary["p99_ms"]),
        behind_schedule=int(summary.get("behind_schedule", 0)),
    )


def next_rate(
    tried: Sequence[tuple[float, bool]],
    start: float,
    max_steps: int,
    resolution: float = 0.1,
    factor: float = 2.0,
) -> float | None:
    """The next rate of the search for the capacity at the SLO, or None when it is done.

    ``tried`` holds (rate, met) of the runs so far. While every run meets the SLO the rate
    grows by ``factor`` from ``start``; after the first miss it bisects between the
    highest rate that met it and the lowest above that did not, until they are within
    ``resolution`` (a fraction of the upper one) or ``max_steps`` runs were made.
    """
    if len(tried) >= max_steps:
        return None
    best = max((rate for rate, met in tried if met), default=0.0)
    above = [rate for rate, met in tried if not met and rate > best]
    if not above:
        return start if best == 0.0 else best * factor
    worst = min(above)
    middle = float(round((best + worst) / 2))
    if worst - best <= resolution * worst or middle in (best, worst):
        return None
    return middle


def capacity(tried: Sequence[tuple[float, bool]]) -> tuple[float, bool]:
    """(the highest rate that met the SLO, whether a higher rate was seen to miss it)."""
    best = max((rate for rate, met in tried if met), default=0.0)
    return best, any(not met and rate > best for rate, met in tried)


class Steady:
    """Steady CastVote runs on one running stack, each measured from send to visible."""

    def __init__(self, load: Load, settings: Settings, target: str) -> None:
        self.load, self.settings, self.target = load, settings, target
        self.total = tallies_total(settings)
        load("unary", target, votes=10, callers=1, conns=1)  # warm-up: all assigned
        self.counted = 10
        self.wait_counted(60.0, "the tallies worker did not count the warm-up votes")

    def wait_counted(self, timeout_s: float, error: str = "") -> None:
        deadline = time.monotonic() + timeout_s
        while self.total() < self.counted:
            if time.monotonic() > deadline:
                if error:
                    raise TimeoutError(error)
                return
            time.sleep(0.05)

    def run(self, rate: float, seconds: float) -> SteadyRun:
        """CastVote at ``rate`` for ``seconds``, then until the tallies counted the votes
        acknowledged (30 s at most)."""
        with tempfile.TemporaryDirectory(prefix="boleta-e2e-") as tmp:
            acks = Path(tmp) / "acks.csv"
            with CheckpointWatch(self.settings) as watch:
                sent = self.load(
                    "steady", self.target, rate=rate, seconds=seconds, out=acks, conns=4
                )
                self.counted += int(sent["votes"])
                self.wait_counted(30.0)
                time.sleep(0.05)
            found, missing = latencies(acks, watch)
        return steady_run(rate, seconds, sent, found, missing)


def capacity_figure(steps: list[SteadyRun], p99_limit_ms: float, processes: int) -> Figure:
    """The highest steady rate that met the SLO, with every step tried in the detail."""
    tried = [(s.rate, s.meets(p99_limit_ms)) for s in steps]
    best, bracketed = capacity(tried)
    return Figure(
        f"capacity at the SLO (p99 <= {p99_limit_ms:.0f} ms, 0 failed)",
        best,
        "votes/s",
        "context" if bracketed else "context: no rate tried missed it",
        None,
        None,
        {
            "command_processes": processes,
            "bracketed": bracketed,
            "steps": [
                {"rate": s.rate, "met": met, "p99_ms": s.p99_ms, "failed": s.failed,
                 "offered_per_s": s.offered_per_s, "acked_per_s": s.acked_per_s,
                 "never_visible": s.never_visible, "seconds": s.seconds}
                for s, (_, met) in zip(steps, tried, strict=True)
            ],
        },
    )  # fmt: skip
