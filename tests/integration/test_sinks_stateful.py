"""The read models on the real Redis and the real FerretDB, driven like a worker drives them.

A state machine holds a fixed log and one worker per read model (the tallies and the audit
log are separate consumer groups in production), each with in-memory consumer positions.
Steps deliver batches, redeliver from earlier offsets, crash workers (positions come back
from the read model, as on a partition assignment) and wipe read models. After every step
each model must be the log up to its own checkpoints (tallies: the distinct votes; audit:
the first occurrence of each vote); at the end, with everything delivered, both hold the
whole log and agree with each other.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pymongo
import pytest
import redis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from pymongo.database import Database

from boleta.settings import Settings
from domain.projection import (
    Delivered,
    TallyView,
    audit_change,
    audit_document,
    fold,
    name_fields,
)
from domain.readmodel import META, NEXT
from domain.timeline import ENTRIES_FIELD, offset_of, timeline_collection, vote_key
from domain.votes import VoteCast
from projections.mongo_sink import MongoAudit, live_collection_name
from projections.redis_sink import RedisTallies
from tests.unit.test_projection_laws import (
    MAX_MESSAGES,
    AuditStore,
    Log,
    clean_pass,
    first_occurrences,
    logs,
    oracle,
)

Doc = dict[str, Any]
TALLIES, AUDIT = "tallies", "audit"
SINKS = st.sampled_from((TALLIES, AUDIT))
MAX_PARTITIONS = 3
OFFSET_BEGINNING = 0  # where a partition without a checkpoint starts: this log's first offset
DRAIN_BATCH = 7
PICKS = st.lists(
    st.tuples(st.integers(0, MAX_PARTITIONS - 1), st.just(0), st.integers(1, MAX_MESSAGES)),
    min_size=1,
    max_size=3,
)


@dataclass
class Services:
    redis: redis.Redis
    mongo: pymongo.MongoClient[Doc]


@pytest.fixture(scope="module")
def services(settings: Settings) -> Iterator[Services]:
    # As in production: bytes from Redis, timezone-aware datetimes from MongoDB.
    redis_client = redis.Redis.from_url(settings.redis_url)
    mongo_client: pymongo.MongoClient[Doc] = pymongo.MongoClient(settings.mongo_url, tz_aware=True)
    yield Services(redis_client, mongo_client)
    redis_client.close()
    mongo_client.close()


def to_millis(value: datetime) -> datetime:
    """What BSON keeps of a datetime: milliseconds."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def stored_form(document: Doc) -> Doc:
    return {**document, "cast_at": to_millis(document["cast_at"])}


def audit_documents(db: Database[Doc]) -> dict[str, Doc]:
    """The live audit collection by vote_id; a vote_id stored twice is a failure."""
    by_vote: dict[str, Doc] = {}
    for document in db[live_collection_name(db)].find():
        assert document["vote_id"] not in by_vote, f"vote_id stored twice: {document}"
        by_vote[document["vote_id"]] = document
    return by_vote


def timeline_of(db: Database[Doc]) -> tuple[dict[str, Doc], dict[str, str]]:
    """The live audit collection's timeline as audit documents by vote_id, and its
    vote_id -> event_id lookups (domain.timeline)."""
    blocks: dict[str, Doc] = {}
    votes = {}
    for doc in db[timeline_collection(live_collection_name(db))].find():
        if ENTRIES_FIELD not in doc:
            votes[doc["_id"]] = doc["i"]
            continue
        partition = int(doc["_id"][1:].split(":")[0])
        for field, e in doc[ENTRIES_FIELD].items():
            assert e["v"] not in blocks, f"vote_id listed twice in the timeline: {e}"
            blocks[e["v"]] = {
                "_id": e["i"],
                "vote_id": e["v"],
                "contest": e["c"],
                "band": e["b"],
                "album": e["a"],
                "year": e["y"],
                "rank": e["r"],
                "cast_at": e["t"],
                "partition": partition,
                "offset": offset_of(field),
            }
    return blocks, votes


def expected_audit(log: Log, upto: dict[int, int] | None = None) -> dict[str, Doc]:
    return {
        vote_id: stored_form(audit_document(item))
        for vote_id, item in first_occurrences(log, upto).items()
    }


class Died(Exception):
    pass


class DiesOnCheckpoint:
    """The checkpoints collection of a process that dies as it moves them."""

    def update_one(self, *_args: Any, **_kwargs: Any) -> None:
        raise Died


