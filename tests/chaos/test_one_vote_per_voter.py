"""One vote per voter through the chaos suite's faults: a contest that declares the policy
takes votes from voters who vote again and again (some repeats refused with ALREADY_EXISTS,
some racing past into the log), while a fault strikes. Then every voter must be counted
exactly once, with the first vote of theirs the log holds, in the tallies and the audit
log, and ``boleta verify`` must pass. The oracle is computed from the log itself
(tests/unit/test_voter_laws.py), never from the read models.

Each test's docstring names its row in the table (test-artifacts/chaos.md).
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymongo
import pytest
import redis

from boleta.settings import Settings
from domain import vote_cast_codec
from projections.mongo_sink import MongoAudit, live_collection_name
from projections.redis_sink import RedisTallies
from proto.boleta.v1 import voting_pb2
from tests.chaos.checks import SETTLE_S, Row, boleta_verify
from tests.chaos.conftest import Chaos
from tests.chaos.load import Ledger
from tests.integration.kafka_helpers import read_all
from tests.integration.projection_helpers import BANDS, wait_for
from tests.unit.test_projection_laws import Log
from tests.unit.test_voter_laws import decided, oracle

pytestmark = pytest.mark.timeout(1200)

CONTEST = "jury"
VOTES_PER_VOTER = 3  # on average: most voters vote again, some many times


@pytest.fixture
def world_settings(tmp_path: Path) -> dict[str, Any]:
    """Every world of this module: a catalog whose default contest counts one vote per voter."""
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"contests": [{"slug": CONTEST, "one_vote_per_voter": True}]}))
    return {"catalog_file": str(catalog), "default_contest": CONTEST}


def voter_votes(voters: int, seed: int) -> Callable[[int], list[voting_pb2.Vote]]:
    """Votes of ``voters`` voters, each vote a fresh vote_id of a voter drawn at random."""
    rng = random.Random(seed)
    counter = itertools.count()

    def make(count: int) -> list[voting_pb2.Vote]:
        return [
            voting_pb2.Vote(
                vote_id=str(uuid.uuid4()),
                voter_id=f"voter-{rng.randrange(voters)}@example.org",
                band=BANDS[(i := next(counter)) % len(BANDS)],
                album=f"Album {i % 3}",
                year=str(1990 + i % 30),
                rank="1",
            )
            for _ in range(count)
        ]

    return make


def log_of(world: Settings) -> tuple[Log, int]:
    """The votes topic as the oracle reads it (partition -> events in offset order), and the
    number of messages."""
    codec = vote_cast_codec()
    messages = sorted(read_all(world, world.topic), key=lambda m: (m.partition(), m.offset()))
    log: Log = {}
    for m in messages:
        log.setdefault(m.partition() or 0, []).append(codec.decode(m.value(), dict(m.headers())))
    return log, len(messages)


def model_state(world: Settings) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """(tallies snapshot, tallies' counted voters, audit vote_id -> superseded_by)."""
    with redis.Redis.from_url(world.redis_url) as client:
        tallies = RedisTallies(client, tag=world.tallies_tag)
        snapshot, voters = tallies.snapshot(), tallies.voters(CONTEST)
    mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        world.mongo_url, serverSelectionTimeoutMS=10_000
    )
    with mongo:
        db = mongo[world.mongo_db]
        found = db[live_collection_name(db)].find({}, {"vote_id": 1, "superseded_by": 1})
        audit = {d["vote_id"]: d.get("superseded_by") for d in found}
    return snapshot, voters, audit


