"""The board entry: the documented layout to the byte, round trips, one byte sequence per
entry (any other spelling of the same JSON is refused), and keyed pseudonyms in place of
the vote_id and the voter: no identity on the board."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.board.entry import (
    BoardEntry,
    Pseudonyms,
    UndecodableEntry,
    board_entry,
    decode_entry,
    encode_entry,
)
from domain.votes import VoteCast

SECRET = b"s" * 32
PSEUDONYMS = Pseudonyms(SECRET)


def reference_pseudonym(secret: bytes, label: bytes, *fields: str) -> str:
    """The docstring's definition, written out independently."""
    message = (
        label + b"\x00" + b"".join(len(f.encode()).to_bytes(4, "big") + f.encode() for f in fields)
    )
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def vote(**fields: object) -> VoteCast:
    values: dict[str, object] = {
        "event_id": "01890000-0000-7000-8000-000000000001",
        "vote_id": "9f0c1c0e-5d7a-4c1e-9a55-3b7e4f1d2a10",
        "contest": "main",
        "band": "Green Ridge",
        "album": "Imbituva",
        "year": 2008,
        "rank": 7,
        "cast_at": datetime(2026, 12, 7, 1, 19, 0, 123000, tzinfo=UTC),
    }
    values.update(fields)
    return msgspec.convert(values, VoteCast)


def test_the_layout_is_the_documented_one() -> None:
    event = vote(voter_id="alice@example.org", one_vote_per_voter=True, band='Sigur "Rós"')
    data = encode_entry(board_entry(event, 42, PSEUDONYMS))
    vote_p = reference_pseudonym(SECRET, b"boleta/board/v1/vote", event.vote_id)
    voter_p = reference_pseudonym(SECRET, b"boleta/board/v1/voter", "main", "alice@example.org")
    assert (
        data
        == (
            '{"v":1,"contest":"main","band":"Sigur \\"Rós\\"","album":"Imbituva","year":2008,'
            '"rank":7,"cast_at":"2026-12-07T01:19:00.123000Z","offset":42,'
            f'"one_vote_per_voter":true,"vote":"{vote_p}","voter":"{voter_p}"}}'
        ).encode()
    )
    plain = encode_entry(board_entry(vote(cast_at=datetime(2026, 1, 2, tzinfo=UTC)), 0, PSEUDONYMS))
    assert b'"cast_at":"2026-01-02T00:00:00Z"' in plain
    assert b'"one_vote_per_voter":false' in plain
    assert plain.endswith(b'"voter":""}')


def test_no_identity_is_in_an_entry() -> None:
    assert list(BoardEntry.__struct_fields__) == [
        "v",
        "contest",
        "band",
        "album",
        "year",
        "rank",
        "cast_at",
        "offset",
        "one_vote_per_voter",
        "vote",
        "voter",
    ]
    event = vote(voter_id="voter-4711")
    data = encode_entry(board_entry(event, 3, PSEUDONYMS))
    for secret in (event.vote_id, event.voter_id, event.event_id):
        assert secret.encode() not in data


texts = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
events = st.builds(
    VoteCast,
    event_id=st.just("e"),
    vote_id=texts,
    contest=texts,
    band=texts,
    album=texts,
    year=st.integers(1900, 2100),
    rank=st.integers(1, 10_000),
    cast_at=st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    voter_id=st.one_of(st.just(""), texts),
    one_vote_per_voter=st.booleans(),
)


@given(events, st.integers(0, 2**63 - 1))
def test_entries_round_trip(event: VoteCast, offset: int) -> None:
    entry = board_entry(event, offset, PSEUDONYMS)
    assert decode_entry(encode_entry(entry)) == entry
    assert bool(entry.voter) == bool(event.voter_id)


