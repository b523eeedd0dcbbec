"""Network faults through Toxiproxy on the links between boleta's processes and their
servers, injected while votes flow; then every vote is checked exactly (as in
test_faults). Each test's docstring names its row; the row's ``link`` names the proxy.
"""

from __future__ import annotations

import pathlib
import random
import threading
import time

import httpx
import msgspec
import pytest
import redis
from playwright.sync_api import expect, sync_playwright

from boleta.settings import Settings
from domain.readmodel import CHECKPOINT, tallies_key
from loadtest.e2e import CheckpointWatch, percentiles
from projections.log_reader import end_offsets, replay_consumer
from tests.chaos.checks import counts
from tests.chaos.conftest import Chaos
from tests.chaos.network import LINKS
from tests.chaos.test_faults import progress
from tests.chaos.watch import Watch
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS
from tests.integration.projection_helpers import wait_for

pytestmark = pytest.mark.timeout(1200)

PARTITION_S = 10.0
SETTLE_INTO_FAULT_S = 2.0  # what was in flight when the fault began is answered by then


def acks_in_fault(chaos: Chaos, seconds: float) -> tuple[int, list[str]]:
    """Wait out ``seconds`` of a fault that began just now. Of the acknowledgements received
    in that time: how many came from calls sent before it began, and those from calls sent
    after. A call sent before may be answered in the fault with the votes that reached Kafka
    before it (the service waits up to ``command_ack_timeout_s`` for a batch's every vote,
    then answers the rest unavailable); a call sent after must get no acknowledgement."""
    acks = chaos.loads[-1].ledger.acks
    began_ns, known = time.time_ns(), len(acks)
    time.sleep(seconds)
    received = acks[known:]
    after = [
        f"p{partition}@{offset} sent {(sent_ns - began_ns) / 1e9:.3f} s into the fault"
        for sent_ns, partition, offset in received
        if sent_ns > began_ns
    ]
    return len(received) - len(after), after


def unavailable(chaos: Chaos) -> int:
    codes = chaos.loads[-1].ledger.retried_codes
    return codes["unavailable"] + codes["UNAVAILABLE"]


def test_partition_command_service_to_kafka(chaos: Chaos) -> None:
    """Partition (timeout toxic both ways)."""
    chaos.row.fault += f" for {PARTITION_S:.0f} s"
    chaos.row.link = LINKS["commands-kafka"].title
    healed = threading.Event()
    load = chaos.load(until=healed)
    progress(chaos, 0.3)
    before = unavailable(chaos)
    with chaos.network.partition("commands-kafka"):
        earlier, across = acks_in_fault(chaos, PARTITION_S)
        # Votes past the ack deadline are answered unavailable and sent again (same ids).
        assert unavailable(chaos) > before, "no vote was answered unavailable"
        at_heal = load.acknowledged
    assert not across, f"votes acknowledged across a partition: {across[:10]}"
    wait_for(lambda: load.acknowledged > at_heal, 120, "a vote acknowledged after the heal")
    healed.set()
    chaos.row.notes.update(
        unavailable_during=unavailable(chaos) - before, acked_in_fault_from_earlier_calls=earlier
    )
    chaos.check(load.wait())


STORE_LINKS = {"tallies-redis": 0, "audit-ferretdb": 1}


@pytest.mark.parametrize("link", list(STORE_LINKS))
def test_partition_worker_to_its_store(chaos: Chaos, link: str) -> None:
    """Partition (timeout toxic both ways)."""
    chaos.row.fault += f" for {PARTITION_S:.0f} s"
    chaos.row.link = LINKS[link].title
    index = STORE_LINKS[link]
    load = chaos.load(flow_s=20)
    progress(chaos, 0.3)
    wait_for(lambda: counts(chaos.world)[index] > 0, 60, "the store to hold counted votes")
    with chaos.network.partition(link):
        time.sleep(SETTLE_INTO_FAULT_S)
        stalled = counts(chaos.world)[index]
        time.sleep(PARTITION_S - SETTLE_INTO_FAULT_S)
        assert counts(chaos.world)[index] == stalled, "the store was written across a partition"
    chaos.row.notes.update(counted_at_partition=stalled)
    chaos.check(load.wait())


def log_lag(world: Settings) -> int:
    """Messages in the log past the tallies' checkpoints, read directly (not through the
    workers, whose view of the log is what the fault cuts)."""
    consumer = replay_consumer(world.kafka_bootstrap, "lag", world.kafka_security)
    try:
        ends = end_offsets(consumer, world.topic)
    finally:
        consumer.close()
    with redis.Redis.from_url(world.redis_url, decode_responses=True) as client:
        stored = client.hgetall(tallies_key(CHECKPOINT, tag=world.tallies_tag))
    return sum(max(0, end - 1 - int(stored.get(str(p), -1))) for p, end in ends.items())


