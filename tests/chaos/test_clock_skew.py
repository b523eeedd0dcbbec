"""Clock skew between command processes: two processes stamp cast_at, one clock shifted
by ``BOLETA_CLOCK_OFFSET_MS`` (a test-only setting), both casting into the same
partitions at once. Then, besides the usual exact checks, the audit API's pages are read
to the end: every vote exactly once, newest first up to the slack the settings promise
(``Settings.cast_order_slack_ms``), and ``since``/``until`` exactly the votes cast in the
window, at many windows across the flow.

Each test's docstring names its row in the table (test-artifacts/chaos.md).
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from boleta import services
from domain import vote_cast_codec
from tests.chaos.conftest import Chaos
from tests.chaos.load import Ledger, VoteLoad
from tests.chaos.stack import App
from tests.integration.http_helpers import serving
from tests.integration.kafka_helpers import read_all
from tests.unit.test_timeline_skew import max_inversion

pytestmark = pytest.mark.timeout(1200)

# The skewed process's own ports on the private stack (next to stack.PORTS).
SKEWED_PORTS = {"command_port": 25061, "command_metrics_port": 29111}
WINDOWS = 12  # since/until instants across the flow
PAGE = 200  # the API's largest page

SKEWS = {
    "ahead": ("Two command processes, one clock 10 s ahead (the promised bound)", 10_000),
    "behind": ("Two command processes, one clock 10 s behind (the promised bound)", -10_000),
    # Past the promise (and past the 21 s slack): every vote still once, newest first
    # within the real disorder, `until` exact; `since` is not promised and only noted.
    "beyond": ("Two command processes, one clock 30 s ahead (beyond the bound)", 30_000),
}


def skewed_commands(chaos: Chaos, offset_ms: int, logs: Path) -> App:
    """A second command service on the same topic whose clock is off by ``offset_ms``."""
    settings = chaos.world.replace(clock_offset_ms=offset_ms, **SKEWED_PORTS)
    service = next(s for s in services.app_services(settings) if s.name == "commands")
    logs.mkdir(parents=True, exist_ok=True)
    return App(service, settings, logs / "commands-skewed.log")


def merged(*ledgers: Ledger) -> Ledger:
    total = Ledger()
    for ledger in ledgers:
        total.sent |= ledger.sent
        total.acknowledged |= ledger.acknowledged
        total.rejected += ledger.rejected
        total.retried_codes += ledger.retried_codes
        total.resent += ledger.resent
        total.calls += ledger.calls
        total.acks += ledger.acks
    return total


def counted_cast_at(
    chaos: Chaos, ledger: Ledger, events: dict[str, list[str]] | None = None
) -> tuple[dict[str, datetime], list[float]]:
    """The cast_at of each counted vote (its first event in the log), and for every
    acknowledged event how far its cast_at is from the moment its call was sent (the
    harness's clock), in seconds. (The message's Kafka timestamp is its cast_at, so it
    cannot show the skew.) ``events``, when given, gets every event of each vote_id in
    log order, described, for a failure to show."""
    codec = vote_cast_codec()
    sent_at = {(p, o): ns / 1e9 for ns, p, o in ledger.acks}
    cast_at: dict[str, datetime] = {}
    shifts: list[float] = []
    messages = read_all(chaos.world, chaos.world.topic)
    for msg in sorted(messages, key=lambda m: (m.partition(), m.offset())):
        event = codec.decode(msg.value(), dict(cast("list[tuple[str, bytes]]", msg.headers())))
        cast_at.setdefault(event.vote_id, event.cast_at)
        if events is not None:
            events.setdefault(event.vote_id, []).append(
                f"p{msg.partition()}@{msg.offset()} {rfc3339(event.cast_at)} {event.event_id}"
            )
        sent = sent_at.get((msg.partition() or 0, msg.offset() or 0))
        if sent is not None:
            shifts.append(event.cast_at.timestamp() - sent)
    return cast_at, shifts


def read_pages(base: str, **params: str) -> list[dict[str, Any]]:
    votes: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(10_000):
        query = {**params, "limit": str(PAGE), **({"cursor": cursor} if cursor else {})}
        reply = httpx.get(f"{base}/api/v1/votes", params=query, timeout=30)
        assert reply.status_code == 200, reply.text
        page = reply.json()
        votes += page["votes"]
        cursor = page["next_cursor"]
        if cursor is None:
            return votes
    raise AssertionError("paging did not end")


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def check_pages(
    base: str,
    cast_at: dict[str, datetime],
    slack: timedelta,
    notes: dict[str, object],
    promised: bool,
    events: dict[str, list[str]],
) -> list[str]:
    """Failed checks of the audit API's pages. ``slack``: how far back in time a page may
    go; ``promised``: whether the clocks are within the bound, so ``since`` is exact;
    ``events``: each vote_id's events in the log, described (for the failures)."""
    failures: list[str] = []
    everything = read_pages(base)
    ids = [v["vote_id"] for v in everything]
    twice = [v for v, n in Counter(ids).items() if n > 1]
    if twice or set(ids) != set(cast_at):
        failures.append(
            f"unfiltered pages: {len(ids)} votes, {len(twice)} twice, "
            f"{len(set(cast_at) - set(ids))} missing, expected {len(cast_at)}"
        )
    inversion = max_inversion([datetime.fromisoformat(v["cast_at"]) for v in everything])
    notes["newest_first_within_s"] = round(inversion.total_seconds(), 3)
    if inversion > slack:
        failures.append(f"pages go back {inversion} in time, past the {slack} slack")
    first, last = min(cast_at.values()), max(cast_at.values())
    step = (last - first) / WINDOWS
    instants = [first + step * i for i in range(1, WINDOWS)]
    windows: list[tuple[datetime | None, datetime | None]] = [(s, None) for s in instants]
    windows += [(None, u) for u in instants]
    windows += [(instants[i], instants[i + 3]) for i in range(len(instants) - 3)]
    since_missed = 0
    for since, until in windows:
        params = {}
        if since is not None:
            params["since"] = rfc3339(since)
        if until is not None:
            params["until"] = rfc3339(until)
        expected = {
            v
            for v, at in cast_at.items()
            if (since is None or at >= since) and (until is None or at < until)
        }
        page = read_pages(base, **params)
        got = [v["vote_id"] for v in page]
        if not promised and since is not None and set(got) < expected:
            since_missed += 1  # beyond the bound `since` may stop early: noted, not failed
            continue
        if len(got) != len(set(got)) or set(got) != expected:
            shown = {v["vote_id"]: v for v in everything}
            odd = sorted(expected ^ set(got))[:3]
            failures.append(
                f"{params}: {len(got)} votes ({len(got) - len(set(got))} twice), "
                f"{len(expected - set(got))} missing, {len(set(got) - expected)} extra; e.g. "
                + "; ".join(
                    f"{v}: the API shows {shown.get(v, {}).get('cast_at')} "
                    f"({shown.get(v, {}).get('event_id')}), the log has {events.get(v)}"
                    for v in odd
                )
            )
    notes["windows_checked"] = len(windows)
    if not promised:
        notes["since_windows_missing_votes"] = since_missed
    return failures


