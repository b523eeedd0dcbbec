"""The benchmark's pure parts: targets marked met or not, and end-to-end latency matching."""

from __future__ import annotations

import json
from pathlib import Path

from loadtest import e2e
from loadtest.report import Figure, Results, markdown


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