def test_asymmetric_producer_reaches_kafka_consumers_do_not(
    chaos: Chaos, tmp_path: pathlib.Path
) -> None:
    """Asymmetric: the command service reaches Kafka, the projection workers do not."""
    chaos.row.fault += f" (for {PARTITION_S:.0f} s)"
    chaos.row.link = LINKS["workers-kafka"].title
    queries = chaos.start_queries(tmp_path / "query-logs")
    base = f"http://{queries.settings.query_host}:{queries.settings.query_port}"
    load = chaos.load(flow_s=20)
    progress(chaos, 0.2)
    with httpx.Client(base_url=base, timeout=10) as http:

        def api_lag() -> int:
            view = http.get("/api/v1/results").json()
            assert view["lag_source"] == "log", view
            return int(view["lag"])

        with chaos.network.partition("workers-kafka"):
            time.sleep(SETTLE_INTO_FAULT_S)  # the workers apply what they had fetched
            stalled, lag_before, api_before = counts(chaos.world), log_lag(chaos.world), api_lag()
            acknowledged = load.acknowledged
            time.sleep(PARTITION_S - SETTLE_INTO_FAULT_S)
            assert counts(chaos.world) == stalled, "the tallies moved while cut off from the log"
            assert load.acknowledged > acknowledged, "the command service stopped acknowledging"
            lag_after, api_after = log_lag(chaos.world), api_lag()
            assert lag_after > lag_before, f"the lag did not rise: {lag_before} -> {lag_after}"
            # The API's lag is read from the log too: it rises while the workers are cut off.
            assert api_after > api_before, (
                f"the API's lag did not rise: {api_before} -> {api_after}"
            )
    chaos.row.notes.update(
        lag_at_start=lag_before,
        lag_at_heal=lag_after,
        api_lag_at_start=api_before,
        api_lag_at_heal=api_after,
    )
    chaos.check(load.wait())


@pytest.mark.parametrize("link", list(STORE_LINKS))
def test_connection_resets_mid_batch(chaos: Chaos, link: str) -> None:
    """Connection resets mid-batch (reset_peer on the answers), 5 times."""
    chaos.row.link = LINKS[link].title
    index = STORE_LINKS[link]
    worker = chaos.apps["tallies" if index == 0 else "audit"]
    resets_done = threading.Event()
    load = chaos.load(flow_s=20, until=resets_done)
    rng = random.Random(15)

    def retries(what: str) -> int:
        return worker.log_path.read_text().count(what)

    for _ in range(5):
        before = counts(chaos.world)[index]
        wait_for(lambda b=before: counts(chaos.world)[index] > b, 60, "a batch to be applied")
        time.sleep(rng.uniform(0.0, 0.3))
        struck = retries("retrying")
        # Held until a store call fails: pymongo retries a write once by itself, so a short
        # reset that its retry outlives never reaches the worker (the audit worker applies a
        # batch every 250 ms). The call struck may be the worker's check of its read model
        # between batches, which retries until the store answers again.
        with chaos.network.resets(link):
            time.sleep(0.5)
            wait_for(lambda s=struck: retries("retrying") > s, 30, "a reset to strike")
    resets_done.set()
    retried = retries("apply batch")
    assert retried > 0, "no reset struck while a batch was applied"
    chaos.row.notes.update(batches_retried=retried)
    chaos.check(load.wait())


LATENCY_LINKS = ("commands-kafka", "workers-kafka", "tallies-redis", "audit-ferretdb")


@pytest.mark.parametrize("link", LATENCY_LINKS)
def test_latency_on_a_link(chaos: Chaos, link: str) -> None:
    """Latency of 200 ms +- 50 ms each way, all along."""
    chaos.row.link = LINKS[link].title
    with CheckpointWatch(chaos.world) as watch, chaos.network.latency(link, ms=200, jitter_ms=50):
        ledger = chaos.load(flow_s=15).wait()
        wait_for(
            lambda: counts(chaos.world) == (len(ledger.acknowledged),) * 2,
            120,
            "every vote counted",
        )
    visible = [watch.visible_at(p, o) for _, p, o in ledger.acks]
    latencies = [
        (v - sent) / 1e6
        for v, (sent, _, _) in zip(visible, ledger.acks, strict=True)
        if v is not None
    ]
    p50, p99 = percentiles(latencies)
    chaos.row.notes.update(e2e_p50_ms=round(p50), e2e_p99_ms=round(p99))
    chaos.row.fault += f" (end to end p50 {p50:.0f} ms, p99 {p99:.0f} ms)"
    chaos.check(ledger)


