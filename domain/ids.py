"""UUIDs as boleta uses them: UUIDv7 event ids (time-ordered) and canonical vote ids."""

from __future__ import annotations

import re
import uuid
from functools import lru_cache

_X = "[0-9a-fA-F]"
_HEX = rf"(?:{_X}{{8}}-{_X}{{4}}-{_X}{{4}}-{_X}{{4}}-{_X}{{12}}|{_X}{{32}})"
# The forms canonical_uuid reads. uuid.UUID() alone also takes "0x...", "+...", "_",
# non-ASCII digits, hyphens anywhere, repeated "urn:"/"uuid:" and unbalanced braces.
_UUID_FORMS = re.compile(rf"{_HEX}|\{{{_HEX}\}}|urn:uuid:{_HEX}")
# The variant nibble: the top two bits of a hex digit set to binary 10, the rest kept.
_VARIANT = {f"{n:x}": f"{0x8 | (n & 0x3):x}" for n in range(16)}
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def uuid7(unix_ms: int, random_bytes: bytes) -> str:
    """A UUIDv7 (RFC 9562) from a millisecond timestamp and 10 random bytes.

    The caller supplies the clock and the randomness, so this stays a pure function.
    The first random nibble gives way to the version (7), the top two bits of the fifth to
    the RFC 4122 variant (``10``): the rest is the randomness as given.
    """
    if len(random_bytes) != 10:
        raise ValueError("uuid7 needs exactly 10 random bytes")
    if not 0 <= unix_ms < 1 << 48:
        raise ValueError("uuid7 timestamp must fit in 48 bits")
    stamp = f"{unix_ms:012x}"
    rnd = random_bytes.hex()
    return f"{stamp[:8]}-{stamp[8:]}-7{rnd[1:4]}-{_VARIANT[rnd[4]]}{rnd[5:8]}-{rnd[8:]}"


# uuid7's version and variant bits over one 10-byte draw: keep (AND) and set (OR).
_DRAW_KEEP = b"\x0f\xff\x3f" + b"\xff" * 7
_DRAW_SET = b"\x70\x00\x80" + b"\x00" * 7


@lru_cache(maxsize=64)
def _draw_masks(count: int) -> tuple[int, int]:
    """(keep, set) over ``count`` draws: batches come in a few sizes, so they are kept."""
    return int.from_bytes(_DRAW_KEEP * count), int.from_bytes(_DRAW_SET * count)


def uuid7_batch(unix_ms: int, random_bytes: bytes) -> list[str]:
    """One UUIDv7 per 10 bytes of ``random_bytes``, all at ``unix_ms``: a batch of ids from
    one clock reading and one draw of randomness, each equal to ``uuid7`` of its 10 bytes.

    The version and variant bits are set on the whole draw at once (one integer mask) and
    the timestamp formatted once, so each id costs three slices of one hex string."""
    if len(random_bytes) % 10:
        raise ValueError("uuid7_batch needs a multiple of 10 random bytes")
    if not 0 <= unix_ms < 1 << 48:
        raise ValueError("uuid7 timestamp must fit in 48 bits")
    size = len(random_bytes)
    keep, put = _draw_masks(size // 10)
    hexed = ((int.from_bytes(random_bytes) & keep) | put).to_bytes(size).hex()
    stamp = f"{unix_ms:012x}"
    head = f"{stamp[:8]}-{stamp[8:]}-"
    return [
        f"{head}{hexed[i : i + 4]}-{hexed[i + 4 : i + 8]}-{hexed[i + 8 : i + 20]}"
        for i in range(0, 2 * size, 20)
    ]


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
