"""The vote: the ``CastVote`` command as a client sends it and the ``VoteCast`` event it becomes.

These types hold only text, numbers, datetimes and tuples of one another, so they can be
part of no reference cycle: ``gc=False`` keeps the cyclic garbage collector from tracking
the hundreds of thousands of them a busy process makes per second.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

EVENT_TYPE = "VoteCast"
SCHEMA_VERSION = 1


class CastVote(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A client's request to cast one vote, with its values as given (not yet validated).

    ``year`` and ``rank`` may come as numbers or as text ("2008", "7", "1st", "2th");
    an empty ``vote_id`` asks the server to assign one, an empty ``contest`` means the
    configured default contest.
    """

    band: str
    album: str
    year: int | str
    rank: int | str
    vote_id: str = ""
    contest: str = ""


class VoteCast(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A counted vote: immutable, on the ``votes`` topic, keyed by ``vote_id``.

    ``event_id`` is a UUIDv7 assigned by the server; ``vote_id`` is the client's
    idempotency key (a retry carries the same one); ``cast_at`` is the server's UTC clock.
    """

    event_id: str
    vote_id: str
    contest: str
    band: str
    album: str
    year: int
    rank: int
    cast_at: datetime


class FieldViolation(msgspec.Struct, frozen=True, gc=False):
    """One reason a field of a command is not acceptable, in words a client developer can act on."""

    field: str
    description: str


class Rejection(msgspec.Struct, frozen=True, gc=False):
    """A command that was not accepted. ``reason`` is a stable machine-readable word.

    ``invalid_argument``: the command itself is wrong (see ``violations``);
    ``contest_closed`` / ``unknown_contest``: the command is well formed but cannot be
    accepted now (a failed precondition).
    """

    reason: str
    message: str
    violations: tuple[FieldViolation, ...] = ()

    @property
    def is_invalid_argument(self) -> bool:
        return self.reason == "invalid_argument"
