"""A vote cast after its contest's close never counts, whatever reached the log: the tallies
and the audit log both equal the oracle of the log without those votes, for any schedule;
and a closed contest's results equal its results as of the close."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.catalog import Catalog, Contest
from domain.projection import Closes, TallyView, audit_change, audit_document, fold
from tests.unit.test_projection_laws import (
    CONTESTS,
    AuditStore,
    Log,
    Schedule,
    clean_pass,
    first_occurrences,
    logs,
    oracle,
    schedules,
)


@st.composite
def closes_of(draw: st.DrawFn, log: Log) -> Closes:
    """Some contests close: mostly at a vote's own cast_at (inclusive boundary) or a
    microsecond either side, sometimes anywhere."""
    casts = [e.cast_at for items in log.values() for e in items if e is not None]
    closes: dict[str, datetime] = {}
    for contest in draw(st.sets(st.sampled_from(CONTESTS))):
        own = [e.cast_at for items in log.values() for e in items if e and e.contest == contest]
        if own and draw(st.booleans()):
            moment = draw(st.sampled_from(own)) + timedelta(
                microseconds=draw(st.sampled_from([-1, 0, 1]))
            )
        else:
            moment = draw(st.datetimes(timezones=st.just(casts[0].tzinfo))) if casts else None
            if moment is None:
                continue
        closes[contest] = moment
    return closes


def without_late_votes(log: Log, closes: Closes) -> Log:
    return {
        p: [
            None if e is not None and e.contest in closes and e.cast_at >= closes[e.contest] else e
            for e in items
        ]
        for p, items in log.items()
    }


@st.composite
def cases(draw: st.DrawFn) -> tuple[Log, Closes, Schedule]:
    log = draw(logs())
    return log, draw(closes_of(log)), draw(schedules(log))


@given(cases())
def test_a_vote_cast_after_the_close_never_counts_in_the_tallies(
    case: tuple[Log, Closes, Schedule],
) -> None:
    log, closes, schedule = case
    view = TallyView(closes=closes)
    for batch in schedule:
        view.apply(batch)
    assert view.summary() == oracle(without_late_votes(log, closes))


@given(cases())
def test_a_vote_cast_after_the_close_never_enters_the_audit_log(
    case: tuple[Log, Closes, Schedule],
) -> None:
    log, closes, schedule = case
    store = AuditStore()
    checkpoints: dict[int, int] = {}
    for batch in schedule:
        documents, moved = audit_change(batch, checkpoints, closes)
        store.insert(documents)
        for partition, offset in moved.items():
            checkpoints[partition] = max(offset, checkpoints.get(partition, -1))
    kept = without_late_votes(log, closes)
    assert store.by_vote == {
        vid: audit_document(item) for vid, item in first_occurrences(kept).items()
    }
    assert checkpoints == oracle(log)["checkpoints"]


@given(cases())
def test_a_closed_contests_results_are_its_results_as_of_the_close(
    case: tuple[Log, Closes, Schedule],
) -> None:
    log, closes, _ = case
    live = fold([clean_pass(log)], closes=closes)
    for contest, closes_at in closes.items():
        at_close = fold([clean_pass(log)], as_of=closes_at, closes=closes)
        later = fold([clean_pass(log)], as_of=closes_at + timedelta(days=1), closes=closes)
        expected: Any = live.contests.get(contest)
        for view in (at_close, later):
            got = view.contests.get(contest)
            assert (got.summary() if got else None) == (expected.summary() if expected else None)


def test_the_catalog_names_each_contests_close() -> None:
    at = datetime.fromisoformat("2026-11-30T20:00:00+00:00")
    catalog = Catalog((Contest(slug="a", closes_at=at), Contest(slug="b")))
    assert catalog.closes() == {"a": at}
