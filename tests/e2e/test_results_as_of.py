"""In a real browser: the results page asks for a contest's results as of a moment typed in
the browser's local time (here Guatemala's, UTC-6), shows the API's answer for that moment
in UTC, goes back to live results, and shows each refusal (400, 404, 503) as a message."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Page, expect

from boleta.settings import Settings
from tests.e2e.browser import cast, chromium, shot
from tests.integration.http_helpers import serving
from tests.integration.kafka_helpers import free_port

pytestmark = pytest.mark.e2e
ZONE = "America/Guatemala"  # UTC-6, no daylight saving time


def local_input(moment: datetime) -> str:
    """A datetime-local input's value for ``moment`` in ZONE, as Chromium writes one (no
    seconds when they are 0)."""
    local = moment.astimezone(ZoneInfo(ZONE))
    return local.strftime("%Y-%m-%dT%H:%M" if local.second == 0 else "%Y-%m-%dT%H:%M:%S")


def local_text(moment: datetime) -> str:
    """``moment`` as the page writes it, in ZONE."""
    return moment.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M:%S")


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shown_bands(page: Page) -> dict[str, int]:
    rows = page.get_by_test_id("band-row")
    return {
        str(row.get_attribute("data-band")): int(
            row.get_by_test_id("band-votes").inner_text().replace(",", "")
        )
        for row in rows.all()
    }


def ask(page: Page, moment: str) -> None:
    page.get_by_test_id("as-of-input").fill(moment)
    page.get_by_test_id("as-of-submit").click()


def a_moment_between_two_batches(settings: Settings) -> datetime:
    """Casts 3 votes, then 2 more strictly after the moment returned (whole seconds, as the
    control takes them): as of it the first 3 count, live all 5."""
    cast(settings, "Bohemia Suburbana", 3)
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.3)
    cast(settings, "Alux Nahual", 2)
    return moment


def test_results_as_of_a_moment_are_the_apis_for_it_and_not_the_live_ones(
    stack: tuple[Settings, str],
) -> None:
    settings, base = stack
    moment = a_moment_between_two_batches(settings)
    asked = rfc3339(moment)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900}, timezone_id=ZONE)
        page.goto(base + "/#/?contest=main")
        expect(page.get_by_test_id("total")).to_have_text("5", timeout=20_000)
        expect(page.get_by_test_id("as-of-live")).to_have_count(0)

        ask(page, local_input(moment))
        # The local moment, in UTC, is in the address with the contest.
        expect(page).to_have_url(f"{base}/#/?contest=main&as_of={quote(asked, safe='')}")
        expect(page.get_by_test_id("total")).to_have_text("3", timeout=30_000)
        answer = httpx.get(
            f"{base}/api/v1/contests/main/results", params={"as_of": asked}, timeout=30
        ).json()
        assert answer["total"] == 3
        assert shown_bands(page) == {b["band"]: b["votes"] for b in answer["bands"]}
        assert shown_bands(page) == {"Bohemia Suburbana": 3}
        shown = page.get_by_test_id("as-of-shown")
        expect(shown).to_contain_text(local_text(moment))
        expect(shown).to_contain_text(asked)
        expect(page.get_by_test_id("as-of-badge")).to_have_text("not live")
        expect(page.get_by_test_id("live-status")).to_have_count(0)
        expect(page.get_by_test_id("as-of-input")).to_have_value(local_input(moment))
        shot(page, "results-as-of")

        # Back to live, by keyboard: the live total again, and the stream.
        page.get_by_test_id("as-of-live").focus()
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{base}/#/?contest=main")
        expect(page.get_by_test_id("total")).to_have_text("5", timeout=20_000)
        expect(page.get_by_test_id("live-status")).to_have_attribute("data-status", "live")
        expect(page.get_by_test_id("as-of-shown")).to_have_count(0)
        expect(page.get_by_test_id("as-of-input")).to_be_focused()


def test_refused_moments_are_shown_as_messages(stack: tuple[Settings, str]) -> None:
    _settings, base = stack
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900}, timezone_id=ZONE)
        page.goto(base + "/#/?contest=main")
        expect(page.get_by_test_id("results-empty")).to_be_visible(timeout=20_000)

        # 400: before the epoch in UTC (18:00Z on 1969-12-31), the field named.
        ask(page, "1969-12-31T12:00")
        error = page.get_by_test_id("as-of-error")
        expect(error).to_contain_text("The server refused the moment", timeout=20_000)
        expect(error).to_contain_text("as_of: '1969-12-31T18:00:00Z' is before 1970-01-01")
        expect(error).to_have_attribute("role", "alert")
        expect(page.get_by_role("heading", name="Results", exact=True)).to_be_visible()
        expect(page.get_by_test_id("total")).to_have_count(0)
        shot(page, "results-as-of-400")

        # 404: a moment that has not come yet.
        ask(page, local_input(datetime.now(UTC) + timedelta(days=2)))
        expect(error).to_contain_text("that moment has not come", timeout=20_000)
        expect(error).to_contain_text("is in the future")
        expect(page.get_by_test_id("as-of-retry")).to_have_count(0)


def test_a_log_that_cannot_be_read_is_shown_as_a_message(stack: tuple[Settings, str]) -> None:
    settings, _base = stack
    # A second query service whose Kafka does not answer: Redis and Mongo are there, the
    # log is not, so the live page works and results as of a moment are a 503.
    cut_off = settings.replace(kafka_bootstrap=f"127.0.0.1:{free_port()}", query_port=free_port())
    moment = rfc3339(datetime.now(UTC) - timedelta(minutes=1))
    with serving(cut_off) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900}, timezone_id=ZONE)
        page.goto(f"{base}/#/?contest=main&as_of={quote(moment, safe='')}")
        expect(page.get_by_test_id("results-loading")).to_be_visible()
        error = page.get_by_test_id("as-of-error")
        expect(error).to_contain_text("cannot be computed right now", timeout=60_000)
        expect(error).to_contain_text("could not be read")
        expect(page.get_by_test_id("as-of-retry")).to_be_visible()
        expect(page.get_by_test_id("as-of-live")).to_be_visible()
        shot(page, "results-as-of-503")