class SseWatch(Watch):
    """An SSE client of ``/api/v1/results/stream`` that, like a browser's EventSource,
    reconnects by itself when its connection ends; it records each event's total."""

    def __init__(self, url: str) -> None:
        super().__init__("sse-watch", join_s=30)
        self.url = url
        self.totals: list[int] = []
        self.connections = 0

    def _run(self) -> None:
        while self.watching():
            self.connections += 1
            try:
                timeout = httpx.Timeout(5.0, read=20.0)  # a keep-alive comes every 15 s
                with httpx.stream("GET", self.url, timeout=timeout) as response:
                    for line in response.iter_lines():
                        if line.startswith("data:"):
                            self.totals.append(msgspec.json.decode(line[5:])["total"])
                        if not self.watching():
                            return
            except httpx.HTTPError:
                pass
            time.sleep(1.0)  # the stream's retry: 3 s; sooner is fine for a test

    def latest(self) -> int:
        return self.totals[-1] if self.totals else -1


QUERY_LINKS = {"queries-redis": ("redis", "mongo"), "queries-ferretdb": ("mongo", "redis")}
ANSWER_BOUND_S = 4.0  # the service's own bounds are 2 s (results, readiness probes)


@pytest.mark.parametrize("link", list(QUERY_LINKS))
def test_query_service_cut_off_from_a_store(
    chaos: Chaos, link: str, tmp_path: pathlib.Path
) -> None:
    """The query service cut off from a store (partition, timeout toxic both ways)."""
    chaos.row.fault += f" for {PARTITION_S:.0f} s"
    chaos.row.link = LINKS[link].title
    cut, other = QUERY_LINKS[link]
    queries = chaos.start_queries(tmp_path / "query-logs")
    base = f"http://{queries.settings.query_host}:{queries.settings.query_port}"
    healed = threading.Event()
    load = chaos.load(until=healed)
    progress(chaos, 0.2)
    answers: list[tuple[int, int, bool | None, float]] = []  # readyz, results, stale, s
    with (
        httpx.Client(base_url=base, timeout=30) as http,
        SseWatch(base + "/api/v1/results/stream") as sse,
    ):
        assert http.get("/readyz").status_code == 200
        assert http.get("/api/v1/results").status_code == 200  # a view to fall back on
        wait_for(lambda: sse.totals, 30, "a first SSE event")
        with chaos.network.partition(link):
            time.sleep(1.0)
            total_at_cut = sse.latest()
            deadline = time.monotonic() + PARTITION_S - 1.0
            while time.monotonic() < deadline:
                started = time.monotonic()
                ready = http.get("/readyz")
                middle = time.monotonic()
                results = http.get("/api/v1/results")
                took = max(middle - started, time.monotonic() - middle)
                stale = results.json().get("stale") if results.status_code == 200 else None
                answers.append((ready.status_code, results.status_code, stale, took))
                checks = ready.json()["checks"]
                assert ready.status_code == 503, ready.text
                assert checks[cut].startswith("unreachable"), checks
                assert checks[other] == "ok", checks
                assert results.status_code in (200, 503), results.text  # never a 500
                assert took < ANSWER_BOUND_S, f"an answer took {took:.1f} s"
                # Cut off from Redis: the last view, marked stale; from Mongo: fresh results.
                assert stale is (cut == "redis"), results.text
            if cut == "mongo":
                votes = http.get("/api/v1/votes", params={"limit": 5})
                assert votes.status_code in (200, 503), votes.text  # a cached page, or 503
        wait_for(lambda: http.get("/readyz").status_code == 200, 60, "readyz 200 after heal")
        wait_for(lambda: not http.get("/api/v1/results").json()["stale"], 30, "fresh results again")
        wait_for(lambda: sse.latest() > total_at_cut, 60, "an SSE event after the heal")
        healed.set()
        assert http.get("/api/v1/votes", params={"limit": 5}).status_code == 200
    chaos.row.notes.update(
        answers_during=len(answers),
        slowest_answer_s=round(max(a[3] for a in answers), 2),
        sse_connections=sse.connections,
    )
    chaos.check(load.wait())


