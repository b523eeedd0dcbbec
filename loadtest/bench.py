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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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
from loadtest.procs import (
    AppProcess,
    Apps,
    Service,
    command_service,
    cpu_seconds,
    echo_service,
    free_port,
)
from loadtest.report import Figure, Measured, Results

BATCH_MIN, BATCH_GOAL = 0.35, 0.5  # CastVotes, 1 process: x raw produce
CPU_PER_EVENT_MAX_US = 20.0  # CastVotes server CPU per vote; tallies worker CPU per event
ECHO_RATE_MIN, ECHO_CPU_MAX_X = 0.75, 1.3  # CastVote against the echo anchor
PROJECTION_MIN = 0.7  # catch-up x raw consume+decode (tallies, board), x raw insert_many (audit)
BOARD_CPU_PER_EVENT_MAX_US = 10.0  # the board worker's CPU per event (issue 25)
BOARD_MIN_BATCHES = 10  # the board's catch-up spans at least this many of its batches
BOARD_WINDOW = (0.2, 0.8)  # read between these fractions of it (it prepares a batch ahead)
E2E_P99_MS = 100.0
REBUILD_MAX_X = 1.5


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
    capacity_seconds: float = 12.0  # each step of the search for the capacity at the SLO
    capacity_steps: int = 7
    capacity_start: float = 250.0


PLANS = {
    "quick": Plan("quick", 30_000, 10_000, 1_000, 5_000, 5.0, capacity_seconds=3.0,
                  capacity_steps=3),
    "default": Plan("default", 200_000, 100_000, 10_000, 10_000, 30.0, capacity_seconds=8.0,
                    capacity_steps=5),
    "full": Plan("full", 1_000_000, 200_000, 20_000, 20_000, 60.0),
}  # fmt: skip


def unary_figures(
    results: Results, suffix: str, label: str, rate: float, detail: dict[str, Any]
) -> None:
    """CastVote against the echo anchor of the same process count: its rate (at least
    ``ECHO_RATE_MIN``x the echo's) and its server CPU per call (at most ``ECHO_CPU_MAX_X``x
    the echo's). With more processes (``suffix``) both are context."""
    echo_key = f"echo_unary{suffix}"
    echo = results.figures[echo_key]
    cpu_us = detail["server_cpu_us_per_call"]
    echo_cpu_us = echo.detail["server_cpu_us_per_call"]
    if suffix:
        single = results.figures["ingest_unary"].value
        results.add(f"ingest_unary{suffix}", Figure(
            label, rate, "votes/s", "context: x of the echo", rate / echo.value, None,
            {"anchor": echo_key, "cpu_x_echo": cpu_us / echo_cpu_us,
             "x_of_1_process": rate / single, **detail},
        ))  # fmt: skip
        return
    results.against("ingest_unary", label, rate, "votes/s", echo_key, ECHO_RATE_MIN,
                    of="the echo", **detail)  # fmt: skip
    results.within("ingest_unary_cpu", f"{label}: server CPU per call", cpu_us, "us/call",
                   echo_cpu_us, ECHO_CPU_MAX_X, "the echo's", anchor=echo_key)  # fmt: skip


