"""A vote's receipt: its tracking code and the service's promise to publish its board entry.

Modelled on Certificate Transparency's signed certificate timestamp and maximum merge delay
(RFC 6962, 3.1): the command service signs, when it accepts a vote, that the vote's board
entry will be in a checkpoint of its partition's tree by ``publish_by``. A receipt's signed
form is a C2SP signed note (https://c2sp.org/signed-note, :mod:`domain.board.note`) whose
text is the statement below; signing and checking it is the adapter's
(:mod:`boleta.board_keys`: ``sign_receipt``, ``verify_receipt``).

Statement, version 1: UTF-8, exactly seven lines, each ending in ``\\n`` (the last one too),
no other whitespace::

    boleta receipt v1
    boleta.example/votes/p3
    3
    42
    5d2c0f...(64 hex digits)
    2026-12-07T01:19:00.123Z
    2026-12-07T01:20:00.123Z

1. ``boleta receipt v1``: the statement's kind and version, literally.
2. The board origin of the vote's partition: the origin line of that partition's
   checkpoints; non-empty, printable, no leading or trailing whitespace.
3. The Kafka partition of ``votes`` the vote is in: a decimal, no sign, no leading zeroes.
4. The vote event's offset in that partition, written likewise.
5. The tracking code: lowercase hex of the 32-byte RFC 6962 leaf hash of the vote's board
   entry, ``SHA-256(0x00 || entry)``, the entry being :mod:`domain.board.entry`'s
   canonical bytes. The board's entry bundles of the partition hold that entry at offset
   line 4.
6. ``cast_at``: the vote's cast_at (the same as the entry's), UTC, whole milliseconds,
   ``YYYY-MM-DDTHH:MM:SS.mmmZ``: always exactly three fractional digits, always ``Z``.
7. ``publish_by``: the moment by which a checkpoint of the partition's tree signed by the
   board includes the entry (``cast_at`` plus the service's stated bound), written as
   line 6; always later than ``cast_at``.

One receipt has exactly one text: :func:`parse_receipt` refuses any text that is not
byte for byte what :func:`receipt_text` writes for the receipt it reads
(:class:`MalformedReceipt`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import msgspec

from domain.board.entry import BoardEntry, encode_entry
from domain.board.merkle import HASH_SIZE, leaf_hash
from domain.board.note import MalformedNote

RECEIPT_HEADER = "boleta receipt v1"
_MOMENT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z")
_LINES = 7
_MAX_DIGITS = 20  # an offset is a signed 64-bit integer


class MalformedReceipt(MalformedNote):
    """Text that is not the canonical statement of a receipt; the message says why."""


class Receipt(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    origin: str
    partition: int
    offset: int
    tracking_code: bytes
    cast_at: datetime
    publish_by: datetime


def tracking_code(entry: BoardEntry) -> bytes:
    """A vote's tracking code: the RFC 6962 leaf hash of its board entry."""
    return leaf_hash(encode_entry(entry))


def receipt_for(entry: BoardEntry, *, origin: str, partition: int, bound: timedelta) -> Receipt:
    """The receipt of ``entry`` (in ``partition``, whose board is ``origin``), promising
    it a checkpoint within ``bound`` (positive, whole milliseconds) of its cast_at."""
    if bound <= timedelta(0) or bound % timedelta(milliseconds=1):
        raise ValueError("a receipt's bound is a positive whole number of milliseconds")
    return Receipt(
        origin=origin,
        partition=partition,
        offset=entry.offset,
        tracking_code=tracking_code(entry),
        cast_at=entry.cast_at,
        publish_by=entry.cast_at + bound,
    )


def _moment(moment: datetime) -> str:
    if moment.utcoffset() != timedelta(0) or moment.microsecond % 1000:
        raise MalformedReceipt(f"a receipt's moment is UTC in whole milliseconds: {moment}")
    m = moment
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
        f".{m.microsecond // 1000:03d}Z"
    )


def _parse_moment(text: str) -> datetime:
    match = _MOMENT.fullmatch(text)
    if match is None:
        raise MalformedReceipt(f"a moment is YYYY-MM-DDTHH:MM:SS.mmmZ: {text!r}")
    year, month, day, hour, minute, second, milli = map(int, match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, milli * 1000, tzinfo=UTC)
    except ValueError as e:
        raise MalformedReceipt(f"not a moment: {text!r} ({e})") from None


def _parse_natural(text: str, what: str) -> int:
    if (
        not text.isascii()
        or not text.isdigit()
        or len(text) > _MAX_DIGITS
        or text != str(int(text))
    ):
        raise MalformedReceipt(f"a receipt's {what} is a decimal without leading zeroes: {text!r}")
    return int(text)


def receipt_text(receipt: Receipt) -> str:
    """The receipt's statement, the text its signed note signs (layout above)."""
    origin = receipt.origin
    if not origin or not origin.isprintable() or origin != origin.strip():
        raise MalformedReceipt(f"an origin is printable, without outer spaces: {origin!r}")
    if receipt.partition < 0 or receipt.offset < 0:
        raise MalformedReceipt("a receipt's partition and offset are 0 or more")
    if len(receipt.tracking_code) != HASH_SIZE:
        raise MalformedReceipt(f"a tracking code is {HASH_SIZE} bytes")
    cast_at, publish_by = _moment(receipt.cast_at), _moment(receipt.publish_by)
    if receipt.publish_by <= receipt.cast_at:
        raise MalformedReceipt("a receipt's publish_by is later than its cast_at")
    lines = (
        RECEIPT_HEADER,
        origin,
        str(receipt.partition),
        str(receipt.offset),
        receipt.tracking_code.hex(),
        cast_at,
        publish_by,
    )
    return "".join(line + "\n" for line in lines)


def parse_receipt(text: str) -> Receipt:
    """The receipt whose statement is exactly ``text``; anything else raises
    :class:`MalformedReceipt`."""
    lines = text.split("\n")
    if len(lines) != _LINES + 1 or lines[-1] != "":
        raise MalformedReceipt(f"a receipt is {_LINES} lines, each ending in a newline")
    header, origin, partition, offset, code, cast_at, publish_by = lines[:-1]
    if header != RECEIPT_HEADER:
        raise MalformedReceipt(f"not a {RECEIPT_HEADER!r} statement: {header!r}")
    if len(code) != 2 * HASH_SIZE or code != code.lower() or not code.isascii():
        raise MalformedReceipt(f"a tracking code is {2 * HASH_SIZE} lowercase hex digits")
    try:
        tracking = bytes.fromhex(code)
    except ValueError:
        raise MalformedReceipt(f"a tracking code is hex: {code!r}") from None
    receipt = Receipt(
        origin=origin,
        partition=_parse_natural(partition, "partition"),
        offset=_parse_natural(offset, "offset"),
        tracking_code=tracking,
        cast_at=_parse_moment(cast_at),
        publish_by=_parse_moment(publish_by),
    )
    if receipt_text(receipt) != text:
        raise MalformedReceipt("not the canonical statement of its receipt")
    return receipt
