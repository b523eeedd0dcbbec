"""A vote's receipt: the documented statement to the byte, round trips, one text per
receipt (any other spelling refused), the tracking code is the leaf hash of the vote's
board entry, publish_by is later than cast_at, and the signed note verifies with the
service's key only, and only unaltered. (The signing adapter, boleta.board_keys, needs no
services; a fresh key is made per run, none is committed.)"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from boleta.board_keys import (
    NoteSigner,
    SignatureError,
    generate_signer_key,
    sign_receipt,
    sign_receipts,
    verify_receipts,
)
from boleta.board_keys import verify_receipt as verify
from domain.board import (
    MalformedNote,
    MalformedReceipt,
    Pseudonyms,
    Receipt,
    batch_receipt_text,
    board_entry,
    encode_entry,
    leaf_hash,
    parse_batch_receipt,
    parse_receipt,
    parse_verifier_key,
    receipt_for,
    receipt_text,
)
from domain.votes import to_millisecond
from tests.unit.test_board_entry import vote

ORIGIN = "boleta.example/votes/p3"
PSEUDONYMS = Pseudonyms(b"s" * 32)
CAST_AT = datetime(2026, 12, 7, 1, 19, 0, 123000, tzinfo=UTC)
MINUS_3 = timezone(timedelta(hours=-3))
CODE = bytes(range(32))
SIGNER = NoteSigner.from_text(generate_signer_key("boleta.example/commands"))
RECEIPT = Receipt(
    origin=ORIGIN,
    partition=3,
    offset=42,
    tracking_code=CODE,
    cast_at=CAST_AT,
    publish_by=CAST_AT + timedelta(minutes=1),
)
TEXT = (
    "boleta receipt v1\n"
    "boleta.example/votes/p3\n"
    "3\n"
    "42\n"
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
    "2026-12-07T01:19:00.123Z\n"
    "2026-12-07T01:20:00.123Z\n"
)

words = st.text(
    st.characters(exclude_categories=("C", "Z"), exclude_characters="\u2014"),
    min_size=1,
    max_size=12,
)
origins = st.lists(words, min_size=1, max_size=3).map(" ".join)
moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC)
).map(to_millisecond)
bounds = st.integers(1, 10**11).map(lambda ms: timedelta(milliseconds=ms))


@st.composite
def receipts(draw: st.DrawFn) -> Receipt:
    cast_at = draw(moments)
    return Receipt(
        origin=draw(origins),
        partition=draw(st.integers(0, 2**31 - 1)),
        offset=draw(st.integers(0, 2**63 - 1)),
        tracking_code=draw(st.binary(min_size=32, max_size=32)),
        cast_at=cast_at,
        publish_by=cast_at + draw(bounds),
    )


def test_the_statement_is_the_documented_one() -> None:
    assert receipt_text(RECEIPT) == TEXT
    assert parse_receipt(TEXT) == RECEIPT


@given(receipts())
def test_a_receipt_round_trips(receipt: Receipt) -> None:
    assert parse_receipt(receipt_text(receipt)) == receipt


def mutations(text: str) -> st.SearchStrategy[str]:
    positions = st.integers(0, len(text) - 1)
    chars = st.one_of(st.sampled_from("0 1aAfFZz+-.:\n\r\t9T"), st.characters())
    replaced = st.tuples(positions, chars).map(lambda p: text[: p[0]] + p[1] + text[p[0] + 1 :])
    inserted = st.tuples(positions, chars).map(lambda p: text[: p[0]] + p[1] + text[p[0] :])
    deleted = positions.map(lambda i: text[:i] + text[i + 1 :])
    return st.one_of(replaced, inserted, deleted).filter(lambda t: t != text)


T = TypeVar("T")


def refused_or_another(
    text: str, changed: str, parse: Callable[[str], T], write: Callable[[T], str]
) -> None:
    """``changed`` is refused, or it is the one text of another value: never a second text
    of the value ``text`` stands for."""
    try:
        other = parse(changed)
    except MalformedReceipt:
        return
    assert other != parse(text)
    assert write(other) == changed


@given(st.data(), receipts())
def test_a_changed_statement_is_refused_or_another_receipts(
    data: st.DataObject, receipt: Receipt
) -> None:
    text = receipt_text(receipt)
    refused_or_another(text, data.draw(mutations(text)), parse_receipt, receipt_text)


@st.composite
def batches(draw: st.DrawFn) -> tuple[Receipt, ...]:
    first, *rest = draw(st.lists(receipts(), min_size=1, max_size=5))
    moments = {"cast_at": first.cast_at, "publish_by": first.publish_by}
    return (first, *(msgspec.structs.replace(r, **moments) for r in rest))


def test_the_batch_statement_is_the_documented_one() -> None:
    second = msgspec.structs.replace(
        RECEIPT, origin="boleta.example/votes p0", partition=0, offset=17, tracking_code=CODE[::-1]
    )
    text = batch_receipt_text([RECEIPT, second])
    assert text == (
        "boleta receipts v1\n"
        "2026-12-07T01:19:00.123Z\n"
        "2026-12-07T01:20:00.123Z\n"
        f"3 42 {CODE.hex()} boleta.example/votes/p3\n"
        f"0 17 {CODE[::-1].hex()} boleta.example/votes p0\n"
    )
    assert parse_batch_receipt(text) == (RECEIPT, second)


@given(st.data(), batches())
def test_a_batch_round_trips_and_a_changed_one_is_refused_or_another(
    data: st.DataObject, batch: tuple[Receipt, ...]
) -> None:
    text = batch_receipt_text(batch)
    assert parse_batch_receipt(text) == batch
    refused_or_another(text, data.draw(mutations(text)), parse_batch_receipt, batch_receipt_text)


@pytest.mark.parametrize(
    "batch",
    [
        [],
        [RECEIPT, msgspec.structs.replace(RECEIPT, cast_at=CAST_AT - timedelta(milliseconds=1))],
        [RECEIPT, msgspec.structs.replace(RECEIPT, publish_by=CAST_AT + timedelta(minutes=2))],
        [msgspec.structs.replace(RECEIPT, origin="")],
        # A later vote's line is checked as the first one's.
        [RECEIPT, msgspec.structs.replace(RECEIPT, origin="two\nlines")],
        [RECEIPT, msgspec.structs.replace(RECEIPT, origin=" boleta.example/votes/p3")],
        [RECEIPT, msgspec.structs.replace(RECEIPT, offset=-1)],
        [RECEIPT, msgspec.structs.replace(RECEIPT, partition=-1)],
        [RECEIPT, msgspec.structs.replace(RECEIPT, tracking_code=CODE[:31])],
        # The same instants, not in UTC: for one receipt of the batch, or for all of them.
        [RECEIPT, msgspec.structs.replace(RECEIPT, cast_at=CAST_AT.astimezone(MINUS_3))],
        [msgspec.structs.replace(RECEIPT, publish_by=RECEIPT.publish_by.astimezone(MINUS_3))] * 2,
        [msgspec.structs.replace(RECEIPT, cast_at=CAST_AT.replace(tzinfo=None))],
        [msgspec.structs.replace(RECEIPT, cast_at=CAST_AT.replace(microsecond=123456))] * 2,
    ],
)
def test_a_batch_without_one_valid_moment_or_vote_has_no_statement(batch: list[Receipt]) -> None:
    with pytest.raises(MalformedReceipt):
        batch_receipt_text(batch)


BATCH_TEXT = batch_receipt_text([RECEIPT])


@pytest.mark.parametrize(
    "text",
    [
        BATCH_TEXT.replace(" 42 ", "  42 "),
        BATCH_TEXT.replace(" 42 ", " 42\t"),
        BATCH_TEXT.replace("\n3 ", "\n 3 "),
        BATCH_TEXT.replace("p3\n", "p3 \n"),
        BATCH_TEXT.replace(f" {CODE.hex()} boleta.example/votes/p3", f" {CODE.hex()}"),
        BATCH_TEXT.replace("receipts", "receipt"),
        "\n".join(BATCH_TEXT.split("\n")[:3]) + "\n",  # no vote
        BATCH_TEXT + "\n",
        BATCH_TEXT[:-1],
        TEXT,
    ],
)
def test_other_batch_spellings_are_refused(text: str) -> None:
    with pytest.raises(MalformedReceipt):
        parse_batch_receipt(text)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("boleta receipt v1", "boleta receipt v2"),
        ("boleta receipt v1", "Boleta receipt v1"),
        ("\n3\n", "\n03\n"),
        ("\n3\n", "\n+3\n"),
        ("\n3\n", "\n\u0663\n"),  # an Arabic-Indic three
        ("\n42\n", "\n42 \n"),
        ("\n42\n", "\n-42\n"),
        ("\n42\n", "\n4_2\n"),
        ("000102", "g00102"),
        ("0a0b0c", "0A0B0C"),
        ("1c1d1e1f", "1c1d1e"),
        ("1c1d1e1f", "1c1d1e1f00"),
        ("01:19:00.123Z", "01:19:00.123000Z"),
        ("01:19:00.123Z", "01:19:00.12Z"),
        ("01:19:00.123Z", "01:19:00.123+00:00"),
        ("01:19:00.123Z", "01:19:00.123z"),
        ("01:19:00.123Z", "01:19:00,123Z"),
        ("2026-12-07T01:19", "2026-12-07 01:19"),
        ("2026-12-07T01:19", "2026-12-7T01:19"),
        ("2026-12-07T01:20:00.123Z", "2026-12-07T01:19:00.123Z"),  # publish_by = cast_at
        ("2026-12-07T01:20:00.123Z", "2026-12-07T01:18:00.123Z"),  # publish_by before
        ("2026-12-07T01:20:00.123Z", "2026-02-30T01:20:00.123Z"),
        ("boleta.example/votes/p3", " boleta.example/votes/p3"),
        ("boleta.example/votes/p3", "boleta.example/votes/p3 "),
        ("boleta.example/votes/p3", ""),
        ("\n", "\r\n"),
    ],
)
def test_other_spellings_are_refused(old: str, new: str) -> None:
    assert old in TEXT
    with pytest.raises(MalformedReceipt):
        parse_receipt(TEXT.replace(old, new, 1))


@pytest.mark.parametrize("text", ["", TEXT[:-1], TEXT + "\n", TEXT + "extra\n", "\n" + TEXT])
def test_missing_or_extra_lines_are_refused(text: str) -> None:
    with pytest.raises(MalformedReceipt):
        parse_receipt(text)


@given(st.integers(0, 10**6), st.text(max_size=20), moments, bounds)
def test_the_tracking_code_is_the_leaf_hash_of_the_votes_entry(
    offset: int, voter_id: str, cast_at: datetime, bound: timedelta
) -> None:
    event = vote(voter_id=voter_id, cast_at=cast_at)
    entry = board_entry(event, offset, PSEUDONYMS)
    receipt = receipt_for(entry, origin=ORIGIN, partition=3, bound=bound)
    data = encode_entry(entry)
    assert receipt.tracking_code == leaf_hash(data) == hashlib.sha256(b"\x00" + data).digest()
    assert (receipt.offset, receipt.cast_at, receipt.partition) == (offset, cast_at, 3)
    assert parse_receipt(receipt_text(receipt)) == receipt


@given(moments, bounds)
def test_publish_by_is_cast_at_plus_the_bound(cast_at: datetime, bound: timedelta) -> None:
    entry = board_entry(vote(cast_at=cast_at), 0, PSEUDONYMS)
    receipt = receipt_for(entry, origin=ORIGIN, partition=0, bound=bound)
    assert receipt.publish_by > receipt.cast_at
    assert receipt.publish_by - receipt.cast_at == bound


@pytest.mark.parametrize(
    "bound", [timedelta(0), timedelta(milliseconds=-1), timedelta(microseconds=1500)]
)
def test_a_bound_is_positive_whole_milliseconds(bound: timedelta) -> None:
    entry = board_entry(vote(), 0, PSEUDONYMS)
    with pytest.raises(ValueError, match="bound"):
        receipt_for(entry, origin=ORIGIN, partition=0, bound=bound)


@pytest.mark.parametrize(
    "change",
    [
        {"publish_by": CAST_AT},
        {"publish_by": CAST_AT - timedelta(seconds=1)},
        {"cast_at": CAST_AT.replace(microsecond=123456)},
        {"cast_at": CAST_AT.replace(tzinfo=None)},
        {"cast_at": CAST_AT.astimezone(timezone(timedelta(hours=-3)))},
        {"tracking_code": CODE[:31]},
        {"offset": -1},
        {"partition": -1},
        {"origin": "two\nlines"},
    ],
)
def test_an_invalid_receipt_has_no_statement(change: dict[str, object]) -> None:
    with pytest.raises(MalformedReceipt):
        receipt_text(msgspec.structs.replace(RECEIPT, **change))


def test_a_signed_receipt_verifies_with_the_services_key() -> None:
    note = sign_receipt(SIGNER, RECEIPT)
    assert note.startswith(TEXT + "\n\u2014 boleta.example/commands ")
    assert verify(note, SIGNER.verifier_key_text) == RECEIPT
    assert verify(note.encode(), parse_verifier_key(SIGNER.verifier_key_text)) == RECEIPT


@pytest.mark.parametrize("name", ["boleta.example/commands", "someone.else"])
def test_another_key_does_not_verify_it(name: str) -> None:
    note = sign_receipt(SIGNER, RECEIPT)
    other = NoteSigner.from_text(generate_signer_key(name))
    with pytest.raises(SignatureError):
        verify(note, other.verifier_key_text)


def test_a_receipt_signed_by_another_key_under_the_same_name_is_refused() -> None:
    impostor = NoteSigner.from_text(generate_signer_key(SIGNER.verifier.name))
    with pytest.raises(SignatureError):
        verify(sign_receipt(impostor, RECEIPT), SIGNER.verifier)


@pytest.mark.parametrize("line", range(7))
def test_any_altered_line_fails(line: int) -> None:
    """Each line swapped for the same line of another valid receipt: still a receipt, no
    longer the one signed."""
    other = Receipt(
        origin="boleta.example/votes/p4",
        partition=4,
        offset=43,
        tracking_code=bytes(32),
        cast_at=CAST_AT + timedelta(milliseconds=1),
        publish_by=CAST_AT + timedelta(minutes=2),
    )
    lines, others = TEXT.split("\n"), receipt_text(other).split("\n")
    lines[line] = others[line] if line else "boleta receipt v0"
    _, signatures = sign_receipt(SIGNER, RECEIPT).split("\n\n")
    with pytest.raises((SignatureError, MalformedReceipt)):
        verify("\n".join(lines) + "\n" + signatures, SIGNER.verifier)


@given(st.data())
def test_any_altered_byte_of_the_signed_note_fails(data: st.DataObject) -> None:
    note = sign_receipt(SIGNER, RECEIPT).encode()
    at = data.draw(st.integers(0, len(note) - 1))
    flip = data.draw(st.integers(1, 255))
    changed = note[:at] + bytes([note[at] ^ flip]) + note[at + 1 :]
    with pytest.raises((SignatureError, MalformedNote)):
        verify(changed, SIGNER.verifier)


def test_a_batch_is_signed_once_and_verifies_with_the_services_key_only() -> None:
    batch = (RECEIPT, msgspec.structs.replace(RECEIPT, offset=43, tracking_code=CODE[::-1]))
    note = sign_receipts(SIGNER, batch)
    assert note.count("\u2014") == 1
    assert verify_receipts(note, SIGNER.verifier_key_text) == batch
    other = NoteSigner.from_text(generate_signer_key(SIGNER.verifier.name))
    with pytest.raises(SignatureError):
        verify_receipts(note, other.verifier)
    with pytest.raises(MalformedReceipt):  # a batch is no single receipt, and the reverse
        verify(note, SIGNER.verifier)
    with pytest.raises(MalformedReceipt):
        verify_receipts(sign_receipt(SIGNER, RECEIPT), SIGNER.verifier)
    changed = note.replace("\n3 43 ", "\n3 44 ")
    assert changed != note
    with pytest.raises(SignatureError):
        verify_receipts(changed, SIGNER.verifier)