def board_catch_up_batch(configured: int, events: int) -> int:
    """The board worker's batch size for a catch-up on ``events``: the run spans at least
    ``BOARD_MIN_BATCHES`` batches (--quick's ~22k events: ~2,200 each), so that the window
    its figures are read in (``BOARD_WINDOW``) holds several."""
    return min(configured, max(1000, events // BOARD_MIN_BATCHES))


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
            board_metrics_port=0,
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
        produced = raw_produce(self.base, raw.topic, plan.raw_events)
        results.anchor("raw_produce", "raw produce (confluent-kafka)", produced.rate, "votes/s",
                       cpu_us_per_event=produced.cpu_us_per_event)  # fmt: skip
        self.raw = raw
        ingest = self.settings("votes")
        for processes in (1, plan.processes):
            suffix = "" if processes == 1 else "_multi"
            label = f"{processes} process{'es' if processes > 1 else ''}"
            unary = f"{plan.unary_callers} callers, {label}"
            self.step(f"echo (no-op grpc.aio), {unary}")
            echo_settings = ingest.replace(command_port=free_port(ingest.command_host))
            with echo_service(self.apps, echo_settings, processes) as service:
                rate, detail = self.unary(service, processes)
                results.anchor(f"echo_unary{suffix}", f"echo (no-op grpc.aio), {unary}", rate,
                               "votes/s", **detail)  # fmt: skip
            with command_service(self.apps, ingest, processes) as service:
                self.step(f"CastVotes x{plan.batch_size}, {label}")
                cpu = service.cpu_seconds()
                batch = self.load("batch", service.target, votes=plan.batch_votes,
                                  batch=plan.batch_size, callers=plan.batch_callers * processes,
                                  conns=4 * processes)  # fmt: skip
                batch_cpu_us = (service.cpu_seconds() - cpu) * 1e6 / batch["votes"]
                self.batch_figures(results, suffix, f"CastVotes x{plan.batch_size}, {label}",
                                   batch["votes_per_s"], processes, batch_cpu_us)  # fmt: skip
                self.step(f"CastVote, {unary}")
                rate, detail = self.unary(service, processes)
                unary_figures(results, suffix, f"CastVote, {unary}", rate, detail)
        return ingest

    def unary(self, service: Service, processes: int) -> tuple[float, dict[str, Any]]:
        """CastVote from the load generator (the same for the echo and boleta): the rate,
        and p50/p99 and the server's CPU per call."""
        plan = self.plan
        cpu = service.cpu_seconds()
        unary = self.load("unary", service.target, votes=plan.unary_votes,
                          callers=plan.unary_callers, conns=4 * processes)  # fmt: skip
        cpu_us = (service.cpu_seconds() - cpu) * 1e6 / unary["votes"]
        return unary["votes_per_s"], {"p50_ms": unary["p50_ms"], "p99_ms": unary["p99_ms"],
                                      "processes": processes, "callers": plan.unary_callers,
                                      "server_cpu_us_per_call": cpu_us}  # fmt: skip

    def batch_figures(
        self,
        results: Results,
        suffix: str,
        label: str,
        rate: float,
        processes: int,
        cpu_us: float,
    ) -> None:
        """The targets are per process (one process against raw produce); more processes
        are context: how the port shared with SO_REUSEPORT scales on this machine."""
        if processes > 1:
            ratio = rate / results.figures["raw_produce"].value
            results.add(f"ingest_batch{suffix}", Figure(label, rate, "votes/s", "context",
                        ratio, None, {"anchor": "raw_produce", "processes": processes,
                                      "server_cpu_us_per_vote": cpu_us}))  # fmt: skip
            return
        results.against("ingest_batch", label, rate, "votes/s", "raw_produce", BATCH_MIN,
                        goal=BATCH_GOAL, server_cpu_us_per_vote=cpu_us)  # fmt: skip
        results.ceiling("ingest_batch_cpu", f"{label}: server CPU per vote", cpu_us, "us/vote",
                        CPU_PER_EVENT_MAX_US, anchor="raw_produce",
                        anchor_cpu_us_per_event=results.figures["raw_produce"].detail[
                            "cpu_us_per_event"])  # fmt: skip

    # -- projections -------------------------------------------------------------------
    def catch_up(
        self,
        settings: Settings,
        model: str,
        count: int,
        read: Callable[[], int],
        window: tuple[float, float] | None = None,
    ) -> Measured:
        app = self.apps.start(model, settings, "project", model)
        try:
            return proj.progress_rate(
                read, count, max(120.0, count / 200), lambda: cpu_seconds(app), window
            )
        finally:
            self._stop_checked(app)

    def _stop_checked(self, app: AppProcess) -> None:
        if not app.alive():
            raise RuntimeError(f"{app.role} died:\n{app.log_tail()}")
        self.apps.stop(app)

    def projections(self, results: Results, ingest: Settings) -> None:
        self.step("raw consume + decode of the ingested events")
        raw, _ = proj.raw_consume_decode(self.base, ingest.topic)
        count = raw.events
        results.anchor("raw_consume_decode", "raw consume + decode", raw.rate, "events/s",
                       events=count, cpu_us_per_event=raw.cpu_us_per_event)  # fmt: skip
        self.step(f"tallies catch-up on the same {count:,} events")
        tallies = self.catch_up(ingest, "tallies", count, proj.tallies_total(ingest))
        results.against("tallies_catch_up", "tallies catch-up", tallies.rate, "events/s",
                        "raw_consume_decode", PROJECTION_MIN, events=count,
                        cpu_us_per_event=tallies.cpu_us_per_event)  # fmt: skip
        results.ceiling("tallies_cpu", "tallies worker CPU per event", tallies.cpu_us_per_event,
                        "us/event", CPU_PER_EVENT_MAX_US, events=tallies.events,
                        anchor="raw_consume_decode",
                        anchor_cpu_us_per_event=raw.cpu_us_per_event)  # fmt: skip
        board_batch = board_catch_up_batch(ingest.board_batch_size, count)
        self.step(f"board catch-up on the same {count:,} events (batches of {board_batch:,})")
        board = self.catch_up(ingest.replace(board_batch_size=board_batch), "board", count,
                              proj.board_size(ingest), BOARD_WINDOW)  # fmt: skip
        results.against("board_catch_up", "board catch-up", board.rate, "events/s",
                        "raw_consume_decode", PROJECTION_MIN, events=count, batch=board_batch,
                        cpu_us_per_event=board.cpu_us_per_event)  # fmt: skip
        results.ceiling("board_cpu", "board worker CPU per event", board.cpu_us_per_event,
                        "us/event", BOARD_CPU_PER_EVENT_MAX_US, events=board.events,
                        anchor="raw_consume_decode",
                        anchor_cpu_us_per_event=raw.cpu_us_per_event)  # fmt: skip

        audit = self.settings("audit")
        raw_produce(self.base, audit.topic, self.plan.audit_events)
        consumed, batches = proj.raw_consume_decode(self.base, audit.topic, keep=True)
        count = consumed.events
        self.step(f"raw insert_many of {count:,} audit documents")
        results.anchor("raw_insert_many", "raw insert_many",
                       proj.raw_insert_many(audit, batches, "raw"), "docs/s",
                       events=count)  # fmt: skip
        self.step("audit catch-up on the same events")
        worker = self.catch_up(audit, "audit", count, proj.audit_progress(audit))
        if (stored := proj.audit_documents(audit)) != count:
            raise RuntimeError(f"the audit worker applied {count:,} events but stored {stored:,}")
        results.against("audit_catch_up", "audit catch-up", worker.rate, "events/s",
                        "raw_insert_many", PROJECTION_MIN, events=count,
                        cpu_us_per_event=worker.cpu_us_per_event)  # fmt: skip

    # -- end to end --------------------------------------------------------------------
    def end_to_end(self, results: Results) -> None:
        """The steady 1,000 votes/s run, then the search for the capacity at the SLO, on
        one stack: ``plan.processes`` command processes and both projection workers."""
        plan = self.plan
        settings = self.settings("e2e")
        workers = [
            self.apps.start(f"e2e-{m}", settings, "project", m) for m in ("tallies", "audit")
        ]
        with command_service(self.apps, settings, plan.processes, "e2e-commands") as service:
            steady = e2e.Steady(self.load, settings, service.target)
            self.step(
                f"end to end: CastVote at {plan.e2e_rate:,.0f}/s for {plan.e2e_seconds:.0f} s"
            )
            run = steady.run(plan.e2e_rate, plan.e2e_seconds)
            results.add("end_to_end", Figure(
                f"end to end at {plan.e2e_rate:,.0f} votes/s (p99)", run.p99_ms, "ms",
                f"p99 <= {E2E_P99_MS:.0f} ms, 0 failed", run.p99_ms / E2E_P99_MS,
                run.meets(E2E_P99_MS), {**asdict(run), "command_processes": plan.processes},
            ))  # fmt: skip
            steps: list[e2e.SteadyRun] = []
            tried: list[tuple[float, bool]] = []
            while rate := e2e.next_rate(tried, plan.capacity_start, plan.capacity_steps):
                self.step(f"capacity at the SLO: {rate:,.0f}/s for {plan.capacity_seconds:.0f} s")
                steps.append(steady.run(rate, plan.capacity_seconds))
                tried.append((rate, steps[-1].meets(E2E_P99_MS)))
        for app in workers:
            self._stop_checked(app)
        results.add("capacity_slo", e2e.capacity_figure(steps, E2E_P99_MS, plan.processes))

    # -- rebuild -----------------------------------------------------------------------
    def rebuild(self, results: Results) -> None:
        self.step(f"raw consume + decode of {self.plan.raw_events:,} events, then their rebuild")
        raw, _ = proj.raw_consume_decode(self.base, self.raw.topic)
        raw_s = raw.events / raw.rate
        results.anchor("raw_consume_rebuild", f"raw consume + decode of {raw.events:,}", raw_s,
                       "s", events=raw.events)  # fmt: skip
        seconds, messages = proj.rebuild_tallies(self.raw)
        results.within("rebuild", f"tallies rebuild of {messages:,} events", seconds, "s", raw_s,
                       REBUILD_MAX_X, "raw consume", events=messages,
                       raw_seconds=raw_s)  # fmt: skip

    def run(self, results: Results) -> None:
        ingest = self.ingest(results)
        self.projections(results, ingest)
        self.end_to_end(results)
        self.rebuild(results)
        results.memory({r: b for r, b in self.apps.rss.peaks.items() if not r.startswith("echo")})

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