class SinksMachine(RuleBasedStateMachine):
    def __init__(self, services: Services) -> None:
        super().__init__()
        self.services = services
        self.tag = f"{{t{uuid.uuid4().hex}}}"  # a fresh hash tag: a fresh tallies model
        self.db_name = f"t{uuid.uuid4().hex[:16]}"
        self.db: Database[Doc] = services.mongo[self.db_name]
        self.log: Log = {}
        self.started = False
        self.positions: dict[str, dict[int, int]] = {TALLIES: {}, AUDIT: {}}
        # What each read model must hold: the batches applied since its last wipe.
        self.tallies_model = TallyView()
        self.audit_model = AuditStore()
        self.audit_checkpoints: dict[int, int] = {}
        # The tallies were wiped under a running worker that has not noticed yet.
        self.tallies_stale = False
        self.audit_stale = False

    # -- the worker ------------------------------------------------------------------
    def new_tallies(self) -> RedisTallies:
        return RedisTallies(self.services.redis, tag=self.tag)

    def new_audit(self) -> MongoAudit:
        return MongoAudit(self.db)

    def resync(self, sink: str) -> None:
        """As ProjectionWorker._on_assign/_resync: seek every partition to the model's
        position, or to the beginning when it has none."""
        found = self.tallies.positions() if sink == TALLIES else self.audit.positions()
        self.positions[sink] = {p: found.get(p, OFFSET_BEGINNING) for p in self.log}
        if sink == TALLIES:
            self.tallies_stale = False
        else:
            self.audit_stale = False

    def take(
        self, sink: str, picks: list[tuple[int, int, int]]
    ) -> tuple[list[Delivered], dict[int, int]]:
        """The consumer's next messages: ``(partition, rewind, how many)`` picks, in the
        order given; ``rewind`` > 0 re-reads earlier offsets within the same batch."""
        cursor = dict(self.positions[sink])
        batch: list[Delivered] = []
        for pick, rewind, count in picks:
            partition = pick % len(self.log)
            start = max(0, cursor[partition] - rewind)
            end = min(len(self.log[partition]), start + count)
            for offset in range(start, end):
                batch.append(Delivered(partition, offset, self.log[partition][offset]))
            cursor[partition] = max(start, end)  # one past the last message consumed
        return batch, cursor

    def apply(self, sink: str, batch: list[Delivered], cursor: dict[int, int]) -> None:
        lag = {p: len(items) - cursor[p] for p, items in self.log.items()}
        if sink == TALLIES:
            counted = self.tallies.apply(batch, lag)
            if self.tallies_stale:
                assert counted is None, "a wiped model must make the worker re-seek"
                self.resync(TALLIES)
                return
            assert counted == self.tallies_model.apply(batch)
        else:
            inserted = self.audit.apply(batch, lag)
            if self.audit_stale:
                assert inserted is None, "a wiped audit log must make the worker re-seek"
                self.resync(AUDIT)
                return
            documents, moved = audit_change(batch, self.audit_checkpoints)
            assert inserted == self.audit_model.insert(documents)
            for partition, offset in moved.items():
                self.audit_checkpoints[partition] = max(
                    offset, self.audit_checkpoints.get(partition, -1)
                )
        self.positions[sink] = cursor

    def remaining(self, sink: str) -> bool:
        return any(self.positions[sink][p] < len(items) for p, items in self.log.items())

    # -- rules -----------------------------------------------------------------------
    @initialize(log=logs(max_partitions=MAX_PARTITIONS))
    def start(self, log: Log) -> None:
        self.log = log
        self.tallies = self.new_tallies()
        self.audit = self.new_audit()
        self.started = True
        self.resync(TALLIES)
        self.resync(AUDIT)

    @rule(
        sink=SINKS,
        picks=st.lists(
            st.tuples(
                st.integers(0, MAX_PARTITIONS - 1),
                st.one_of(st.just(0), st.integers(1, 8)),
                st.integers(1, 8),
            ),
            min_size=1,
            max_size=4,
        ),
    )
    def deliver(self, sink: str, picks: list[tuple[int, int, int]]) -> None:
        batch, cursor = self.take(sink, picks)
        if batch:  # the worker applies nothing when the consumer returned nothing
            self.apply(sink, batch, cursor)

    @precondition(lambda self: not self.audit_stale)
    @rule(picks=PICKS, extra=st.integers(0, MAX_MESSAGES))
    def audit_cut_short(self, picks: list[tuple[int, int, int]], extra: int) -> None:
        """The audit worker dies after a batch's documents and timeline, before its
        checkpoints (new timeline blocks are then in place, holding fewer entries than
        they will); its successor starts from the checkpoints and reads the same messages
        and up to ``extra`` more per pick."""
        self.resync(AUDIT)
        batch, _ = self.take(AUDIT, picks)
        if not batch:
            return
        self.audit._checkpoints = DiesOnCheckpoint()  # type: ignore[assignment]
        with pytest.raises(Died):
            self.audit.apply(batch, {})
        self.audit_model.insert(audit_change(batch, self.audit_checkpoints)[0])
        self.crash(AUDIT, new_process=True)
        again, cursor = self.take(AUDIT, [(p, r, n + extra) for p, r, n in picks])
        self.apply(AUDIT, again, cursor)

    @rule(sink=SINKS)
    def catch_up(self, sink: str) -> None:
        """The worker consumes everything there is, a few messages per partition a batch."""
        while self.remaining(sink):
            batch, cursor = self.take(sink, [(p, 0, DRAIN_BATCH) for p in self.log])
            self.apply(sink, batch, cursor)

    @rule(
        sink=SINKS, partition=st.integers(0, MAX_PARTITIONS - 1), back=st.integers(1, MAX_MESSAGES)
    )
    def redeliver(self, sink: str, partition: int, back: int) -> None:
        """The consumer is re-seeked to an earlier offset (a rebalance, a retried fetch)."""
        positions = self.positions[sink]
        partition %= len(self.log)
        positions[partition] = max(0, positions[partition] - back)

    @rule(sink=SINKS, new_process=st.booleans())
    def crash(self, sink: str, new_process: bool) -> None:
        """The worker loses its positions; on restart they come from the read model."""
        if new_process:
            if sink == TALLIES:
                self.tallies = self.new_tallies()
            else:
                self.audit = self.new_audit()
        self.resync(sink)

    @rule(sink=SINKS)
    def wipe(self, sink: str) -> None:
        if sink == TALLIES:
            # A running worker keeps its positions; its next apply finds the model's
            # instance gone and must re-seek (unless it never had one: then it is at 0).
            self.tallies.drop()
            self.tallies_stale = self.tallies.instance != ""
            self.tallies_model = TallyView()
        else:
            # A running worker keeps its positions; its next apply finds the audit log's
            # marker gone and must re-seek.
            self.audit.drop()
            self.audit_stale = True
            self.audit_model = AuditStore()
            self.audit_checkpoints = {}

    @rule()
    def rebuild_tallies(self) -> None:
        """``boleta rebuild tallies``: a fresh model of every contest, filled from the whole
        log and swapped in (all contests' keys at once) while the worker runs on."""
        target = RedisTallies(self.services.redis, namespace=NEXT, tag=self.tag, write_rate=False)
        target.drop()
        target.load()
        target.apply(clean_pass(self.log))
        assert target.swap_in() == (True, "swapped")
        assert not self.services.redis.keys(f"*{self.tag}:{NEXT}*"), "no rebuilt key is left"
        self.tallies_model = fold([clean_pass(self.log)])
        if self.tallies.instance:
            self.tallies_stale = True  # its next apply finds another instance: re-seek
        else:
            self.resync(TALLIES)  # a worker that never applied: as if it started now

    # -- invariants ------------------------------------------------------------------
    @invariant()
    def tallies_are_the_distinct_votes_up_to_their_checkpoints(self) -> None:
        snapshot = self.tallies.snapshot()
        assert snapshot == oracle(self.log, snapshot["checkpoints"])
        assert snapshot == self.tallies_model.summary()
        assert self.tallies.counted_size() == snapshot["total"]
        stored = self.services.redis.hget(self.tallies.key(META), "instance")
        instance = stored.decode() if stored else ""
        # The worker's instance is the model's, unless the model was wiped under it.
        assert (instance != self.tallies.instance) == self.tallies_stale
        if not self.tallies_stale:  # no gap: the worker is never past the model
            for partition, position in self.positions[TALLIES].items():
                assert position <= snapshot["checkpoints"].get(partition, -1) + 1

    @invariant()
    def audit_is_the_first_occurrences_up_to_its_checkpoints(self) -> None:
        checkpoints = self.audit.load_checkpoints()
        assert checkpoints == self.audit_checkpoints
        documents = audit_documents(self.db)
        assert documents == expected_audit(self.log, checkpoints)
        # The timeline that pages are read from lists exactly the counted votes.
        blocks, votes = timeline_of(self.db)
        assert blocks == documents
        assert votes == {vote_key(v): d["_id"] for v, d in documents.items()}
        if not self.audit_stale:  # no gap: the worker is never past the model
            for partition, position in self.positions[AUDIT].items():
                assert position <= checkpoints.get(partition, -1) + 1

    # -- the end ---------------------------------------------------------------------
    def drain(self, sink: str) -> None:
        stale = self.tallies_stale if sink == TALLIES else self.audit_stale
        if stale and not self.remaining(sink):
            # With no message left to consume, the worker notices a wipe by its idle check
            # (ProjectionWorker.step: sink.stale()); then it re-seeks.
            assert (self.tallies if sink == TALLIES else self.audit).stale()
            self.resync(sink)
        self.catch_up(sink)

    def check_everything_delivered(self) -> None:
        for sink in (TALLIES, AUDIT):
            self.drain(sink)
        tallies = self.tallies.snapshot()
        assert tallies == oracle(self.log)
        audit = audit_documents(self.db)
        assert audit == expected_audit(self.log)
        # The two read models agree with each other, contest by contest (the audit log keeps
        # each spelling; the tallies count them under their keys).
        contests = tallies["contests"]
        assert Counter(d["contest"] for d in audit.values()) == {
            c: t["total"] for c, t in contests.items()
        }
        for contest, tally in contests.items():
            own = [d for d in audit.values() if d["contest"] == contest]
            fields = [name_fields(d["band"], d["album"]) for d in own]
            assert Counter(band for band, _ in fields) == tally["bands"]
            assert Counter(album for _, album in fields) == tally["albums"]
        assert len(audit) == tallies["total"]

    def teardown(self) -> None:
        try:
            if self.started:
                self.check_everything_delivered()
        finally:
            client = self.services.redis
            keys = list(client.scan_iter(match=f"*{self.tag}*", count=1000))
            if keys:
                client.delete(*keys)
            self.services.mongo.drop_database(self.db_name)


