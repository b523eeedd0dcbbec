"""Settle, then check every vote: the ledger against the log, the log against both read
models (``boleta verify`` and exact counts), the dead-letter topic against the poison."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pymongo
import redis

from boleta.settings import Settings
from projections.mongo_sink import live_collection_name
from projections.redis_sink import RedisTallies
from tests.chaos.load import Ledger
from tests.integration.cli_helpers import boleta
from tests.integration.kafka_helpers import read_all
from tests.integration.projection_helpers import wait_for

SETTLE_S = 180.0
COLUMNS = (
    ("fault", "fault"),
    ("link", "link"),
    ("sent", "votes sent"),
    ("acknowledged", "acknowledged"),
    ("in_log", "in the log (distinct)"),
    ("log_messages", "log messages"),
    ("counted", "counted in Redis"),
    ("audit_documents", "audit documents"),
    ("dead_lettered", "dead-lettered (per worker)"),
    ("seconds", "seconds"),
    ("result", "result"),
)


@dataclass
class Row:
    fault: str
    link: str = "-"
    sent: int = 0
    acknowledged: int = 0
    in_log: int = 0
    log_messages: int = 0
    counted: int = 0
    audit_documents: int = 0
    dead_lettered: str = "0"
    seconds: float = 0.0
    result: str = "not checked"
    notes: dict[str, object] = field(default_factory=dict)


def counts(world: Settings) -> tuple[int, int]:
    """(Redis total, audit documents) of a world."""
    with redis.Redis.from_url(world.redis_url) as client:
        total = int(RedisTallies(client, tag=world.tallies_tag).snapshot()["total"])
    mongo: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
        world.mongo_url, serverSelectionTimeoutMS=10_000
    )
    with mongo:
        db = mongo[world.mongo_db]
        documents = db[live_collection_name(db)].count_documents({})
    return total, documents


def boleta_verify(world: Settings) -> subprocess.CompletedProcess[str]:
    return boleta(world, "verify", "--wait", "120", timeout=300)


def check_world(
    row: Row,
    world: Settings,
    ledger: Ledger,
    poison: set[tuple[int, int]] | None = None,
    workers: tuple[str, ...] = ("tallies", "audit"),
) -> list[str]:
    """Fill ``row`` with the counts and return every failed check (empty: all exact)."""
    poison = poison or set()
    failures: list[str] = []
    row.sent, row.acknowledged = len(ledger.sent), len(ledger.acknowledged)
    row.notes.update(retried=dict(ledger.retried_codes), resent=ledger.resent)
    if ledger.rejected:
        failures.append(f"votes rejected for good: {dict(ledger.rejected)}")
    if ledger.acknowledged != ledger.sent:
        failures.append(f"{len(ledger.sent - ledger.acknowledged)} votes never acknowledged")

    messages = read_all(world, world.topic)
    positions = {(m.partition(), m.offset()) for m in messages}
    keys = [m.key().decode() for m in messages if (m.partition(), m.offset()) not in poison]
    in_log = set(keys)
    row.log_messages, row.in_log = len(messages), len(in_log & ledger.acknowledged)
    lost = ledger.acknowledged - in_log
    if lost:  # invariant 1
        failures.append(f"{len(lost)} acknowledged votes are not in the log, e.g. {min(lost)}")
    strangers = in_log - ledger.sent
    if strangers:
        failures.append(f"{len(strangers)} vote_ids in the log that no client sent")
    if not poison <= positions:
        failures.append("the poison messages are not in the log")

    def settled() -> bool:
        return counts(world) == (len(in_log), len(in_log))

    try:
        wait_for(settled, SETTLE_S, "both read models to count every distinct vote")
    except AssertionError:
        failures.append("the read models did not settle on the log's distinct votes")
    row.counted, row.audit_documents = counts(world)
    if row.counted != len(in_log) or row.audit_documents != len(in_log):
        failures.append(
            f"Redis counts {row.counted}, the audit log holds {row.audit_documents}, "
            f"the log has {len(in_log)} distinct votes"
        )

    verified = boleta_verify(world)  # invariants 2 and 3
    if verified.returncode != 0:
        failures.append(f"boleta verify failed: {verified.stdout[-800:]} {verified.stderr[-800:]}")

    dead = read_all(world, world.dlq_topic)
    by_worker: dict[str, set[tuple[int, int]]] = {}
    for msg in dead:
        headers = dict(msg.headers() or [])
        source = (int(headers["dlq_source_partition"]), int(headers["dlq_source_offset"]))
        by_worker.setdefault(headers["dlq_worker"].decode(), set()).add(source)
    expected = {f"{world.group_prefix}-{w}": poison for w in workers} if poison else {}
    if by_worker != expected:
        got = {w: len(s) for w, s in by_worker.items()}
        failures.append(f"the DLQ holds {got}, expected {len(poison)} poison messages per worker")
    if len(dead) != len(poison) * len(workers):
        failures.append(f"the DLQ holds {len(dead)} messages (duplicates?)")
    row.dead_lettered = " / ".join(str(len(by_worker.get(w, ()))) for w in sorted(by_worker)) or "0"
    row.result = "pass" if not failures else "FAIL: " + "; ".join(failures)
    return failures


def write_report(rows: list[Row], directory: Path, votes: int, started: float) -> Path:
    """``chaos.json`` and ``chaos.md`` (the table docs/reliability.md carries)."""
    directory.mkdir(parents=True, exist_ok=True)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    elapsed = time.time() - started
    data = {"when": when, "chaos_votes": votes, "seconds": round(elapsed, 1)}
    (directory / "chaos.json").write_text(
        json.dumps({**data, "rows": [asdict(r) for r in rows]}, indent=2) + "\n"
    )
    lines = [
        f"Chaos suite, {when}: --chaos-votes {votes}, {elapsed:.0f} s in all.",
        "",
        "| " + " | ".join(title for _, title in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in rows:
        values = asdict(row)
        values["seconds"] = f"{row.seconds:.0f}"
        lines.append("| " + " | ".join(str(values[key]) for key, _ in COLUMNS) + " |")
    path = directory / "chaos.md"
    path.write_text("\n".join(lines) + "\n")
    return path
