"""One vote per voter, the projection laws: whatever the delivery schedule (redelivery,
batch splits, interleaved partitions, a crash mid-batch), the counted votes are exactly an
oracle's first vote of each voter in log order, in the tallies and in the audit log.

The logs model key = contest:voter_id: a voter's votes in a contest share a partition,
and a retry of a vote_id repeats its contest and voter (maybe with other values: the
first occurrence of a vote_id decides). Contests with and without the policy interleave,
and some votes name no voter.
"""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.projection import (
    Delivered,
    TallyView,
    audit_change,
    audit_document,
    document_voter,
    fold,
    supersede,
)
from domain.votes import VoteCast, voter_key
from tests.unit.test_projection_laws import (
    RECENT,
    Log,
    Schedule,
    albums,
    bands,
    cast_ats,
    clean_pass,
    event_id_of,
    logs_and_schedules,
    summary_of,
)

ONCE = ("jury", "fans-choice")  # contests that declared one vote per voter
OPEN = ("main",)  # a contest that did not: every vote counts, voter or not
VOTE_IDS_PER_PARTITION = 8
VOTERS_PER_PARTITION = 3


def vote_id_of(partition: int, k: int) -> str:
    return str(uuid.UUID(int=(partition << 64) | k))


@st.composite
def profiles(draw: st.DrawFn, partition: int) -> tuple[str, str, bool]:
    """What a vote_id's every occurrence repeats: contest, voter ("" = none), policy."""
    contest = draw(st.sampled_from(ONCE + OPEN))
    once = contest in ONCE
    voter = f"v{partition}-{draw(st.integers(0, VOTERS_PER_PARTITION - 1))}"
    if not once and draw(st.booleans()):
        voter = ""
    return contest, voter, once


@st.composite
def voter_logs(draw: st.DrawFn) -> Log:
    log: Log = {}
    for partition in range(draw(st.integers(1, 3))):
        ids = [draw(profiles(partition)) for _ in range(VOTE_IDS_PER_PARTITION)]
        items: list[VoteCast | None] = []
        for offset in range(draw(st.integers(0, 14))):
            if draw(st.integers(0, 9)) == 0:
                items.append(None)  # poison
                continue
            k = draw(st.integers(0, VOTE_IDS_PER_PARTITION - 1))
            contest, voter, once = ids[k]
            items.append(
                VoteCast(
                    event_id=event_id_of(partition, offset),
                    vote_id=vote_id_of(partition, k),
                    contest=contest,
                    band=draw(bands),
                    album=draw(albums),
                    year=1900 + offset,
                    rank=1,
                    cast_at=draw(cast_ats),
                    voter_id=voter,
                    one_vote_per_voter=once,
                )
            )
        log[partition] = items
    return log


def voter_logs_and_schedules() -> st.SearchStrategy[tuple[Log, Schedule]]:
    return logs_and_schedules(voter_logs())


# ------------------------------------------------------------------------- the oracle


def decided(log: Log, upto: dict[int, int] | None = None) -> dict[str, tuple[Delivered, str]]:
    """vote_id -> (its first occurrence, the vote_id that counts for it: itself, or the
    first counted vote of its voter in log order), over offsets <= ``upto``."""
    result: dict[str, tuple[Delivered, str]] = {}
    winners: dict[tuple[str, str], str] = {}
    for partition, items in log.items():
        last = len(items) - 1 if upto is None else upto.get(partition, -1)
        for offset, event in enumerate(items[: last + 1]):
            if event is None or event.vote_id in result:
                continue
            winner = event.vote_id
            if event.one_vote_per_voter and event.voter_id:
                winner = winners.setdefault((event.contest, event.voter_id), event.vote_id)
            result[event.vote_id] = (Delivered(partition, offset, event), winner)
    return result


def oracle(log: Log, upto: dict[int, int] | None = None) -> dict[str, Any]:
    """The tallies of the counted votes only, shaped like ``TallyView.summary()``."""
    counted = [item.event for v, (item, w) in decided(log, upto).items() if v == w]
    return summary_of(counted, log, upto)


def oracle_voters(log: Log) -> dict[str, dict[str, str]]:
    voters: dict[str, dict[str, str]] = {}
    for vote_id, (item, winner) in decided(log).items():
        event = item.event
        assert event is not None
        if event.one_vote_per_voter and event.voter_id and winner == vote_id:
            voters.setdefault(event.contest, {})[event.voter_id] = vote_id
    return voters


# ------------------------------------------------------------------------- tallies