def test_queries_cut_off_from_kafka(chaos: Chaos, tmp_path: pathlib.Path) -> None:
    """The query service cut off from Kafka (partition, timeout toxic both ways)."""
    chaos.row.fault += f" for {PARTITION_S:.0f} s"
    chaos.row.link = LINKS["queries-kafka"].title
    queries = chaos.start_queries(tmp_path / "query-logs")
    base = f"http://{queries.settings.query_host}:{queries.settings.query_port}"
    healed = threading.Event()
    load = chaos.load(until=healed)
    progress(chaos, 0.2)
    sources: list[str] = []
    with httpx.Client(base_url=base, timeout=30) as http:

        def lag_source() -> str:
            started = time.monotonic()
            results = http.get("/api/v1/results")
            took = time.monotonic() - started
            assert results.status_code == 200, results.text
            assert took < ANSWER_BOUND_S, f"an answer took {took:.1f} s"
            assert not results.json()["stale"], results.text
            sources.append(results.json()["lag_source"])
            return sources[-1]

        wait_for(lambda: lag_source() == "log", 30, "the lag read from the log")
        with chaos.network.partition("queries-kafka"):
            healed_at = time.monotonic() + PARTITION_S
            # Ends older than a few seconds are not used: the worker's lag, and it says so.
            wait_for(lambda: lag_source() == "worker", PARTITION_S - 2.0, "the worker's lag")
            while time.monotonic() < healed_at:
                assert lag_source() == "worker", "the log's ends were read across a partition"
                time.sleep(0.25)
        wait_for(lambda: lag_source() == "log", 30, "the lag read from the log after the heal")
    healed.set()
    chaos.row.notes.update(answers=len(sources), worker_lag_answers=sources.count("worker"))
    chaos.check(load.wait())


def true_lag(world: Settings, checkpoints: dict[str, int]) -> int:
    """Messages in the log now past ``checkpoints`` (read from the log directly)."""
    consumer = replay_consumer(world.kafka_bootstrap, "lag", world.kafka_security)
    try:
        ends = end_offsets(consumer, world.topic)
    finally:
        consumer.close()
    return sum(max(0, end - 1 - checkpoints.get(str(p), -1)) for p, end in ends.items())


SQUEEZE_KB_S = 20


def test_bandwidth_squeeze_on_the_consumers(chaos: Chaos, tmp_path: pathlib.Path) -> None:
    """Bandwidth squeeze on Kafka's answers to the projection workers.

    The lag grows, then drains, and the API and the webapp's badge report it truthfully."""
    chaos.row.fault += f" ({SQUEEZE_KB_S} KB/s)"
    chaos.row.link = LINKS["workers-kafka"].title
    queries = chaos.start_queries(tmp_path / "query-logs")
    base = f"http://{queries.settings.query_host}:{queries.settings.query_port}"
    reported: list[tuple[int, int]] = []  # (the API's lag, the log's lag past its checkpoints)
    sources: set[str] = set()
    badge_shown = ""
    with (
        httpx.Client(base_url=base, timeout=10) as http,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(base + "/")
        badge = page.get_by_test_id("lag-badge")
        expect(badge).to_contain_text("up to date", timeout=20_000)
        with chaos.network.bandwidth("workers-kafka", kb_s=SQUEEZE_KB_S):
            load = chaos.load(flow_s=15)
            while load.flowing():
                view = http.get("/api/v1/results").json()
                reported.append((view["lag"], true_lag(chaos.world, view["checkpoints"])))
                sources.add(view["lag_source"])
                if view["lag"] > 0 and not badge_shown:
                    # The webapp's badge shows the lag while it lasts (live over SSE).
                    expect(badge).to_contain_text("behind", timeout=10_000)
                    badge_shown = badge.inner_text()
                time.sleep(0.5)
            ledger = load.wait()
        overstated = [(api, log) for api, log in reported if not 0 <= api <= log]
        assert not overstated, f"the API's lag exceeds the log's: {overstated[:5]}"
        # The query service reaches Kafka directly: its lag is the log's, read at most a
        # few seconds before the sample's (never the worker's, which the squeeze holds at 0).
        assert sources == {"log"}, f"the lag was not read from the log: {sources}"

        def drained() -> bool:
            view = http.get("/api/v1/results").json()
            return bool(view["lag"] == 0 and view["total"] == len(ledger.acknowledged))

        wait_for(drained, 120, "the lag to drain to 0 with every vote counted")
        expect(badge).to_contain_text("up to date", timeout=20_000)
        browser.close()
    peak, peak_log = max(a for a, _ in reported), max(log for _, log in reported)
    chaos.row.notes.update(peak_api_lag=peak, peak_log_lag=peak_log, badge=badge_shown)
    chaos.check(ledger)
    assert peak_log > 0, "the squeeze never put the log ahead of the tallies"
    assert peak > 0, f"the API's lag stayed 0 while the log was up to {peak_log} ahead"
    assert badge_shown, "the webapp's badge never showed the lag"
