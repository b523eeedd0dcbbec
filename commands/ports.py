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
