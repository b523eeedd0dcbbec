"""The write side's application service: decide each command, append the accepted ones,
and (with the board) give each accepted vote its receipt, signed once per call.

It holds no I/O of its own: the vote log, the clock, the id source and the receipt signer
are passed in.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import msgspec

from commands.ports import Appended, CountedVoters, VoteLog
from commands.receipts import Receipts
from domain import (
    CastVote,
    Catalog,
    DecisionContext,
    Rejection,
    VoteCast,
    decide,
    to_millisecond,
    uuid7,
    uuid7_batch,
)
from domain.board import Receipt

MAX_BATCH = 1000
VOTERS_WITHIN_S = 0.05  # how long a vote may wait for the read model's counted voters


class Accepted(msgspec.Struct, frozen=True, gc=False):
    event: VoteCast
    partition: int
    offset: int
    # With the board: the vote's receipt (its tracking code and the promise), not signed.
    receipt: Receipt | None = None


Outcome = Accepted | Rejection

OVERLOADED = Rejection(
    "resource_exhausted", "the service has too many votes in flight; retry shortly"
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_event_id(now: datetime) -> str:
    return uuid7(int(now.timestamp() * 1000), os.urandom(10))


def new_vote_id() -> str:
    return str(uuid.uuid4())


class CastVoteHandler:
    """Turns ``CastVote`` commands into ``VoteCast`` events on the log, one outcome each."""

    def __init__(
        self,
        log: VoteLog,
        default_contest: str,
        catalog: Catalog | None = None,
        max_inflight: int = 20_000,
        clock: Callable[[], datetime] = utc_now,
        voters: CountedVoters | None = None,
        receipts: Receipts | None = None,
    ) -> None:
        self._log = log
        self._receipts = receipts  # None: no board, replies without receipts
        # Asked only when some contest counts one vote per voter: other votes never wait.
        self._voters = voters if catalog is not None and catalog.counts_voters() else None
        self._default_contest = default_contest
        self._catalog = catalog
        self._max_inflight = max_inflight
        self._clock = clock
        self.inflight = 0

    def decide_all(self, commands: Sequence[CastVote]) -> list[VoteCast | Rejection]:
        """One clock reading per batch: a batch's votes are cast at the same instant, in
        whole milliseconds (a cast_at's precision: the window checked here is the one the
        read models check against the event's cast_at)."""
        now = to_millisecond(self._clock())
        # One clock reading and one draw of randomness for the whole batch's event ids.
        event_ids = uuid7_batch(int(now.timestamp() * 1000), os.urandom(10 * len(commands)))
        decisions: list[VoteCast | Rejection] = []
        for command, event_id in zip(commands, event_ids, strict=True):
            assign = not (isinstance(command.vote_id, str) and command.vote_id.strip())
            context = DecisionContext(
                now=now,
                event_id=event_id,
                new_vote_id=new_vote_id() if assign else "",
                default_contest=self._default_contest,
                catalog=self._catalog,
            )
            decisions.append(decide(command, context))
        return decisions

    async def cast(self, commands: Sequence[CastVote], within_s: float) -> list[Outcome]:
        """Decide every command; append the accepted ones; wait for the log at most ``within_s``."""
        decisions = self.decide_all(commands)
        if self._voters is not None:
            decisions = await self._already_voted(self._voters, decisions, within_s)
        events = [d for d in decisions if isinstance(d, VoteCast)]
        if not events:
            return [d for d in decisions if isinstance(d, Rejection)]
        if self.inflight + len(events) > self._max_inflight:
            return [OVERLOADED if isinstance(d, VoteCast) else d for d in decisions]
        self.inflight += len(events)
        try:
            appended = iter(await self._log.append(events, within_s))
        finally:
            self.inflight -= len(events)
        receipts = self._receipts
        outcomes: list[Outcome] = []
        for decision in decisions:
            if isinstance(decision, Rejection):
                outcomes.append(decision)
                continue
            result = next(appended)
            if isinstance(result, Appended):
                partition, offset = result.partition, result.offset
                receipt = receipts.receipt(decision, partition, offset) if receipts else None
                outcomes.append(Accepted(decision, partition, offset, receipt))
            else:
                outcomes.append(Rejection(result.reason, result.message))
        return outcomes

    async def cast_one(self, command: CastVote, within_s: float) -> tuple[Outcome, str]:
        """``cast`` of one command, and its receipt as a signed note ("" when it was not
        accepted, or without the board)."""
        (outcome,) = await self.cast([command], within_s)
        if not isinstance(outcome, Accepted) or self._receipts is None or outcome.receipt is None:
            return outcome, ""
        return outcome, self._receipts.sign(outcome.receipt)

    async def cast_batch(
        self, commands: Sequence[CastVote], within_s: float
    ) -> tuple[list[Outcome], str]:
        """``cast`` of a batch, and one signed note over the receipts of its accepted votes
        in the order of the outcomes ("" when none was accepted, or without the board)."""
        outcomes = await self.cast(commands, within_s)
        if self._receipts is None:
            return outcomes, ""
        receipts = [
            o.receipt for o in outcomes if isinstance(o, Accepted) and o.receipt is not None
        ]
        return outcomes, self._receipts.sign_batch(receipts)

    @staticmethod
    async def _already_voted(
        voters: CountedVoters, decisions: list[VoteCast | Rejection], within_s: float
    ) -> list[VoteCast | Rejection]:
        """Refuse a vote whose voter the results already count with another vote (best
        effort: a repeat racing the projection is logged, then superseded; ADR 6). A retry
        of the counted vote itself goes through: it is the same vote."""
        keys = [
            (d.contest, d.voter_id)
            for d in decisions
            if isinstance(d, VoteCast) and d.one_vote_per_voter
        ]
        if not keys:
            return decisions
        counted = await voters.counted(keys, min(within_s, VOTERS_WITHIN_S))
        if not counted:
            return decisions
        return [
            already_voted(d, counted[(d.contest, d.voter_id)])
            if isinstance(d, VoteCast)
            and d.one_vote_per_voter
            and counted.get((d.contest, d.voter_id), d.vote_id) != d.vote_id
            else d
            for d in decisions
        ]


def already_voted(event: VoteCast, counted: str) -> Rejection:
    return Rejection(
        "already_voted",
        f"voter {event.voter_id!r} already voted in contest {event.contest!r} "
        f"(vote_id {counted} is counted); a contest with one vote per voter counts only "
        "the first",
    )
