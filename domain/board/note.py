"""C2SP signed notes and checkpoints, as text (https://c2sp.org/signed-note, /tlog-checkpoint).

A checkpoint's body is ``<origin>\\n<size>\\n<base64 root>\\n`` and optional non-empty
extension lines. A signed note is its text (ending in a newline), a blank line, and one
line per signature: ``— <key name> <base64(key id || signature)>\\n``, with an em dash
(U+2014). An Ed25519 key's id is the first 4 bytes of ``SHA-256(name || 0x0A || 0x01 ||
public key)``, and its verifier key is ``<name>+<hex key id>+<base64(0x01 || public key)>``.

This module only formats and parses; signing and checking signatures is the adapter's
(:mod:`boleta.board_keys`), which hands the bytes over here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

import msgspec

from domain.board.merkle import HASH_SIZE

ED25519 = 0x01
ED25519_KEY_SIZE = 32
DASH = "\u2014"
MAX_SIGNATURES = 100


class MalformedNote(ValueError):
    """Text that is not a well-formed note, checkpoint or key; the message says why."""


class Checkpoint(msgspec.Struct, frozen=True, gc=False):
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()


class Signature(msgspec.Struct, frozen=True, gc=False):
    """One signature line: the key's name, its 4-byte id and the signature proper."""

    name: str
    key_id: bytes
    signature: bytes


class SignedNote(msgspec.Struct, frozen=True, gc=False):
    text: str
    signatures: tuple[Signature, ...]


class VerifierKey(msgspec.Struct, frozen=True, gc=False):
    """An Ed25519 verifier key: the key's name, its id and its 32-byte public key."""

    name: str
    key_id: bytes
    public_key: bytes


def _b64decode(text: str) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedNote(f"not base64: {text!r}") from None
    if base64.b64encode(data).decode() != text:
        raise MalformedNote(f"not canonical base64: {text!r}")
    return data


def _check_name(name: str) -> None:
    if not name or "+" in name or any(c.isspace() for c in name):
        raise MalformedNote(f"a key name is non-empty, without spaces or '+': {name!r}")


def format_checkpoint(checkpoint: Checkpoint) -> str:
    if not checkpoint.origin or "\n" in checkpoint.origin or checkpoint.size < 0:
        raise MalformedNote("a checkpoint has a one-line origin and a size of 0 or more")
    if len(checkpoint.root) != HASH_SIZE:
        raise MalformedNote("a checkpoint's root is 32 bytes")
    if any(not line or "\n" in line for line in checkpoint.extensions):
        raise MalformedNote("an extension line is one non-empty line")
    root = base64.b64encode(checkpoint.root).decode()
    lines = [checkpoint.origin, str(checkpoint.size), root, *checkpoint.extensions]
    return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    if not text.endswith("\n"):
        raise MalformedNote("a checkpoint ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedNote("a checkpoint has at least three lines")
    origin, size, root, *extensions = lines
    if not size.isascii() or not size.isdigit() or str(int(size)) != size:
        raise MalformedNote(f"a checkpoint's size is a decimal without leading zeroes: {size!r}")
    checkpoint = Checkpoint(origin, int(size), _b64decode(root), tuple(extensions))
    format_checkpoint(checkpoint)  # the same rules as for writing one
    return checkpoint


def key_id(name: str, public_key: bytes) -> bytes:
    """The id of an Ed25519 key: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || key)."""
    _check_name(name)
    if len(public_key) != ED25519_KEY_SIZE:
        raise MalformedNote("an Ed25519 public key is 32 bytes")
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4]


def verifier_key(name: str, public_key: bytes) -> VerifierKey:
    return VerifierKey(name, key_id(name, public_key), public_key)


def format_verifier_key(key: VerifierKey) -> str:
    material = base64.b64encode(bytes([ED25519]) + key.public_key).decode()
    return f"{key.name}+{key.key_id.hex()}+{material}"


def parse_verifier_key(text: str) -> VerifierKey:
    parts = text.strip().split("+", 2)  # the base64 may hold a "+"
    if len(parts) != 3 or len(parts[1]) != 8:
        raise MalformedNote("a verifier key is <name>+<8 hex digits>+<base64 key>")
    name, hex_id, material = parts
    data = _b64decode(material)
    if len(data) != 1 + ED25519_KEY_SIZE or data[0] != ED25519:
        raise MalformedNote("not an Ed25519 verifier key")
    key = verifier_key(name, data[1:])
    if key.key_id.hex() != hex_id:
        raise MalformedNote("the verifier key's id does not match its name and key")
    return key


def format_signed_note(text: str, signatures: tuple[Signature, ...]) -> str:
    if not text.endswith("\n"):
        raise MalformedNote("a note's text ends with a newline")
    if not signatures:
        raise MalformedNote("a signed note has at least one signature")
    lines = []
    for sig in signatures:
        _check_name(sig.name)
        if len(sig.key_id) != 4 or not sig.signature:
            raise MalformedNote("a signature is a 4-byte key id and a non-empty signature")
        lines.append(f"{DASH} {sig.name} {base64.b64encode(sig.key_id + sig.signature).decode()}\n")
    return text + "\n" + "".join(lines)


def parse_signed_note(data: bytes) -> SignedNote:
    """The text and the signatures of a signed note (none of them checked)."""
    try:
        note = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedNote("a note is UTF-8") from None
    if any(c < " " and c != "\n" for c in note):
        raise MalformedNote("a note has no control characters but newlines")
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNote("a note's signatures follow a blank line")
    text, block = note[: split + 1], note[split + 2 :]
    if not block.endswith("\n"):
        raise MalformedNote("a note ends with a newline")
    signatures = []
    for line in block[:-1].split("\n"):
        if not line.startswith(DASH + " "):
            raise MalformedNote(f"a signature line starts with an em dash: {line!r}")
        name, _, b64 = line[2:].partition(" ")
        _check_name(name)
        raw = _b64decode(b64)
        if len(raw) < 5:
            raise MalformedNote("a signature is a 4-byte key id and a signature")
        signatures.append(Signature(name, raw[:4], raw[4:]))
    if len(signatures) > MAX_SIGNATURES:
        raise MalformedNote(f"more than {MAX_SIGNATURES} signatures")
    return SignedNote(text, tuple(signatures))
