"""C2SP tlog-proof, as text (https://c2sp.org/tlog-proof): an offline-verifiable proof that
an entry is in a log, the form in which a voter gets the proof of their receipt.

    c2sp.org/tlog-proof@v1
    extra <base64 extra data>          (optional)
    index <decimal, no leading zeroes>
    <base64 hash>                      (the RFC 6962 inclusion proof, leaf's sibling first)
    ...
    <empty line>
    <the checkpoint, a signed note, verbatim>

Boleta's extra data is the entry itself (its canonical bytes, ADR 8): "additional data
necessary to reconstruct the record hash", so that the proof shows what is on the board
under the tracking code. It is not authenticated on its own: its leaf hash must be the
tracking code, and the tracking code the leaf the proof includes.
"""

from __future__ import annotations

import base64
import binascii
import re

import msgspec

from domain.board.merkle import HASH_SIZE
from domain.board.note import MalformedNote

HEADER = "c2sp.org/tlog-proof@v1"
_INDEX = re.compile(r"index (0|[1-9][0-9]{0,19})")
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


class TLogProof(msgspec.Struct, frozen=True, gc=False):
    index: int
    hashes: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None


def format_tlog_proof(proof: TLogProof) -> str:
    if proof.index < 0:
        raise ValueError("an index is never negative")
    if any(len(h) != HASH_SIZE for h in proof.hashes):
        raise ValueError(f"a proof's hashes are {HASH_SIZE} bytes")
    lines = [HEADER]
    if proof.extra is not None:
        lines.append(f"extra {base64.b64encode(proof.extra).decode()}")
    lines.append(f"index {proof.index}")
    lines += [base64.b64encode(h).decode() for h in proof.hashes]
    return "\n".join(lines) + "\n\n" + proof.checkpoint


def _b64(text: str, what: str) -> bytes:
    if not _B64.fullmatch(text):
        raise MalformedNote(f"{what} is not base64")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedNote(f"{what} is not base64") from None


def parse_tlog_proof(text: str) -> TLogProof:
    """A tlog-proof's parts; its checkpoint is returned as text, unchecked (the caller
    verifies its signature and the inclusion)."""
    head, sep, checkpoint = text.partition("\n\n")
    if not sep or not checkpoint:
        raise MalformedNote("a tlog-proof's checkpoint follows an empty line")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise MalformedNote(f"a tlog-proof starts with the line {HEADER}")
    rest = lines[1:]
    extra = None
    if rest and rest[0].startswith("extra "):
        extra = _b64(rest.pop(0).removeprefix("extra "), "the extra data")
    if not rest or not _INDEX.fullmatch(rest[0]):
        raise MalformedNote("a tlog-proof's index line is `index N`, N without leading zeroes")
    index = int(rest[0].removeprefix("index "))
    hashes = tuple(_b64(line, "a proof hash") for line in rest[1:])
    if any(len(h) != HASH_SIZE for h in hashes):
        raise MalformedNote(f"a proof hash is {HASH_SIZE} bytes")
    return TLogProof(index, hashes, checkpoint, extra)
