"""UUIDs as boleta uses them: UUIDv7 event ids (time-ordered) and canonical vote ids."""

from __future__ import annotations

import re
import uuid

_X = "[0-9a-fA-F]"
_HEX = rf"(?:{_X}{{8}}-{_X}{{4}}-{_X}{{4}}-{_X}{{4}}-{_X}{{12}}|{_X}{{32}})"
# The forms canonical_uuid reads. uuid.UUID() alone also takes "0x...", "+...", "_",
# non-ASCII digits, hyphens anywhere, repeated "urn:"/"uuid:" and unbalanced braces.
_UUID_FORMS = re.compile(rf"{_HEX}|\{{{_HEX}\}}|urn:uuid:{_HEX}")
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def uuid7(unix_ms: int, random_bytes: bytes) -> str:
    """A UUIDv7 (RFC 9562) from a millisecond timestamp and 10 random bytes.

    The caller supplies the clock and the randomness, so this stays a pure function.
    """
    if len(random_bytes) != 10:
        raise ValueError("uuid7 needs exactly 10 random bytes")
    if not 0 <= unix_ms < 1 << 48:
        raise ValueError("uuid7 timestamp must fit in 48 bits")
    value = (unix_ms << 80) | int.from_bytes(random_bytes, "big")
    value &= ~(0xF << 76)
    value |= 0x7 << 76  # version 7
    value &= ~(0x3 << 62)
    value |= 0x2 << 62  # RFC 4122 variant
    return _hyphenated(f"{value:032x}")


def _hyphenated(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"


def uuid7_unix_ms(event_id: str) -> int:
    """The millisecond timestamp a UUIDv7 carries."""
    return uuid.UUID(event_id).int >> 80


def canonical_uuid(text: str) -> str | None:
    """The lowercase hyphenated form of a UUID, or None when ``text`` is not one."""
    candidate = text.strip()
    if _CANONICAL.fullmatch(candidate):  # the common case: already canonical
        return candidate
    if not 32 <= len(candidate) <= 45:  # hex, hyphenated, braced or urn forms
        return None
    if not _UUID_FORMS.fullmatch(candidate):
        return None
    try:
        return str(uuid.UUID(candidate))
    except ValueError:
        return None
