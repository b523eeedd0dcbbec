"""The vote: the ``CastVote`` command as a client sends it and the ``VoteCast`` event it becomes.

These types hold only text, numbers, datetimes and tuples of one another, so they can be
part of no reference cycle: ``gc=False`` keeps the cyclic garbage collector from tracking
the hundreds of thousands of them a busy process makes per second.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from msgspec.structs import force_setattr

EVENT_TYPE = "VoteCast"
SCHEMA_VERSION = 1


def to_millisecond(moment: datetime) -> datetime:
    """``moment`` rounded down to the millisecond: the precision of a ``cast_at``."""
    finer = moment.microsecond % 1000
    return moment.replace(microsecond=moment.microsecond - finer) if finer else moment


class CastVote(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A client's request to cast one vote, with its values as given (not yet validated).

    ``year`` and ``rank`` may come as numbers or as text ("2008", "7", "1st", "2th");
    an empty ``vote_id`` asks the server to assign one, an empty ``contest`` means the
    configured default contest, an empty ``voter_id`` means no voter (refused in a contest
    that declares one vote per voter).
    """

    band: str
    album: str
    year: int | str
    rank: int | str
    vote_id: str = ""
    contest: str = ""
    voter_id: str = ""


class VoteCast(msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True):
    """A cast vote: immutable, on the ``votes`` topic, keyed by :func:`event_key`.

    ``event_id`` is a UUIDv7 assigned by the server; ``vote_id`` is the client's
    idempotency key (a retry carries the same one); ``cast_at`` is the server's UTC clock.
    ``voter_id`` is who voted ("" when the client named no voter); ``one_vote_per_voter``
    records that the vote's contest declared that policy when the vote was cast, so the
    projections count only the voter's first vote in log order (ADR 6). Both are left out
    of the JSON when unset, so a vote without a voter encodes as before (schema version 1;
    a reader that predates them would ignore them, see ADR 6).

    ``cast_at`` has millisecond precision, the precision of every store that holds it
    (Kafka timestamps, BSON dates, JavaScript dates): the command service stamps whole
    milliseconds, and an event stamped finer (before it did) is read rounded down, so the
    tallies, ``as_of``, the audit log and its time filters see one and the same instant
    (ADR 4, "Which cast_at a vote has").
    """

    event_id: str
    vote_id: str
    contest: str
    band: str
    album: str
    year: int
    rank: int
    cast_at: datetime
    voter_id: str = ""
    one_vote_per_voter: bool = False

    def __post_init__(self) -> None:
        if self.cast_at.microsecond % 1000:
            force_setattr(self, "cast_at", to_millisecond(self.cast_at))


def event_key(event: VoteCast) -> str:
    """The Kafka message key: ``<contest>:<voter_id>`` when the vote names a voter (a voter's
    votes in a contest share a partition, so "first in log order" is well defined; a
    contest id never contains ``:``), else the vote_id. A retry of one vote_id carries the
    same contest and voter, so it lands with the original either way."""
    return voter_key(event.contest, event.voter_id) if event.voter_id else event.vote_id


def voter_key(contest: str, voter_id: str) -> str:
    """One voter in one contest, as one string (the event key of the voter's votes)."""
    return f"{contest}:{voter_id}"


class FieldViolation(msgspec.Struct, frozen=True, gc=False):
    """One reason a field of a command is not acceptable, in words a client developer can act on."""

    field: str
    description: str


class Rejection(msgspec.Struct, frozen=True, gc=False):
    """A command that was not accepted. ``reason`` is a stable machine-readable word.

    ``invalid_argument``: the command itself is wrong (see ``violations``);
    ``contest_closed`` / ``unknown_contest``: the command is well formed but cannot be
    accepted now (a failed precondition); ``already_voted``: one vote per voter, and the
    results already count a vote of this voter.
    """

    reason: str
    message: str
    violations: tuple[FieldViolation, ...] = ()

    @property
    def is_invalid_argument(self) -> bool:
        return self.reason == "invalid_argument"
