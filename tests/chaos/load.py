"""Votes cast continuously through the command service, with a ledger of every outcome.

Callers send ``CastVotes`` batches at a steady rate. A call that fails with a retryable
status (``UNAVAILABLE``, ``RESOURCE_EXHAUSTED``, ``DEADLINE_EXCEEDED``, ``CANCELLED``
while the service restarts), or a vote rejected as ``unavailable``/``resource_exhausted``,
is sent again with the same vote_id until it is acknowledged. ``resend_every`` sends every
n-th acknowledged vote once more with the same vote_id, as a client that never saw the
reply would. ``until``: the load goes on past ``total`` with fresh votes at the same rate
until the test sets the event, so a fault is sure to strike while votes flow.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from proto.boleta.v1 import voting_pb2, voting_pb2_grpc
from tests.integration.projection_helpers import BANDS

RETRY_CODES = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
}
RETRY_REASONS = {"unavailable", "resource_exhausted"}
CALL_DEADLINE_S = 10.0  # each CastVotes call's gRPC deadline
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


def make_votes(count: int) -> list[voting_pb2.Vote]:
    return [
        voting_pb2.Vote(
            vote_id=str(uuid.uuid4()),
            band=BANDS[i % len(BANDS)],
            album=f"Album {i % 3}",
            year=str(1990 + i % 30),
            rank=f"{1 + i % 10}",
        )
        for i in range(count)
    ]


@dataclass
class Ledger:
    sent: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    rejected: Counter[str] = field(default_factory=Counter)
    retried_codes: Counter[str] = field(default_factory=Counter)
    resent: int = 0
    calls: int = 0
    # (unix ns the call was sent, partition, offset) of each acknowledgement, for latency
    acks: list[tuple[int, int, int]] = field(default_factory=list)
    # unix ns each acknowledgement's reply arrived (parallel to acks), for failover gaps
    acked_at: list[int] = field(default_factory=list)
    # calls that ended with votes to send again (same vote_ids), by status or reason
    retried_calls: Counter[str] = field(default_factory=Counter)
    # vote_id of each acknowledgement (parallel to acks), and when each vote was first sent
    acked_ids: list[str] = field(default_factory=list)
    first_sent: dict[str, int] = field(default_factory=dict)
    # every call: (unix ns sent, unix ns its answer or error arrived, how it ended: "ok" when
    # every vote was accepted, else the status's name or the rejections' reasons, sorted)
    outcomes: list[tuple[int, int, str]] = field(default_factory=list)


class VoteLoad:
    """``total`` votes at about ``rate`` votes/s from ``callers`` concurrent callers."""

    def __init__(
        self,
        target: str,
        total: int,
        rate: float = 400.0,
        batch: int = 40,
        callers: int = 4,
        resend_every: int = 0,
        give_up_s: float = 240.0,
        until: threading.Event | None = None,
        make: Callable[[int], list[voting_pb2.Vote]] = make_votes,
    ) -> None:
        self.target = target
        self.make = make
        self.votes = make(total)
        self.rate = rate
        self.batch = batch
        self.callers = callers
        self.resend_every = resend_every
        self.give_up_s = give_up_s
        self.until = until
        self.ledger = Ledger()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="vote-load", daemon=True)
        self._next_at = 0.0
        self._resent: set[str] = set()
        self._stopped = threading.Event()

    # -- the test's side ---------------------------------------------------------------
    def start(self) -> VoteLoad:
        self._thread.start()
        return self

    @property
    def acknowledged(self) -> int:
        return len(self.ledger.acknowledged)

    def flowing(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """End the load (a test that failed midway): no call after this returns."""
        self._stopped.set()
        self._thread.join(30)

    def wait(self) -> Ledger:
        self._thread.join(self.give_up_s + 60)
        assert not self._thread.is_alive(), "the vote load did not finish"
        if self.error is not None:
            raise self.error
        return self.ledger

    # -- the load's thread -------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._load())
        except BaseException as exc:
            self.error = exc

    async def _paced(self, size: int) -> None:
        now = time.monotonic()
        at = max(now, self._next_at)
        self._next_at = at + size / self.rate
        await asyncio.sleep(at - now)

    async def _load(self) -> None:
        batches = [self.votes[i : i + self.batch] for i in range(0, len(self.votes), self.batch)]
        queue: asyncio.Queue[list[voting_pb2.Vote]] = asyncio.Queue()
        for batch in batches:
            queue.put_nowait(batch)
        async with grpc.aio.insecure_channel(self.target, options=CHANNEL_OPTIONS) as channel:
            stub = voting_pb2_grpc.VotingServiceStub(channel)
            callers = [self._caller(stub, queue) for _ in range(self.callers)]
            await asyncio.gather(*callers)

    async def _caller(
        self,
        stub: voting_pb2_grpc.VotingServiceStub,
        queue: asyncio.Queue[list[voting_pb2.Vote]],
    ) -> None:
        while not self._stopped.is_set():
            if queue.empty():
                if self.until is None or self.until.is_set():
                    return
                queue.put_nowait(self.make(self.batch))
            pending = queue.get_nowait()
            await self._paced(len(pending))
            deadline = time.monotonic() + self.give_up_s
            resend: list[voting_pb2.Vote] = []
            while pending and not self._stopped.is_set():
                assert time.monotonic() < deadline, f"{len(pending)} votes never acknowledged"
                pending, acked = await self._call(stub, pending)
                resend += [v for v in acked if self._resends(v)]
                if pending:
                    await asyncio.sleep(0.25)
            if resend:
                self.ledger.resent += len(resend)
                queue.put_nowait(resend)

    def _resends(self, vote: voting_pb2.Vote) -> bool:
        """True, once, for every ``resend_every``-th vote (by its id)."""
        if not self.resend_every or vote.vote_id in self._resent:
            return False
        chosen = int(vote.vote_id[-4:], 16) % self.resend_every == 0
        if chosen:
            self._resent.add(vote.vote_id)
        return chosen

    async def _call(
        self, stub: voting_pb2_grpc.VotingServiceStub, pending: list[voting_pb2.Vote]
    ) -> tuple[list[voting_pb2.Vote], list[voting_pb2.Vote]]:
        """One CastVotes call: (the votes to send again, the votes acknowledged now)."""
        ledger = self.ledger
        ledger.calls += 1
        sent_ns = time.time_ns()
        for vote in pending:
            if vote.vote_id not in ledger.sent:
                ledger.sent.add(vote.vote_id)
                ledger.first_sent[vote.vote_id] = sent_ns
        try:
            reply = await stub.CastVotes(
                voting_pb2.CastVotesRequest(votes=pending), timeout=CALL_DEADLINE_S
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in RETRY_CODES:
                raise
            ledger.outcomes.append((sent_ns, time.time_ns(), exc.code().name))
            ledger.retried_codes[exc.code().name] += len(pending)
            ledger.retried_calls[exc.code().name] += 1
            return pending, []
        received_ns = time.time_ns()
        again: list[voting_pb2.Vote] = []
        acked: list[voting_pb2.Vote] = []
        for vote, result in zip(pending, reply.results, strict=True):
            if result.HasField("accepted"):
                assert result.accepted.vote_id == vote.vote_id
                acked.append(vote)
                ledger.acks.append((sent_ns, result.accepted.partition, result.accepted.offset))
                ledger.acked_at.append(received_ns)
                ledger.acked_ids.append(vote.vote_id)
            elif result.rejected.reason in RETRY_REASONS:
                ledger.retried_codes[result.rejected.reason] += 1
                again.append(vote)
            else:
                ledger.rejected[result.rejected.reason] += 1
        reasons = {r.rejected.reason for r in reply.results if not r.HasField("accepted")}
        for reason in reasons & RETRY_REASONS:
            ledger.retried_calls[reason] += 1
        ledger.outcomes.append((sent_ns, received_ns, ",".join(sorted(reasons)) or "ok"))
        ledger.acknowledged.update(v.vote_id for v in acked)
        return again, acked
