"""One vote per voter, the command side: the voter_id field, the contest's policy, the
event's key and encoding. (The counting rule is in test_voter_laws.py.)"""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from boleta.client import to_proto
from boleta.votefile import read_votes
from domain.catalog import Catalog, Contest, parse_catalog
from domain.codec import vote_cast_codec
from domain.decide import DecisionContext, decide
from domain.validation import MAX_VOTER_ID, voter_id_field
from domain.votes import CastVote, FieldViolation, Rejection, VoteCast, event_key
from tests.unit.strategies import (
    Case,
    context_kwargs,
    fewer_examples,
    slugs,
    valid_cases,
    voter_ids,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
ALLOWED = set(string.ascii_letters + string.digits + "._:@-")


def context(catalog: Catalog | None, now: datetime = NOW) -> DecisionContext:
    return DecisionContext(**context_kwargs(now), catalog=catalog)


def once(slug: str) -> Catalog:
    return Catalog((Contest(slug=slug, one_vote_per_voter=True),))


def vote(contest: str, voter_id: str = "") -> CastVote:
    return CastVote(
        band="Radiohead", album="Kid A", year=2000, rank=1, contest=contest, voter_id=voter_id
    )


# ---------------------------------------------------------------- voter_id


@given(st.text(max_size=MAX_VOTER_ID + 20))
def test_voter_id_accepts_exactly_short_ids_of_the_allowed_characters(text: str) -> None:
    """Oracle: trimmed of whitespace, 1 to 128 characters, each one of A-Z a-z 0-9 . _ : @ -
    (a set, not the module's regular expression); blank is no voter."""
    trimmed = text.strip()
    result = voter_id_field(text)
    if not trimmed:
        assert result is None
    elif len(trimmed) <= MAX_VOTER_ID and set(trimmed) <= ALLOWED:
        assert result == trimmed
        assert voter_id_field(result) == result, "normalizing twice changes nothing"
    else:
        assert isinstance(result, FieldViolation)
        assert result.field == "voter_id"
        assert "voter_id" in result.description


@given(voter_ids, st.sampled_from(["\x00", "\u202e", " ", "é", "\u0430", "/", "$", "{", "\n"]))
def test_a_voter_id_with_a_foreign_character_inside_is_refused(voter: str, bad: str) -> None:
    result = voter_id_field(voter[:1] + bad + voter[1:] + "x")
    assert isinstance(result, FieldViolation)
    assert result.field == "voter_id"


def test_voter_id_that_is_not_text_is_refused_naming_the_field() -> None:
    for value in (None, 7, ["a"], {"$ne": None}):
        result = voter_id_field(value)
        assert isinstance(result, FieldViolation)
        assert result.field == "voter_id"
        assert type(value).__name__ in result.description


# ---------------------------------------------------------------- the contest's policy


@given(slugs)
def test_a_one_vote_per_voter_contest_refuses_a_vote_without_voter_naming_the_field(
    slug: str,
) -> None:
    for blank in ("", "  "):
        result = decide(vote(slug, blank), context(once(slug)))
        assert isinstance(result, Rejection)
        assert result.reason == "invalid_argument"
        assert [v.field for v in result.violations] == ["voter_id"]
        assert "one vote per voter" in result.violations[0].description


@given(slugs, voter_ids)
def test_a_one_vote_per_voter_contest_stamps_its_votes(slug: str, voter: str) -> None:
    result = decide(vote(slug, f" {voter} "), context(once(slug)))
    assert isinstance(result, VoteCast)
    assert (result.voter_id, result.one_vote_per_voter) == (voter, True)


@fewer_examples
@given(valid_cases())
def test_elsewhere_a_voter_is_kept_but_the_policy_is_not_stamped(case: Case) -> None:
    """Without a catalog, or in a contest without the policy, voter_id is optional and
    recorded; every vote counts (a voter may cast several ranked votes)."""
    result = decide(case.command, DecisionContext(**context_kwargs(case.now)))
    assert isinstance(result, VoteCast)
    assert result.voter_id == case.expected["voter_id"]
    assert result.one_vote_per_voter is False
    plain = Catalog((Contest(slug=result.contest),))
    assert decide(case.command, context(plain, case.now)) == result


def test_the_policy_is_read_from_the_catalog_file() -> None:
    catalog = parse_catalog(
        b'{"contests": [{"slug": "jury", "one_vote_per_voter": true}, {"slug": "open"}]}'
    )
    jury, open_ = catalog.contests
    assert jury.one_vote_per_voter
    assert not open_.one_vote_per_voter


def test_an_invalid_voter_id_is_reported_with_the_other_broken_fields() -> None:
    bad = CastVote(band="", album="Kid A", year=2000, rank=1, voter_id="a b")
    result = decide(bad, context(once("main")))
    assert isinstance(result, Rejection)
    assert {v.field for v in result.violations} == {"band", "voter_id"}


# ---------------------------------------------------------------- key and encoding


@given(slugs, voter_ids, st.uuids().map(str), st.uuids().map(str))
def test_a_voters_votes_share_a_key_and_votes_without_voter_keep_the_vote_id(
    slug: str, voter: str, first: str, second: str
) -> None:
    """Keys decide partitions: a voter's votes in one contest share one key; a retry of a
    vote_id (same contest, same voter) has the same key as the original."""
    a = decide(msgspec.structs.replace(vote(slug, voter), vote_id=first), context(once(slug)))
    b = decide(msgspec.structs.replace(vote(slug, voter), vote_id=second), context(once(slug)))
    assert isinstance(a, VoteCast)
    assert isinstance(b, VoteCast)
    assert event_key(a) == event_key(b) == f"{slug}:{voter}"
    assert re.fullmatch(r"[a-z0-9-]+", event_key(a).split(":", 1)[0])
    plain = decide(msgspec.structs.replace(vote(slug), vote_id=first), context(None))
    assert isinstance(plain, VoteCast)
    assert event_key(plain) == first


def test_a_vote_without_voter_encodes_as_before_and_one_with_a_voter_round_trips() -> None:
    codec = vote_cast_codec()
    plain = decide(vote("main"), context(None))
    assert isinstance(plain, VoteCast)
    encoded = msgspec.json.decode(codec.encode(plain))
    assert set(encoded) == {
        "event_id",
        "vote_id",
        "contest",
        "band",
        "album",
        "year",
        "rank",
        "cast_at",
    }
    voted = decide(vote("main", "alice@example.org"), context(once("main")))
    assert isinstance(voted, VoteCast)
    assert codec.decode(codec.encode(voted), dict(codec.headers)) == voted
    assert msgspec.json.decode(codec.encode(voted))["voter_id"] == "alice@example.org"


def test_a_vote_file_row_and_the_cli_pass_the_voter_on(tmp_path: Path) -> None:
    path = tmp_path / "votes.json"
    path.write_text(
        '[{"name": "Green Ridge", "album": "Imbituva", "year": "2008", "rank": "7",'
        ' "contest": "jury", "voter_id": "alice@example.org"},'
        ' {"name": "Lien", "album": "X", "year": "2001", "rank": "1st"}]'
    )
    with_voter, without = (to_proto(v) for v in read_votes(path))
    assert (with_voter.contest, with_voter.voter_id) == ("jury", "alice@example.org")
    assert without.voter_id == ""
