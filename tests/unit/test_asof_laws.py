"""Results as of a moment, pure: the fold of the log prefix that Kafka's offsets-for-times
bounds, with ``TallyView(as_of=T)``, equals the oracle (the votes the live laws count,
restricted to those cast at or before T), whatever the schedule; and equals the live
tallies once every vote is cast by T.

The log model: each partition is in cast order up to the clock skew between command
processes (a message's ``cast_at`` is at most ``SLACK`` before any earlier
message's of its partition), and a message's Kafka timestamp is its ``cast_at`` in
milliseconds, as the command side writes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, note
from hypothesis import strategies as st

from boleta.settings import Settings
from domain.asof import final_after, replay_bound_ms, timestamp_ms
from domain.catalog import Catalog
from domain.projection import TallyView, admit, fold, windows
from domain.votes import VoteCast
from tests.unit.test_projection_laws import (
    CONTESTS,
    MAX_MESSAGES,
    RECENT,
    VOTES_PER_PARTITION,
    Log,
    albums,
    bands,
    catalogs_of_windows,
    clean_pass,
    event_id_of,
    first_occurrences,
    logs,
    oracle,
    schedules,
    vote_id_of,
)

# How far out of cast order the drawn logs are (the laws hold for any slack the bound uses).
SLACK = timedelta(seconds=5)
SKEW_US = SLACK // timedelta(microseconds=1)
# A log with its messages' Kafka timestamps.
Stamped = tuple[Log, dict[int, list[int]]]


@st.composite
def skewed_logs(draw: st.DrawFn) -> Stamped:
    """Partitions whose messages were appended in true-time order by command processes
    whose clocks are up to ``SLACK`` apart: cast_at = true time + that process's
    clock error in [0, skew]."""
    log: Log = {}
    stamps: dict[int, list[int]] = {}
    for partition in range(draw(st.integers(1, 3))):
        true_us = draw(st.integers(-10 * SKEW_US, 10 * SKEW_US))
        log[partition], stamps[partition] = [], []
        for offset in range(draw(st.integers(0, MAX_MESSAGES))):
            true_us += draw(st.sampled_from([0, 1, 999, 1000, 250_000, SKEW_US // 2]))
            cast_at = RECENT + timedelta(microseconds=true_us + draw(st.integers(0, SKEW_US)))
            stamps[partition].append(timestamp_ms(cast_at))
            if draw(st.integers(0, 7)) == 0:
                log[partition].append(None)  # poison: it has a timestamp all the same
                continue
            log[partition].append(
                VoteCast(
                    event_id=event_id_of(partition, offset),
                    vote_id=vote_id_of(partition, draw(st.integers(0, VOTES_PER_PARTITION - 1))),
                    contest=draw(st.sampled_from(CONTESTS)),
                    band=draw(bands),
                    album=draw(albums),
                    year=1900 + offset,
                    rank=1,
                    cast_at=cast_at,
                )
            )
    return log, stamps


@st.composite
def moments(draw: st.DrawFn, log: Log) -> datetime:
    """Mostly a vote's own cast_at or a microsecond either side of it (the boundary is
    inclusive), sometimes anywhere around the log."""
    casts = [e.cast_at for items in log.values() for e in items if e is not None]
    anywhere = st.integers(-12 * SKEW_US, 40 * SKEW_US).map(
        lambda us: RECENT + timedelta(microseconds=us)
    )
    if not casts:
        return draw(anywhere)
    near = st.builds(
        lambda cast, us: cast + timedelta(microseconds=us),
        st.sampled_from(casts),
        st.sampled_from([-1, 0, 1]),
    )
    return draw(st.one_of(near, near, anywhere))


def offsets_for_times(stamps: dict[int, list[int]], at_ms: int) -> dict[int, int]:
    """Kafka's offsets-for-times, then the end offset where none is that late: per partition
    the first offset whose timestamp is >= ``at_ms``."""
    return {
        p: next((o for o, ts in enumerate(times) if ts >= at_ms), len(times))
        for p, times in stamps.items()
    }


def oracle_as_of(log: Log, as_of: datetime) -> dict[str, Any]:
    """The live oracle's counted votes, keeping those cast at or before ``as_of``: every
    other message becomes one that counts nothing."""
    keep = {
        (d.partition, d.offset)
        for d in first_occurrences(log).values()
        if d.event is not None and d.event.cast_at <= as_of
    }
    only = {
        p: [e if (p, o) in keep else None for o, e in enumerate(items)] for p, items in log.items()
    }
    return oracle(only)


def tallies(summary: dict[str, Any]) -> dict[str, Any]:
    return {"contests": summary["contests"], "total": summary["total"]}


@st.composite
def cases(draw: st.DrawFn) -> tuple[Log, dict[int, list[int]], datetime, dict[int, int], Any]:
    log, stamps = draw(skewed_logs())
    as_of = draw(moments(log))
    until = offsets_for_times(stamps, replay_bound_ms(as_of, SLACK))
    prefix = {p: items[: until[p]] for p, items in log.items()}
    schedule = draw(schedules(prefix))
    note(f"as_of={as_of.isoformat()} until={until} stamps={stamps}")
    return log, stamps, as_of, until, schedule


@given(cases())
def test_the_fold_of_the_bounded_prefix_equals_the_oracle(case: Any) -> None:
    log, _, as_of, until, schedule = case
    view = TallyView(as_of=as_of)
    for batch in schedule:
        view.apply(batch)
    expected = oracle_as_of(log, as_of)
    assert tallies(view.summary()) == tallies(expected)
    assert view.checkpoints == {p: end - 1 for p, end in until.items() if end}


@given(cases())
def test_nothing_past_the_bound_was_cast_by_then(case: Any) -> None:
    """The bound loses nothing: the whole log folded as of T gives the same tallies."""
    log, _, as_of, until, _ = case
    whole = fold([clean_pass(log)], as_of)
    for partition, items in log.items():
        for event in items[until[partition] :]:
            assert event is None or event.cast_at > as_of
    assert tallies(whole.summary()) == tallies(oracle_as_of(log, as_of))


@given(skewed_logs(), st.integers(0, 10 * SKEW_US))
def test_as_of_a_moment_after_every_vote_equals_the_live_tallies(
    stamped: Stamped, after_us: int
) -> None:
    log, stamps = stamped
    casts = [e.cast_at for items in log.values() for e in items if e is not None]
    as_of = max(casts, default=RECENT) + timedelta(microseconds=after_us)
    until = offsets_for_times(stamps, replay_bound_ms(as_of, SLACK))
    live = fold([clean_pass(log)])
    bounded = fold([[d for d in clean_pass(log) if d.offset < until[d.partition]]], as_of)
    assert tallies(bounded.summary()) == tallies(live.summary())
    assert tallies(live.summary()) == tallies(oracle(log))


@given(skewed_logs(), st.data())
def test_results_only_grow_with_the_moment(stamped: Stamped, data: st.DataObject) -> None:
    """Each band's votes as of T never exceed its votes as of a later T, nor the live ones."""
    log, _ = stamped
    earlier = data.draw(moments(log))
    later = earlier + timedelta(microseconds=data.draw(st.integers(0, 3 * SKEW_US)))
    clean = [clean_pass(log)]
    first, second, live = fold(clean, earlier), fold(clean, later), fold(clean)
    for contest, tally in first.contests.items():
        for band, votes in tally.bands.items():
            assert votes <= second.contests[contest].bands[band]
            assert votes <= live.contests[contest].bands[band]
    assert first.total <= second.total <= live.total