def check_voters(row: Row, world: Settings, ledger: Ledger) -> list[str]:
    """Fill ``row`` and return every failed check (empty: each voter counted once, exactly)."""
    failures: list[str] = []
    row.sent, row.acknowledged = len(ledger.sent), len(ledger.acknowledged)
    refused = ledger.rejected.pop("already_voted", 0)
    row.notes.update(retried=dict(ledger.retried_codes), resent=ledger.resent, refused=refused)
    if ledger.rejected:
        failures.append(f"votes rejected for another reason: {dict(ledger.rejected)}")

    log, row.log_messages = log_of(world)
    first = decided(log)
    expected = oracle(log)
    in_log = set(first)
    row.in_log = len(in_log & ledger.acknowledged)
    lost = ledger.acknowledged - in_log
    if lost:  # invariant 1
        failures.append(f"{len(lost)} acknowledged votes are not in the log, e.g. {min(lost)}")
    winners = {v for v, (_, w) in first.items() if v == w}
    voters = {item.event.voter_id for item, _ in first.values() if item.event}
    if len(winners) != len(voters):
        failures.append(f"the oracle counts {len(winners)} votes of {len(voters)} voters")
    row.notes.update(voters=len(voters), superseded=len(in_log) - len(winners))

    def settled() -> bool:
        snapshot, _, audit = model_state(world)
        return snapshot["total"] == len(winners) and len(audit) == len(in_log)

    try:
        wait_for(settled, SETTLE_S, "both read models to decide every vote of the log")
    except AssertionError:
        failures.append("the read models did not settle on the log's votes")
    snapshot, counted_voters, audit = model_state(world)
    with pymongo.MongoClient(world.mongo_url) as mongo:
        row.counted, row.audit_documents = (
            snapshot["total"],
            MongoAudit(mongo[world.mongo_db]).count(),
        )
    if snapshot["contests"] != expected["contests"] or snapshot["total"] != expected["total"]:
        failures.append(
            f"tallies {snapshot['total']} differ from the first vote per voter "
            f"({expected['total']})"
        )
    oracle_voters = {
        item.event.voter_id: v for v, (item, w) in first.items() if item.event and v == w
    }
    if counted_voters != oracle_voters:
        wrong = sum(counted_voters.get(k) != v for k, v in oracle_voters.items())
        failures.append(f"the tallies' voters differ from the oracle's for {wrong} voters")
    expected_marks = {v: (None if v == w else w) for v, (_, w) in first.items()}
    if audit != expected_marks:
        wrong = sum(audit.get(v, "missing") != m for v, m in expected_marks.items())
        failures.append(f"{wrong} audit documents are not marked as the oracle says")
    if row.audit_documents != len(winners):
        failures.append(f"the audit log counts {row.audit_documents}, expected {len(winners)}")

    verified = boleta_verify(world)  # invariants 2 and 3
    if verified.returncode != 0:
        failures.append(f"boleta verify failed: {verified.stdout[-800:]} {verified.stderr[-800:]}")
    row.result = "pass" if not failures else "FAIL: " + "; ".join(failures)
    return failures


def progress(chaos: Chaos, fraction: float) -> None:
    """Wait until ``fraction`` of the votes are answered: acknowledged, or refused because
    their voter is counted (most repeats are, so acknowledgements alone stay below it)."""
    ledger = chaos.loads[-1].ledger
    wait_for(
        lambda: (
            len(ledger.acknowledged) + ledger.rejected["already_voted"] >= chaos.votes * fraction
        ),
        120,
        f"{fraction:.0%} of the votes to be answered",
    )


def checked(chaos: Chaos, ledger: Ledger) -> None:
    failures = check_voters(chaos.row, chaos.world, ledger)
    assert not failures, "\n".join(failures)


def test_one_vote_per_voter_with_projection_workers_sigkilled(chaos: Chaos) -> None:
    """One vote per voter: projection workers SIGKILLed mid-batch, 4 times."""
    done = threading.Event()
    load = chaos.load(
        flow_s=30, until=done, make=voter_votes(chaos.votes // VOTES_PER_VOTER, seed=1)
    )
    rng = random.Random(6)
    for kill in range(4):
        progress(chaos, 0.15 * (kill + 1))
        time.sleep(rng.uniform(0.0, 0.5))
        app = chaos.apps["tallies" if kill % 2 == 0 else "audit"]
        app.kill()
        app.spawn()
    done.set()
    for app in chaos.apps.values():
        app.wait_ready()
    checked(chaos, load.wait())


def test_one_vote_per_voter_with_redis_wiped(chaos: Chaos) -> None:
    """One vote per voter: Redis restarted with its data wiped (the voters heal from the log)."""
    load = chaos.load(make=voter_votes(chaos.votes // VOTES_PER_VOTER, seed=2))
    progress(chaos, 0.4)
    chaos.stack.restart_redis_wiped()
    checked(chaos, load.wait())


def test_one_vote_per_voter_with_clients_resending(chaos: Chaos) -> None:
    """One vote per voter: 10% of votes resent with the same vote_id (a retry is no repeat)."""
    load = chaos.load(resend_every=10, make=voter_votes(chaos.votes // VOTES_PER_VOTER, seed=3))
    ledger = load.wait()
    assert ledger.resent > 0
    checked(chaos, ledger)