def test_read_models_follow_the_log_through_redelivery_crashes_and_wipes(
    services: Services,
) -> None:
    run_state_machine_as_test(
        lambda: SinksMachine(services),
        settings=hypothesis_settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def vote(event_id: str, vote_id: str, band: str) -> VoteCast:
    return VoteCast(
        event_id=event_id,
        vote_id=vote_id,
        contest="main",
        band=band,
        album="a",
        year=2000,
        rank=1,
        cast_at=datetime.fromisoformat("2024-05-01T12:00:00+00:00"),
    )


def test_a_running_audit_worker_heals_a_wiped_audit_log(services: Services) -> None:
    db_name = f"t{uuid.uuid4().hex[:16]}"
    db = services.mongo[db_name]
    log: Log = {0: [vote("e0", "v0", "X"), vote("e1", "v1", "X"), vote("e2", "v0", "Y")]}
    try:
        audit = MongoAudit(db)
        position = 0

        def deliver(upto: int) -> None:  # the worker's loop, as ProjectionWorker.step
            nonlocal position
            batch = [Delivered(0, o, log[0][o]) for o in range(position, upto + 1)]
            position = audit.positions().get(0, 0) if audit.apply(batch) is None else upto + 1

        deliver(1)
        audit.drop()
        deliver(2)  # the next message: the worker must notice the wipe here ...
        for _ in range(3):  # ... and rebuild from the log
            if position < len(log[0]):
                deliver(len(log[0]) - 1)
        assert audit.load_checkpoints() == {0: 2}
        assert audit_documents(db) == expected_audit(log)
    finally:
        services.mongo.drop_database(db_name)


def test_a_timeline_block_written_by_a_batch_cut_short_gets_the_next_batchs_entries(
    services: Services,
) -> None:
    """A new block is inserted whole; when a worker died before its checkpoint, the block
    is there already and its successor's longer batch must add its entries to it."""
    db_name = f"t{uuid.uuid4().hex[:16]}"
    db = services.mongo[db_name]
    log: Log = {0: [vote(f"e{i}", f"v{i}", "X") for i in range(10)]}
    batch = [Delivered(0, o, event) for o, event in enumerate(log[0])]
    try:
        dying = MongoAudit(db)
        dying._checkpoints = DiesOnCheckpoint()  # type: ignore[assignment]
        with pytest.raises(Died):
            dying.apply(batch[:4])
        successor = MongoAudit(db)
        assert successor.apply(batch) == 6
        blocks, votes = timeline_of(db)
        assert blocks == audit_documents(db) == expected_audit(log)
        assert len(votes) == 10
    finally:
        services.mongo.drop_database(db_name)
