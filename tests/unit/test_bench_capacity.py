"""End to end in the benchmark: the SLO counts failed calls, and the capacity search."""

from __future__ import annotations

from typing import Any

import pytest

from loadtest import e2e
from loadtest.bench import E2E_P99_MS

SUMMARY: dict[str, Any] = {
    "votes": 700, "failed": 300, "votes_per_s": 500.0, "p50_ms": 3.0, "p99_ms": 9.0,
    "behind_schedule": 0, "sent": 1000, "send_seconds": 1.0,
}  # fmt: skip


def steady(latencies: list[float], missing: int = 0, **summary: Any) -> e2e.SteadyRun:
    return e2e.steady_run(1000.0, 1.0, {**SUMMARY, **summary}, latencies, missing)


def test_offered_acknowledged_and_failed_are_reported_apart() -> None:
    run = steady([5.0, 6.0])
    assert (run.sent, run.offered_per_s) == (1000, 1000.0)
    assert (run.acked, run.acked_per_s, run.failed) == (700, 500.0, 300)


def test_a_failed_or_invisible_call_misses_the_slo_whatever_the_p99() -> None:
    fast = [5.0] * 100
    assert steady(fast, failed=0).meets(E2E_P99_MS)
    assert not steady(fast, failed=1).meets(E2E_P99_MS)
    assert not steady(fast, missing=1, failed=0).meets(E2E_P99_MS)
    assert not steady([5.0] * 98 + [150.0, 150.0], failed=0).meets(E2E_P99_MS)
    assert not steady([], failed=0, votes=0).meets(E2E_P99_MS)  # nothing came back


def test_the_search_grows_from_the_start_while_the_slo_is_met() -> None:
    assert e2e.next_rate([], 250.0, 7) == 250.0
    assert e2e.next_rate([(250.0, True)], 250.0, 7) == 500.0
    assert e2e.next_rate([(250.0, True), (500.0, True)], 250.0, 7) == 1000.0


def test_the_search_bisects_between_the_best_pass_and_the_first_miss_above_it() -> None:
    tried = [(250.0, True), (500.0, True), (1000.0, False)]
    assert e2e.next_rate(tried, 250.0, 7) == 750.0
    assert e2e.next_rate([*tried, (750.0, True)], 250.0, 7) == 875.0
    assert e2e.next_rate([*tried, (750.0, False)], 250.0, 7) == 625.0
    assert e2e.next_rate([(250.0, False)], 250.0, 7) == 125.0  # down when the start misses


def test_the_search_stops_within_the_resolution_or_after_the_last_step() -> None:
    close = [(250.0, True), (500.0, True), (1000.0, False), (950.0, True)]
    assert e2e.next_rate(close, 250.0, 7, resolution=0.1) is None  # 950..1000: within 10%
    assert e2e.next_rate(close[:3], 250.0, 3) is None
    assert e2e.next_rate([(1.0, True), (2.0, False)], 1.0, 7, resolution=0.0) is None


def test_the_capacity_is_the_best_pass_and_says_whether_a_miss_bounds_it() -> None:
    assert e2e.capacity([(250.0, True), (500.0, False), (375.0, True)]) == (375.0, True)
    assert e2e.capacity([(250.0, True), (500.0, True)]) == (500.0, False)
    assert e2e.capacity([(250.0, False)]) == (0.0, True)
    # a noisy miss below the best pass does not bound it
    assert e2e.capacity([(500.0, True), (250.0, False)]) == (500.0, False)


@pytest.mark.parametrize("failed", [0, 3])
def test_the_capacity_figure_lists_every_step(failed: int) -> None:
    fast = [5.0] * 100
    runs = [
        e2e.steady_run(250.0, 3.0, {**SUMMARY, "failed": 0}, fast, 0),
        e2e.steady_run(500.0, 3.0, {**SUMMARY, "failed": failed}, fast, 0),
    ]
    figure = e2e.capacity_figure(runs, E2E_P99_MS, 2)
    assert figure.value == (500.0 if failed == 0 else 250.0)
    assert [step["met"] for step in figure.detail["steps"]] == [True, failed == 0]
    assert figure.detail["bracketed"] is (failed > 0)
    assert figure.detail["command_processes"] == 2
