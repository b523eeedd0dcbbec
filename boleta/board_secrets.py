"""The board's secrets, by reference: the checkpoint and receipt signing key, the pseudonym
secret and the auditor token, each read from a file named by a setting (in production a
mounted Kubernetes Secret; docs/deploy.md).

A setting left empty names a file under ``<home>/secrets/``, which the first process to
need it makes (a local run: ``boleta up``, the tests). Several processes start at once, so
a file is made whole under a temporary name and linked into place: whoever loses the race
reads the winner's. A file named explicitly is never made: missing, it is an error that
names the setting. Nothing here logs or prints a secret.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

from boleta.board_keys import NoteSigner, generate_signer_key
from boleta.settings import Settings
from domain.board import MalformedNote, Pseudonyms, format_verifier_key, parse_verifier_key
from domain.board.entry import MIN_SECRET


class BoardSecretError(RuntimeError):
    """A board secret that is missing or unusable; the message names its setting."""


def checkpoint_origin(settings: Settings, partition: int) -> str:
    """The origin line of partition ``partition``'s checkpoints (c2sp.org/tlog-checkpoint)."""
    return f"{settings.board_origin}/p{partition}"


def _path(settings: Settings, given: str, default_name: str) -> tuple[Path, bool]:
    """The file and whether it may be made (only the local default is)."""
    if given:
        return Path(given).expanduser(), False
    return settings.home / "secrets" / default_name, True


def _read(path: Path, setting: str, may_make: bool, make: Callable[[], bytes]) -> bytes:
    if may_make and not path.exists():
        _make(path, make())
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BoardSecretError(
            f"{setting}: cannot read {path} ({exc.strerror}); point {setting} at the file "
            "(a mounted Secret in production)"
        ) from None


def _make(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.write(fd, content)
        os.close(fd)
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


def board_signer(settings: Settings) -> NoteSigner:
    """The key that signs checkpoints and receipts (BOLETA_BOARD_KEY_FILE)."""
    path, may_make = _path(settings, settings.board_key_file, "board-signer.key")
    text = _read(
        path,
        "BOLETA_BOARD_KEY_FILE",
        may_make,
        lambda: generate_signer_key(settings.board_origin).encode(),
    )
    try:
        return NoteSigner.from_text(text.decode())
    except ValueError as exc:
        raise BoardSecretError(f"BOLETA_BOARD_KEY_FILE: {path}: {exc}") from None


def board_verifier_key(settings: Settings) -> str:
    """The board's verifier key text: BOLETA_BOARD_VERIFIER_KEY (checked), or the signing
    key's (a local run, where the process may read the key)."""
    if not settings.board_verifier_key:
        return board_signer(settings).verifier_key_text
    try:
        return format_verifier_key(parse_verifier_key(settings.board_verifier_key.strip()))
    except MalformedNote as exc:
        raise BoardSecretError(
            f"BOLETA_BOARD_VERIFIER_KEY is not a verifier key (name+id+base64): {exc}; "
            "`boleta board key` prints it"
        ) from None


def board_pseudonyms(settings: Settings) -> Pseudonyms:
    """The keyed pseudonyms of vote_ids and voters (BOLETA_BOARD_SECRET_FILE: raw bytes)."""
    path, may_make = _path(settings, settings.board_secret_file, "board-pseudonyms.key")
    secret = _read(path, "BOLETA_BOARD_SECRET_FILE", may_make, lambda: secrets.token_bytes(32))
    if len(secret) < MIN_SECRET:
        raise BoardSecretError(
            f"BOLETA_BOARD_SECRET_FILE: {path} holds {len(secret)} bytes; the pseudonym "
            f"secret is at least {MIN_SECRET} random bytes (e.g. head -c 32 /dev/urandom)"
        )
    return Pseudonyms(secret)


def auditor_token(settings: Settings) -> str:
    """The bearer token of the auditor routes (BOLETA_AUDITOR_TOKEN_FILE: one line)."""
    path, may_make = _path(settings, settings.auditor_token_file, "auditor.token")
    raw = _read(
        path,
        "BOLETA_AUDITOR_TOKEN_FILE",
        may_make,
        lambda: secrets.token_urlsafe(32).encode() + b"\n",
    )
    token = raw.decode(errors="replace").strip()
    if len(token) < 16:
        raise BoardSecretError(
            f"BOLETA_AUDITOR_TOKEN_FILE: {path}: the token is at least 16 characters"
        )
    return token
