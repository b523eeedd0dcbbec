"""The recount from the board alone equals the live tallies.

The logs are flat sequences of vote events spread over partitions by their Kafka key
(:func:`domain.votes.event_key`, any deterministic partitioner will do): retries of a
vote_id (maybe with another choice and cast_at, and without a voter maybe naming another
contest), contests with and without one vote per voter and voters who vote again, voting
windows, spelling variants of one name, poison messages. The board of such a log is each
partition's vote events as entries (built, encoded and decoded by domain.board.entry);
the live tallies are :func:`domain.projection.fold` of any delivery schedule of the log.
"""

from __future__ import annotations

import uuid
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.asof import EPOCH, timestamp_ms
from domain.board.entry import BoardEntry, Pseudonyms, board_entry, decode_entry, encode_entry
from domain.board.recount import BoardOrderError, Recount, recount
from domain.catalog import Catalog, Contest
from domain.ids import uuid7
from domain.projection import TallyView, admit, fold, windows
from domain.readmodel import album_field
from domain.votes import VoteCast, event_key
from tests.unit.test_projection_laws import (
    CONTESTS,
    RECENT,
    Log,
    Schedule,
    albums,
    bands,
    catalogs_of_windows,
    clean_pass,
    hand_made,
    logs_and_schedules,
    window_bounds,
)
from tests.unit.test_voter_laws import ONCE

PSEUDONYMS = Pseudonyms(b"the recount tests' board secret")
OTHER_SECRET = Pseudonyms(b"another board's secret, as long")
ALL_CONTESTS = CONTESTS + ONCE
VOTERS = ("alice", "bob", "+5511987654321")
VOTE_IDS = 8

# Whole milliseconds (a cast_at's precision) within a few seconds: many votes share one
# millisecond, and the windows (test_projection_laws.window_bounds) cut through them.
cast_ats = st.integers(-3_000, 3_000).map(lambda ms: RECENT + timedelta(milliseconds=ms))
as_ofs = st.none() | st.integers(-3_000_000, 3_000_000).map(
    lambda us: RECENT + timedelta(microseconds=us)
)


@st.composite
def catalogs(draw: st.DrawFn) -> Catalog:
    """test_projection_laws' windows, and some for the one-vote-per-voter contests."""
    once = st.builds(
        Contest, slug=st.sampled_from(ONCE), opens_at=window_bounds, closes_at=window_bounds
    )
    more = draw(st.lists(once, max_size=len(ONCE), unique_by=lambda c: c.slug))
    return Catalog(draw(catalogs_of_windows()).contests + tuple(more))


@st.composite
def profiles(draw: st.DrawFn) -> tuple[str, str, bool]:
    """What a vote_id's events repeat: contest, voter ("" = none), the contest's policy."""
    contest = draw(st.sampled_from(ALL_CONTESTS))
    once = contest in ONCE
    named = draw(st.integers(0, 9)) > 0 if once else draw(st.booleans())
    return contest, draw(st.sampled_from(VOTERS)) if named else "", once


@st.composite
def vote_logs(draw: st.DrawFn, keyed: bool = True) -> Log:
    """A log partitioned by event key. ``keyed``: a retry repeats its vote's voter, and its
    contest when it names a voter, as ``event_key`` assumes; else a vote_id is now and then
    reused with another voter, and may land in another partition."""
    ids = [draw(profiles()) for _ in range(VOTE_IDS)]
    log: Log = {p: [] for p in range(draw(st.integers(1, 4)))}
    for _ in range(draw(st.integers(0, 30))):
        if draw(st.integers(0, 9)) == 0:
            log[draw(st.sampled_from(sorted(log)))].append(None)  # poison
            continue
        k = draw(st.integers(0, VOTE_IDS - 1))
        contest, voter, once = ids[k]
        if not keyed and draw(st.integers(0, 3)) == 0:
            voter = draw(st.sampled_from(("", *VOTERS)))
        if not voter and draw(st.integers(0, 3)) == 0:  # key = vote_id: any contest
            contest = draw(st.sampled_from(ALL_CONTESTS))
            once = contest in ONCE
        cast_at = draw(cast_ats)
        event = VoteCast(
            event_id=uuid7(timestamp_ms(cast_at), draw(st.binary(min_size=10, max_size=10))),
            vote_id=str(uuid.UUID(int=k)),
            contest=contest,
            band=draw(bands),
            album=draw(albums),
            year=2000,
            rank=1 + k,
            cast_at=cast_at,
            voter_id=voter,
            one_vote_per_voter=once,
        )
        log[zlib.crc32(event_key(event).encode()) % len(log)].append(event)
    return log


