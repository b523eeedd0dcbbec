"""The query service's response types: one msgspec Struct per view."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

import msgspec

from domain.board import Pseudonyms

LOG: Final = "log"  # lag_source: the log's end offsets, read by the query service
WORKER: Final = "worker"  # lag_source: the lag the tallies worker stored with its last batch


class AlbumTally(msgspec.Struct, frozen=True):
    album: str
    votes: int


class BandTally(msgspec.Struct, frozen=True):
    band: str
    votes: int
    albums: list[AlbumTally]


class SecondCount(msgspec.Struct, frozen=True):
    second: int
    votes: int


class ResultsView(msgspec.Struct, frozen=True):
    """One contest's tallies. Live: as of ``checkpoints`` (the last offset counted per
    partition), read at ``as_of``. As of a moment (``?as_of=``): every vote cast up to
    ``as_of``, from a replay of the log up to ``checkpoints``; ``status`` is the contest's
    at that moment and ``lag`` 0. ``status``: upcoming, open or closed (a closed contest's
    results are final). ``stale``: Redis could not be read in time, and this is the last
    live view that was read (at ``as_of``), served instead of an error. ``lag``: messages
    in the log past ``checkpoints``; ``lag_source`` says how it was known: "log" (the log's
    end offsets, read by the query service at most a few seconds ago) or "worker" (the
    query service could not read them: the lag the tallies worker stored with its last
    batch, which lags behind the log when the worker's view of Kafka does)."""

    contest: str
    status: str
    total: int
    bands: list[BandTally]
    per_second: list[SecondCount]
    checkpoints: dict[str, int]
    lag: int
    as_of: datetime
    stale: bool = False
    lag_source: Literal["log", "worker"] = LOG
    # True when these results can no longer change: results as of a moment that no vote
    # cast by then can still reach the log (``?as_of=``).
    final: bool = False


class ContestView(msgspec.Struct, frozen=True):
    """A contest: its window (None: no bound), its status now and its votes counted."""

    id: str
    title: str
    opens_at: datetime | None
    closes_at: datetime | None
    status: str
    total: int


class ContestList(msgspec.Struct, frozen=True):
    default: str
    contests: list[ContestView]


class VoteView(msgspec.Struct, frozen=True):
    """One vote of the public audit log. ``voter``: the voter's pseudonym in this contest,
    when the vote names a voter: the board's (ADR 8), so a vote here and its board entry can
    be matched, and the voter_id is never shown (only an auditor sees it: ``AuditRecord``);
    ``superseded_by``: in a one-vote-per-voter contest, the vote_id of the voter's counted
    (first) vote when this one is a later one: kept in the log, not counted (ADR 6)."""

    event_id: str
    vote_id: str
    contest: str
    band: str
    album: str
    year: int
    rank: int
    cast_at: datetime
    partition: int
    offset: int
    voter: str | None = None
    superseded_by: str | None = None


class VotePage(msgspec.Struct, frozen=True):
    """Votes newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""

    votes: list[VoteView]
    next_cursor: str | None


class AuditRecord(msgspec.Struct, frozen=True):
    """One vote of the audit log as stored, for auditors: ``voter_id`` is who voted, when the
    client said. Not a ``VoteView`` (nor a subclass of one: msgspec would write its every
    field where a ``VoteView`` is declared); ``public`` makes that."""

    event_id: str
    vote_id: str
    contest: str
    band: str
    album: str
    year: int
    rank: int
    cast_at: datetime
    partition: int
    offset: int
    voter_id: str | None = None
    superseded_by: str | None = None

    def public(self, pseudonyms: Pseudonyms) -> VoteView:
        """The vote as anyone may see it: the voter's pseudonym in place of the voter_id."""
        return VoteView(
            event_id=self.event_id,
            vote_id=self.vote_id,
            contest=self.contest,
            band=self.band,
            album=self.album,
            year=self.year,
            rank=self.rank,
            cast_at=self.cast_at,
            partition=self.partition,
            offset=self.offset,
            voter=pseudonyms.voter(self.contest, self.voter_id) if self.voter_id else None,
            superseded_by=self.superseded_by,
        )


class AuditPage(msgspec.Struct, frozen=True):
    """Audit records newest first; ``next_cursor`` as in ``VotePage``."""

    votes: list[AuditRecord]
    next_cursor: str | None

    def public(self, pseudonyms: Pseudonyms) -> VotePage:
        return VotePage([v.public(pseudonyms) for v in self.votes], self.next_cursor)


class Health(msgspec.Struct, frozen=True):
    status: str
    checks: dict[str, str] = {}


class ErrorView(msgspec.Struct, frozen=True, omit_defaults=True):
    """An error: its status, what went wrong, and per field (``extra``: ``key`` the field,
    ``source`` where it was, ``message`` why, with what it accepts) when inputs were refused.
    A 5xx names its request id, which its line in the service's log carries too."""

    status_code: int
    detail: str
    extra: list[dict[str, str]] | dict[str, Any] | None = None
