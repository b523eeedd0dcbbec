"""A cast_at is in whole milliseconds from the moment it is stamped: the command service
decides a vote's window at the very instant the read models later check it against."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from commands.handler import Accepted, CastVoteHandler
from domain import Catalog, Contest, Rejection
from domain.projection import Delivered, admit, windows
from tests.unit.test_already_voted import Recorded, vote

NOON = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)


async def test_votes_are_stamped_in_whole_milliseconds() -> None:
    ports = Recorded({})
    handler = CastVoteHandler(ports, "main", clock=lambda: NOON + timedelta(microseconds=1999))
    outcomes = await handler.cast([vote("main"), vote("main")], 1.0)
    assert all(isinstance(o, Accepted) for o in outcomes)
    assert [e.cast_at for e in ports.appended] == [NOON + timedelta(milliseconds=1)] * 2


async def test_the_window_is_decided_at_the_cast_at_the_read_models_check() -> None:
    # A window opening inside a millisecond: a vote stamped after the opening but within the
    # same millisecond has a cast_at before it, so the read models would never count it;
    # the command service must refuse it rather than acknowledge a vote nobody counts.
    opens = NOON + timedelta(microseconds=500)
    catalog = Catalog((Contest(slug="main", opens_at=opens),))
    ports = Recorded({})
    handler = CastVoteHandler(
        ports, "main", catalog, clock=lambda: opens + timedelta(microseconds=200)
    )
    (refused,) = await handler.cast([vote("main")], 1.0)
    assert isinstance(refused, Rejection)
    assert ports.appended == []
    later = CastVoteHandler(ports, "main", catalog, clock=lambda: NOON + timedelta(milliseconds=1))
    (accepted,) = await later.cast([vote("main")], 1.0)
    assert isinstance(accepted, Accepted)
    (admitted,) = admit([Delivered(0, 0, accepted.event)], windows(catalog))
    assert admitted.event == accepted.event, "the read models count what was acknowledged"