def board_of(
    log: Mapping[int, Sequence[VoteCast | None]], pseudonyms: Pseudonyms = PSEUDONYMS
) -> dict[int, list[BoardEntry]]:
    """Each partition's vote events as the board publishes them, read back."""
    return {
        partition: [
            decode_entry(encode_entry(board_entry(event, offset, pseudonyms)))
            for offset, event in enumerate(events)
            if event is not None
        ]
        for partition, events in log.items()
    }


def live(view: TallyView) -> dict[str, Any]:
    """What the recount must equal: each contest's tallies by key, and the total."""
    return {
        "contests": {
            c: {"bands": dict(+t.bands), "albums": dict(+t.albums), "total": t.total}
            for c, t in view.contests.items()
            if t.total
        },
        "total": view.total,
    }


def tallies(result: Recount) -> dict[str, Any]:
    summary = result.summary()
    for contest in summary["contests"].values():
        del contest["names"]
    return summary


def uuid7_moment(event_id: str) -> datetime:
    return EPOCH + timedelta(milliseconds=int(event_id[:8] + event_id[9:13], 16))


# ------------------------------------------------------------------------- the laws


@given(logs_and_schedules(vote_logs()), catalogs(), as_ofs)
def test_the_recount_of_the_board_is_the_live_tallies(
    case: tuple[Log, Schedule], catalog: Catalog, as_of: datetime | None
) -> None:
    log, schedule = case
    view = TallyView(as_of=as_of)
    for batch in schedule:
        view.apply(admit(batch, windows(catalog)))
    result = recount(board_of(log), catalog, as_of)
    assert tallies(result) == live(view)
    assert result.straddling == frozenset(), "keyed as event_key says: nothing straddles"
    for contest, tally in view.contests.items():
        names = result.contests[contest].names if tally.total else {}
        assert names.keys() == tally.names.keys()
        for key, (event_id, spelling) in tally.names.items():
            cast_at, shown = names[key]
            assert cast_at == uuid7_moment(event_id), "first spelled in the same millisecond"
            assert shown <= spelling, "the least spelling of that millisecond"


@given(vote_logs(keyed=False), catalogs(), as_ofs)
def test_the_recount_is_one_pass_over_the_partitions_in_order_whatever_the_keys(
    log: Log, catalog: Catalog, as_of: datetime | None
) -> None:
    """With vote_ids reused across voters, a vote may straddle partitions: the recount is
    then the live tallies of one clean pass in partition order, and names what straddles.
    The secret changes the pseudonyms and nothing else."""
    result = recount(board_of(log), catalog, as_of)
    assert tallies(result) == live(fold([admit(clean_pass(log), windows(catalog))], as_of))
    homes: dict[str, set[int]] = {}
    for partition, events in log.items():
        for event in events:
            if event is not None:
                homes.setdefault(PSEUDONYMS.vote(event.vote_id), set()).add(partition)
                if event.voter_id:
                    voter = PSEUDONYMS.voter(event.contest, event.voter_id)
                    homes.setdefault(voter, set()).add(partition)
    assert result.straddling == {p for p, partitions in homes.items() if len(partitions) > 1}
    assert recount(board_of(log, OTHER_SECRET), catalog, as_of).summary() == result.summary()


# ------------------------------------------------------------------------- by hand


def cast(
    vote_id: str,
    band: str = "X",
    *,
    contest: str = "main",
    album: str = "a",
    at: datetime = RECENT,
    voter: str = "",
) -> VoteCast:
    event = hand_made(uuid7(timestamp_ms(at), bytes(10)), vote_id, band, album, at, contest)
    return msgspec.structs.replace(event, voter_id=voter, one_vote_per_voter=contest in ONCE)


def bands_of(
    *partitions: list[VoteCast], catalog: Catalog | None = None, as_of: datetime | None = None
) -> dict[str, dict[str, int]]:
    result = recount(board_of(dict(enumerate(partitions))), catalog, as_of)
    assert result.total == sum(t.total for t in result.contests.values())
    return {contest: dict(tally.bands) for contest, tally in result.contests.items()}


MS = timedelta(milliseconds=1)


def test_a_retry_counts_once_as_first_cast() -> None:
    assert bands_of([cast("v", "X"), cast("v", "Y"), cast("w", "Y")]) == {"main": {"x": 1, "y": 1}}
    # Without a voter the key is the vote_id: a retry may name another contest.
    assert bands_of([cast("v", "X"), cast("v", "X", contest="other")]) == {"main": {"x": 1}}


def test_a_voter_counts_once_where_the_entry_says_one_vote_per_voter() -> None:
    votes = [
        cast("a", "X", contest="jury", voter="alice"),
        cast("b", "Y", contest="jury", voter="alice"),  # superseded by a
        cast("b", "Y", contest="jury", voter="alice"),  # its retry: still decided
        cast("c", "Y", contest="jury", voter="bob"),
        cast("d", "Z", contest="main", voter="alice"),  # no policy: every vote counts
        cast("e", "Z", contest="main", voter="alice"),
        cast("f", "Z", contest="fans-choice", voter="alice"),  # another contest, another voter
    ]
    assert bands_of(votes) == {"jury": {"x": 1, "y": 1}, "main": {"z": 2}, "fans-choice": {"z": 1}}


