"""The request id echo of the command service's method wrapper (commands/observed.py)."""

from __future__ import annotations

from proto.boleta.v1 import voting_pb2
from tests.integration.test_commands import Service, service, vote

__all__ = ["service"]  # the fixture, shared with test_commands


async def test_a_client_request_id_comes_back_in_the_trailing_metadata(service: Service) -> None:
    call = service.stub.CastVote(
        voting_pb2.CastVoteRequest(vote=vote()), metadata=(("x-request-id", "req-42"),), timeout=10
    )
    await call
    assert ("x-request-id", "req-42") in tuple(await call.trailing_metadata() or ())


async def test_no_request_id_is_made_up_for_a_call_that_sent_none(service: Service) -> None:
    call = service.stub.CastVote(voting_pb2.CastVoteRequest(vote=vote()), timeout=10)
    await call
    keys = [key for key, _ in await call.trailing_metadata() or ()]
    assert "x-request-id" not in keys
