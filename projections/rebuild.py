"""Rebuild a read model from the log while the live one keeps serving, then swap it in.

The new model is filled from offset 0. Once it has reached the log's end offsets it is
swapped in, atomically, but only if it is at or past the live model on every partition
(otherwise it reads on and tries again). The live worker notices the change on its next
batch and re-seeks to the new model's checkpoints, so no vote is skipped or doubled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
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
    """Replay ``topic`` into ``target`` and swap it in. ``on_progress(done, total)``."""
    started = time.perf_counter()
    position: dict[int, int] = {}
    messages = votes = 0
    for attempt in range(1, max_attempts + 1):
        until = end_offsets(consumer, topic)
        total = sum(until.values())
        for batch in replay(consumer, topic, codec, until, start=position):
            counted = target.apply(batch)
            if counted is None:
                raise RuntimeError("the rebuild's target model changed under it; start again")
            votes += counted
            messages += len(batch)
            for item in batch:
                position[item.partition] = max(position.get(item.partition, 0), item.offset + 1)
            if on_progress:
                on_progress(sum(position.values()), total)
        swapped, detail = target.swap_in()
        if swapped:
            return RebuildResult(messages, votes, time.perf_counter() - started, attempt, detail)
    raise RuntimeError(f"the rebuild could not catch up with the live model: {detail}")