@given(events, st.integers(0, 2**63 - 1))
def test_any_other_spelling_of_an_entry_is_refused(event: VoteCast, offset: int) -> None:
    data = encode_entry(board_entry(event, offset, PSEUDONYMS))
    value = json.loads(data)
    spellings = [
        json.dumps(value).encode(),  # spaces after separators
        json.dumps(value, separators=(",", ":")).encode(),  # non-ASCII as \\u escapes
        json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode(),
        data + b"\n",
        b" " + data,
    ]
    for spelling in spellings:
        if spelling != data:
            with pytest.raises(UndecodableEntry):
                decode_entry(spelling)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"v":1', b'"v":2'),  # an unknown version
        (b'"v":1,', b""),  # no version
        (b'Z"', b'+00:00"'),  # UTC spelled otherwise
        (b'01:19:00.123000Z"', b'03:19:00.123000+02:00"'),  # the same instant elsewhere
        (b'01:19:00.123000Z"', b'01:19:00.123000"'),  # no zone
        (b'.123000Z"', b'.123Z"'),
        (b'"year":2008', b'"year":2008.0'),
        (b'"year":2008', b'"year":"2008"'),
        (b'"voter":""}', b'"voter":"","event_id":"x"}'),  # an extra member
        (b'"voter":""}', b'"voter":"","voter":""}'),
    ],
)
def test_non_canonical_or_foreign_entries_are_refused(old: bytes, new: bytes) -> None:
    data = encode_entry(board_entry(vote(), 1, PSEUDONYMS))
    assert old in data
    with pytest.raises(UndecodableEntry):
        decode_entry(data.replace(old, new, 1))


def test_the_cast_time_is_kept_in_utc() -> None:
    here = datetime(2026, 12, 7, 3, 19, tzinfo=timezone(timedelta(hours=2)))
    there = here.astimezone(UTC)
    assert encode_entry(board_entry(vote(cast_at=here), 1, PSEUDONYMS)) == encode_entry(
        board_entry(vote(cast_at=there), 1, PSEUDONYMS)
    )
    entry = board_entry(vote(), 1, PSEUDONYMS)
    with pytest.raises(ValueError, match="UTC"):
        encode_entry(msgspec.structs.replace(entry, cast_at=datetime(2026, 1, 1)))
    with pytest.raises(ValueError, match="UTC"):
        encode_entry(msgspec.structs.replace(entry, cast_at=here))


# Secrets longer than SHA-256's block (64 bytes) are hashed first (RFC 2104): both kinds.
@given(st.binary(min_size=16, max_size=200), st.binary(min_size=16, max_size=200), texts, texts)
def test_pseudonyms_depend_on_the_secret_and_the_domain(
    one: bytes, other: bytes, contest: str, voter: str
) -> None:
    a, b = Pseudonyms(one), Pseudonyms(other)
    assert a.vote(voter) == Pseudonyms(one).vote(voter)
    assert a.vote(voter) == reference_pseudonym(one, b"boleta/board/v1/vote", voter)
    assert a.voter(contest, voter) == reference_pseudonym(
        one, b"boleta/board/v1/voter", contest, voter
    )
    if one != other:
        assert a.vote(voter) != b.vote(voter)
        assert a.voter(contest, voter) != b.voter(contest, voter)
    assert a.vote(voter) != a.voter(contest, voter)
    # The fields are length-prefixed: a contest and a voter never run into one another.
    assert a.voter(contest, voter) != a.voter(contest + voter[:1], voter[1:])


def test_retries_and_voters_share_their_pseudonym() -> None:
    first, retry = vote(), vote(event_id="other", cast_at=datetime(2026, 12, 8, tzinfo=UTC))
    assert board_entry(first, 1, PSEUDONYMS).vote == board_entry(retry, 2, PSEUDONYMS).vote
    mine = board_entry(vote(voter_id="v1", vote_id="a"), 1, PSEUDONYMS)
    again = board_entry(vote(voter_id="v1", vote_id="b"), 2, PSEUDONYMS)
    elsewhere = board_entry(vote(voter_id="v1", vote_id="c", contest="other"), 3, PSEUDONYMS)
    assert mine.voter == again.voter != elsewhere.voter
    assert mine.vote != again.vote


def test_the_secret_is_long_and_never_shown() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Pseudonyms(b"short")
    assert "s" * 16 not in repr(PSEUDONYMS)
