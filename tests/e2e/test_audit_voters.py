"""In a real browser, the audit log of a one-vote-per-voter contest: a voter's later vote is
marked superseded and not counted, naming the counted one; voters appear only as their
pseudonyms, and no voter id is anywhere in the rendered page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import pytest
from playwright.sync_api import Locator, Page, expect

from boleta.settings import Settings
from proto.boleta.v1 import voting_pb2
from tests.e2e.browser import cast_votes, chromium, running_stack, shot
from tests.integration.projection_helpers import wait_for

pytestmark = pytest.mark.e2e
CATALOG = {"contests": [{"slug": "jury", "title": "Jury", "one_vote_per_voter": True}]}
PSEUDONYM = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Jury:
    base: str
    ana: str  # voter ids
    bob: str
    first: str  # ana's counted vote
    later: str  # ana's later vote: superseded by ``first``
    other: str  # bob's vote


def ballot(vote_id: str, voter: str, band: str) -> voting_pb2.Vote:
    return voting_pb2.Vote(
        vote_id=vote_id,
        contest="jury",
        voter_id=voter,
        band=band,
        album="Imbituva",
        year="2008",
        rank="1",
    )


@pytest.fixture
def jury(isolated: Settings, tmp_path: Path) -> Iterator[Jury]:
    """A jury where ana votes twice in one request (both accepted, the first in the log
    counted) and bob once."""
    path = tmp_path / "catalog.json"
    path.write_bytes(msgspec.json.encode(CATALOG))
    tag = uuid.uuid4().hex[:10]
    ana, bob = f"ana.{tag}@example.org", f"bob.{tag}@example.org"
    first, later, other = (str(uuid.uuid4()) for _ in range(3))
    with running_stack(isolated, catalog_file=str(path)) as (settings, base):
        cast_votes(
            settings,
            [ballot(first, ana, "Mayfield"), ballot(later, ana, "Green Ridge")],
        )
        cast_votes(settings, [ballot(other, bob, "Green Ridge")])
        yield Jury(base, ana, bob, first, later, other)


def row(page: Page, vote_id: str) -> Locator:
    return page.locator(f'[data-testid="vote-row"][data-vote-id="{vote_id}"]')


def assert_no_voter_id(page: Page, jury: Jury) -> None:
    """The rendered document, markup and attributes included, names neither voter."""
    html = page.content()
    for voter in (jury.ana, jury.bob):
        assert voter not in html
        assert voter.split("@")[0] not in html


def test_a_superseded_vote_is_marked_and_no_voter_id_is_shown(jury: Jury) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(jury.base + "/#/log?contest=jury")
        expect(page.get_by_test_id("vote-row")).to_have_count(3, timeout=20_000)
        later = row(page, jury.later)
        mark = later.get_by_test_id("superseded")
        expect(mark).to_contain_text("superseded — not counted", timeout=20_000)
        counted = mark.get_by_test_id("counted-vote")
        expect(counted).to_have_attribute("title", jury.first)
        expect(counted).to_have_text(jury.first[:8] + "…")
        for vote_id in (jury.first, jury.other):
            expect(row(page, vote_id).get_by_test_id("superseded")).to_have_count(0)
        assert_no_voter_id(page, jury)
        shot(page, "log-superseded")

        # The later vote's detail says so, and leads to the counted vote, by keyboard.
        later.get_by_role("button", name=f"Show vote {jury.later}").click()
        detail = page.get_by_test_id("vote-detail")
        expect(detail).to_contain_text(jury.later, timeout=20_000)
        expect(detail.get_by_test_id("superseded")).to_contain_text("superseded — not counted")
        assert_no_voter_id(page, jury)
        detail.get_by_test_id("counted-vote").focus()
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(f"vote={jury.first}"))
        expect(detail).to_contain_text(jury.first, timeout=20_000)
        expect(detail.get_by_test_id("superseded")).to_have_count(0)
        assert_no_voter_id(page, jury)


def the_audit_log(jury: Jury) -> httpx.Response:
    """The public audit API's page of the jury, once it lists the three votes."""
    answers: list[httpx.Response] = []

    def listed() -> bool:
        answer = httpx.get(f"{jury.base}/api/v1/votes", params={"contest": "jury"}, timeout=30)
        answers.append(answer)
        return len(answer.json()["votes"]) == 3

    wait_for(listed, 30, "the audit log of the jury")
    return answers[-1]


def test_voters_are_shown_by_their_pseudonym_only(jury: Jury) -> None:
    answer = the_audit_log(jury)
    voters = {v["vote_id"]: v.get("voter") for v in answer.json()["votes"]}
    assert "voter_id" not in answer.text, "the public audit API still sends voter_id"
    assert all(isinstance(p, str) and PSEUDONYM.fullmatch(p) for p in voters.values()), voters
    assert voters[jury.first] == voters[jury.later] != voters[jury.other]

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(jury.base + "/#/log?contest=jury")
        expect(page.get_by_test_id("vote-row")).to_have_count(3, timeout=20_000)
        expect(page.get_by_role("columnheader", name="Voter (pseudonym)")).to_be_visible()
        for vote_id, pseudonym in voters.items():
            shown = row(page, vote_id).get_by_test_id("voter")
            expect(shown).to_have_text(pseudonym[:8] + "…")
            expect(shown).to_have_attribute("title", pseudonym)
        assert_no_voter_id(page, jury)
        shot(page, "log-voters")

        row(page, jury.other).get_by_role("button", name=f"Show vote {jury.other}").click()
        detail = page.get_by_test_id("vote-detail")
        expect(detail.get_by_test_id("voter")).to_have_text(voters[jury.other], timeout=20_000)
        expect(detail).to_contain_text("Voter (pseudonym)")
        assert_no_voter_id(page, jury)
