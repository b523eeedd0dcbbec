"""Results as of a moment, from the log (see domain.asof): each partition's replay ends at
the offset Kafka's offsets-for-times gives for the replay bound, and the prefix is folded
with the live laws (``TallyView(as_of=T)``)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timedelta

from confluent_kafka import Consumer, TopicPartition

from domain import EventCodec, VoteCast
from domain.asof import ReplayTooLongError, replay_bound_ms
from domain.catalog import Contest
from domain.projection import TallyView, admit
from projections.log_reader import end_offsets, replay


def prefix_end(
    consumer: Consumer, topic: str, as_of: datetime, slack: timedelta, timeout_s: float
) -> dict[int, int]:
    """Per partition, the offset from which on no vote was cast at or before ``as_of``: the
    first message stamped at or after the replay bound (``slack``: how far out of cast
    order the log can be), or the end of the partition."""
    ends = end_offsets(consumer, topic)
    at = replay_bound_ms(as_of, slack)
    found = consumer.offsets_for_times(
        [TopicPartition(topic, p, at) for p in sorted(ends)], timeout=timeout_s
    )
    until = {}
    for tp in found:
        if tp.error is not None:
            raise RuntimeError(f"offsets for times of {topic}[{tp.partition}]: {tp.error}")
        until[tp.partition] = tp.offset if tp.offset >= 0 else ends[tp.partition]
    return until


def tallies_as_of(
    consumer: Consumer,
    topic: str,
    codec: EventCodec[VoteCast],
    as_of: datetime,
    slack: timedelta,
    timeout_s: float,
    max_events: int,
    windows: Mapping[str, Contest] | None = None,
) -> TallyView:
    """The tallies of every vote cast at or before ``as_of`` (every contest), with the
    checkpoints the replay read up to. ``windows``: the contests' voting windows, admitted
    as the live projections admit them (``domain.projection.admit``). Raises
    ``TimeoutError`` after ``timeout_s`` and ``ReplayTooLongError`` before reading more
    than ``max_events`` messages."""
    deadline = time.monotonic() + timeout_s
    until = prefix_end(consumer, topic, as_of, slack, timeout_s)
    events = sum(until.values())
    if events > max_events:
        raise ReplayTooLongError(
            f"results as of {as_of.isoformat()} need a replay of {events} events "
            f"(at most {max_events} allowed)"
        )
    view = TallyView(as_of=as_of)
    for batch in replay(consumer, topic, codec, until, deadline=deadline):
        view.apply(admit(batch, windows or {}))
    return view


class PastTheEndError(LookupError):
    """Positions past the end of the log: no results at them exist yet."""


def tallies_at(
    consumer: Consumer,
    topic: str,
    codec: EventCodec[VoteCast],
    ends: Mapping[int, int],
    as_of: datetime | None,
    timeout_s: float,
    max_events: int,
    windows: Mapping[str, Contest] | None = None,
) -> TallyView:
    """The tallies of exactly the messages before ``ends`` (partition -> end offset; a
    partition not named: none of its messages), of the votes cast by ``as_of`` when
    given, with the checkpoints read up to. ``windows`` as for :func:`tallies_as_of`.
    Raises :class:`PastTheEndError` when an end is past the log's (checked first),
    ``ReplayTooLongError`` before reading more than ``max_events`` messages and
    ``TimeoutError`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    log_ends = end_offsets(consumer, topic, timeout_s)
    past = {p: end for p, end in ends.items() if end > log_ends.get(p, 0)}
    if past:
        shown = ", ".join(
            f"{p}:{end} (the log's end is {log_ends.get(p, 0)})" for p, end in past.items()
        )
        raise PastTheEndError(
            f"past the end of the log: {shown}; partitions 0 to {max(log_ends, default=-1)}"
        )
    events = sum(ends.values())
    if events > max_events:
        raise ReplayTooLongError(
            f"results at these positions need a replay of {events} events "
            f"(at most {max_events} allowed)"
        )
    view = TallyView(as_of=as_of)
    for batch in replay(consumer, topic, codec, dict(ends), deadline=deadline):
        view.apply(admit(batch, windows or {}))
    return view
