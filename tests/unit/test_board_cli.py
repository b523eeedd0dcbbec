"""``boleta board key`` prints the board's verifier key; ``boleta board new-key FILE`` makes a
signer key only its owner can read, never overwrites one, and prints only the verifier key
(never the secret); ``boleta recount`` refuses a malformed key before asking anything."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from boleta.board_keys import NoteSigner, generate_signer_key
from boleta.cli import app
from domain.board import parse_verifier_key


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BOLETA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BOLETA_BOARD_ORIGIN", "example.org/board")
    monkeypatch.delenv("BOLETA_BOARD_KEY_FILE", raising=False)
    monkeypatch.delenv("BOLETA_BOARD_VERIFIER_KEY", raising=False)
    return tmp_path


def test_key_prints_the_verifier_key_of_the_configured_signer(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = home / "board.key"
    key_file.write_text(generate_signer_key("example.org/board") + "\n")
    monkeypatch.setenv("BOLETA_BOARD_KEY_FILE", str(key_file))
    result = CliRunner().invoke(app, ["board", "key"])
    assert result.exit_code == 0, result.output
    expected = NoteSigner.from_file(key_file).verifier_key_text
    assert result.stdout.strip() == expected
    assert parse_verifier_key(result.stdout).name == "example.org/board"


def test_key_prints_the_verifier_key_given_without_the_signing_key(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = NoteSigner.from_text(generate_signer_key("example.org/board")).verifier_key_text
    monkeypatch.setenv("BOLETA_BOARD_VERIFIER_KEY", verifier)
    monkeypatch.setenv("BOLETA_BOARD_KEY_FILE", str(home / "absent.key"))
    result = CliRunner().invoke(app, ["board", "key"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == verifier


def test_key_names_a_missing_key_file_and_its_setting(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOLETA_BOARD_KEY_FILE", str(home / "absent.key"))
    result = CliRunner().invoke(app, ["board", "key"])
    assert result.exit_code == 1
    assert "BOLETA_BOARD_KEY_FILE" in result.output
    assert "absent.key" in result.output


def test_new_key_writes_an_owner_only_key_and_prints_only_its_verifier_key(home: Path) -> None:
    target = home / "new.key"
    result = CliRunner().invoke(app, ["board", "new-key", str(target)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    signer = NoteSigner.from_file(target)
    assert signer.verifier.name == "example.org/board"
    assert result.stdout.strip() == signer.verifier_key_text
    secret = target.read_text().strip()
    assert secret.startswith("PRIVATE+KEY+")
    material = secret.split("+", 4)[4]  # PRIVATE+KEY+<name>+<id>+<base64 seed>
    assert len(material) == 44
    assert material not in result.output


def test_new_key_never_overwrites(home: Path) -> None:
    target = home / "kept.key"
    target.write_text("whatever was there\n")
    result = CliRunner().invoke(app, ["board", "new-key", str(target)])
    assert result.exit_code == 1
    assert "never overwritten" in result.output
    assert target.read_text() == "whatever was there\n"


def test_recount_refuses_a_malformed_key_naming_the_option(home: Path) -> None:
    result = CliRunner().invoke(
        app, ["recount", "--board", "http://127.0.0.1:9", "--key", "not-a-key"]
    )
    assert result.exit_code == 2, result.output
    assert "--key" in result.output
