"""The command side's port to the vote log, and what an append answers: the application
layer's types, which the Kafka adapter (commands/kafka_log.py) implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from domain import VoteCast


class Appended(msgspec.Struct, frozen=True, gc=False):
    """The log confirmed the event at this position."""

    partition: int
    offset: int


class NotAppended(msgspec.Struct, frozen=True, gc=False):
    """The log did not confirm the event. ``reason``: ``unavailable`` or ``resource_exhausted``."""

    reason: str
    message: str


AppendResult = Appended | NotAppended


class VoteLog(Protocol):
    async def append(self, events: Sequence[VoteCast], within_s: float) -> list[AppendResult]:
        """Append ``events``; one result each, once the log confirmed them or ``within_s``
        ran out."""
        ...


class CountedVoters(Protocol):
    """The read model's answer to "does this voter already have a counted vote?" (one vote
    per voter, ADR 6). Best effort: a stale or missing answer is allowed; the projections
    alone make the count exact."""

    async def counted(
        self, voters: Sequence[tuple[str, str]], within_s: float
    ) -> dict[tuple[str, str], str]:
        """(contest, voter_id) -> the vote_id counted for that voter, for the voters that
        have one; an empty answer when the read model did not answer within ``within_s``."""
        ...

    async def close(self) -> None: ...
