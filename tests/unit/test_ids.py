"""UUIDv7 event ids and canonical vote ids."""

from __future__ import annotations

import string
import uuid

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.ids import canonical_uuid, uuid7, uuid7_batch, uuid7_unix_ms
from tests.unit.strategies import broken_vote_ids, hyphenated, uuid_forms

MAX_MS = (1 << 48) - 1
unix_ms = st.integers(0, MAX_MS)
random_bytes = st.binary(min_size=10, max_size=10)

# The bits of a UUIDv7 that are neither the timestamp, the version nor the variant.
RANDOM_BITS = ((1 << 12) - 1) << 64 | ((1 << 62) - 1)


@given(unix_ms, random_bytes)
def test_uuid7_is_a_version_7_rfc_uuid_carrying_its_timestamp(ms: int, rnd: bytes) -> None:
    text = uuid7(ms, rnd)
    value = uuid.UUID(text)
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert str(value) == text  # lowercase, hyphenated
    assert uuid7_unix_ms(text) == ms
    assert value.int & RANDOM_BITS == int.from_bytes(rnd, "big") & RANDOM_BITS


@given(st.lists(st.tuples(unix_ms, random_bytes), min_size=2, unique_by=lambda t: t[0]))
def test_uuid7_sorts_by_time_as_text(stamps: list[tuple[int, bytes]]) -> None:
    ids = {ms: uuid7(ms, rnd) for ms, rnd in stamps}
    assert sorted(ids.values()) == [ids[ms] for ms in sorted(ids)]


@given(unix_ms, random_bytes, random_bytes)
def test_uuid7_of_a_later_millisecond_sorts_later(ms: int, first: bytes, second: bytes) -> None:
    if ms < MAX_MS:
        assert uuid7(ms, first) < uuid7(ms + 1, second)


@given(unix_ms, random_bytes)
def test_uuid7_equals_the_bit_arithmetic_of_rfc_9562(ms: int, rnd: bytes) -> None:
    value = (ms << 80) | int.from_bytes(rnd, "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    assert uuid7(ms, rnd) == str(uuid.UUID(int=value))


@given(unix_ms, st.lists(random_bytes, max_size=20))
def test_uuid7_batch_is_one_uuid7_per_ten_bytes(ms: int, draws: list[bytes]) -> None:
    assert uuid7_batch(ms, b"".join(draws)) == [uuid7(ms, rnd) for rnd in draws]


def test_uuid7_batch_needs_whole_draws() -> None:
    with pytest.raises(ValueError, match="multiple of 10"):
        uuid7_batch(0, b"\x00" * 15)


@pytest.mark.parametrize("rnd", [b"", b"\x00" * 9, b"\x00" * 11])
def test_uuid7_needs_ten_random_bytes(rnd: bytes) -> None:
    with pytest.raises(ValueError, match="10 random bytes"):
        uuid7(0, rnd)


@pytest.mark.parametrize("ms", [-1, 1 << 48])
def test_uuid7_timestamp_must_fit_in_48_bits(ms: int) -> None:
    with pytest.raises(ValueError, match="48 bits"):
        uuid7(ms, b"\x00" * 10)
    with pytest.raises(ValueError, match="48 bits"):
        uuid7_batch(ms, b"\x00" * 20)


# ---------------------------------------------------------------- canonical_uuid


@given(uuid_forms())
def test_canonical_uuid_reads_every_uuid_form(pair: tuple[str, str]) -> None:
    text, canonical = pair
    assert canonical_uuid(text) == canonical


@given(st.uuids(allow_nil=True))
def test_canonical_uuid_accepts_what_uuid_uuid_prints(value: uuid.UUID) -> None:
    for text in (str(value), value.hex, f"{{{value}}}", value.urn, str(value).upper()):
        assert uuid.UUID(text) == value
        assert canonical_uuid(text) == str(value)


@given(st.uuids())
def test_canonical_uuid_is_idempotent(value: uuid.UUID) -> None:
    canonical = canonical_uuid(value.hex.upper())
    assert canonical is not None
    assert canonical_uuid(canonical) == canonical


def reference_canonical_uuid(text: str) -> str | None:
    """The accepted forms: 8-4-4-4-12 or 32 hex digits, bare, braced or urn:uuid:."""
    body = text.strip()
    if body.startswith("urn:uuid:"):
        body = body.removeprefix("urn:uuid:")
    elif body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    groups = body.split("-")
    if [len(g) for g in groups] not in ([8, 4, 4, 4, 12], [32]):
        return None
    digits = "".join(groups)
    if not all(c in string.hexdigits for c in digits):
        return None
    return hyphenated(digits.lower())


_uuidish = st.text(st.sampled_from("0123456789abcdefABCDEF-{}:urnid _+x\u0663"), max_size=46)


@st.composite
def _edited_uuid_forms(draw: st.DrawFn) -> str:
    text, _ = draw(uuid_forms())
    position = draw(st.integers(0, len(text)))
    how = draw(st.sampled_from(("insert", "delete", "replace")))
    char = draw(st.sampled_from("0a-{}:_+xg \u0663"))
    if how == "insert":
        return text[:position] + char + text[position:]
    end = min(position + 1, len(text))
    return text[:position] + ("" if how == "delete" else char) + text[end:]


@given(
    st.one_of(_uuidish, _edited_uuid_forms(), broken_vote_ids.filter(lambda v: isinstance(v, str)))
)
@example("0x" + "a" * 30)
@example("+" + "a" * 31)
@example("0123456789abcdef_123456789abcdef")
@example("\u0663" * 32)
@example("uuid:uuid:" + "a" * 32)
@example("{" + "a" * 32)
@example("a" * 8 + "-" + "a" * 24)
def test_canonical_uuid_accepts_exactly_the_uuid_forms(text: str) -> None:
    assert canonical_uuid(text) == reference_canonical_uuid(text)


@given(st.text())
def test_canonical_uuid_of_any_text_is_none_or_canonical(text: str) -> None:
    result = canonical_uuid(text)
    assert result is None or result == str(uuid.UUID(result))