def test_a_vote_cast_outside_its_window_counts_nowhere_and_decides_nothing() -> None:
    closes = RECENT
    catalog = Catalog(
        (
            Contest(slug="main", closes_at=closes),
            Contest(slug="jury", opens_at=closes - timedelta(seconds=1)),
        )
    )
    votes = [
        cast("a", "X", at=closes),  # at the close: out
        cast("a", "Y", at=closes - MS),  # its retry, later in the log, cast inside: counts
        cast("b", "Z", at=closes + timedelta(days=1), contest="other"),  # no window there
        cast("c", "X", contest="jury", voter="alice", at=closes - timedelta(seconds=2)),
        cast("d", "Y", contest="jury", voter="alice", at=closes),  # alice's first in window
    ]
    windowed = bands_of(votes, catalog=catalog)
    assert windowed == {"main": {"y": 1}, "other": {"z": 1}, "jury": {"y": 1}}
    assert bands_of(votes) == {"main": {"x": 1}, "other": {"z": 1}, "jury": {"x": 1}}


def test_spellings_of_one_name_count_together() -> None:
    votes = [
        cast("a", "Radiohead", album="OK Computer"),
        cast("b", "RADIOHEAD ", album="ok  computer"),
        cast("c", "Ｒａｄｉｏｈｅａｄ", album="Kid A"),
    ]
    result = recount(board_of({0: votes}))
    tally = result.contests["main"]
    assert tally.bands == Counter({"radiohead": 3})
    assert tally.albums == Counter(
        {album_field("radiohead", "ok computer"): 2, album_field("radiohead", "kid a"): 1}
    )
    assert tally.total == result.total == 3


def test_as_of_counts_the_votes_cast_by_then_and_every_rule_still_decides() -> None:
    votes = [
        cast("a", "X", at=RECENT + MS),  # cast after: out, and its retry cast before too
        cast("a", "X", at=RECENT - MS),
        cast("b", "Y", contest="jury", voter="alice", at=RECENT + MS),  # alice's first vote
        cast("c", "Z", contest="jury", voter="alice", at=RECENT - MS),  # superseded by it
        cast("d", "W", at=RECENT),  # at the moment: in
    ]
    assert bands_of(votes, as_of=RECENT) == {"main": {"w": 1}}
    assert bands_of(votes, as_of=RECENT + MS) == {"main": {"x": 1, "w": 1}, "jury": {"y": 1}}


def test_the_spelling_shown_is_the_earliest_cast_then_the_least() -> None:
    later = cast("a", "RADIOHEAD", at=RECENT + MS)
    earlier = cast("b", "Radiohead", at=RECENT)
    retry = cast("a", "radiohead", at=RECENT - MS)  # not counted: names nothing
    result = recount(board_of({0: [later, retry], 1: [earlier]}))
    assert result.contests["main"].shown_names()["radiohead"] == "Radiohead"
    tie = recount(board_of({0: [cast("a", "radiohead")], 1: [cast("b", "Radiohead")]}))
    assert tie.contests["main"].shown_names()["radiohead"] == "Radiohead"
    assert tie.contests["main"].summary()["names"] == {
        "radiohead": "Radiohead",
        album_field("radiohead", "a"): "a",
    }


def test_what_straddles_partitions_is_named_and_decided_in_partition_order() -> None:
    board = board_of({0: [cast("v", "X")], 1: [cast("v", "Y")], 2: [cast("w", "Z")]})
    backwards = {1: board[1], 2: board[2], 0: board[0]}
    result = recount(backwards)
    assert {c: dict(t.bands) for c, t in result.contests.items()} == {"main": {"x": 1, "z": 1}}
    assert result.straddling == {PSEUDONYMS.vote("v")}
    alice = [cast("a", "X", contest="jury", voter="alice")]
    again = [cast("b", "Y", contest="jury", voter="alice")]
    assert recount(board_of({0: alice, 1: again})).straddling == {PSEUDONYMS.voter("jury", "alice")}
    assert recount(board_of({0: alice + again})).straddling == frozenset()


@pytest.mark.parametrize("offsets", [(3, 3), (5, 2)])
def test_entries_out_of_log_order_are_refused(offsets: tuple[int, int]) -> None:
    entries = [board_entry(cast(f"v{o}"), o, PSEUDONYMS) for o in offsets]
    with pytest.raises(BoardOrderError, match="partition 7"):
        recount({7: entries})
