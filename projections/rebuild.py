"""Rebuild a read model from the log while the live one keeps serving, then swap it in.

The new model is filled from offset 0. Once it has reached the log's end offsets it is
swapped in, atomically, but only if it is at or past the live model on every partition
(otherwise it reads on and tries again). The live worker notices the change on its next
batch and re-seeks to the new model's checkpoints, so no vote is skipped or doubled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from confluent_kafka import Consumer

from domain import EventCodec, VoteCast
from domain.projection import Delivered
from projections.log_reader import end_offsets, replay


class RebuildTarget(Protocol):
    def apply(
        self, batch: Sequence[Delivered], lag: Mapping[int, int] | None = None
    ) -> int | None: ...

    def swap_in(self) -> tuple[bool, str]: ...


@dataclass(frozen=True, slots=True)
class RebuildResult:
    messages: int
    votes: int
    seconds: float
    swaps_tried: int
    detail: str


def rebuild(
    consumer: Consumer,
    topic: str,
    codec: EventCodec[VoteCast],
    target: RebuildTarget,
    on_progress: Callable[[int, int], None] | None = None,
    max_attempts: int = 50,
) -> RebuildResult:
    """Replay ``topic`` into ``target`` and swap it in. ``on_progress(done, total)``.

    Each batch is applied in a helper thread while the next one is read and decoded (the
    target's call waits on Redis without the GIL). Batches are still applied one at a
    time and in order, and a swap waits for the last one.
    """
    started = time.perf_counter()
    position: dict[int, int] = {}
    done = {"messages": 0, "votes": 0}

    def applied(batch: Sequence[Delivered], counted: int | None, total: int) -> None:
        if counted is None:
            raise RuntimeError("the rebuild's target model changed under it; start again")
        done["votes"] += counted
        done["messages"] += len(batch)
        # A partition's messages come in order: its last in the batch is its furthest.
        last = {item.partition: item.offset for item in batch}
        for partition, offset in last.items():
            position[partition] = max(position.get(partition, 0), offset + 1)
        if on_progress:
            on_progress(sum(position.values()), total)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rebuild-apply") as applier:
        for attempt in range(1, max_attempts + 1):
            until = end_offsets(consumer, topic)
            total = sum(until.values())
            pending: tuple[Sequence[Delivered], Future[int | None]] | None = None
            for batch in replay(consumer, topic, codec, until, start=position):
                if pending is not None:
                    applied(pending[0], pending[1].result(), total)
                pending = (batch, applier.submit(target.apply, batch))
            if pending is not None:
                applied(pending[0], pending[1].result(), total)
            swapped, detail = target.swap_in()
            if swapped:
                elapsed = time.perf_counter() - started
                return RebuildResult(done["messages"], done["votes"], elapsed, attempt, detail)
    raise RuntimeError(f"the rebuild could not catch up with the live model: {detail}")
