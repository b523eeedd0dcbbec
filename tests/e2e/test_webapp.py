"""In a real browser: votes cast over gRPC show up on the results page without a reload,
and the audit log page lists and filters them. Screenshots go to test-artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from playwright.sync_api import expect

from boleta.settings import Settings
from tests.e2e.browser import cast, chromium, running_stack, shot

pytestmark = pytest.mark.e2e


def test_results_update_live_and_the_log_filters(stack: tuple[Settings, str]) -> None:
    settings, base = stack
    cast(settings, "Bohemia Suburbana", 3)
    with chromium() as browser:
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
        with chromium() as browser:
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
