"""``boleta receipt check CODE|FILE``: prove, locally, that a vote is on the public board.

Input: a tracking code (64 hex digits), or a receipts file written by ``boleta cast
--receipts`` (JSON Lines; format in :mod:`boleta.cast_cli`). For each tracking code it asks
the query service for the code's tlog-proof (``GET /api/v1/receipts/{code}``) and checks,
itself, with the verifier key it is given:

1. the receipt (from a file): the service's signature, so the promise is the service's;
2. the proof's checkpoint: signed by the same key, for the log (origin) the receipt names;
3. the inclusion proof: the tracking code is the leaf at the proof's index of that
   checkpoint's tree (RFC 9162 2.1.3.2);
4. the entry the proof carries (its extra data) hashes to the tracking code, and is the one
   the receipt describes (offset, cast_at).

A code that is not on the board yet is a failure once its receipt's ``publish_by`` has
passed: the service broke its signed promise, and the receipt is the evidence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.markup import escape

from boleta.board_keys import SignatureError, open_note, verify_receipt, verify_receipts
from domain.board import (
    MalformedNote,
    ProofError,
    Receipt,
    UndecodableEntry,
    VerifierKey,
    decode_entry,
    leaf_hash,
    parse_checkpoint,
    parse_verifier_key,
    verify_inclusion,
)
from domain.board.proof import parse_tlog_proof

CODE = re.compile(r"[0-9a-fA-F]{64}")


class ReceiptCheckError(ValueError):
    """The input or the key cannot be used; the message says why."""


@dataclass(frozen=True)
class Claim:
    """One tracking code to prove, with the signed receipt it came with (if any)."""

    code: str
    receipt: Receipt | None = None
    vote_id: str = ""


@dataclass(frozen=True)
class Outcome:
    claim: Claim
    proved: bool
    message: str


def trusted_key(text: str) -> VerifierKey:
    try:
        return parse_verifier_key(text.strip())
    except MalformedNote as exc:
        raise ReceiptCheckError(f"--key: not a verifier key (name+id+base64): {exc}") from None


def claims_from(source: str, key: VerifierKey) -> list[Claim]:
    """The claims of a tracking code or a receipts file (each receipt's signature checked
    here: a receipt the key did not sign is refused)."""
    if CODE.fullmatch(source):
        return [Claim(source.lower())]
    path = Path(source)
    if not path.is_file():
        raise ReceiptCheckError(
            f"{source!r} is neither a tracking code (64 hex digits) nor a receipts file"
        )
    claims: list[Claim] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            claims += _line_claims(path, number, line, key)
    if not claims:
        raise ReceiptCheckError(f"{path}: no receipts in it")
    return claims


def _line_claims(path: Path, number: int, line: str, key: VerifierKey) -> list[Claim]:
    where = f"{path}:{number}"
    try:
        record = json.loads(line)
        note = record["receipt"]
        vote_ids = list(record.get("vote_ids") or [])
    except (ValueError, KeyError, TypeError):
        raise ReceiptCheckError(f"{where}: not a receipts line ({{receipt, vote_ids}})") from None
    try:
        receipts = (
            verify_receipts(note, key)
            if note.startswith("boleta receipts ")
            else (verify_receipt(note, key),)
        )
    except SignatureError as exc:
        raise ReceiptCheckError(f"{where}: the receipt is not signed by the key: {exc}") from None
    except MalformedNote as exc:
        raise ReceiptCheckError(f"{where}: a malformed receipt: {exc}") from None
    ids = vote_ids if len(vote_ids) == len(receipts) else [""] * len(receipts)
    return [Claim(r.tracking_code.hex(), r, v) for r, v in zip(receipts, ids, strict=True)]


def prove(
    claim: Claim,
    answer: Callable[[str], httpx.Response],
    key: VerifierKey,
    now: datetime,
) -> Outcome:
    """Check ``claim`` against the board's answer for its code (see the module's steps)."""
    response = answer(claim.code)
    if response.status_code == 404:
        if claim.receipt is not None and now > claim.receipt.publish_by:
            return Outcome(
                claim,
                False,
                f"NOT on the board, and the service promised it by "
                f"{claim.receipt.publish_by.isoformat()}: its signed receipt is the evidence",
            )
        promise = f"; promised by {claim.receipt.publish_by.isoformat()}" if claim.receipt else ""
        return Outcome(claim, False, f"not on the board yet{promise}: check again later")
    if response.status_code != 200:
        return Outcome(claim, False, f"the board answered {response.status_code}")
    try:
        return Outcome(claim, True, _check_proof(claim, response.json()["tlog_proof"], key))
    except (SignatureError, MalformedNote, ProofError, UndecodableEntry, KeyError) as exc:
        return Outcome(claim, False, f"the board's proof does not hold: {exc}")


def _check_proof(claim: Claim, text: str, key: VerifierKey) -> str:
    proof = parse_tlog_proof(text)
    checkpoint = parse_checkpoint(open_note(proof.checkpoint.encode(), key))
    code = bytes.fromhex(claim.code)
    verify_inclusion(code, proof.index, checkpoint.size, proof.hashes, checkpoint.root)
    if proof.extra is None or leaf_hash(proof.extra) != code:
        raise ProofError("the entry it carries does not hash to the tracking code")
    entry = decode_entry(proof.extra)
    receipt = claim.receipt
    if receipt is not None:
        if checkpoint.origin != receipt.origin:
            raise ProofError(f"the checkpoint is of {checkpoint.origin}, not {receipt.origin}")
        if (entry.offset, entry.cast_at) != (receipt.offset, receipt.cast_at):
            raise ProofError("the entry is not the one the receipt describes")
    return (
        f"in {checkpoint.origin} at index {proof.index} of the checkpoint of size "
        f"{checkpoint.size} signed by {key.name}: {entry.contest}, {entry.band} — "
        f"{entry.album} ({entry.year}), rank {entry.rank}, cast {entry.cast_at.isoformat()}"
    )


def check(
    source: str, base_url: str, key_text: str, now: datetime | None = None
) -> Iterator[Outcome]:
    key = trusted_key(key_text)
    claims = claims_from(source, key)
    moment = now or datetime.now(UTC)
    with httpx.Client(base_url=base_url, timeout=15) as http:
        for claim in claims:
            yield prove(claim, lambda code: http.get(f"/api/v1/receipts/{code}"), key, moment)


# -- the command ---------------------------------------------------------------------------
receipt = typer.Typer(help="A voter's receipts: check them against the public board.")


@receipt.command("check")
def check_command(
    source: Annotated[
        str, typer.Argument(help="A tracking code (64 hex digits), or a receipts file.")
    ],
    board: Annotated[
        str,
        typer.Option(help="The board's server (the query service), e.g. https://boleta.example"),
    ] = "",
    key: Annotated[
        str,
        typer.Option(
            help="The board's verifier key (name+id+base64), as published by the organiser. "
            "Without it, the key the server lists is used, which proves nothing against the "
            "server's operator."
        ),
    ] = "",
) -> None:
    """Prove that votes are on the public board: each receipt's signature, the board's
    signed checkpoint, and the inclusion of each tracking code in it; exit 1 unless every
    code is proved."""
    from boleta import settings as settings_mod

    out, err = Console(), Console(stderr=True)
    settings = settings_mod.load()
    base = board or f"http://{settings.query_host}:{settings.query_port}"
    try:
        if not key:
            key = httpx.get(f"{base}/board", timeout=15).json()["verifier_key"]
            err.print(
                "[yellow]warning:[/] no --key: using the key the board's own server lists "
                f"({escape(key)}); get the organiser's key another way to rule out the operator"
            )
        outcomes = list(check(source, base, key))
    except (ReceiptCheckError, httpx.HTTPError, ValueError, KeyError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    for outcome in outcomes:
        mark = "[green]✓[/]" if outcome.proved else "[red]✗[/]"
        name = f" (vote {outcome.claim.vote_id})" if outcome.claim.vote_id else ""
        out.print(f"{mark} {outcome.claim.code}{name}: {escape(outcome.message)}")
    proved = sum(o.proved for o in outcomes)
    out.print(f"{proved} of {len(outcomes)} tracking codes proved on the board")
    if proved != len(outcomes):
        raise typer.Exit(1)
