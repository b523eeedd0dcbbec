"""Operator commands wired to real services: results, verify, rebuild."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.database import Database
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from boleta.catalog import load_catalog
from boleta.serve_projections import Model, mongo_db, redis_client
from boleta.settings import Settings
from domain import vote_cast_codec
from domain.projection import Delivered, TallyView, admit, windows
from domain.readmodel import NEXT, behind
from projections import verify as checks
from projections.asof import tallies_as_of, tallies_at
from projections.log_reader import end_offsets, replay, replay_consumer
from projections.mongo_sink import MongoAudit, live_collection_name, stored_state
from projections.rebuild import RebuildResult, rebuild
from projections.redis_sink import RedisTallies
from projections.windowed import Windowed


def results(settings: Settings, contest: str = "") -> dict[str, Any]:
    """One contest's tallies (the default contest's when ``contest`` is empty), its
    checkpoints and the lag per partition."""
    name = contest or settings.default_contest
    with redis_client(settings) as client:
        snapshot = RedisTallies(client, tag=settings.tallies_tag).snapshot()
        consumer = replay_consumer(settings.kafka_bootstrap, "results", settings.kafka_security)
        try:
            ends = end_offsets(consumer, settings.topic)
        finally:
            consumer.close()
    lag = behind(ends, snapshot["checkpoints"])
    empty = {"bands": {}, "albums": {}, "seconds": {}, "total": 0, "names": {}}
    tally = snapshot["contests"].get(name, empty)
    return {"contest": name, **tally, "checkpoints": snapshot["checkpoints"], "lag": lag}


def results_as_of(settings: Settings, as_of: datetime, timeout_s: float) -> TallyView:
    """Every contest's tallies of the votes cast up to ``as_of``, replayed from the log
    through the catalog's voting windows, as the projections admit votes."""
    consumer = replay_consumer(settings.kafka_bootstrap, "as-of", settings.kafka_security)
    try:
        return tallies_as_of(
            consumer,
            settings.topic,
            vote_cast_codec(),
            as_of,
            timedelta(milliseconds=settings.cast_order_slack_ms),
            timeout_s,
            settings.as_of_max_events,
            windows(load_catalog(settings)),
        )
    finally:
        consumer.close()


def results_at(
    settings: Settings, ends: dict[int, int], as_of: datetime | None, timeout_s: float
) -> TallyView:
    """Every contest's tallies of exactly the log's messages before ``ends`` (partition ->
    end offset), through the catalog's voting windows; as of ``as_of`` when given."""
    consumer = replay_consumer(settings.kafka_bootstrap, "at", settings.kafka_security)
    try:
        return tallies_at(
            consumer,
            settings.topic,
            vote_cast_codec(),
            ends,
            as_of,
            timeout_s,
            settings.as_of_max_events,
            windows(load_catalog(settings)),
        )
    finally:
        consumer.close()


