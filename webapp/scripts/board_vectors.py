"""Writes webapp/src/test/board-vectors.json: test vectors for the receipt page's checks,
made by the Python reference (domain.board, boleta.board_keys, boleta.receipt_cli), so the
browser's verifier is tested against what the service serves and what `boleta receipt
check` decides.

    uv run --frozen python webapp/scripts/board_vectors.py

Ed25519 signatures are deterministic and the keys are fixed here, so the file comes out
byte for byte the same on every run: rerun it after a format change and commit the result.
The keys are test keys (their seeds are below): never a board's.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from boleta.board_keys import (
    NoteSigner,
    sign_receipt,
    sign_receipts,
    verify_receipt,
    verify_receipts,
)
from boleta.receipt_cli import Claim, prove
from domain.board import (
    BoardEntry,
    Checkpoint,
    Pseudonyms,
    encode_entry,
    format_checkpoint,
    format_signed_note,
    inclusion_proof,
    leaf_hash,
    node_reader,
    parse_signed_note,
    parse_verifier_key,
    receipt_for,
    root,
)
from domain.board.proof import TLogProof, format_tlog_proof, parse_tlog_proof

OUT = Path(__file__).resolve().parents[1] / "src" / "test" / "board-vectors.json"
NAME = "boleta.test/board"
PARTITION = 2
ORIGIN = f"{NAME}/p{PARTITION}"
BOUND = timedelta(seconds=60)
# Moments well in the past, so a receipt's publish_by has passed whenever the tests run.
START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
CHOICES = [
    ("main", "Green Ridge", "Imbituva", 2008, 7),
    ("main", "Björk", "Homogenic", 1997, 1),
    ("main", "Sigur Rós", "Ágætis byrjun", 1999, 2),
    ("jury", "Os Mutantes", 'O "A" e o Z', 1973, 3),
    ("jury", "Mayfield", "Back\\slash", 2001, 4),
    ("jury", "Portishead", "Dummy", 1994, 5),
    ("main", "Radiohead", "Kid A", 2000, 6),
    ("main", "Café Tacvba", "Re", 1994, 8),
    ("main", "Soda Stereo", "Canción Animal", 1990, 9),
    ("main", "Caifanes", "El Silencio", 1992, 1),
    ("main", "Aterciopelados", "La Pipa de la Paz", 1996, 2),
    ("main", "Los Prisioneros", "Pateando piedras", 1986, 3),
    ("main", "Illya Kuryaki", "Chaco", 1995, 4),
]
SIZE = len(CHOICES)
BATCH = (3, 4, 5)  # one CastVotes call: one cast_at, one batch receipt


def signer(name: str, seed: int) -> NoteSigner:
    return NoteSigner(name, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


BOARD = signer(NAME, 1)
OTHER = signer("boleta.test/other", 2)
IMPOSTOR = signer(NAME, 3)  # the board's name, another key (hence another key id)


def entries() -> list[BoardEntry]:
    pseudonyms = Pseudonyms(b"board-vectors secret, a test one")
    made = []
    for i, (contest, band, album, year, rank) in enumerate(CHOICES):
        at = (BATCH[0], 345) if i in BATCH else (i, 0 if i % 4 == 0 else 7 * i)
        cast_at = START + timedelta(seconds=at[0], milliseconds=at[1])
        made.append(
            BoardEntry(
                contest=contest,
                band=band,
                album=album,
                year=year,
                rank=rank,
                cast_at=cast_at,
                offset=10 + 2 * i,  # a dead letter or another gap: offsets are not indexes
                one_vote_per_voter=contest == "jury",
                vote=pseudonyms.vote(f"vote-{i}"),
                voter=pseudonyms.voter(contest, f"voter-{i}") if contest == "jury" else "",
            )
        )
    return made


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def answer(code: str, index: int, entry: bytes, proof: str) -> dict[str, Any]:
    """The body of GET /api/v1/receipts/{code} (queries.receipts_api.ReceiptProof)."""
    return {
        "tracking_code": code,
        "partition": PARTITION,
        "index": index,
        "origin": ORIGIN,
        "checkpoint_size": SIZE,
        "entry": entry.decode(),
        "tlog_proof": proof,
    }


def python_verdict(
    code: str, body: dict[str, Any], key: NoteSigner, receipt: Any = None
) -> dict[str, Any]:
    """What `boleta receipt check` decides for this answer."""
    outcome = prove(
        Claim(code, receipt),
        lambda _: httpx.Response(200, json=body),
        parse_verifier_key(key.verifier_key_text),
        datetime.now(UTC),
    )
    return {"proved": outcome.proved, "message": outcome.message}


def with_line(text: str, old: str, new: str) -> str:
    assert old in text, (old, text)
    return text.replace(old, new, 1)


def flip(data: bytes) -> bytes:
    return bytes([data[0] ^ 1]) + data[1:]


def proof_cases(encoded: list[bytes], checkpoint: str) -> list[dict[str, Any]]:
    """Answers of the receipts API, good and tampered with; ``fails`` names the check of the
    receipt page that must fail (src/lib/board/check.ts's steps), ``python`` is what the
    Python check (``boleta.receipt_cli.prove``) decided."""
    leaves = [leaf_hash(e) for e in encoded]
    read = node_reader(leaves)

    def proof_of(index: int, note: str = checkpoint, extra: bytes | None = None) -> str:
        hashes = tuple(inclusion_proof(index, SIZE, read))
        return format_tlog_proof(
            TLogProof(index, hashes, note, encoded[index] if extra is None else extra)
        )

    cases: list[dict[str, Any]] = []

    def case(
        name: str, index: int, proof: str, key: NoteSigner = BOARD, code: str = "", fails: str = ""
    ) -> None:
        code = code or leaves[index].hex()
        body = answer(code, index, encoded[index], proof)
        verdict = python_verdict(code, body, key)
        assert verdict["proved"] == (not fails), (name, verdict)
        cases.append(
            {
                "name": name,
                "code": code,
                "key": key.verifier_key_text,
                "answer": body,
                "fails": fails or None,
                "python": verdict,
            }
        )

    for index in (0, 5, 8, SIZE - 1):
        case(f"leaf {index} of {SIZE}", index, proof_of(index))
    text = parse_signed_note(checkpoint.encode()).text
    ours = parse_signed_note(checkpoint.encode()).signatures
    theirs = parse_signed_note(OTHER.sign(text).encode()).signatures
    cosigned = format_signed_note(text, (*theirs, *ours))
    case("cosigned by another key, which is ignored", 6, proof_of(6, cosigned))

    good = proof_of(5)
    case("another index", 5, with_line(good, "\nindex 5\n", "\nindex 4\n"), fails="inclusion")
    parsed = parse_tlog_proof(good)
    changed = (parsed.hashes[0], flip(parsed.hashes[0]))
    case(
        "a changed proof hash",
        5,
        with_line(good, b64(changed[0]), b64(changed[1])),
        fails="inclusion",
    )
    case(
        "a hash left out", 5, with_line(good, "\n" + b64(parsed.hashes[-1]), ""), fails="inclusion"
    )
    case("another code", 5, good, code=leaves[6].hex(), fails="inclusion")
    case("another key", 5, good, key=OTHER, fails="checkpoint")
    case("the board's name, another key", 5, good, key=IMPOSTOR, fails="checkpoint")
    lines = text.split("\n")
    forged_root = with_line(checkpoint, lines[2], b64(flip(base64.b64decode(lines[2]))))
    case("a changed root under the signature", 5, proof_of(5, forged_root), fails="checkpoint")
    forged_size = with_line(checkpoint, f"\n{SIZE}\n", f"\n{SIZE + 1}\n")
    case("a changed size under the signature", 5, proof_of(5, forged_size), fails="checkpoint")
    other_entry = encoded[5].replace(b'"Portishead"', b'"Portishead!"')
    case("a changed entry", 5, proof_of(5, extra=other_entry), fails="entry")
    case(
        "a proof whose header is wrong",
        5,
        with_line(good, "tlog-proof@v1", "tlog-proof@v2"),
        fails="board",
    )
    case(
        "a proof without its entry",
        5,
        with_line(good, "\nextra " + b64(encoded[5]), ""),
        fails="entry",
    )
    return cases


def receipt_cases(items: list[BoardEntry], encoded: list[bytes], checkpoint: str) -> dict[str, Any]:
    receipts = [receipt_for(e, origin=ORIGIN, partition=PARTITION, bound=BOUND) for e in items]
    one = sign_receipt(BOARD, receipts[1])
    batch = sign_receipts(BOARD, [receipts[i] for i in BATCH])
    by_other = sign_receipt(OTHER, receipts[1])
    text = parse_signed_note(one.encode()).text
    publish_by = text.split("\n")[6]
    later = (receipts[1].publish_by + timedelta(days=1)).isoformat(timespec="milliseconds")
    forged = with_line(one, publish_by, later.replace("+00:00", "Z"))
    # The Python verdicts: which ones `boleta.board_keys` accepts.
    verify_receipt(one, BOARD.verifier_key_text)
    verify_receipts(batch, BOARD.verifier_key_text)
    for bad in (by_other, forged):
        try:
            verify_receipt(bad, BOARD.verifier_key_text)
        except ValueError:
            continue
        raise AssertionError("a receipt the board's key did not sign was accepted")
    leaves = [leaf_hash(e).hex() for e in encoded]
    read = node_reader([leaf_hash(e) for e in encoded])

    def body(index: int) -> dict[str, Any]:
        hashes = tuple(inclusion_proof(index, SIZE, read))
        proof = format_tlog_proof(TLogProof(index, hashes, checkpoint, encoded[index]))
        return answer(leaves[index], index, encoded[index], proof)

    # A receipt whose vote is another one's: same code, other offset (signed, so it passes
    # its own check, and the entry's comparison catches it).
    wrong = receipt_for(items[2], origin=ORIGIN, partition=PARTITION, bound=BOUND)
    misplaced = sign_receipt(
        BOARD, msgspec.structs.replace(wrong, tracking_code=leaf_hash(encoded[1]))
    )
    verdict = python_verdict(
        leaves[1], body(1), BOARD, verify_receipt(misplaced, BOARD.verifier_key_text)
    )
    assert not verdict["proved"], verdict
    proved = python_verdict(leaves[1], body(1), BOARD, verify_receipt(one, BOARD.verifier_key_text))
    assert proved["proved"], proved
    return {
        "one": {
            "line": json.dumps({"receipt": one, "vote_ids": ["vote-1"]}),
            "note": one,
            "code": leaves[1],
            "answer": body(1),
            "cast_at": text.split("\n")[5],
            "publish_by": publish_by,
            "python": proved,
        },
        "batch": {
            "line": json.dumps({"receipt": batch, "vote_ids": [f"vote-{i}" for i in BATCH]}),
            "note": batch,
            "codes": [leaves[i] for i in BATCH],
            "answers": [body(i) for i in BATCH],
            "publish_by": parse_signed_note(batch.encode()).text.split("\n")[2],
        },
        "by_other_key": by_other,
        "forged_publish_by": forged,
        "misplaced": {"note": misplaced, "code": leaves[1], "answer": body(1), "python": verdict},
        "not_in_receipt": leaves[0],
    }


def merkle_vectors() -> list[dict[str, Any]]:
    """Inclusion proofs of every leaf of trees of sizes 1 to 12 and some larger ones."""
    vectors = []
    for size in [*range(1, 13), 31, 32, 33]:
        leaves = [leaf_hash(f"leaf {i}".encode()) for i in range(size)]
        read = node_reader(leaves)
        indexes = range(size) if size <= 12 else (0, size // 2, size - 2, size - 1)
        for index in indexes:
            vectors.append(
                {
                    "size": size,
                    "index": index,
                    "leaf": leaves[index].hex(),
                    "proof": [h.hex() for h in inclusion_proof(index, size, read)],
                    "root": root(leaves).hex(),
                }
            )
    return vectors


def main() -> None:
    items = entries()
    encoded = [encode_entry(e) for e in items]
    tree_root = root([leaf_hash(e) for e in encoded])
    checkpoint = BOARD.sign(format_checkpoint(Checkpoint(ORIGIN, SIZE, tree_root)))
    vectors = {
        "about": "Made by webapp/scripts/board_vectors.py from the Python reference; do not edit.",
        "key": BOARD.verifier_key_text,
        "key_name": NAME,
        "key_id": BOARD.verifier.key_id.hex(),
        "public_key": BOARD.verifier.public_key.hex(),
        "other_key": OTHER.verifier_key_text,
        "impostor_key": IMPOSTOR.verifier_key_text,
        "origin": ORIGIN,
        "size": SIZE,
        "root": tree_root.hex(),
        "checkpoint": checkpoint,
        "entries": [
            {"bytes": e.decode(), "code": leaf_hash(e).hex(), "offset": item.offset}
            for e, item in zip(encoded, items, strict=True)
        ],
        "proofs": proof_cases(encoded, checkpoint),
        "receipts": receipt_cases(items, encoded, checkpoint),
        "merkle": merkle_vectors(),
    }
    OUT.write_text(json.dumps(vectors, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
