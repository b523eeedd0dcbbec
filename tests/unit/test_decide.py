"""decide: a valid command becomes a VoteCast carrying the context; deciding is idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from domain.decide import DecisionContext, decide
from domain.votes import CastVote, Rejection, VoteCast, to_millisecond
from tests.unit.strategies import (
    EVENT_ID,
    NEW_VOTE_ID,
    WHITESPACE,
    Case,
    context_kwargs,
    fewer_examples,
    slugs,
    valid_cases,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def context_of(case: Case) -> DecisionContext:
    return DecisionContext(**context_kwargs(case.now))


def as_command(event: VoteCast) -> CastVote:
    return CastVote(
        band=event.band,
        album=event.album,
        year=event.year,
        rank=event.rank,
        vote_id=event.vote_id,
        contest=event.contest,
        voter_id=event.voter_id,
    )


@fewer_examples
@given(valid_cases())
def test_deciding_a_decided_vote_changes_nothing(case: Case) -> None:
    first = decide(case.command, context_of(case))
    assert isinstance(first, VoteCast)
    assert decide(as_command(first), context_of(case)) == first
    # Also when the client sends the normalized values back in other accepted forms.
    as_text = CastVote(
        band=first.band,
        album=first.album,
        year=str(first.year),
        rank=f"{first.rank}th",
        vote_id=first.vote_id.upper(),
        contest=first.contest.upper(),
        voter_id=f" {first.voter_id}\t",
    )
    assert decide(as_text, context_of(case)) == first


@fewer_examples
@given(valid_cases())
def test_the_event_carries_the_context(case: Case) -> None:
    result = decide(case.command, context_of(case))
    assert isinstance(result, VoteCast)
    assert result.event_id == EVENT_ID
    assert result.cast_at == to_millisecond(case.now)  # a cast_at is in whole milliseconds
    assert result.cast_at.tzinfo is case.now.tzinfo
    # A vote without a vote_id gets the one the server drew; a vote with one keeps it.
    if not case.command.vote_id.strip():
        assert result.vote_id == NEW_VOTE_ID
    else:
        assert result.vote_id == case.expected["vote_id"]


@given(slugs, st.text(st.sampled_from(WHITESPACE), max_size=3))
def test_an_empty_contest_means_the_default_contest(default: str, blank: str) -> None:
    context = DecisionContext(**{**context_kwargs(NOW), "default_contest": default})
    result = decide(CastVote(band="b", album="a", year=2000, rank=1, contest=blank), context)
    assert isinstance(result, VoteCast)
    assert result.contest == default


def test_a_misconfigured_default_contest_is_reported_not_used() -> None:
    context = DecisionContext(**{**context_kwargs(NOW), "default_contest": "Not A Slug"})
    result = decide(CastVote(band="b", album="a", year=2000, rank=1), context)
    assert isinstance(result, Rejection)
    assert [v.field for v in result.violations] == ["contest"]
