"""A board entry: the public part of one vote event, encoded canonically.

Layout (version 1). An entry is one compact JSON object (UTF-8, no whitespace) with
exactly these members in this order::

    {"v":1,"contest":"main","band":"Green Ridge","album":"Imbituva","year":2008,"rank":7,
     "cast_at":"2026-12-07T01:19:00.123000Z","offset":42,"one_vote_per_voter":false,
     "vote":"<32 hex>","voter":"<32 hex or empty>"}

- ``v``: the layout version, 1.
- ``contest``, ``band``, ``album``, ``year``, ``rank``: the vote's choice, as in the event.
- ``cast_at``: the server's UTC clock when the vote was cast, in whole milliseconds (the
  precision of a cast_at: ``domain.votes.VoteCast``), RFC 3339 with ``Z``, the fraction
  only when not zero, then in six digits (``.123000``).
- ``offset``: the event's Kafka offset in its partition (each partition has its own tree).
- ``one_vote_per_voter``: whether the vote's contest declared one vote per voter when it was
  cast (then only a voter's first vote counts, so a recount needs it).
- ``vote``: a keyed pseudonym of the vote_id: retries of one vote share it.
- ``voter``: a keyed pseudonym of contest + voter_id when the vote names a voter, else "".

Strings are escaped as JSON requires and no more (``"``, ``\\``, control characters as
``\\u00XX``); every other character, non-ASCII included, is its UTF-8 bytes. Integers are
plain decimals. A pseudonym is the lowercase hex of the first 16 bytes of
``HMAC-SHA256(secret, label || 0x00 || (uint32 big-endian length || UTF-8 bytes) per
field)``, labels ``boleta/board/v1/vote`` (fields: vote_id) and ``boleta/board/v1/voter``
(fields: contest, voter_id). The secret is the board's own and stays fixed for the life of
the board (the board is rebuilt byte-identical from the log). Without it nobody can tell
which entry carries a given vote_id or voter_id, even one that is easy to guess; with it
entries of one vote (retries) and of one voter can be told apart.

:func:`decode_entry` accepts exactly the bytes :func:`encode_entry` produces (it encodes the
decoded entry again and compares), so one entry value has one byte sequence.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.hmac import HMAC

from domain.votes import VoteCast

ENTRY_VERSION = 1
PSEUDONYM_BYTES = 16
MIN_SECRET = 16
VOTE_LABEL = b"boleta/board/v1/vote"
VOTER_LABEL = b"boleta/board/v1/voter"


class UndecodableEntry(ValueError):
    """Bytes that are not a canonical board entry of a known version; the message says why."""


class BoardEntry(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    v: int = ENTRY_VERSION
    contest: str
    band: str
    album: str
    year: int
    rank: int
    cast_at: datetime
    offset: int
    one_vote_per_voter: bool
    vote: str
    voter: str


class Pseudonyms:
    """The keyed pseudonyms of vote_ids and voters under one board secret: HMAC-SHA256
    (``cryptography``'s, on OpenSSL), keyed once and copied per message (the command service
    computes one per vote it accepts, the board worker one or two per event). The same bytes
    as the standard library's ``hmac``, in 0.5 us a copy and digest where ``hmac``'s wrapper
    of OpenSSL's takes 1.2 (timeit, docs/performance.md)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET:
            raise ValueError(f"the board secret is at least {MIN_SECRET} bytes")
        self._keyed = HMAC(secret, SHA256())
        self._vote = VOTE_LABEL + b"\x00"
        self._voter = VOTER_LABEL + b"\x00"

    def _hmac(self, message: bytes) -> str:
        mac = self._keyed.copy()
        mac.update(message)
        return mac.finalize()[:PSEUDONYM_BYTES].hex()

    def vote(self, vote_id: str) -> str:
        data = vote_id.encode()
        return self._hmac(self._vote + len(data).to_bytes(4, "big") + data)

    def voter(self, contest: str, voter_id: str) -> str:
        c, v = contest.encode(), voter_id.encode()
        return self._hmac(
            self._voter + len(c).to_bytes(4, "big") + c + len(v).to_bytes(4, "big") + v
        )

    def __repr__(self) -> str:
        return "Pseudonyms(<secret>)"


_ZERO = timedelta(0)
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(BoardEntry)


def board_entry(event: VoteCast, offset: int, pseudonyms: Pseudonyms) -> BoardEntry:
    """The board's entry for ``event``, read at ``offset`` of its partition."""
    return BoardEntry(
        contest=event.contest,
        band=event.band,
        album=event.album,
        year=event.year,
        rank=event.rank,
        cast_at=event.cast_at.astimezone(UTC),
        offset=offset,
        one_vote_per_voter=event.one_vote_per_voter,
        vote=pseudonyms.vote(event.vote_id),
        voter=pseudonyms.voter(event.contest, event.voter_id) if event.voter_id else "",
    )


def encode_entry(entry: BoardEntry) -> bytes:
    if entry.cast_at.utcoffset() != _ZERO:  # msgspec writes any zero offset as "Z"
        raise ValueError("an entry's cast_at is in UTC")
    return _encoder.encode(entry)


def decode_entry(data: bytes) -> BoardEntry:
    try:
        entry = _decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as e:
        raise UndecodableEntry(f"not a board entry: {e}") from None
    if entry.v != ENTRY_VERSION:
        raise UndecodableEntry(f"unknown entry version {entry.v}")
    if entry.cast_at.utcoffset() != _ZERO or encode_entry(entry) != data:
        raise UndecodableEntry("not the canonical encoding of its entry")
    return entry
