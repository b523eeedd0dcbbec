"""In a real browser, the webapp's "Check your receipt" page: a vote cast through the real
command service, put on the board by the real board worker, is proved on the board by the
page itself (WebCrypto in Chromium: the checkpoint's Ed25519 signature, the inclusion
proof, the entry's hash), with the organiser's key and the vote's signed receipt; a changed
tracking code is not on the board; another key's signature does not verify."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Page, expect

from boleta.board_keys import NoteSigner, generate_signer_key
from boleta.board_secrets import board_signer, checkpoint_origin
from boleta.serve_projections import Model
from boleta.settings import Settings
from proto.boleta.v1 import voting_pb2
from tests.e2e.browser import cast, cast_one, chromium, running_stack, shot
from tests.integration.projection_helpers import running_worker, wait_for

pytestmark = pytest.mark.e2e
PARTITIONS = 3  # the isolated topic's


@dataclass(frozen=True)
class Cast:
    base: str
    key: str  # the board's verifier key, as the organiser publishes it
    key_name: str
    code: str  # the vote's tracking code, from CastVote's reply
    receipt_line: str  # the line `boleta cast --receipts` writes for it
    origin: str
    index: int
    publish_by: str


@pytest.fixture
def cast_vote(isolated: Settings) -> Iterator[Cast]:
    """A vote cast by CastVote (after a few others, so that its index is rarely 0), on the
    board once the board worker has signed a checkpoint that includes it."""
    with running_stack(isolated, partitions=PARTITIONS, board_metrics_port=0) as (settings, base):
        cast(settings, "Green Ridge", 7)
        reply = cast_one(
            settings,
            voting_pb2.Vote(
                vote_id=str(uuid.uuid4()),
                band="Sigur Rós",
                album="Ágætis byrjun",
                year="1999",
                rank="2",
            ),
        )
        assert reply.tracking_code, reply
        assert reply.receipt, reply
        answers: list[httpx.Response] = []

        def on_board() -> bool:
            answer = httpx.get(f"{base}/api/v1/receipts/{reply.tracking_code}", timeout=10)
            answers.append(answer)
            return answer.status_code == 200

        with running_worker(settings, Model.board):
            wait_for(on_board, 60, "the vote on the board")
            proof = answers[-1].json()
            assert proof["partition"] == reply.partition
            # A fresh topic without dead letters: a leaf's index is its message's offset.
            assert proof["index"] == reply.offset
            line = json.dumps({"receipt": reply.receipt, "vote_ids": [reply.vote_id]})
            publish_by = reply.receipt.split("\n")[6]
            signer = board_signer(settings)
            yield Cast(
                base,
                signer.verifier_key_text,
                signer.verifier.name,
                reply.tracking_code,
                line,
                checkpoint_origin(settings, reply.partition),
                reply.offset,
                publish_by,
            )


def open_page(page: Page, cast: Cast) -> None:
    page.goto(cast.base + "/#/")
    page.get_by_test_id("nav-receipt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your receipt")


def check(page: Page, code: str, key: str, receipt: str = "") -> None:
    """Fills the form by its labels and submits it from the keyboard."""
    page.get_by_role("textbox", name="Tracking code").fill(code)
    page.get_by_role("textbox", name="Board verifier key").fill(key)
    page.get_by_role("textbox", name="Your receipt (optional)").fill(receipt)
    page.get_by_role("textbox", name="Tracking code").press("Enter")


def test_the_page_proves_a_cast_vote_on_the_board(cast_vote: Cast) -> None:
    proved = (
        f"Your vote is on board log {cast_vote.origin} at index {cast_vote.index} of the "
        f"checkpoint of size "
    )
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 1000})
        open_page(page, cast_vote)
        check(page, cast_vote.code, cast_vote.key, cast_vote.receipt_line)
        verdict = page.get_by_test_id("receipt-verdict")
        expect(verdict).to_have_attribute("data-verdict", "proved", timeout=20_000)
        expect(verdict).to_contain_text(proved)
        expect(verdict).to_contain_text(f"signed by {cast_vote.key_name}.")
        expect(verdict).to_be_focused()
        steps = page.get_by_test_id("receipt-step")
        expect(steps).to_have_count(7)
        expect(page.locator('[data-testid="receipt-step"][data-ok="true"]')).to_have_count(7)
        entry = page.get_by_test_id("receipt-entry")
        expect(entry).to_contain_text("Sigur Rós")
        expect(entry).to_contain_text("Ágætis byrjun")
        expect(page.get_by_test_id("receipt-promise")).to_contain_text(cast_vote.publish_by)
        expect(page.get_by_test_id("receipt-key-warning")).to_have_count(0)
        shot(page, "receipt-proved")

        # Without a key, the server's own: proved, with the warning that it proves nothing
        # against the operator.
        check(page, cast_vote.code, "")
        expect(verdict).to_have_attribute("data-verdict", "proved", timeout=20_000)
        expect(page.get_by_test_id("receipt-key-warning")).to_contain_text(
            "proves nothing against the operator"
        )


def test_a_changed_code_is_not_on_the_board_and_another_key_does_not_verify(
    cast_vote: Cast,
) -> None:
    code = cast_vote.code
    changed = f"{int(code[0], 16) ^ 1:x}{code[1:]}"
    # Another key of the board's name: its key id differs, so it signed nothing here.
    other_key = NoteSigner.from_text(generate_signer_key(cast_vote.key_name)).verifier_key_text
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1000, "height": 1000})
        open_page(page, cast_vote)
        verdict = page.get_by_test_id("receipt-verdict")

        check(page, changed, cast_vote.key)
        expect(verdict).to_have_attribute("data-verdict", "not-yet", timeout=20_000)
        expect(verdict).to_contain_text("Not on the board (yet)")
        shot(page, "receipt-not-on-board")

        check(page, code, other_key)
        expect(verdict).to_have_attribute("data-verdict", "failed", timeout=20_000)
        expect(verdict).to_contain_text("The checkpoint's signature does not verify with this key")
        failed = page.locator('[data-testid="receipt-step"][data-ok="false"]')
        expect(failed).to_have_attribute("data-step", "checkpoint")
        expect(page.get_by_test_id("receipt-entry")).to_have_count(0)
        shot(page, "receipt-wrong-key")

        # The receipt signed by the board does not verify with another key either.
        check(page, code, other_key, cast_vote.receipt_line)
        expect(verdict).to_have_attribute("data-verdict", "failed", timeout=20_000)
        expect(verdict).to_contain_text("The receipt's signature does not verify with this key")