def test_results_are_final_once_no_vote_cast_by_then_can_still_arrive() -> None:
    as_of = RECENT
    settings = Settings()
    # The default settings: 21 s of cast-order slack (10 s of clock skew, 1 s waiting for
    # room in the producer's queue, 10 s of delivery timeout) and 10 s of the reader's skew.
    delay = timedelta(milliseconds=settings.as_of_final_delay_ms)
    assert delay == timedelta(seconds=31)
    assert final_after(as_of, delay) == as_of + delay
    # A message stamped at the replay bound was cast more than the slack after as_of.
    assert replay_bound_ms(as_of, SLACK) > timestamp_ms(as_of + SLACK)
    assert replay_bound_ms(as_of, SLACK) == timestamp_ms(as_of + SLACK) + 1


@given(logs(), catalogs_of_windows(), st.integers(0, 10 * SKEW_US))
def test_a_closed_contests_results_are_its_results_as_of_the_close(
    log: Log, catalog: Catalog, later_us: int
) -> None:
    """With the voting windows admitted as the projections admit them, the live results of
    a closed contest equal its results as of the close, and as of any moment after it."""
    voting = windows(catalog)
    admitted = [admit(clean_pass(log), voting)]
    live = fold(admitted)
    for contest in catalog.contests:
        if contest.closes_at is None:
            continue
        for moment in (contest.closes_at, contest.closes_at + timedelta(microseconds=later_us)):
            as_of = fold(admitted, moment).contests.get(contest.slug)
            expected = live.contests.get(contest.slug)
            assert (as_of.summary() if as_of else None) == (
                expected.summary() if expected else None
            )
