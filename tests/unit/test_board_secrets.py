"""The board's secrets by reference: a named file is read and never made (missing, the error
names its setting); the local default is made once, whole, and every process that races to
make it reads the same one; the query service's verifier key may be given alone."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from boleta.board_keys import NoteSigner, generate_signer_key
from boleta.board_secrets import (
    BoardSecretError,
    auditor_token,
    board_pseudonyms,
    board_signer,
    board_verifier_key,
)
from boleta.settings import Settings


def test_a_named_file_is_read_and_never_made(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "signer.key"
    settings = Settings(home=tmp_path, board_key_file=str(missing))
    with pytest.raises(BoardSecretError, match="BOLETA_BOARD_KEY_FILE"):
        board_signer(settings)
    assert not missing.exists()
    key = generate_signer_key("boleta.test/board")
    missing.parent.mkdir()
    missing.write_text(key + "\n")
    assert board_signer(settings).signer_key_text() == key


def test_a_short_pseudonym_secret_or_token_is_refused(tmp_path: Path) -> None:
    (tmp_path / "short").write_bytes(b"x" * 8)
    with pytest.raises(BoardSecretError, match="at least"):
        board_pseudonyms(Settings(home=tmp_path, board_secret_file=str(tmp_path / "short")))
    with pytest.raises(BoardSecretError, match="at least 16"):
        auditor_token(Settings(home=tmp_path, auditor_token_file=str(tmp_path / "short")))


def _signer_of(home: str) -> str:
    return board_signer(Settings(home=Path(home))).verifier_key_text


def test_the_local_default_is_made_once_for_every_racing_process(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        keys = pool.map(_signer_of, [str(tmp_path)] * 8)
    assert len(set(keys)) == 1
    made = tmp_path / "secrets" / "board-signer.key"
    assert made.read_text().startswith("PRIVATE+KEY+")
    assert [p.name for p in made.parent.iterdir() if p.name.startswith(".")] == []


def test_the_verifier_key_alone_serves_the_query_service(tmp_path: Path) -> None:
    signer = NoteSigner.from_text(generate_signer_key("boleta.test/board"))
    given = Settings(home=tmp_path, board_verifier_key=f" {signer.verifier_key_text}\n")
    assert board_verifier_key(given) == signer.verifier_key_text
    assert not (tmp_path / "secrets").exists(), "no signing key was made for it"
    with pytest.raises(BoardSecretError, match="BOLETA_BOARD_VERIFIER_KEY"):
        board_verifier_key(Settings(home=tmp_path, board_verifier_key="not a key"))
    local = Settings(home=tmp_path)
    assert board_verifier_key(local) == board_signer(local).verifier_key_text