def _audit_documents(db: Database[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """The live audit log's checkpoints, then its documents (read-only)."""
    collection = live_collection_name(db)
    checkpoints = stored_state(db, collection)[1]
    fields = ("contest", "band", "album", "vote_id", "partition", "offset")
    voters = ("voter_id", "one_vote_per_voter", "superseded_by")  # one vote per voter
    projection = dict.fromkeys(fields + voters, 1)
    return list(db[collection].find({}, projection)), checkpoints


def verify(
    settings: Settings, console: Console, wait_s: float = 60.0, contest: str | None = None
) -> checks.Report:
    """Fold the log and compare it with both read models (invariants 2 and 3), every
    contest or only ``contest``, and the board's entries with the log (invariant 6)."""
    from boleta import board_ops
    from boleta.board_secrets import BoardSecretError

    report = checks.Report()
    consumer = replay_consumer(settings.kafka_bootstrap, "verify", settings.kafka_security)
    db = mongo_db(settings)
    try:
        ends = end_offsets(consumer, settings.topic)
        last = {p: e - 1 for p, e in ends.items()}
        deadline = time.monotonic() + wait_s
        with redis_client(settings) as client:
            tallies = RedisTallies(client, tag=settings.tallies_tag)
            while True:  # let the projections catch up with the end offsets seen now
                snapshot = tallies.snapshot()
                documents, audit_cps = _audit_documents(db)
                boards = board_ops.stored_boards(db)
                caught_up = board_ops.caught_up(boards, last) and all(
                    snapshot["checkpoints"].get(p, -1) >= o and audit_cps.get(p, -1) >= o
                    for p, o in last.items()
                    if o >= 0
                )
                if caught_up or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        console.print(f"folding the log ({sum(ends.values())} messages)…")
        voting = windows(load_catalog(settings))
        board = None
        try:
            board = board_ops.against_log(settings, db, boards) if boards else None
        except BoardSecretError as exc:  # the rest is still checked
            report.differences.append(f"board: not checked: {exc}")
        until = dict(ends)
        if board is not None:  # the board may be past the ends read: read the log that far
            until.update({p: max(e, until.get(p, 0)) for p, e in board.positions.items()})
        log: Iterator[Sequence[Delivered]] = replay(
            consumer, settings.topic, vote_cast_codec(), until
        )
        if board is not None:
            log = board.watch(log)
        views = checks.fold_until(
            (admit(b, voting) for b in log),
            {"tallies": snapshot["checkpoints"], "audit": audit_cps},
        )
        board_entries = board.finish() if board is not None else None
    finally:
        consumer.close()
        db.client.close()
    checks.check_tallies(views["tallies"], snapshot, report, contest)
    audit_bands = checks.check_audit(views["audit"], documents, audit_cps, report, contest)
    if caught_up:
        checks.check_agreement(snapshot, audit_bands, report, contest)
    else:
        report.differences.append(f"the projections did not catch up within {wait_s:.0f}s")
    if board is not None:
        report.differences += board.differences
    report.facts = {
        "log_messages": sum(ends.values()),
        "tallies_total": snapshot["total"],
        "audit_documents": len(documents),
        "board_entries_equal_to_the_log": board_entries
        if board is not None
        else ("not checked" if boards else "no board yet"),
        "caught_up": caught_up,
        "distinct_votes_in_log_up_to_tallies_checkpoint": views["tallies"].total,
        "contests": {
            name: tally["total"]
            for name, tally in sorted(snapshot["contests"].items())
            if contest is None or name == contest
        },
    }
    return report


def rebuild_progress(console: Console) -> Progress:
    """The progress bar of a rebuild (a task's ``rate`` field: what it shows as its rate)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=console,
    )


def run_rebuild(settings: Settings, model: Model, console: Console) -> RebuildResult:
    """Replay the log into a fresh model and swap it in. The voting windows are the catalog's
    as loaded now (if it changed since the votes were projected, the rebuilt model follows
    the new windows, and so does ``boleta verify``)."""
    windows_now = windows(load_catalog(settings))

    def voting(target: RedisTallies | MongoAudit) -> RedisTallies | MongoAudit | Windowed:
        return Windowed(target, windows_now) if windows_now else target

    consumer = replay_consumer(
        settings.kafka_bootstrap, f"rebuild-{model}", settings.kafka_security
    )
    started = time.perf_counter()
    try:
        with rebuild_progress(console) as progress:
            task = progress.add_task(f"rebuilding {model}", total=None, rate="")

            def on_progress(done: int, total: int) -> None:
                rate = done / max(time.perf_counter() - started, 1e-9)
                progress.update(task, completed=done, total=total, rate=f"{rate:,.0f} events/s")

            if model is Model.tallies:
                with redis_client(settings) as client:
                    target = RedisTallies(
                        client, namespace=NEXT, tag=settings.tallies_tag, write_rate=False
                    )
                    target.drop()
                    return rebuild(
                        consumer, settings.topic, vote_cast_codec(), voting(target), on_progress
                    )
            db = mongo_db(settings)
            stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
            audit = MongoAudit(db, collection=f"votes_{stamp}")
            result = rebuild(
                consumer, settings.topic, vote_cast_codec(), voting(audit), on_progress
            )
            time.sleep(2)  # let readers of the retired collection finish
            if result.detail != live_collection_name(db):
                audit.drop_collection(result.detail)
            return result
    finally:
        consumer.close()
