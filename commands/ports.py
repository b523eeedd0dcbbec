"""The command side's ports: the vote log and what an append answers (the Kafka adapter,
commands/kafka_log.py, implements it), the counted voters (commands/redis_voters.py) and the
board's receipt signer (boleta/serve_commands.py wraps the board key, boleta/board_keys.py):
the application layer's types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from domain import VoteCast
from domain.board import Receipt


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


class ReceiptSigner(Protocol):
    """Signs receipts with the board's key, as C2SP signed notes (the key stays behind this
    port: only signed text comes out)."""

    def sign_receipt(self, receipt: Receipt) -> str:
        """One vote's receipt as a signed note ("boleta receipt v1")."""
        ...

    def sign_receipts(self, receipts: Sequence[Receipt]) -> str:
        """The receipts of one call's votes, which share one cast_at, as one signed note
        ("boleta receipts v1", one signature)."""
        ...
