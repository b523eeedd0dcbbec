"""Hostile commands through the real gRPC service: each is accepted with the normalized
value or rejected with INVALID_ARGUMENT naming exactly the offending fields, and a
rejected one changes nothing: the topic's end offsets stay put, and in the end the log
holds exactly the accepted votes, as normalized.

The oracle is the domain's own validation (``domain.validation``), whose laws the unit
suite proves; here the question is whether the wire path keeps to it for any input.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from confluent_kafka import Consumer, TopicPartition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from boleta.settings import Settings
from domain import FieldViolation, vote_cast_codec
from domain.validation import contest_field, rank_field, text_field, vote_id_field, year_field
from proto.boleta.v1 import voting_pb2, voting_pb2_grpc
from tests.chaos.stack import App, PrivateStack
from tests.integration.kafka_helpers import read_all
from tests.integration.test_commands import violations

THIS_YEAR = datetime.now(UTC).year
A_UUID = "5d6e1f1a-3f7e-4a55-9d52-1f5c9c3b1a01"
NASTY_TEXT = [
    "",
    " ",
    "\t\n\r ",
    "\x00",
    "nul\x00inside",
    "\x1b[31mred\x1b[0m",
    "\x7f",
    "\u202eevil",  # right-to-left override
    "\u2066isolate\u2069",
    "\u061cArabic letter mark",
    "zero\u200bwidth",
    "\ufeffbom",
    "e\u0301",  # NFC folds it to é
    "caf\u00e9",
    "\u200c\u200d",  # joiners alone
    "👨\u200d👩\u200d👧",
    "👍🏽",
    "Ω≈ç√",
    "ﬁ",
    "Robert'); DROP TABLE votes;--",
    '{"$ne": null}',
    "$where",
    "{$gt: ''}",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "%s%n%x",
    "${jndi:ldap://x/a}",
    "  padded   and   spaced  ",
    "a" * 200,
    "a" * 201,
    " " + "b" * 200 + " ",
    "c" * 4096,
    "d" * 4097,
    "é" * 150,
]
YEARS = ["1899", "1900", str(THIS_YEAR), str(THIS_YEAR + 1), "0", "-1", "2008.0", "0x7d0"]
YEARS += ["２００８", "1e3", "9999999999", "999999999", " 2008 ", "", "2008\x00", "MMVIII"]
RANKS = ["0", "1", "10000", "10001", "1st", "2nd", "3rd", "1th", "2TH", "01", "-1", "١"]
RANKS += ["999999999", "1000000000", "7 th", "", "1st\n", "+1", "1.0"]
VOTE_IDS = ["", "   ", A_UUID, A_UUID.upper(), "{" + A_UUID + "}", "urn:uuid:" + A_UUID]
VOTE_IDS += [A_UUID.replace("-", ""), "not-a-uuid", A_UUID + "0", "\u200b" + A_UUID]
VOTE_IDS += ["0x" + A_UUID.replace("-", ""), A_UUID[:-1] + "g", "{" + A_UUID, "urn:urn:uuid:x"]
CONTESTS = ["", "main", "MAIN", " main ", "spring-2025", "a" * 64, "a" * 65, "$ne", "../x"]
CONTESTS += ["ma in", "-main", "mäin", "main\x00"]

printable = st.characters(exclude_categories=("Cs",))
texts = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.text(printable, max_size=260),
    st.builds(lambda a, b: a + b, st.sampled_from(NASTY_TEXT), st.text(printable, max_size=20)),
)


def numberish(fixed: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(fixed),
        st.integers(-(10**12), 10**12).map(str),
        st.text(printable, max_size=12),
    )


HOSTILE = {
    "vote_id": st.one_of(st.sampled_from(VOTE_IDS), st.text(printable, max_size=40)),
    "contest": st.one_of(st.sampled_from(CONTESTS), st.text(printable, max_size=70)),
    "band": texts,
    "album": texts,
    "year": numberish(YEARS),
    "rank": numberish(RANKS),
}
PLAIN = {
    "vote_id": st.uuids(version=4).map(str),
    "contest": st.sampled_from(["", "main"]),
    "band": st.sampled_from(["Mayfield", "Green Ridge", "Norrtälje", "Sal\u2019sk"]),
    "album": st.sampled_from(["Imbituva", "Album 1"]),
    "year": st.integers(1900, THIS_YEAR).map(str),
    "rank": st.sampled_from(["1", "2nd", "3rd", "7", "10th"]),
}


@st.composite
def one_hostile_field(draw: st.DrawFn) -> voting_pb2.Vote:
    """A plain vote with one field hostile: accepted normalized, or refused naming it."""
    target = draw(st.sampled_from(sorted(HOSTILE)))
    fields = {name: draw(HOSTILE[name] if name == target else PLAIN[name]) for name in PLAIN}
    return voting_pb2.Vote(**fields)


votes = st.one_of(one_hostile_field(), st.builds(voting_pb2.Vote, **HOSTILE))


def expected(vote: voting_pb2.Vote) -> dict[str, object]:
    """Each field's normalized value or its FieldViolation, by the domain's rules."""
    return {
        "vote_id": vote_id_field(vote.vote_id),
        "contest": contest_field(vote.contest, "main"),
        "band": text_field("band", vote.band),
        "album": text_field("album", vote.album),
        "year": year_field(vote.year, THIS_YEAR),
        "rank": rank_field(vote.rank),
    }


def offending(fields: dict[str, object]) -> set[str]:
    return {name for name, value in fields.items() if isinstance(value, FieldViolation)}


@dataclass
class Wire:
    world: Settings
    stub: voting_pb2_grpc.VotingServiceStub
    consumer: Consumer
    accepted: dict[tuple[int, int], dict[str, object]] = field(default_factory=dict)
    rejected: int = 0
    hostile_accepted: int = 0

    def ends(self) -> list[int]:
        return [
            self.consumer.get_watermark_offsets(TopicPartition(self.world.topic, p), timeout=10)[1]
            for p in range(3)
        ]


@pytest.fixture(scope="module")
def wire(private_stack: PrivateStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wire]:
    world = private_stack.world()
    logs = tmp_path_factory.mktemp("hostile")
    commands: App = private_stack.apps(world, Path(logs))["commands"]
    commands.start()
    consumer = Consumer({"bootstrap.servers": world.kafka_bootstrap, "group.id": "hostile"})
    target = f"{world.command_host}:{world.command_port}"
    with grpc.insecure_channel(target) as channel:
        try:
            yield Wire(world, voting_pb2_grpc.VotingServiceStub(channel), consumer)
        finally:
            consumer.close()
            commands.stop()
            private_stack.drop(world)


def judge(wire: Wire, vote: voting_pb2.Vote, outcome: voting_pb2.VoteResult) -> bool:
    """Check one outcome against the domain's rules; True when the vote was accepted."""
    fields = expected(vote)
    bad = offending(fields)
    if outcome.HasField("accepted"):
        assert not bad, f"accepted a vote with bad {bad}: {vote}"
        reply = outcome.accepted
        assigned = fields["vote_id"] is None
        assert reply.vote_id == (fields["vote_id"] or reply.vote_id)
        if assigned:
            assert uuid.UUID(reply.vote_id).version == 4
        wire.accepted[(reply.partition, reply.offset)] = {**fields, "vote_id": reply.vote_id}
        wire.hostile_accepted += 1
        return True
    rejected = outcome.rejected
    assert bad, f"rejected a valid vote ({rejected.message}): {vote}"
    assert rejected.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert {v.field for v in rejected.violations} == bad
    wire.rejected += 1
    return False


