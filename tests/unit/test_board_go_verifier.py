"""Off-the-shelf verifiers accept the board: a board of a few hundred votes, made by our
code with two signed checkpoints, is checked by tests/verifier (Go: golang.org/x/mod's
sumdb/note and tlog, transparency-dev's formats and merkle), which must accept it and
refuse it once a tile, an entry, a signature, a checkpoint or a proof is changed."""

from __future__ import annotations

import base64
import json
import random
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from boleta.board_keys import NoteSigner, generate_signer_key
from domain.board import (
    Checkpoint,
    Pseudonyms,
    TileState,
    append,
    board_entry,
    consistency_proof,
    encode_entry,
    format_checkpoint,
    inclusion_proof,
    state_root,
    tile_reader,
)
from domain.votes import VoteCast
from tests.verifier import build_verifier

ORIGIN = "boleta.example/board/votes/0"
OLD_SIZE, SIZE, LEAF = 137, 421, 300  # the new tree has a full tile; the leaf is past it


@pytest.fixture(scope="module")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    binary = build_verifier(tmp_path_factory.mktemp("verifier"))
    if binary is None:
        pytest.skip("Go is not installed: the off-the-shelf verifier (tests/verifier) needs it")
    return binary


def votes(n: int, rng: random.Random) -> list[VoteCast]:
    start = datetime(2026, 12, 7, tzinfo=UTC)
    return [
        VoteCast(
            event_id=f"e{i}",
            vote_id=f"v{rng.randrange(n // 2)}",  # some retries
            contest=rng.choice(["main", "once"]),
            band=rng.choice(["Green Ridge", "Sigur Rós", "Ägypten", 'The "Quotes"']),
            album=rng.choice(["Imbituva", "Ágætis byrjun", "Noite"]),
            year=rng.randrange(1960, 2027),
            rank=rng.randrange(1, 11),
            cast_at=start + timedelta(microseconds=rng.randrange(10**12)),
            voter_id=rng.choice(["", f"voter-{rng.randrange(50)}"]),
        )
        for i in range(n)
    ]


class Board:
    """A board directory built by our code, its two signed checkpoints and its key."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "board"
        self.signer = NoteSigner.from_text(generate_signer_key(ORIGIN))
        rng = random.Random(25)
        pseudonyms = Pseudonyms(rng.randbytes(32))
        entries = [
            encode_entry(board_entry(v, offset, pseudonyms))
            for offset, v in enumerate(votes(SIZE, rng))
        ]
        state = TileState()
        for batch in (entries[:60], entries[60:OLD_SIZE]):
            state = self.append(state, batch)
        self.old = root / "old-checkpoint"
        self.old.write_text(self.sign(state))
        for cut in (250, 256, 300, SIZE):
            state = self.append(state, entries[state.size : cut])
        (self.dir / "checkpoint").write_text(self.sign(state))
        self.proofs = root / "proofs.json"
        self.write_proofs(SIZE)

    def append(self, state: TileState, batch: list[bytes]) -> TileState:
        state, writes = append(state, batch)
        for w in writes:
            path = self.dir / w.path
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("xb") as f:  # a file is never written twice
                f.write(w.data)
        return state

    def sign(self, state: TileState) -> str:
        return self.signer.sign(
            format_checkpoint(Checkpoint(ORIGIN, state.size, state_root(state)))
        )

    def write_proofs(self, size: int) -> None:
        read = tile_reader(size, lambda path: (self.dir / path).read_bytes())
        proofs = {
            "leaf": LEAF,
            "inclusion": [base64.b64encode(h).decode() for h in inclusion_proof(LEAF, size, read)],
            "old_size": OLD_SIZE,
            "consistency": [
                base64.b64encode(h).decode() for h in consistency_proof(OLD_SIZE, size, read)
            ],
        }
        self.proofs.write_text(json.dumps(proofs))

    def check(self, verifier: Path, vkey: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = [str(verifier), "-dir", str(self.dir), "-origin", ORIGIN]
        argv += ["-vkey", vkey or self.signer.verifier_key_text, "-old", str(self.old)]
        argv += ["-leaf", str(LEAF), "-proofs", str(self.proofs)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def board(tmp_path: Path) -> Board:
    return Board(tmp_path)


def test_the_go_verifier_accepts_the_board(board: Board, verifier: Path) -> None:
    result = board.check(verifier)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert (board.dir / "tile/0/000").stat().st_size == 256 * 32
    assert (board.dir / "tile/0/001.p/165").exists()
    assert (board.dir / "tile/1/000.p/1").exists()


def flip_byte(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 1
    path.write_bytes(bytes(data))


def forge_signature(board: Board) -> None:
    text = (board.dir / "checkpoint").read_text()
    head, sig = text.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(sig))
    raw[10] ^= 1
    (board.dir / "checkpoint").write_text(f"{head} {base64.b64encode(raw).decode()}\n")


def sign_with_another_key(board: Board) -> None:
    body = (board.dir / "checkpoint").read_text().split("\n\n")[0] + "\n"
    other = NoteSigner.from_text(generate_signer_key(ORIGIN))
    (board.dir / "checkpoint").write_text(other.sign(body))


def fork_the_old_checkpoint(board: Board) -> None:
    """A checkpoint the log signed for a history other than the one it now serves."""
    body = (board.dir / "checkpoint").read_text().split("\n\n")[0]
    origin, _, root = body.split("\n")
    board.old.write_text(board.signer.sign(f"{origin}\n{OLD_SIZE}\n{root}\n"))


def tamper_proof(board: Board, which: str) -> None:
    proofs = json.loads(board.proofs.read_text())
    first = bytearray(base64.b64decode(proofs[which][0]))
    first[0] ^= 1
    proofs[which][0] = base64.b64encode(first).decode()
    board.proofs.write_text(json.dumps(proofs))


TAMPERINGS: dict[str, Callable[[Board], None]] = {
    "a full tile": lambda b: flip_byte(b.dir / "tile/0/000", 32 * 5),
    "a partial tile": lambda b: flip_byte(b.dir / "tile/0/001.p/165", 0),
    "the old size's partial tile": lambda b: flip_byte(b.dir / "tile/0/000.p/137", 32 * 100),
    "a level 1 tile": lambda b: flip_byte(b.dir / "tile/1/000.p/1", 31),
    "an entry": lambda b: flip_byte(b.dir / "tile/entries/001.p/165", 40),
    "a checkpoint's size": lambda b: (b.dir / "checkpoint").write_text(
        (b.dir / "checkpoint").read_text().replace(f"\n{SIZE}\n", f"\n{SIZE - 1}\n")
    ),
    "the signature": forge_signature,
    "the signing key": sign_with_another_key,
    "the old checkpoint's history": fork_the_old_checkpoint,
    "our inclusion proof": lambda b: tamper_proof(b, "inclusion"),
    "our consistency proof": lambda b: tamper_proof(b, "consistency"),
}


@pytest.mark.parametrize("what", list(TAMPERINGS))
def test_the_go_verifier_refuses_a_changed_board(board: Board, verifier: Path, what: str) -> None:
    TAMPERINGS[what](board)
    result = board.check(verifier)
    assert result.returncode == 1, f"accepted with {what} changed"
    assert result.stderr.startswith("verifier:")


def test_the_go_verifier_refuses_another_key(board: Board, verifier: Path) -> None:
    other = NoteSigner.from_text(generate_signer_key(ORIGIN)).verifier_key_text
    assert board.check(verifier, vkey=other).returncode == 1
