"""The command side's best-effort ALREADY_EXISTS: which votes ask the read model, and what
its answer does. (On the real Redis and Kafka: tests/integration/test_one_vote_per_voter.py.)"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from commands.handler import Accepted, CastVoteHandler
from commands.ports import Appended, AppendResult
from domain import CastVote, Catalog, Contest, Rejection, VoteCast

CATALOG = Catalog((Contest(slug="jury", one_vote_per_voter=True), Contest(slug="main")))


class Recorded:
    """Stand-ins for the ports that record what the handler asks (no I/O is tested here)."""

    def __init__(self, counted: dict[tuple[str, str], str]) -> None:
        self.asked: list[list[tuple[str, str]]] = []
        self.appended: list[VoteCast] = []
        self._counted = counted

    async def counted(
        self, voters: Sequence[tuple[str, str]], within_s: float
    ) -> dict[tuple[str, str], str]:
        self.asked.append(list(voters))
        return {k: v for k, v in self._counted.items() if k in voters}

    async def close(self) -> None:
        return None

    async def append(self, events: Sequence[VoteCast], within_s: float) -> list[AppendResult]:
        self.appended += events
        return [Appended(0, i) for i, _ in enumerate(events)]


def vote(contest: str, voter: str = "", vote_id: str = "") -> CastVote:
    return CastVote(
        band="X", album="Y", year=2000, rank=1, contest=contest, voter_id=voter, vote_id=vote_id
    )


async def test_votes_without_the_policy_never_ask_the_read_model() -> None:
    ports = Recorded({})
    handler = CastVoteHandler(ports, "main", CATALOG, voters=ports)
    outcomes = await handler.cast([vote("main", "alice"), vote("main")], 1.0)
    assert all(isinstance(o, Accepted) for o in outcomes)
    assert ports.asked == []
    plain = CastVoteHandler(ports, "main", Catalog((Contest(slug="main"),)), voters=ports)
    await plain.cast([vote("main", "alice")], 1.0)
    assert ports.asked == [], "no contest with the policy: no lookup at all"


async def test_a_counted_voter_is_refused_but_a_retry_of_the_counted_vote_goes_through() -> None:
    first = str(uuid.uuid4())
    ports = Recorded({("jury", "alice"): first})
    handler = CastVoteHandler(ports, "main", CATALOG, voters=ports)
    again, retry, bob, ranked = await handler.cast(
        [
            vote("jury", "alice"),
            vote("jury", "alice", first),
            vote("jury", "bob"),
            vote("main", "alice"),
        ],
        1.0,
    )
    assert isinstance(again, Rejection)
    assert again.reason == "already_voted"
    assert first in again.message
    assert isinstance(retry, Accepted)
    assert isinstance(bob, Accepted)
    assert isinstance(ranked, Accepted)
    assert ports.asked == [[("jury", "alice"), ("jury", "alice"), ("jury", "bob")]]
    assert [e.voter_id for e in ports.appended] == ["alice", "bob", "alice"], (
        "the refused vote is not appended"
    )
    assert ports.appended[0].vote_id == first


async def test_no_answer_from_the_read_model_lets_the_vote_through() -> None:
    ports = Recorded({})
    handler = CastVoteHandler(ports, "main", CATALOG, voters=ports)
    (outcome,) = await handler.cast([vote("jury", "alice")], 1.0)
    assert isinstance(outcome, Accepted)