def cast_one(wire: Wire, vote: voting_pb2.Vote) -> voting_pb2.VoteResult:
    """CastVote's outcome as a VoteResult: the reply, or the status's code and violations."""
    try:
        reply = wire.stub.CastVote(voting_pb2.CastVoteRequest(vote=vote), timeout=15)
    except grpc.RpcError as exc:
        fields = violations(exc)  # type: ignore[arg-type]
        return voting_pb2.VoteResult(
            rejected=voting_pb2.Rejected(
                code=exc.code().value[0],  # type: ignore[attr-defined]
                violations=[voting_pb2.FieldViolation(field=f) for f in fields],
            )
        )
    return voting_pb2.VoteResult(accepted=reply)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(vote=votes)
def test_hostile_cast_vote_is_normalized_or_refused_by_field(
    wire: Wire, vote: voting_pb2.Vote
) -> None:
    before = wire.ends()
    if not judge(wire, vote, cast_one(wire, vote)):
        assert wire.ends() == before, "a rejected vote moved the topic's end offsets"


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(votes, max_size=8))
def test_hostile_batches_judge_each_vote(wire: Wire, batch: list[voting_pb2.Vote]) -> None:
    before = wire.ends()
    reply = wire.stub.CastVotes(voting_pb2.CastVotesRequest(votes=batch), timeout=15)
    assert len(reply.results) == len(batch)
    for vote, outcome in zip(batch, reply.results, strict=True):
        judge(wire, vote, outcome)
    added = sum(wire.ends()) - sum(before)
    assert added == sum(r.HasField("accepted") for r in reply.results)


def test_oversized_batches_and_messages_change_nothing(wire: Wire) -> None:
    good = voting_pb2.Vote(band="Mayfield", album="A", year="2008", rank="1")
    before = wire.ends()
    with pytest.raises(grpc.RpcError) as too_many:
        wire.stub.CastVotes(voting_pb2.CastVotesRequest(votes=[good] * 1001), timeout=15)
    assert too_many.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(violations(too_many.value)) == {"votes"}  # type: ignore[arg-type]
    # Over the server's 4 MiB message limit: gRPC itself refuses it before any code runs.
    huge = voting_pb2.Vote(band="x" * (5 * 1024 * 1024), album="A", year="2008", rank="1")
    with pytest.raises(grpc.RpcError) as too_big:
        wire.stub.CastVote(voting_pb2.CastVoteRequest(vote=huge), timeout=15)
    assert too_big.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert wire.ends() == before
    empty = wire.stub.CastVotes(voting_pb2.CastVotesRequest(), timeout=15)
    assert list(empty.results) == []
    full = wire.stub.CastVotes(voting_pb2.CastVotesRequest(votes=[good] * 1000), timeout=30)
    assert all(r.HasField("accepted") for r in full.results)
    for result in full.results:
        wire.accepted[(result.accepted.partition, result.accepted.offset)] = {
            **expected(good),
            "vote_id": result.accepted.vote_id,
        }


def test_the_log_holds_exactly_the_accepted_votes_as_normalized(wire: Wire) -> None:
    """Runs last in this module: every accepted vote, nothing else, normalized."""
    assert wire.hostile_accepted >= 30, f"only {wire.hostile_accepted} hostile votes accepted"
    assert wire.rejected >= 30, f"only {wire.rejected} hostile votes rejected"
    codec = vote_cast_codec()
    logged = {}
    for msg in read_all(wire.world, wire.world.topic):
        event = codec.decode(msg.value(), dict(msg.headers()))
        logged[(msg.partition(), msg.offset())] = {f: getattr(event, f) for f in PLAIN}
    assert logged == wire.accepted