@given(voter_logs_and_schedules())
def test_the_tallies_count_each_voters_first_vote_under_any_schedule(
    case: tuple[Log, Schedule],
) -> None:
    log, schedule = case
    view = TallyView()
    reported = [view.apply(batch) for batch in schedule]
    expected = oracle(log)
    assert view.summary() == expected
    assert fold([clean_pass(log)]).summary() == expected, "a rebuild (one clean pass)"
    assert fold([item] for item in clean_pass(log)).summary() == expected
    assert {c: t.voters for c, t in view.contests.items() if t.voters} == oracle_voters(log)
    assert sum(reported) == expected["total"]


@given(voter_logs_and_schedules())
def test_at_every_checkpoint_the_tallies_are_the_oracle_up_to_it(
    case: tuple[Log, Schedule],
) -> None:
    log, schedule = case
    view = TallyView()
    for batch in schedule:
        twice = copy.deepcopy(view)
        view.apply(batch)
        twice.apply(batch)
        assert twice.apply(batch) == 0, "a redelivered batch counts nothing"
        assert twice.summary() == view.summary()
        assert view.summary() == oracle(log, view.checkpoints)


# ------------------------------------------------------------------------- audit log


class AuditStore:
    """The audit collection and its voters collection as Mongo's unique keys make them:
    a document whose ``_id`` or ``vote_id`` is stored is a duplicate; a voter is stored
    once (insert, duplicate = already there)."""

    def __init__(self) -> None:
        self.by_vote: dict[str, dict[str, Any]] = {}
        self.voters: dict[str, str] = {}

    def apply(self, batch: list[Delivered], checkpoints: dict[int, int], crash: int) -> None:
        documents, moved = audit_change(batch, checkpoints)
        keys = {v for v in map(document_voter, documents) if v is not None}
        marked, first = supersede(documents, {k: self.voters[k] for k in keys & set(self.voters)})
        for key, vote_id in first.items():
            self.voters.setdefault(key, vote_id)
        for document in marked[: crash if crash >= 0 else None]:
            self.by_vote.setdefault(document["vote_id"], document)
        if crash >= 0:
            return  # crashed before the checkpoints moved: the batch comes again
        for partition, offset in moved.items():
            checkpoints[partition] = max(offset, checkpoints.get(partition, -1))


@given(voter_logs_and_schedules(), st.data())
def test_the_audit_log_keeps_every_vote_and_marks_the_later_ones_of_a_voter(
    case: tuple[Log, Schedule], data: st.DataObject
) -> None:
    log, schedule = case
    store = AuditStore()
    checkpoints: dict[int, int] = {}
    for batch in schedule:
        crash = data.draw(st.integers(-3, len(batch)), label="crash after n documents")
        store.apply(batch, checkpoints, crash)
        if crash >= 0:
            store.apply(batch, checkpoints, -1)  # the redelivery after the restart
    expected = {}
    for vote_id, (item, winner) in decided(log).items():
        document = audit_document(item)
        if winner != vote_id:
            document["superseded_by"] = winner
        expected[vote_id] = document
    assert store.by_vote == expected
    counted = [d for d in store.by_vote.values() if "superseded_by" not in d]
    assert len(counted) == oracle(log)["total"], "audit and tallies agree (invariant 3)"


# ------------------------------------------------------------------------- by hand


def cast(
    event_id: str, vote_id: str, voter: str, band: str, contest: str = "jury", once: bool = True
) -> VoteCast:
    return VoteCast(
        event_id=event_id,
        vote_id=vote_id,
        contest=contest,
        band=band,
        album="a",
        year=2000,
        rank=1,
        cast_at=RECENT + timedelta(seconds=int(event_id[1:])),
        voter_id=voter,
        one_vote_per_voter=once,
    )


def test_a_voters_first_vote_counts_and_the_later_ones_are_superseded() -> None:
    first = cast("e0", "A", "alice", "X")
    second = cast("e1", "B", "alice", "Y")
    retry_of_first = cast("e2", "A", "alice", "Z")
    bob = cast("e3", "C", "bob", "Y")
    ranked = [cast(f"e{4 + i}", f"R{i}", "alice", "Y", "main", once=False) for i in range(2)]
    log: Log = {0: [first, second, retry_of_first, None, bob, *ranked]}
    view = fold([clean_pass(log)])
    assert view.contests["jury"].bands == Counter({"x": 1, "y": 1})  # by key (ADR 7)
    assert view.contests["jury"].voters == {"alice": "A", "bob": "C"}
    assert view.contests["main"].bands == Counter({"y": 2}), "no policy: both votes count"
    documents, _ = audit_change(clean_pass(log), {})
    marked, first_voters = supersede(documents, {})
    assert [d.get("superseded_by") for d in marked] == [None, "A", None, None, None]
    assert first_voters == {voter_key("jury", "alice"): "A", voter_key("jury", "bob"): "C"}
    again, none = supersede(documents, first_voters)
    assert again == marked, "redelivered: the same marks"
    assert none == {}
