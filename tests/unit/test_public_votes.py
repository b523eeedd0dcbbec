"""The public view of an audit record (queries.views): the voter's board pseudonym in place
of the voter_id, every other field as stored. One voter in one contest has one pseudonym,
the one their board entries carry; another voter or another contest another; the id itself
is never in the view."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.board import Pseudonyms, board_entry
from domain.votes import VoteCast
from queries.views import AuditPage, AuditRecord, VotePage, VoteView
from tests.unit.strategies import slugs, voter_ids

SECRET = b"s" * 32
PSEUDONYMS = Pseudonyms(SECRET)

records = st.builds(
    AuditRecord,
    event_id=st.uuids().map(str),
    vote_id=st.uuids().map(str),
    contest=slugs,
    band=st.text(min_size=1, max_size=20),
    album=st.text(min_size=1, max_size=20),
    year=st.integers(1900, 2100),
    rank=st.integers(1, 100),
    cast_at=st.datetimes(timezones=st.just(UTC)).map(lambda t: t.replace(microsecond=0)),
    partition=st.integers(0, 11),
    offset=st.integers(0, 2**40),
    voter_id=st.none() | voter_ids,
    superseded_by=st.none() | st.uuids().map(str),
)


def test_the_public_view_is_the_record_with_a_pseudonym_for_the_voter_id() -> None:
    public = set(VoteView.__struct_fields__)
    full = set(AuditRecord.__struct_fields__)
    assert public == full - {"voter_id"} | {"voter"}
    # Not a subclass either way: msgspec writes an instance's own fields, so a record
    # returned where a VoteView is declared would carry its voter_id out.
    assert not issubclass(AuditRecord, VoteView)
    assert not issubclass(VoteView, AuditRecord)


@given(record=records)
def test_every_other_field_is_kept_and_the_voter_id_is_not_shown(record: AuditRecord) -> None:
    view = record.public(PSEUDONYMS)
    shown = msgspec.to_builtins(view)
    stored = msgspec.to_builtins(record)
    assert "voter_id" not in shown
    assert {k: v for k, v in shown.items() if k != "voter"} == {
        k: v for k, v in stored.items() if k != "voter_id"
    }
    if record.voter_id is None:
        assert view.voter is None
    else:
        assert view.voter == PSEUDONYMS.voter(record.contest, record.voter_id)
        assert view.voter != record.voter_id


@given(record=records, voter=voter_ids, other_vote=st.uuids().map(str))
def test_one_voter_in_one_contest_has_one_pseudonym(
    record: AuditRecord, voter: str, other_vote: str
) -> None:
    first = msgspec.structs.replace(record, voter_id=voter)
    later = msgspec.structs.replace(record, vote_id=other_vote, voter_id=voter, band="other")
    assert first.public(PSEUDONYMS).voter == later.public(PSEUDONYMS).voter


@given(
    record=records,
    a=st.tuples(slugs, voter_ids),
    b=st.tuples(slugs, voter_ids),
)
def test_another_voter_or_contest_has_another_pseudonym(
    record: AuditRecord, a: tuple[str, str], b: tuple[str, str]
) -> None:
    assume(a != b)
    one = msgspec.structs.replace(record, contest=a[0], voter_id=a[1])
    two = msgspec.structs.replace(record, contest=b[0], voter_id=b[1])
    assert one.public(PSEUDONYMS).voter != two.public(PSEUDONYMS).voter


@given(record=records, voter=voter_ids, secret=st.binary(min_size=16, max_size=64))
def test_the_pseudonym_is_keyed(record: AuditRecord, voter: str, secret: bytes) -> None:
    """Without the board's secret nobody can compute a voter's pseudonym from their id."""
    assume(secret != SECRET)
    named = msgspec.structs.replace(record, voter_id=voter)
    assert named.public(PSEUDONYMS).voter != named.public(Pseudonyms(secret)).voter


@given(record=records)
def test_the_pseudonym_is_the_one_the_voter_s_board_entry_carries(record: AuditRecord) -> None:
    event = VoteCast(
        event_id=record.event_id,
        vote_id=record.vote_id,
        contest=record.contest,
        band=record.band,
        album=record.album,
        year=record.year,
        rank=record.rank,
        cast_at=record.cast_at,
        voter_id=record.voter_id or "",
    )
    entry = board_entry(event, record.offset, PSEUDONYMS)
    assert record.public(PSEUDONYMS).voter == (entry.voter or None)


@given(votes=st.lists(records, max_size=5), cursor=st.none() | st.text(max_size=20))
def test_a_page_shows_each_record_s_public_view_in_order(
    votes: list[AuditRecord], cursor: str | None
) -> None:
    page = AuditPage(votes, cursor).public(PSEUDONYMS)
    assert page == VotePage([v.public(PSEUDONYMS) for v in votes], cursor)


def test_a_vote_naming_no_voter_shows_none() -> None:
    record = AuditRecord(
        event_id="01890000-0000-7000-8000-000000000001",
        vote_id="9f0c1c0e-5d7a-4c1e-9a55-3b7e4f1d2a10",
        contest="main",
        band="Green Ridge",
        album="Imbituva",
        year=2008,
        rank=7,
        cast_at=datetime(2026, 12, 7, 1, 19, tzinfo=UTC),
        partition=0,
        offset=42,
    )
    assert msgspec.to_builtins(record.public(PSEUDONYMS))["voter"] is None
