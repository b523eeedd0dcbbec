"""The decision: a ``CastVote`` and its context become a ``VoteCast`` or a ``Rejection``."""

from __future__ import annotations

from datetime import datetime

import msgspec

from domain.catalog import Catalog, Contest
from domain.names import name_key
from domain.validation import (
    contest_field,
    rank_field,
    text_field,
    vote_id_field,
    voter_id_field,
    year_field,
)
from domain.votes import CastVote, FieldViolation, Rejection, VoteCast


class DecisionContext(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What the decision needs from outside: the clock, fresh ids, configuration."""

    now: datetime
    event_id: str
    new_vote_id: str
    default_contest: str
    catalog: Catalog | None = None


def invalid(*violations: FieldViolation) -> Rejection:
    fields = ", ".join(v.field for v in violations)
    return Rejection("invalid_argument", f"invalid vote: check {fields}", tuple(violations))


def decide(command: CastVote, context: DecisionContext) -> VoteCast | Rejection:
    """Validate and normalize ``command``; every offending field is reported at once."""
    band = text_field("band", command.band)
    album = text_field("album", command.album)
    year = year_field(command.year, context.now.year)
    rank = rank_field(command.rank)
    vote_id = vote_id_field(command.vote_id)
    contest = contest_field(command.contest, context.default_contest)
    # Most votes name no voter: they skip the voter_id check altogether.
    voter_id = voter_id_field(command.voter_id) if command.voter_id != "" else None

    if not (
        isinstance(band, str)
        and isinstance(album, str)
        and isinstance(contest, str)
        and isinstance(year, int)
        and isinstance(rank, int)
        and not isinstance(vote_id, FieldViolation)
        and not isinstance(voter_id, FieldViolation)
    ):
        fields = (vote_id, contest, voter_id, band, album, year, rank)
        return invalid(*(v for v in fields if isinstance(v, FieldViolation)))

    once = False
    if context.catalog is not None:
        entry = context.catalog.by_slug().get(contest)
        if entry is None:
            return Rejection("unknown_contest", f"contest {contest!r} does not exist")
        once = entry.one_vote_per_voter
        if once and voter_id is None:
            return invalid(
                FieldViolation(
                    "voter_id",
                    f"contest {contest!r} counts one vote per voter: voter_id is required; "
                    "send your identity system's id for the voter",
                )
            )
        checked = _check_catalog(entry, band, album, context.now)
        if isinstance(checked, Rejection):
            return checked
        band, album = checked

    return VoteCast(
        event_id=context.event_id,
        vote_id=vote_id or context.new_vote_id,
        contest=contest,
        band=band,
        album=album,
        year=year,
        rank=rank,
        cast_at=context.now,
        voter_id=voter_id or "",
        one_vote_per_voter=once,
    )


def _check_catalog(
    contest: Contest, band: str, album: str, now: datetime
) -> tuple[str, str] | Rejection:
    if not contest.is_open(now):
        when = (
            f"opens at {contest.opens_at.isoformat()}"
            if contest.opens_at is not None and now < contest.opens_at
            else f"closed at {contest.closes_at.isoformat() if contest.closes_at else '?'}"
        )
        return Rejection("contest_closed", f"contest {contest.slug!r} is not open: it {when}")
    if not contest.strict:
        return band, album
    canonical = contest.canonical(band, album)
    if canonical is None:
        known = any(name_key(b.name) == name_key(band) for b in contest.bands)
        field, what = (
            ("album", f"album {album!r} of {band!r}") if known else ("band", f"band {band!r}")
        )
        return invalid(
            FieldViolation(field, f"{what} is not in contest {contest.slug!r}'s catalog")
        )
    return canonical
