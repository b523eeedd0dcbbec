"""A vote's receipt: its tracking code and the service's promise to publish its board entry.

Modelled on Certificate Transparency's signed certificate timestamp and maximum merge delay
(RFC 6962, 3.1): the command service signs, when it accepts a vote, that the vote's board
entry will be in a checkpoint of its partition's tree by ``publish_by``. A receipt's signed
form is a C2SP signed note (https://c2sp.org/signed-note, :mod:`domain.board.note`) whose
text is the statement below; signing and checking it is the adapter's
(:mod:`boleta.board_keys`: ``sign_receipt``, ``verify_receipt`` and, for a batch,
``sign_receipts``, ``verify_receipts``).

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
   canonical bytes: the partition's board holds an entry with this leaf hash, and that
   entry's offset is line 4's.
6. ``cast_at``: the vote's cast_at (the same as the entry's), UTC, whole milliseconds,
   ``YYYY-MM-DDTHH:MM:SS.mmmZ``: always exactly three fractional digits, always ``Z``.
7. ``publish_by``: the moment by which a checkpoint of the partition's tree signed by the
   board includes the entry (``cast_at`` plus the service's stated bound), written as
   line 6; always later than ``cast_at``.

Batch statement, version 1: the receipts of the votes of one ``CastVotes`` call, which
share one cast_at and hence one publish_by, under one signature. UTF-8, each line ending in
``\\n``::

    boleta receipts v1
    2026-12-07T01:19:00.123Z
    2026-12-07T01:20:00.123Z
    3 42 5d2c0f...(64 hex digits) boleta.example/votes/p3
    0 17 9a41be...(64 hex digits) boleta.example/votes/p0

1. ``boleta receipts v1``, literally.
2. ``cast_at`` and 3. ``publish_by``, as lines 6 and 7 of a receipt.
4. and on: one line per vote, at least one, in the order of the batch's votes: its
   partition, offset and tracking code, written as in a receipt, and its partition's
   origin, separated by one space each (the origin comes last, so it may hold spaces).

Each vote line with lines 2 and 3 is one receipt, with the same promise as a receipt's.

One receipt (one batch of receipts) has exactly one text: :func:`parse_receipt`
(:func:`parse_batch_receipt`) refuses any text that is not byte for byte what
:func:`receipt_text` (:func:`batch_receipt_text`) writes for what it reads
(:class:`MalformedReceipt`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec

from domain.board.entry import BoardEntry, encode_entry
from domain.board.merkle import HASH_SIZE, leaf_hash
from domain.board.note import MalformedNote

RECEIPT_HEADER = "boleta receipt v1"
BATCH_HEADER = "boleta receipts v1"
_MOMENT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z")
_LINES = 7
_MAX_DIGITS = 20  # an offset is a signed 64-bit integer
_ZERO = timedelta(0)


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
    if bound <= _ZERO or bound.microseconds % 1000:  # whole milliseconds
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
    if moment.utcoffset() != _ZERO or moment.microsecond % 1000:
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


def _parse_code(text: str) -> bytes:
    if len(text) != 2 * HASH_SIZE or text != text.lower() or not text.isascii():
        raise MalformedReceipt(f"a tracking code is {2 * HASH_SIZE} lowercase hex digits")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise MalformedReceipt(f"a tracking code is hex: {text!r}") from None


def _parse_vote(
    origin: str, partition: str, offset: str, code: str, moments: tuple[datetime, datetime]
) -> Receipt:
    return Receipt(
        origin=origin,
        partition=_parse_natural(partition, "partition"),
        offset=_parse_natural(offset, "offset"),
        tracking_code=_parse_code(code),
        cast_at=moments[0],
        publish_by=moments[1],
    )


def _check_origin(origin: str) -> None:
    if not origin or not origin.isprintable() or origin != origin.strip():
        raise MalformedReceipt(f"an origin is printable, without outer spaces: {origin!r}")


def _check_place(receipt: Receipt) -> None:
    if receipt.partition < 0 or receipt.offset < 0:
        raise MalformedReceipt("a receipt's partition and offset are 0 or more")
    if len(receipt.tracking_code) != HASH_SIZE:
        raise MalformedReceipt(f"a tracking code is {HASH_SIZE} bytes")


def _vote_lines(receipt: Receipt) -> tuple[str, str, str, str]:
    """The receipt's origin, partition, offset and tracking code, as written."""
    _check_origin(receipt.origin)
    _check_place(receipt)
    return (
        receipt.origin,
        str(receipt.partition),
        str(receipt.offset),
        receipt.tracking_code.hex(),
    )


