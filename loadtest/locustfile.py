"""Locust over gRPC: voters casting unary ``CastVote`` and batched ``CastVotes``.

    uv run --frozen boleta loadtest                    # headless, sensible defaults
    uv run --frozen locust -f loadtest/locustfile.py --host 127.0.0.1:50051 [--votes-file F]

Every gRPC call is reported to Locust's request event (name, response time, exception).
``UNAVAILABLE`` (Kafka did not confirm in time) and ``RESOURCE_EXHAUSTED`` are retried with
the same vote_id, as the API asks; each attempt is reported, so retries show as failures of
that call. Vote data comes from a seed-format file (``--votes-file``) or, by default, from
the demo generator (skewed popularity, Unicode names); every vote gets a fresh vote_id.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import gevent  # type: ignore[import-untyped]
import grpc
import grpc.experimental.gevent as grpc_gevent
from locust import User, between, events, task
from locust.env import Environment

from boleta.demo import generate
from boleta.votefile import SeedVote, read_votes
from proto.boleta.v1 import voting_pb2, voting_pb2_grpc

grpc_gevent.init_gevent()  # gRPC's I/O cooperates with gevent (Locust patched the rest)

RETRY_CODES = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED)
RETRY_REASONS = ("unavailable", "resource_exhausted")
ATTEMPTS = 5
DEMO_VOTES = 5000


@events.init_command_line_parser.add_listener  # type: ignore[untyped-decorator]
def _options(parser: Any) -> None:
    parser.add_argument("--votes-file", default="", help="seed-format JSON file of votes")
    parser.add_argument("--batch-size", type=int, default=100, help="votes per CastVotes")
    parser.add_argument("--token", default="", help="bearer token, when the service needs one")
    parser.add_argument("--tls-ca", default="", help="PEM roots, when the service serves TLS")


class VoteSource:
    """Endless votes cycling through the file's rows (or the demo's), each with a new id."""

    def __init__(self, rows: list[SeedVote]) -> None:
        self._rows: Iterator[SeedVote] = itertools.cycle(rows)

    @classmethod
    def from_options(cls, path: str) -> VoteSource:
        return cls(read_votes(Path(path)) if path else generate(DEMO_VOTES))

    def next(self) -> voting_pb2.Vote:
        row = next(self._rows)
        return voting_pb2.Vote(
            vote_id=str(uuid.uuid4()), band=row.name, album=row.album, year=row.year, rank=row.rank
        )


class RejectedVotes(Exception):
    """Votes of a batch that were rejected for a reason retrying cannot fix."""


class Voter(User):
    """A voter: mostly single votes, sometimes a batch (a kiosk uploading its queue)."""

    wait_time = between(0.05, 0.2)
    _source: VoteSource | None = None

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        options = environment.parsed_options
        target = self.host or "127.0.0.1:50051"
        roots = getattr(options, "tls_ca", "")
        self._channel = (
            grpc.secure_channel(target, grpc.ssl_channel_credentials(Path(roots).read_bytes()))
            if roots
            else grpc.insecure_channel(target)
        )
        self._stub = voting_pb2_grpc.VotingServiceStub(self._channel)
        self._batch_size = int(getattr(options, "batch_size", 100))
        token = getattr(options, "token", "")
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        if Voter._source is None:
            Voter._source = VoteSource.from_options(getattr(options, "votes_file", ""))
        self.votes = Voter._source

    def on_stop(self) -> None:
        self._channel.close()

    def _call(self, name: str, send: Callable[[], Any], size: int) -> Any:
        """One gRPC call, reported to Locust; returns the reply or raises the RpcError."""
        started = time.perf_counter()
        reply, error = None, None
        try:
            reply = send()
        except grpc.RpcError as exc:
            error = exc
        self.environment.events.request.fire(
            request_type="grpc",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=size,
            exception=error,
            context={},
        )
        if error is not None:
            raise error
        return reply

    def _retrying(self, name: str, send: Callable[[], Any], size: int) -> Any:
        for attempt in range(ATTEMPTS):
            try:
                return self._call(name, send, size)
            except grpc.RpcError as exc:
                if exc.code() not in RETRY_CODES or attempt + 1 == ATTEMPTS:
                    return None
                gevent.sleep(0.1 * 2**attempt)
        return None

    @task(10)
    def cast_vote(self) -> None:
        request = voting_pb2.CastVoteRequest(vote=self.votes.next())
        self._retrying(
            "CastVote",
            lambda: self._stub.CastVote(request, timeout=10, metadata=self._metadata),
            1,
        )

    @task(1)
    def cast_votes(self) -> None:
        pending = [self.votes.next() for _ in range(self._batch_size)]
        for attempt in range(ATTEMPTS):
            request = voting_pb2.CastVotesRequest(votes=pending)
            reply = self._retrying(
                "CastVotes",
                partial(self._stub.CastVotes, request, timeout=30, metadata=self._metadata),
                len(pending),
            )
            if reply is None:
                return
            retry: list[voting_pb2.Vote] = []
            rejected: list[str] = []
            for vote, result in zip(pending, reply.results, strict=True):
                if not result.HasField("rejected"):
                    continue
                if result.rejected.reason in RETRY_REASONS:
                    retry.append(vote)  # the same vote_id on the retry
                else:
                    rejected.append(result.rejected.reason)
            if rejected:
                self._report_rejected(rejected)
            if not retry:
                return
            pending = retry
            gevent.sleep(0.1 * 2**attempt)

    def _report_rejected(self, reasons: list[str]) -> None:
        self.environment.events.request.fire(
            request_type="grpc",
            name="CastVotes rejected votes",
            response_time=0,
            response_length=len(reasons),
            exception=RejectedVotes(", ".join(sorted(set(reasons)))),
            context={},
        )