@pytest.mark.parametrize("how", list(SKEWS))
def test_command_processes_with_skewed_clocks(chaos: Chaos, how: str, tmp_path: Path) -> None:
    """Two command processes with skewed clocks (the row says how far)."""
    chaos.row.fault, offset_ms = SKEWS[how]
    skewed = skewed_commands(chaos, offset_ms, tmp_path / "logs")
    skewed.start()
    try:
        half = chaos.votes // 2
        target = f"{skewed.settings.command_host}:{skewed.settings.command_port}"
        other = VoteLoad(target, chaos.votes - half, rate=(chaos.votes - half) / 15)
        chaos.loads.append(other.start())
        load = VoteLoad(chaos.target, half, rate=half / 15)
        chaos.loads.append(load.start())
        ledger = merged(load.wait(), other.wait())
        chaos.check(ledger)
    finally:
        skewed.stop()

    events: dict[str, list[str]] = {}
    cast_at, shifts = counted_cast_at(chaos, ledger, events)
    # The fault is in the log: votes stamped by either clock, on the same topic.
    ahead = [s for s in shifts if abs(s - offset_ms / 1000) < 2]
    on_time = [s for s in shifts if abs(s) < 2]
    chaos.row.notes["clock_shift_s"] = round(statistics.median(ahead or [0]), 3)
    failures = []
    if len(ahead) + len(on_time) != len(shifts) or not ahead or not on_time:
        failures.append(f"{len(ahead)} skewed and {len(on_time)} on-time of {len(shifts)} events")
    world = chaos.world
    promised = abs(offset_ms) <= world.clock_skew_max_ms
    slack = timedelta(milliseconds=world.cast_order_slack_ms)
    if not promised:  # newest first still within the real disorder
        slack += timedelta(milliseconds=abs(offset_ms) - world.clock_skew_max_ms)
    with serving(world) as base:
        failures += check_pages(base, cast_at, slack, chaos.row.notes, promised, events)
    if failures:
        chaos.row.result = "FAIL: " + "; ".join(failures)
    assert not failures, "\n".join(failures)
