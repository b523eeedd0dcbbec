"""Two contests at once, end to end on the real Kafka, Redis and FerretDB: tallies, the
audit log, the query API (contests list, per-contest results and SSE, the default
contest's results), ``boleta results --contest`` and ``boleta verify`` per contest."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis
from rich.console import Console

from boleta import ops
from boleta.serve_projections import Model
from boleta.settings import Settings
from domain import VoteCast
from domain.names import name_key
from domain.readmodel import BANDS, contest_key
from projections.redis_sink import RedisTallies
from tests.integration.http_helpers import serving
from tests.integration.kafka_helpers import free_port
from tests.integration.projection_helpers import make_events, produce, running_worker, wait_for

ALBUM, BAND, CLOSED = "best-album-2025", "best-band-ever", "old-poll"
NOW = datetime.now(UTC)


def catalog(path: Path, closed_at: datetime) -> Path:
    path.write_text(
        json.dumps(
            {
                "contests": [
                    {"slug": "main", "title": "Main"},
                    {
                        "slug": ALBUM,
                        "title": "Best album 2025",
                        "opens_at": (NOW - timedelta(days=1)).isoformat(),
                        "closes_at": (NOW + timedelta(days=1)).isoformat(),
                    },
                    {"slug": BAND, "title": "Best band ever"},
                    {"slug": CLOSED, "title": "Old poll", "closes_at": closed_at.isoformat()},
                    {
                        "slug": "next-year",
                        "title": "Next year",
                        "opens_at": (NOW + timedelta(days=300)).isoformat(),
                    },
                ]
            }
        )
    )
    return path


def first_per_contest(events: list[VoteCast]) -> dict[str, Counter[str]]:
    """Each contest's votes per band: the first event of each vote_id counts, in its own
    contest (a produce call keeps one vote_id's events in order: key = vote_id)."""
    first: dict[str, VoteCast] = {}
    for event in events:
        first.setdefault(event.vote_id, event)
    tallies: dict[str, Counter[str]] = {}
    for event in first.values():
        tallies.setdefault(event.contest, Counter())[event.band] += 1
    return tallies


def all_votes(base: str, params: dict[str, str]) -> list[dict]:
    found, cursor = [], None
    while True:
        query = {**params, "limit": "200", **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{base}/api/v1/votes", params=query).json()
        found += page["votes"]
        if (cursor := page["next_cursor"]) is None:
            return found


@pytest.fixture
def two_contests(isolated: Settings, tmp_path: Path) -> Iterator[tuple[Settings, str, list]]:
    events = make_events(120, duplicate_every=7, contests=(ALBUM, BAND, "main", CLOSED))
    closed_at = max(e.cast_at for e in events) + timedelta(milliseconds=1)
    settings = isolated.replace(
        query_port=free_port(),
        catalog_file=str(catalog(tmp_path / "catalog.json", closed_at)),
    )
    produce(settings, events)
    expected = first_per_contest(events)
    with (
        serving(settings) as base,
        running_worker(settings, Model.tallies),
        running_worker(settings, Model.audit),
    ):

        def counted() -> bool:
            listed = httpx.get(f"{base}/api/v1/contests").json()["contests"]
            return {c["id"]: c["total"] for c in listed if c["total"]} == {
                c: sum(t.values()) for c, t in expected.items()
            }

        wait_for(counted, 60, "every contest's tallies")
        distinct = len({e.vote_id for e in events})
        wait_for(lambda: len(all_votes(base, {})) == distinct, 60, "the audit log")
        yield settings, base, events


def test_each_contest_has_its_own_results(two_contests: tuple[Settings, str, list]) -> None:
    settings, base, events = two_contests
    expected = first_per_contest(events)
    listing = httpx.get(f"{base}/api/v1/contests").json()
    assert listing["default"] == "main"
    by_id = {c["id"]: c for c in listing["contests"]}
    assert list(by_id) == ["main", ALBUM, BAND, CLOSED, "next-year"]
    assert {c: v["status"] for c, v in by_id.items()} == {
        "main": "open",
        ALBUM: "open",
        BAND: "open",
        CLOSED: "closed",
        "next-year": "upcoming",
    }
    assert by_id[ALBUM]["title"] == "Best album 2025"
    assert datetime.fromisoformat(by_id[ALBUM]["closes_at"]) == NOW + timedelta(days=1)
    assert by_id["next-year"]["total"] == 0
    assert by_id[BAND]["opens_at"] is None

    for contest, bands in expected.items():
        body = httpx.get(f"{base}/api/v1/contests/{contest}/results").json()
        assert body["contest"] == contest
        assert body["status"] == by_id[contest]["status"]
        assert {b["band"]: b["votes"] for b in body["bands"]} == dict(bands)
        assert body["total"] == sum(bands.values())
    empty = httpx.get(f"{base}/api/v1/contests/next-year/results").json()
    assert (empty["total"], empty["bands"], empty["status"]) == (0, [], "upcoming")

    default = httpx.get(f"{base}/api/v1/results").json()
    main = httpx.get(f"{base}/api/v1/contests/main/results").json()
    assert (default["contest"], default["bands"]) == ("main", main["bands"])

    # boleta results --contest C
    data = ops.results(settings, ALBUM)
    # counted by key (ADR 7); every band here is spelled one way, so its name is that spelling
    assert (data["contest"], data["bands"]) == (
        ALBUM,
        {name_key(band): n for band, n in expected[ALBUM].items()},
    )
    assert set(data["names"].values()) >= set(expected[ALBUM])
    assert ops.results(settings)["contest"] == "main"


def test_unknown_or_malformed_contests_are_refused(
    two_contests: tuple[Settings, str, list],
) -> None:
    _, base, _ = two_contests
    for path in ("results", "results/stream"):
        missing = httpx.get(f"{base}/api/v1/contests/nope/{path}")
        assert missing.status_code == 404
        assert "nope" in missing.json()["detail"]
        for bad in ("Best_Album", "-x", "a" * 65, "%24ne"):
            assert httpx.get(f"{base}/api/v1/contests/{bad}/{path}").status_code == 400
    assert httpx.get(f"{base}/api/v1/contests/main/results?x=1").status_code == 400
    assert httpx.get(f"{base}/api/v1/contests?x=1").status_code == 400
    assert httpx.get(f"{base}/api/v1/votes", params={"contest": '{"$ne": null}'}).status_code == 400


def test_the_audit_log_filters_by_contest(two_contests: tuple[Settings, str, list]) -> None:
    _, base, events = two_contests
    expected = first_per_contest(events)
    for contest in (ALBUM, BAND):
        found = all_votes(base, {"contest": contest})
        assert {v["contest"] for v in found} == {contest}
        assert Counter(v["band"] for v in found) == expected[contest]


def test_verify_checks_each_contest(two_contests: tuple[Settings, str, list]) -> None:
    settings, _, _ = two_contests
    console = Console(quiet=True)
    report = ops.verify(settings, console, wait_s=30)
    assert report.ok, report.differences
    assert set(report.facts["contests"]) == {"main", ALBUM, BAND, CLOSED}

    client = redis.Redis.from_url(settings.redis_url)
    band = next(iter(client.hkeys(contest_key(ALBUM, BANDS, tag=settings.tallies_tag))))
    client.hincrby(contest_key(ALBUM, BANDS, tag=settings.tallies_tag), band, 1)
    broken = ops.verify(settings, console, wait_s=30)
    assert not broken.ok
    assert any(line.startswith(f"{ALBUM}: tallies band") for line in broken.differences)
    assert ops.verify(settings, console, wait_s=30, contest=BAND).ok
    assert not ops.verify(settings, console, wait_s=30, contest=ALBUM).ok


def test_a_contest_stream_follows_its_own_votes(
    two_contests: tuple[Settings, str, list],
) -> None:
    settings, base, events = two_contests
    before = sum(first_per_contest(events)[BAND].values())
    with httpx.stream("GET", f"{base}/api/v1/contests/{BAND}/results/stream", timeout=30) as sse:
        totals: list[int] = []
        deadline = time.monotonic() + 30
        for line in sse.iter_lines():
            if line.startswith("data:"):
                body = json.loads(line[5:])
                assert body["contest"] == BAND
                totals.append(body["total"])
                if totals == [before]:
                    produce(settings, make_events(4, contests=(BAND,)))
                if totals[-1] == before + 4:
                    break
            assert time.monotonic() < deadline, f"no change arrived; saw {totals}"
    assert totals[0] == before


def test_a_vote_cast_after_the_close_never_counts(isolated: Settings, tmp_path: Path) -> None:
    """Votes that reached the log with a cast_at at or after their contest's close (clock
    skew between command processes) are in neither read model, before or after a rebuild,
    and ``boleta verify`` agrees."""
    events = make_events(80, contests=(CLOSED, "main"))
    closed_at = sorted(e.cast_at for e in events if e.contest == CLOSED)[20]
    settings = isolated.replace(catalog_file=str(catalog(tmp_path / "c.json", closed_at)))
    produce(settings, events)
    counted = [e for e in events if e.contest != CLOSED or e.cast_at < closed_at]
    late = len(events) - len(counted)
    assert late == 20
    expected = first_per_contest(counted)
    model = RedisTallies(redis.Redis.from_url(settings.redis_url), tag=settings.tallies_tag)
    with running_worker(settings, Model.tallies), running_worker(settings, Model.audit):
        wait_for(lambda: model.snapshot()["checkpoints"] and model.snapshot()["total"] == 60, 60)
        report = ops.verify(settings, Console(quiet=True), wait_s=30)
        assert report.ok, report.differences
        assert report.facts["audit_documents"] == len(counted)
        ops.run_rebuild(settings, Model.tallies, Console(quiet=True))
        ops.run_rebuild(settings, Model.audit, Console(quiet=True))
    snapshot = model.snapshot()
    assert {c: t["bands"] for c, t in snapshot["contests"].items()} == {
        c: {name_key(band): n for band, n in b.items()} for c, b in expected.items()
    }
    assert sum(snapshot["checkpoints"].values()) + 3 == len(events), "late votes still move it"
    assert ops.verify(settings, Console(quiet=True), wait_s=30).ok
