"""The gRPC servicer: proto -> command -> handler -> reply, and nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

import grpc

from commands.errors import code_number, invalid_request, to_status
from commands.handler import MAX_BATCH, Accepted, CastVoteHandler, Outcome
from commands.metrics import CommandMetrics
from domain import CastVote, Rejection
from proto.boleta.v1 import voting_pb2, voting_pb2_grpc

DEADLINE_MARGIN_S = 0.05


def to_command(vote: voting_pb2.Vote) -> CastVote:
    return CastVote(
        vote_id=vote.vote_id,
        contest=vote.contest,
        band=vote.band,
        album=vote.album,
        year=vote.year,
        rank=vote.rank,
        voter_id=vote.voter_id,
    )


@lru_cache(maxsize=64)
def rfc3339(moment: datetime) -> str:
    """A batch shares one clock reading, so this is formatted once per batch."""
    return moment.isoformat().replace("+00:00", "Z")


def to_reply(accepted: Accepted, receipt: str) -> voting_pb2.CastVoteResponse:
    """CastVote's reply: the accepted vote and its receipt, a signed note ("" without the
    board)."""
    reply = voting_pb2.CastVoteResponse()
    fill_reply(reply, accepted)
    reply.receipt = receipt
    return reply


def fill_reply(reply: voting_pb2.CastVoteResponse, accepted: Accepted) -> None:
    """Set the reply's fields in place: no message is built to be copied into another. The
    receipt's signed note is the caller's: one vote's, or the batch's beside the results."""
    event = accepted.event
    reply.event_id = event.event_id
    reply.vote_id = event.vote_id
    reply.partition = accepted.partition
    reply.offset = accepted.offset
    reply.cast_at = rfc3339(event.cast_at)
    if accepted.receipt is not None:
        reply.tracking_code = accepted.receipt.tracking_code.hex()


def fill_rejected(rejected: voting_pb2.Rejected, outcome: Rejection) -> None:
    rejected.SetInParent()  # the result is a rejection even if every field were empty
    rejected.code = code_number(outcome)
    rejected.reason = outcome.reason
    rejected.message = outcome.message
    for v in outcome.violations:
        rejected.violations.add(field=v.field, description=v.description)


def to_results(outcomes: Sequence[Outcome], receipt: str) -> voting_pb2.CastVotesResponse:
    """One result per vote, in order, each built in place in the response, and the signed
    note over the accepted votes' receipts ("" when none was accepted, or without the
    board)."""
    response = voting_pb2.CastVotesResponse(receipt=receipt)
    add = response.results.add
    for outcome in outcomes:
        result = add()
        if isinstance(outcome, Accepted):
            fill_reply(result.accepted, outcome)
        else:
            fill_rejected(result.rejected, outcome)
    return response


class VotingService(voting_pb2_grpc.VotingServiceServicer):
    def __init__(self, handler: CastVoteHandler, ack_timeout_s: float, metrics: CommandMetrics):
        self._handler = handler
        self._ack_timeout_s = ack_timeout_s
        self._metrics = metrics

    def _within(self, context: grpc.aio.ServicerContext) -> float:
        remaining = context.time_remaining()
        if remaining is None:
            return self._ack_timeout_s
        return max(0.0, min(self._ack_timeout_s, float(remaining) - DEADLINE_MARGIN_S))

    async def CastVote(
        self,
        request: voting_pb2.CastVoteRequest,
        context: grpc.aio.ServicerContext,
    ) -> voting_pb2.CastVoteResponse:
        if not request.HasField("vote"):
            status = invalid_request("vote", "vote is missing; send CastVoteRequest.vote")
            self._metrics.rejected("invalid_argument")
            await context.abort(status.code, status.details, status.trailing_metadata)
        command = to_command(request.vote)
        outcome, receipt = await self._handler.cast_one(command, self._within(context))
        self._metrics.record([outcome])
        if isinstance(outcome, Rejection):
            status = to_status(outcome)
            await context.abort(status.code, status.details, status.trailing_metadata)
        assert isinstance(outcome, Accepted)
        return to_reply(outcome, receipt)

    async def CastVotes(
        self,
        request: voting_pb2.CastVotesRequest,
        context: grpc.aio.ServicerContext,
    ) -> voting_pb2.CastVotesResponse:
        if len(request.votes) > MAX_BATCH:
            status = invalid_request(
                "votes",
                f"votes holds {len(request.votes)} votes; send at most {MAX_BATCH} per request",
            )
            self._metrics.rejected("invalid_argument", len(request.votes))
            await context.abort(status.code, status.details, status.trailing_metadata)
        commands = [to_command(v) for v in request.votes]
        outcomes, receipt = await self._handler.cast_batch(commands, self._within(context))
        self._metrics.record(outcomes)
        return to_results(outcomes, receipt)
