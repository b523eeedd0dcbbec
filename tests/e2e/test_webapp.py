"""In a real browser: votes cast over gRPC show up on the results page without a reload,
and the audit log page lists and filters them. Screenshots go to test-artifacts/."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import msgspec
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from boleta import serve_commands
from boleta.serve_projections import Model
from boleta.settings import REPO_ROOT, Settings
from proto.boleta.v1 import voting_pb2, voting_pb2_grpc
from tests.integration.http_helpers import serving
from tests.integration.kafka_helpers import free_port
from tests.integration.projection_helpers import running_worker

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class CommandService:
    """The gRPC command service on its own event loop in a thread."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, args=(settings,), daemon=True)

    def _run(self, settings: Settings) -> None:
        asyncio.set_event_loop(self.loop)
        self.stop = asyncio.Event()
        self.loop.run_until_complete(serve_commands.serve(settings, self.stop))

    def close(self) -> None:
        if self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)


@pytest.fixture
def stack(isolated: Settings) -> Iterator[tuple[Settings, str]]:
    with running_stack(isolated) as running:
        yield running


@contextmanager
def running_stack(isolated: Settings, **changes: str) -> Iterator[tuple[Settings, str]]:
    assert (REPO_ROOT / "webapp" / "dist" / "index.html").exists(), "run `make webapp` first"
    settings = isolated.replace(command_port=free_port(), query_port=free_port(), **changes)
    commands = CommandService(settings)
    commands.thread.start()
    try:
        with (
            running_worker(settings, Model.tallies),
            running_worker(settings, Model.audit),
            serving(settings) as base,
        ):
            yield settings, base
    finally:
        commands.close()


def cast(settings: Settings, band: str, count: int, contest: str = "") -> None:
    votes = [
        voting_pb2.Vote(
            vote_id=str(uuid.uuid4()),
            contest=contest,
            band=band,
            album="En vivo",
            year="2001",
            rank=f"{i % 9 + 1}",
        )
        for i in range(count)
    ]
    with grpc.insecure_channel(f"127.0.0.1:{settings.command_port}") as channel:
        reply = voting_pb2_grpc.VotingServiceStub(channel).CastVotes(
            voting_pb2.CastVotesRequest(votes=votes), timeout=30
        )
    assert all(r.HasField("accepted") for r in reply.results)


def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_results_update_live_and_the_log_filters(stack: tuple[Settings, str]) -> None:
    settings, base = stack
    cast(settings, "Bohemia Suburbana", 3)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(base + "/")
        expect(page.get_by_test_id("total")).to_contain_text("3", timeout=20_000)
        expect(page.get_by_test_id("band-row")).to_have_count(1)

        # New votes arrive over SSE: no reload.
        cast(settings, "Alux Nahual", 5)
        expect(page.get_by_test_id("total")).to_contain_text("8", timeout=20_000)
        expect(page.get_by_test_id("band-row").first).to_contain_text("Alux Nahual")
        expect(page.get_by_test_id("band-row")).to_have_count(2)
        shot(page, "results")

        page.get_by_test_id("nav-log").click()
        expect(page.get_by_test_id("vote-row")).to_have_count(8, timeout=20_000)
        page.get_by_test_id("filter-band").fill("Bohemia Suburbana")
        page.get_by_test_id("filter-submit").click()
        expect(page.get_by_test_id("vote-row")).to_have_count(3, timeout=20_000)
        for row in page.get_by_test_id("vote-row").all():
            expect(row).to_contain_text("Bohemia Suburbana")
        shot(page, "log")
        browser.close()


def test_two_contests_side_by_side_and_a_closed_one_is_final(
    isolated: Settings, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    catalog = {
        "contests": [
            {"slug": "main", "title": "Main"},
            {"slug": "best-album-2025", "title": "Best album 2025"},
            {"slug": "best-band-ever", "title": "Best band ever"},
            {"slug": "old-poll", "title": "Old poll", "closes_at": now - timedelta(days=1)},
        ]
    }
    path = tmp_path / "catalog.json"
    path.write_bytes(msgspec.json.encode(catalog))
    with running_stack(isolated, catalog_file=str(path)) as (settings, base):
        cast(settings, "Bohemia Suburbana", 2, contest="best-album-2025")
        cast(settings, "Alux Nahual", 4, contest="best-band-ever")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(base + "/")
            picker = page.get_by_test_id("contest-picker")
            expect(picker).to_have_value("main", timeout=20_000)
            expect(page.get_by_test_id("results-empty")).to_be_visible(timeout=20_000)

            picker.select_option("best-album-2025")
            expect(page).to_have_url(f"{base}/#/?contest=best-album-2025")
            expect(page.get_by_test_id("contest-title")).to_have_text("Best album 2025")
            expect(page.get_by_test_id("total")).to_have_text("2", timeout=20_000)
            expect(page.get_by_test_id("band-row")).to_have_count(1)
            expect(page.get_by_test_id("band-row").first).to_contain_text("Bohemia Suburbana")

            page.get_by_test_id("contest-picker").select_option("best-band-ever")
            expect(page.get_by_test_id("total")).to_have_text("4", timeout=20_000)
            expect(page.get_by_test_id("band-row").first).to_contain_text("Alux Nahual")
            # Votes arrive in the contest shown, live, and only there.
            cast(settings, "Alux Nahual", 1, contest="best-band-ever")
            cast(settings, "Bohemia Suburbana", 1, contest="best-album-2025")
            expect(page.get_by_test_id("total")).to_have_text("5", timeout=20_000)
            expect(page.get_by_test_id("results-final")).to_have_count(0)
            shot(page, "results-contest")

            page.get_by_test_id("contest-picker").select_option("old-poll")
            expect(page.get_by_test_id("results-final")).to_contain_text(
                "These results are final.", timeout=20_000
            )
            expect(page.get_by_test_id("contest-picker")).to_contain_text("Old poll (closed)")
            shot(page, "results-closed")

            page.goto(base + "/#/?contest=best-album-2025")
            expect(page.get_by_test_id("total")).to_have_text("3", timeout=20_000)

            # The audit log of one contest.
            page.get_by_test_id("nav-log").click()
            expect(page.get_by_test_id("vote-row")).to_have_count(8, timeout=20_000)
            page.get_by_test_id("filter-contest").fill("best-band-ever")
            page.get_by_test_id("filter-submit").click()
            expect(page.get_by_test_id("vote-row")).to_have_count(5, timeout=20_000)
            for row in page.get_by_test_id("vote-row").all():
                expect(row).to_contain_text("Alux Nahual")
            browser.close()
