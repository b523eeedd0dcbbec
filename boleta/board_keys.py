"""The board's Ed25519 note keys: signing checkpoints and receipts, checking signed notes.

The adapter between :mod:`domain.board.note` (the formats) and the ``cryptography``
package (the signatures). A signing key reaches the process only by reference: a file
holding one line in Go's ``golang.org/x/mod/sumdb/note`` signer format,
``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>``, so a key made with
``note.GenerateKey`` works here and the other way round. Nothing here logs, prints or
returns the seed (the signer's ``repr`` names the key by its public verifier key only).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from domain.board.note import (
    ED25519,
    MalformedNote,
    Signature,
    VerifierKey,
    format_signed_note,
    format_verifier_key,
    parse_signed_note,
    parse_verifier_key,
    verifier_key,
)
from domain.board.receipt import (
    Receipt,
    batch_receipt_text,
    parse_batch_receipt,
    parse_receipt,
    receipt_text,
)

SIGNER_PREFIX = "PRIVATE+KEY+"


class SignatureError(ValueError):
    """A note that the trusted key did not sign, or whose signature by it is wrong."""


class NoteSigner:
    """Signs note texts with one Ed25519 key under one key name."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verifier = verifier_key(name, public)

    @classmethod
    def from_text(cls, text: str) -> NoteSigner:
        """A signer from its key text (Go's signer format, see the module's docstring)."""
        text = text.strip()
        parts = text.removeprefix(SIGNER_PREFIX).split("+", 2)  # base64 may hold a "+"
        if not text.startswith(SIGNER_PREFIX) or len(parts) != 3:
            raise MalformedNote("a signer key is PRIVATE+KEY+<name>+<hex id>+<base64 key>")
        name, hex_id, material = parts
        try:
            data = base64.b64decode(material, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedNote("a signer key's material is base64") from None
        if len(data) != 33 or data[0] != ED25519:
            raise MalformedNote("not an Ed25519 signer key")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(data[1:]))
        if signer.verifier.key_id.hex() != hex_id:
            raise MalformedNote("the signer key's id does not match its name and key")
        return signer

    @classmethod
    def from_file(cls, path: Path) -> NoteSigner:
        return cls.from_text(path.read_text(encoding="utf-8"))

    @property
    def verifier_key_text(self) -> str:
        return format_verifier_key(self.verifier)

    def sign(self, text: str) -> str:
        """``text`` as a signed note carrying this key's signature."""
        signature = self._key.sign(text.encode())
        sig = Signature(self.verifier.name, self.verifier.key_id, signature)
        return format_signed_note(text, (sig,))

    def signer_key_text(self) -> str:
        """The secret key as text, for the key file only: never log it."""
        material = base64.b64encode(bytes([ED25519]) + self._key.private_bytes_raw()).decode()
        return f"{SIGNER_PREFIX}{self.verifier.name}+{self.verifier.key_id.hex()}+{material}"

    def __repr__(self) -> str:
        return f"NoteSigner({self.verifier_key_text})"


def generate_signer_key(name: str) -> str:
    """A new signer key's text (to be written to a file that only the board can read)."""
    return NoteSigner(name, Ed25519PrivateKey.generate()).signer_key_text()


def open_note(data: bytes, trusted: VerifierKey) -> str:
    """The text of a signed note that ``trusted`` signed. Signatures by other keys are
    ignored (c2sp.org/signed-note); a wrong signature by the trusted key, or none, raises
    :class:`SignatureError`; a malformed note raises ``MalformedNote``."""
    note = parse_signed_note(data)
    public = Ed25519PublicKey.from_public_bytes(trusted.public_key)
    signed = False
    for sig in note.signatures:
        if (sig.name, sig.key_id) != (trusted.name, trusted.key_id):
            continue
        try:
            public.verify(sig.signature, note.text.encode())
        except InvalidSignature:
            raise SignatureError(f"bad signature by {trusted.name}") from None
        signed = True
    if not signed:
        raise SignatureError(f"the note carries no signature by {trusted.name}")
    return note.text


def sign_receipt(signer: NoteSigner, receipt: Receipt) -> str:
    """The receipt as a signed note: its statement signed by ``signer``."""
    return signer.sign(receipt_text(receipt))


def verify_receipt(note: str | bytes, trusted: VerifierKey | str) -> Receipt:
    """The receipt in a signed note that ``trusted`` (a key or its ``name+id+base64`` text)
    signed: raises :class:`SignatureError` as :func:`open_note` does, and
    ``MalformedNote`` (``MalformedReceipt`` for the statement) for a malformed note."""
    return parse_receipt(_open_statement(note, trusted))


def sign_receipts(signer: NoteSigner, receipts: Sequence[Receipt]) -> str:
    """The receipts of one batch of votes as one signed note (one signature)."""
    return signer.sign(batch_receipt_text(receipts))


def verify_receipts(note: str | bytes, trusted: VerifierKey | str) -> tuple[Receipt, ...]:
    """The receipts in a batch's signed note that ``trusted`` signed, as
    :func:`verify_receipt` checks one."""
    return parse_batch_receipt(_open_statement(note, trusted))


def _open_statement(note: str | bytes, trusted: VerifierKey | str) -> str:
    key = parse_verifier_key(trusted) if isinstance(trusted, str) else trusted
    return open_note(note.encode() if isinstance(note, str) else note, key)
