"""``boleta receipt check``'s judgement of the board's answer for a claim: a proof that holds
is proved; one that does not (another index, another entry, another checkpoint) is not; a
code missing from the board is "not yet" before its receipt's publish_by and a broken,
signed promise after it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boleta.board_keys import NoteSigner, generate_signer_key
from boleta.receipt_cli import Claim, claims_from, prove
from domain.board import (
    Checkpoint,
    Pseudonyms,
    TileState,
    append,
    board_entry,
    encode_entry,
    format_checkpoint,
    inclusion_proof,
    leaf_hash,
    node_reader,
    receipt_for,
    state_root,
)
from domain.board.proof import TLogProof, format_tlog_proof, parse_tlog_proof
from domain.votes import VoteCast

ORIGIN = "boleta.test/board/p1"
SIGNER = NoteSigner.from_text(generate_signer_key("boleta.test/board"))
KEY = SIGNER.verifier
START = datetime(2026, 12, 7, tzinfo=UTC)


def entries(n: int) -> list[bytes]:
    pseudonyms = Pseudonyms(b"k" * 32)
    rng = random.Random(n)
    return [
        encode_entry(
            board_entry(
                VoteCast(
                    event_id=f"e{i}",
                    vote_id=f"v{i}",
                    contest="main",
                    band=rng.choice(["Green Ridge", "Mayfield"]),
                    album="Noite",
                    year=2008,
                    rank=1 + i % 10,
                    cast_at=START + timedelta(milliseconds=i),
                ),
                10 + 2 * i,
                pseudonyms,
            )
        )
        for i in range(n)
    ]


def answer_for(items: list[bytes], at: int, **changes: Any) -> httpx.Response:
    state, _ = append(TileState(), items)
    leaves = [leaf_hash(e) for e in items]
    note = SIGNER.sign(format_checkpoint(Checkpoint(ORIGIN, state.size, state_root(state))))
    proof = TLogProof(
        at, tuple(inclusion_proof(at, len(items), node_reader(leaves))), note, items[at]
    )
    proof = msgspec.structs.replace(proof, **changes)
    return httpx.Response(200, json={"tlog_proof": format_tlog_proof(proof)})


def claim_of(entry: bytes, with_receipt: bool = True) -> Claim:
    from domain.board import decode_entry

    receipt = receipt_for(
        decode_entry(entry), origin=ORIGIN, partition=1, bound=timedelta(seconds=60)
    )
    return Claim(leaf_hash(entry).hex(), receipt if with_receipt else None)


@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, 600), data=st.data())
def test_a_proof_that_holds_is_proved(size: int, data: st.DataObject) -> None:
    items = entries(size)
    index = data.draw(st.integers(0, size - 1))
    outcome = prove(claim_of(items[index]), lambda _: answer_for(items, index), KEY, START)
    assert outcome.proved, outcome.message
    assert f"at index {index} of the checkpoint of size {size}" in outcome.message


@pytest.mark.parametrize(
    "tamper",
    ["another index", "another entry", "a dropped hash", "another key", "another log"],
)
def test_a_proof_that_does_not_hold_is_not_proved(tamper: str) -> None:
    items = entries(300)
    index = 137
    claim = claim_of(items[index])
    response = {
        "another index": lambda: answer_for(items, index, index=index + 1),
        "another entry": lambda: answer_for(items, index, extra=items[index + 1]),
        "a dropped hash": lambda: answer_for(
            items,
            index,
            hashes=parse_tlog_proof(answer_for(items, index).json()["tlog_proof"]).hashes[1:],
        ),
        "another key": lambda: answer_for(
            items,
            index,
            checkpoint=NoteSigner.from_text(generate_signer_key("boleta.test/board")).sign(
                parse_tlog_proof(answer_for(items, index).json()["tlog_proof"]).checkpoint.split(
                    "\n\n"
                )[0]
                + "\n"
            ),
        ),
        "another log": lambda: answer_for(
            items,
            index,
            checkpoint=SIGNER.sign(
                parse_tlog_proof(answer_for(items, index).json()["tlog_proof"])
                .checkpoint.split("\n\n")[0]
                .replace(ORIGIN, ORIGIN + "x")
                + "\n"
            ),
        ),
    }[tamper]()
    outcome = prove(claim, lambda _: response, KEY, START)
    assert not outcome.proved
    assert "does not hold" in outcome.message


def test_a_missing_code_is_not_yet_then_a_broken_promise() -> None:
    claim = claim_of(entries(1)[0])
    assert claim.receipt is not None
    missing = httpx.Response(404, json={"detail": "no board entry"})
    before = prove(claim, lambda _: missing, KEY, claim.receipt.publish_by)
    assert not before.proved
    assert "not on the board yet" in before.message
    after = prove(claim, lambda _: missing, KEY, claim.receipt.publish_by + timedelta(seconds=1))
    assert not after.proved
    assert "promised it by" in after.message
    assert "evidence" in after.message


def test_the_input_is_a_code_or_a_receipts_file(tmp_path: object) -> None:
    code = "AB" * 32
    assert claims_from(code, KEY) == [Claim(code.lower())]
    with pytest.raises(ValueError, match="neither a tracking code"):
        claims_from("ab" * 31, KEY)
