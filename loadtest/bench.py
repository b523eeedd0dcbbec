"""``boleta bench``: every figure of DESIGN.md's Targets in one run, side by side.

Everything runs on private names (topics, consumer groups, tallies hash tag, database),
on the configured Kafka, Redis and MongoDB, with boleta's own processes started here as
subprocesses and stopped at the end. See docs/performance.md for the method.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pymongo
import redis
from rich.console import Console

from boleta.demo import generate
from boleta.settings import Settings
from boleta.stack import kafka
from boleta.votefile import write_votes
from loadtest import e2e, loadgen
from loadtest import projection_bench as proj
from loadtest.ingest import raw_produce
from loadtest.procs import AppProcess, Apps, command_service, free_port
from loadtest.report import Figure, Results

UNARY_TARGET = 4000.0
E2E_P99_MS = 100.0
REBUILD_MAX_X = 2.0


@dataclass(frozen=True)
class Plan:
    mode: str
    raw_events: int  # the produce anchor, and the events the rebuild replays
    batch_votes: int
    unary_votes: int
    audit_events: int
    e2e_seconds: float
    e2e_rate: float = 1000.0
    unary_callers: int = 64
    batch_size: int = 500
    batch_callers: int = 4
    processes: int = 2


PLANS = {
    "quick": Plan("quick", 30_000, 10_000, 1_000, 1_000, 5.0),
    "default": Plan("default", 200_000, 100_000, 10_000, 10_000, 30.0),
    "full": Plan("full", 1_000_000, 200_000, 20_000, 20_000, 60.0),
}


class Bench:
    def __init__(self, base: Settings, plan: Plan, votes: Path, console: Console) -> None:
        self.plan = plan
        self.console = console
        self.votes = votes
        self.name = f"bench{uuid.uuid4().hex[:8]}"
        self.base = base
        self.apps = Apps()
        self.topics: list[str] = []
        self.binary = loadgen.build(base)
        kafka.create_topics(base, 1, f"{self.name}.dlq")

    def settings(self, part: str, partitions: int | None = None) -> Settings:
        """Private settings for one part of the run: its own topic, groups and read models.
        Its command services are plaintext and open (the load generator sends no token and
        no TLS); Kafka's security settings pass through unchanged."""
        topic = f"{self.name}.{part}"
        kafka.create_topics(self.base, partitions or self.base.partitions, topic)
        self.topics.append(topic)
        return self.base.replace(
            topic=topic,
            dlq_topic=f"{self.name}.dlq",
            group_prefix=f"{self.name}-{part}",
            tallies_tag=f"{{{self.name}-{part}}}",
            mongo_db=f"{self.name}_{part}",
            command_port=free_port(self.base.command_host),
            command_token="",
            command_tls_cert="",
            command_tls_key="",
            command_tls_ca="",
            command_metrics_port=0,
            tallies_metrics_port=0,
            audit_metrics_port=0,
        )

    def step(self, what: str) -> None:
        self.console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {what}")

    def load(self, mode: str, target: str, **flags: object) -> dict[str, float]:
        return loadgen.run(self.binary, mode, target, self.votes, **flags)

    # -- ingest ------------------------------------------------------------------------
    def ingest(self, results: Results) -> Settings:
        plan = self.plan
        raw = self.settings("raw")
        self.step(f"raw produce of {plan.raw_events:,} events (one Python process)")
        results.anchor("raw_produce", "raw produce (confluent-kafka)",
                       raw_produce(self.base, raw.topic, plan.raw_events), "votes/s")  # fmt: skip
        self.raw = raw
        ingest = self.settings("votes")
        for processes in (1, plan.processes):
            suffix = "" if processes == 1 else "_multi"
            label = f"{processes} process{'es' if processes > 1 else ''}"
            with command_service(self.apps, ingest, processes) as service:
                target, conns = service.target, 4 * processes
                self.step(f"CastVotes x{plan.batch_size}, {label}")
                cpu = service.cpu_seconds()
                batch = self.load("batch", target, votes=plan.batch_votes, batch=plan.batch_size,
                                  callers=plan.batch_callers * processes, conns=conns)  # fmt: skip
                batch_cpu_us = (service.cpu_seconds() - cpu) * 1e6 / batch["votes"]
                self.ingest_figure(results, f"ingest_batch{suffix}",
                                   f"CastVotes x{plan.batch_size}, {label}", batch["votes_per_s"],
                                   processes, batch_cpu_us)  # fmt: skip
                self.step(f"CastVote, {plan.unary_callers} callers, {label}")
                cpu = service.cpu_seconds()
                unary = self.load("unary", target, votes=plan.unary_votes,
                                  callers=plan.unary_callers, conns=conns)  # fmt: skip
                detail = {"p50_ms": unary["p50_ms"], "p99_ms": unary["p99_ms"],
                          "processes": processes, "callers": plan.unary_callers,
                          "server_cpu_us_per_vote":
                              (service.cpu_seconds() - cpu) * 1e6 / unary["votes"]}  # fmt: skip
                label = f"CastVote, {plan.unary_callers} callers, {label}"
                rate = unary["votes_per_s"]
                if processes == 1:
                    figure = Figure(label, rate, "votes/s", f">= {UNARY_TARGET:,.0f} votes/s",
                                    rate / UNARY_TARGET, rate >= UNARY_TARGET, detail)  # fmt: skip
                else:
                    single = results.figures["ingest_unary"].value
                    figure = Figure(label, rate, "votes/s", "context: x of 1 process",
                                    rate / single, None, detail)  # fmt: skip
                results.add(f"ingest_unary{suffix}", figure)
        return ingest

    def ingest_figure(
        self, results: Results, key: str, label: str, rate: float, processes: int, cpu_us: float
    ) -> None:
        """The target is per process (one process at >= 50% of raw); more processes are
        context: how the port shared with SO_REUSEPORT scales on this machine."""
        if processes == 1:
            results.against(key, label, rate, "votes/s", "raw_produce", 0.5,
                            server_cpu_us_per_vote=cpu_us)  # fmt: skip
            return
        ratio = rate / results.figures["raw_produce"].value
        results.add(key, Figure(label, rate, "votes/s", "context", ratio, None,
                                {"anchor": "raw_produce", "processes": processes,
                                 "server_cpu_us_per_vote": cpu_us}))  # fmt: skip

    # -- projections -------------------------------------------------------------------
    def catch_up(
        self, settings: Settings, model: str, count: int, read: Callable[[], int]
    ) -> float:
        app = self.apps.start(model, settings, "project", model)
        try:
            return proj.progress_rate(read, count, timeout_s=max(120.0, count / 200))
        finally:
            self._stop_checked(app)

    def _stop_checked(self, app: AppProcess) -> None:
        if not app.alive():
            raise RuntimeError(f"{app.role} died:\n{app.log_tail()}")
        self.apps.stop(app)

    def projections(self, results: Results, ingest: Settings) -> None:
        self.step("raw consume + decode of the ingested events")
        rate, count, _ = proj.raw_consume_decode(self.base, ingest.topic)
        results.anchor("raw_consume_decode", "raw consume + decode", rate, "events/s",
                       events=count)  # fmt: skip
        self.step(f"tallies catch-up on the same {count:,} events")
        tallies = self.catch_up(ingest, "tallies", count, proj.tallies_total(ingest))
        results.against("tallies_catch_up", "tallies catch-up", tallies, "events/s",
                        "raw_consume_decode", 0.5, events=count)  # fmt: skip

        audit = self.settings("audit")
        raw_produce(self.base, audit.topic, self.plan.audit_events)
        _, count, batches = proj.raw_consume_decode(self.base, audit.topic, keep=True)
        self.step(f"raw insert_many of {count:,} audit documents")
        results.anchor("raw_insert_many", "raw insert_many",
                       proj.raw_insert_many(audit, batches, "raw"), "docs/s",
                       events=count)  # fmt: skip
        self.step("audit catch-up on the same events")
        rate = self.catch_up(audit, "audit", count, proj.audit_count(audit))
        results.against("audit_catch_up", "audit catch-up", rate, "events/s",
                        "raw_insert_many", 0.7, events=count)  # fmt: skip

    # -- end to end --------------------------------------------------------------------
    def end_to_end(self, results: Results) -> None:
        plan = self.plan
        settings = self.settings("e2e")
        workers = [
            self.apps.start(f"e2e-{m}", settings, "project", m) for m in ("tallies", "audit")
        ]
        with command_service(self.apps, settings, plan.processes, "e2e-commands") as service:
            target = service.target
            total = proj.tallies_total(settings)
            self.load("unary", target, votes=10, callers=1, conns=1)  # warm-up: all assigned
            deadline = time.monotonic() + 60
            while total() < 10:
                if time.monotonic() > deadline:
                    raise TimeoutError("the tallies worker did not count the warm-up votes")
                time.sleep(0.05)
            acks = Path(tempfile.mkdtemp(prefix="boleta-e2e-")) / "acks.csv"
            self.step(
                f"end to end: CastVote at {plan.e2e_rate:,.0f}/s for {plan.e2e_seconds:.0f} s"
            )
            with e2e.CheckpointWatch(settings) as watch:
                sent = self.load("steady", target, rate=plan.e2e_rate,
                                 seconds=plan.e2e_seconds, out=acks, conns=4)  # fmt: skip
                deadline = time.monotonic() + 30
                while total() < 10 + sent["votes"] and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(0.05)
            latencies, missing = e2e.latencies(acks, watch)
        for app in workers:
            self._stop_checked(app)
        p50, p99 = e2e.percentiles(latencies)
        results.add("end_to_end", Figure(
            f"end to end at {plan.e2e_rate:,.0f} votes/s (p99)", p99, "ms",
            f"p99 <= {E2E_P99_MS:.0f} ms", p99 / E2E_P99_MS, p99 <= E2E_P99_MS and not missing,
            {"p50_ms": p50, "p99_ms": p99, "sent_per_s": sent["votes_per_s"],
             "votes": len(latencies), "never_visible": missing, "failed": sent["failed"],
             "command_processes": plan.processes, "seconds": plan.e2e_seconds,
             "ack_p50_ms": sent["p50_ms"], "ack_p99_ms": sent["p99_ms"],
             "sends_behind_schedule": sent["behind_schedule"]},
        ))  # fmt: skip

    # -- rebuild -----------------------------------------------------------------------
    def rebuild(self, results: Results) -> None:
        self.step(f"raw consume + decode of {self.plan.raw_events:,} events, then their rebuild")
        rate, count, _ = proj.raw_consume_decode(self.base, self.raw.topic)
        raw_s = count / rate
        results.anchor("raw_consume_rebuild", f"raw consume + decode of {count:,}", raw_s, "s",
                       events=count)  # fmt: skip
        seconds, messages = proj.rebuild_tallies(self.raw)
        results.add("rebuild", Figure(
            f"tallies rebuild of {messages:,} events", seconds, "s",
            f"<= {REBUILD_MAX_X:.0f}x raw consume", seconds / raw_s,
            seconds / raw_s <= REBUILD_MAX_X, {"events": messages, "raw_seconds": raw_s},
        ))  # fmt: skip

    def run(self, results: Results) -> None:
        ingest = self.ingest(results)
        self.projections(results, ingest)
        self.end_to_end(results)
        self.rebuild(results)
        results.memory(self.apps.rss.peaks)

    def close(self) -> None:
        self.apps.close()
        kafka.admin(self.base).delete_topics([*self.topics, f"{self.name}.dlq"])
        client = redis.Redis.from_url(self.base.redis_url)
        for key in client.scan_iter(match=f"boleta:{{{self.name}*", count=1000):
            client.delete(key)
        client.close()
        mongo: pymongo.MongoClient[dict[str, object]]
        with pymongo.MongoClient(self.base.mongo_url) as mongo:
            for db in mongo.list_database_names():
                if db.startswith(self.name):
                    mongo.drop_database(db)


def run(
    settings: Settings, plan: Plan, console: Console, votes_file: Path | None = None
) -> Results:
    """Run every figure of ``plan``; the caller prints and saves the results."""
    results = Results(
        plan.mode, f"boleta bench{'' if plan.mode == 'default' else ' --' + plan.mode}"
    )
    with tempfile.TemporaryDirectory(prefix="boleta-bench-") as tmp:
        votes = votes_file or Path(tmp) / "votes.json"
        if votes_file is None:
            write_votes(votes, generate(5000))
        results.meta["votes_file"] = str(votes_file or "demo generator")
        bench = Bench(settings, plan, votes, console)
        try:
            bench.run(results)
        finally:
            bench.close()
    return results
