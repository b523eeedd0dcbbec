"""The benchmark's pure parts: targets marked met or not, and end-to-end latency matching."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from loadtest import e2e
from loadtest.bench import board_catch_up_batch, unary_figures
from loadtest.projection_bench import progress_rate
from loadtest.report import Figure, Measured, Results, markdown, value_text


def test_a_ratio_against_its_anchor_is_marked_met_or_not(tmp_path: Path) -> None:
    results = Results("quick", "boleta bench --quick")
    results.anchor("raw", "raw produce", 1000.0, "votes/s")
    met = results.against("fast", "fast", 600.0, "votes/s", "raw", 0.5)
    unmet = results.against("slow", "slow", 400.0, "votes/s", "raw", 0.5)
    assert (met.ratio, met.met) == (0.6, True)
    assert (unmet.ratio, unmet.met) == (0.4, False)
    results.memory({"commands": 150 * 2**20, "tallies": 250 * 2**20})
    assert results.figures["rss_commands"].met is True
    assert results.figures["rss_tallies"].met is False
    saved = json.loads(results.save(tmp_path).read_text())
    assert saved["figures"]["slow"]["detail"] == {"anchor": "raw"}
    assert saved["peak_rss_mb"] == {"commands": 150.0, "tallies": 250.0}
    assert saved["command"] == "boleta bench --quick"


def test_the_table_shows_every_figure() -> None:
    results = Results("default", "boleta bench")
    results.add("e2e", Figure("end to end", 42.0, "ms", "p99 <= 100 ms", 0.42, True))
    table = results.table()
    assert table.row_count == 1


class FakeWatch(e2e.CheckpointWatch):
    def __init__(self, changes: dict[int, tuple[list[int], list[int]]]) -> None:
        self.changes = changes


def test_a_vote_is_visible_from_the_first_checkpoint_at_or_past_its_offset(
    tmp_path: Path,
) -> None:
    ms = 1_000_000
    watch = FakeWatch({0: ([10 * ms, 20 * ms, 30 * ms], [4, 9, 15]), 1: ([25 * ms], [3])})
    assert watch.visible_at(0, 4) == 10 * ms
    assert watch.visible_at(0, 5) == 20 * ms
    assert watch.visible_at(0, 15) == 30 * ms
    assert watch.visible_at(0, 16) is None
    assert watch.visible_at(2, 0) is None
    acks = tmp_path / "acks.csv"
    acks.write_text(f"{5 * ms},{6 * ms},0,7\n{12 * ms},{13 * ms},1,3\n{14 * ms},{15 * ms},1,4\n")
    latencies, missing = e2e.latencies(acks, watch)
    assert latencies == [15.0, 13.0]
    assert missing == 1


def test_percentiles() -> None:
    p50, p99 = e2e.percentiles([float(i) for i in range(1, 101)])
    assert 50 <= p50 <= 51
    assert 99 <= p99 <= 100


def test_a_saved_run_renders_as_the_docs_markdown_table(tmp_path: Path) -> None:
    results = Results("full", "boleta bench --full")
    results.anchor("raw", "raw produce", 50_000.0, "votes/s")
    results.against("batch", "CastVotes", 20_000.0, "votes/s", "raw", 0.5,
                    server_cpu_us_per_vote=45.0)  # fmt: skip
    text = markdown(json.loads(results.save(tmp_path).read_text()))
    assert text.splitlines()[2] == "| raw produce | 50,000 votes/s | anchor |  |  |"
    assert text.splitlines()[3] == (
        "| CastVotes | 20,000 votes/s, server CPU 45 us/vote | >= 50% of anchor | 0.40 "
        "| **not met** |"
    )


def test_a_goal_above_the_minimum_is_shown_and_kept() -> None:
    results = Results("quick", "boleta bench --quick")
    results.anchor("raw", "raw produce", 1000.0, "votes/s")
    figure = results.against("batch", "CastVotes", 400.0, "votes/s", "raw", 0.35, goal=0.5)
    assert (figure.met, figure.target) == (True, ">= 35% of anchor (goal 50%)")
    assert figure.detail == {"anchor": "raw", "goal": 0.5, "goal_met": False}


def test_a_cost_is_met_up_to_its_ceiling() -> None:
    results = Results("quick", "boleta bench --quick")
    cheap = results.ceiling("a", "CPU per vote", 20.0, "us/vote", 20.0)
    dear = results.ceiling("b", "CPU per vote", 21.0, "us/vote", 20.0)
    assert (cheap.met, cheap.ratio, cheap.target) == (True, 1.0, "<= 20 us/vote")
    assert (dear.met, dear.ratio) == (False, 1.05)


def test_a_cost_against_an_anchor_is_met_up_to_its_multiple() -> None:
    results = Results("quick", "boleta bench --quick")
    within = results.within("rebuild", "rebuild", 3.0, "s", 2.0, 1.5, "raw consume")
    over = results.within("rebuild", "rebuild", 3.2, "s", 2.0, 1.5, "raw consume")
    assert (within.met, within.ratio, within.target) == (True, 1.5, "<= 1.5x raw consume")
    assert (over.met, over.ratio) == (False, 1.6)


def test_cpu_per_event_is_the_cpu_over_the_events() -> None:
    assert Measured(1000.0, 4000, 0.08).cpu_us_per_event == 20.0
    assert math.isnan(Measured(0.0, 0, 0.0).cpu_us_per_event)


def echo_anchor(results: Results, suffix: str = "") -> None:
    results.anchor(f"echo_unary{suffix}", "echo", 2000.0, "votes/s",
                   server_cpu_us_per_call=500.0, p50_ms=20.0, p99_ms=40.0)  # fmt: skip


def test_cast_vote_is_judged_against_the_echo_rate_and_cpu() -> None:
    results = Results("quick", "boleta bench --quick")
    echo_anchor(results)
    unary_figures(results, "", "CastVote", 1600.0, {"server_cpu_us_per_call": 640.0})
    rate, cpu = results.figures["ingest_unary"], results.figures["ingest_unary_cpu"]
    assert (rate.ratio, rate.met, rate.detail["anchor"]) == (0.8, True, "echo_unary")
    assert rate.target == ">= 75% of the echo"
    assert (cpu.value, cpu.ratio, cpu.met, cpu.unit) == (640.0, 1.28, True, "us/call")

    unary_figures(results, "", "CastVote", 1400.0, {"server_cpu_us_per_call": 700.0})
    rate, cpu = results.figures["ingest_unary"], results.figures["ingest_unary_cpu"]
    assert (rate.ratio, rate.met) == (0.7, False)
    assert (cpu.ratio, cpu.met) == (1.4, False)


def test_more_processes_are_context_against_their_own_echo() -> None:
    results = Results("quick", "boleta bench --quick")
    echo_anchor(results)
    unary_figures(results, "", "CastVote", 1600.0, {"server_cpu_us_per_call": 640.0})
    results.anchor("echo_unary_multi", "echo", 4000.0, "votes/s", server_cpu_us_per_call=400.0)
    unary_figures(results, "_multi", "CastVote", 2400.0, {"server_cpu_us_per_call": 600.0})
    multi = results.figures["ingest_unary_multi"]
    assert (multi.ratio, multi.met, multi.detail["anchor"]) == (0.6, None, "echo_unary_multi")
    assert (multi.detail["cpu_x_echo"], multi.detail["x_of_1_process"]) == (1.5, 1.5)


def test_the_table_text_shows_cpu_per_event_and_the_end_to_end_misses() -> None:
    anchor = Figure("raw consume", 50_000.0, "events/s", detail={"cpu_us_per_event": 12.4})
    assert value_text(anchor) == "50,000 events/s, CPU 12 us/event"
    cpu = Figure("CPU per event", 21.0, "us/event", detail={"anchor_cpu_us_per_event": 7.2})
    assert value_text(cpu) == "21.0 us/event (anchor 7 us/event)"
    e2e_figure = Figure("e2e", 250.0, "ms", detail={
        "offered_per_s": 1000.0, "acked_per_s": 700.0, "failed": 1234})  # fmt: skip
    assert value_text(e2e_figure) == ("250 ms (1,000/s offered, 700/s acknowledged, 1,234 failed)")


def test_the_boards_catch_up_spans_ten_of_its_batches_at_least() -> None:
    """The board worker's figures start at its first committed batch: with 10,000-event
    batches, --quick's 22k events would leave about one batch to measure."""
    assert board_catch_up_batch(10_000, 21_920) == 2_192
    assert board_catch_up_batch(10_000, 1_000_000) == 10_000
    assert board_catch_up_batch(10_000, 4_000) == 1_000


def test_a_window_reads_a_worker_that_works_a_batch_ahead_without_missing_that_batch() -> None:
    """A worker that has prepared one batch past what it committed, at every reading but
    the last: from its first progress to the end, that batch's CPU is missed; between two
    readings that both have it ahead, it cancels."""
    per_event_s, batch, count = 10e-6, 1_000, 10_000
    commits = iter(range(0, count + 1, batch // 2))
    done = 0

    def read() -> int:
        nonlocal done
        done = next(commits, count)
        return done

    def cpu() -> float:
        return per_event_s * (done + (batch if done < count else 0))

    whole = progress_rate(read, count, 10.0, cpu)
    commits, done = iter(range(0, count + 1, batch // 2)), 0
    windowed = progress_rate(read, count, 10.0, cpu, window=(0.2, 0.8))
    assert whole.cpu_us_per_event < 9.5
    assert windowed.cpu_us_per_event == pytest.approx(10.0)
    assert windowed.events == 6_000