def _moment_lines(receipt: Receipt) -> tuple[str, str]:
    """The receipt's cast_at and publish_by, as written."""
    cast_at, publish_by = _moment(receipt.cast_at), _moment(receipt.publish_by)
    if receipt.publish_by <= receipt.cast_at:
        raise MalformedReceipt("a receipt's publish_by is later than its cast_at")
    return cast_at, publish_by


def _statement(lines: tuple[str, ...]) -> str:
    return "".join(line + "\n" for line in lines)


def _lines_after(header: str, text: str) -> list[str]:
    """The lines of ``text`` after its first, which is ``header``."""
    if not text.endswith("\n"):
        raise MalformedReceipt("a receipt ends with a newline")
    first, *lines = text[:-1].split("\n")
    if first != header:
        raise MalformedReceipt(f"not a {header!r} statement: {first!r}")
    return lines


def receipt_text(receipt: Receipt) -> str:
    """The receipt's statement, the text its signed note signs (layout above)."""
    return _statement((RECEIPT_HEADER, *_vote_lines(receipt), *_moment_lines(receipt)))


def parse_receipt(text: str) -> Receipt:
    """The receipt whose statement is exactly ``text``; anything else raises
    :class:`MalformedReceipt`."""
    lines = _lines_after(RECEIPT_HEADER, text)
    if len(lines) != _LINES - 1:
        raise MalformedReceipt(f"a receipt is {_LINES} lines, each ending in a newline")
    origin, partition, offset, code, cast_at, publish_by = lines
    moments = _parse_moment(cast_at), _parse_moment(publish_by)
    receipt = _parse_vote(origin, partition, offset, code, moments)
    if receipt_text(receipt) != text:
        raise MalformedReceipt("not the canonical statement of its receipt")
    return receipt


def batch_receipt_text(receipts: Sequence[Receipt]) -> str:
    """One statement for the receipts of one batch of votes, which share their cast_at
    and publish_by (layout above)."""
    if not receipts:
        raise MalformedReceipt("a batch receipt has at least one vote")
    # Written once for the batch (as every receipt's, they would be one text): receipts
    # whose moments are the same instants at the same UTC offsets.
    moments = {
        (r.cast_at, r.publish_by, r.cast_at.utcoffset(), r.publish_by.utcoffset()) for r in receipts
    }
    if len(moments) != 1:
        raise MalformedReceipt("a batch's receipts share one cast_at and one publish_by")
    head = _statement((BATCH_HEADER, *_moment_lines(receipts[0])))
    # One line per vote, as _vote_lines writes them; each distinct origin checked once.
    origins: set[str] = set()
    votes = []
    for r in receipts:
        if r.origin not in origins:
            _check_origin(r.origin)
            origins.add(r.origin)
        _check_place(r)
        votes.append(f"{r.partition} {r.offset} {r.tracking_code.hex()} {r.origin}\n")
    return head + "".join(votes)


def parse_batch_receipt(text: str) -> tuple[Receipt, ...]:
    """The receipts whose batch statement is exactly ``text``, in its order; anything else
    raises :class:`MalformedReceipt`."""
    lines = _lines_after(BATCH_HEADER, text)
    if len(lines) < 3:
        raise MalformedReceipt("a batch receipt has two moments and at least one vote")
    moments = _parse_moment(lines[0]), _parse_moment(lines[1])
    receipts = []
    for line in lines[2:]:
        fields = line.split(" ", 3)  # the origin, last, may hold spaces
        if len(fields) != 4:
            raise MalformedReceipt(f"a vote's line is partition offset code origin: {line!r}")
        partition, offset, code, origin = fields
        receipts.append(_parse_vote(origin, partition, offset, code, moments))
    if batch_receipt_text(receipts) != text:
        raise MalformedReceipt("not the canonical statement of its receipts")
    return tuple(receipts)
