"""What the query API accepts as times and cursors, parsed without a framework (the CLI's
``--as-of`` follows the same rules). Each pattern here is also what the OpenAPI schema
states, so a text the schema allows is a text these functions accept.

Times (``as_of``, ``since``, ``until``) are RFC 3339 date-times with a time zone (``Z``
or ``±hh:mm``), at most nine fractional digits and no leap second, from the Unix epoch
1970-01-01T00:00:00Z to the year 9999. Why the epoch is the floor: a vote's ``cast_at``
is also its Kafka timestamp, milliseconds since the epoch, and Kafka has no timestamps
before it (asked for a negative one, offsets-for-times reads it as its "latest" or
"earliest" sentinel, or the broker refuses it); so no moment before the epoch can be
asked of the log. Such a moment could be read as "nothing yet", but a client that sends
one has almost surely made a mistake (0026 for 2026, a zero timestamp): a 400 naming the
field and the range tells it so, where an empty count would not. On 1970-01-01 itself a
time is given in UTC or with a negative offset, so that the pattern alone decides which
texts are accepted. A later instant than the year 9999 in UTC (9999-12-31 with a negative
offset) is read as the latest moment Python holds.

``as_of`` asks for results that exist: a moment that has not come yet (on the server's
clock) is schema-valid, since a schema has no notion of "now", so it is not refused as
malformed: ``NotYetError`` (the API answers 404, no results as of it exist yet).

The cursor is opaque to clients, who pass back the ``next_cursor`` a page returned. It is
each partition's position (reading continues below it): ``<partition>.<offset>`` pairs
joined by ``_``, at most ``MAX_CURSOR_PARTITIONS`` of them. Any text of that shape is a
position the API can read from: a partition the log does not have, or an offset past its
end, yields no votes; a partition named twice continues below the lower offset.

``positions`` names a prefix of the log (results at the board's positions): per
partition, the offset the prefix ends before (exclusive: ``0:120`` is partition 0's
offsets 0 to 119), as ``<partition>:<end>`` pairs joined by ``,``, at most
``MAX_POSITIONS`` of them. A partition not named contributes none of its messages; a
partition named twice ends at the lower end (as a cursor does: every text of the shape is
a prefix). An end past the log's is schema-valid, so it is not refused as malformed: no
results at it exist yet (the API answers 404).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from domain.asof import EPOCH
from queries.timeline import Positions

DATE_TIME_PATTERN: Final = (
    r"^(?!1970-01-01[Tt][0-9:.]+\+(?!00:00$))"  # no instant before the epoch
    r"(?:19[7-9][0-9]|[2-9][0-9]{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?"
    r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)
MOMENTS: Final = (
    "an RFC 3339 date-time with a time zone (Z or ±hh:mm) from 1970-01-01T00:00:00Z to the "
    "year 9999, e.g. 2026-11-27T20:00:00Z"
)
MAX_CURSOR_PARTITIONS: Final = 256
_PAIR = r"[0-9]{1,6}\.[0-9]{1,18}"
CURSOR_PATTERN: Final = rf"^{_PAIR}(?:_{_PAIR}){{0,{MAX_CURSOR_PARTITIONS - 1}}}$"
CURSORS: Final = (
    "the next_cursor of a page (<partition>.<offset> pairs joined by _); start without one"
)
LIMITS: Final = (1, 200)
MAX_POSITIONS: Final = 256
_POSITION = r"[0-9]{1,6}:[0-9]{1,18}"
POSITIONS_PATTERN: Final = rf"^{_POSITION}(?:,{_POSITION}){{0,{MAX_POSITIONS - 1}}}$"
POSITIONS_TEXT: Final = (
    "<partition>:<end> pairs joined by commas, e.g. 0:120,1:98: per partition of the log, "
    "the offset its counted messages end before (a partition not named: none of its "
    f"messages); at most {MAX_POSITIONS} pairs, a partition up to 6 digits, an end up to 18"
)

_DATE_TIME = re.compile(DATE_TIME_PATTERN)
_CURSOR = re.compile(CURSOR_PATTERN)
_POSITIONS = re.compile(POSITIONS_PATTERN)
_WITHOUT_ZONE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
)
_LATEST = datetime.max.replace(tzinfo=UTC)
_SHOWN = 60  # characters of a refused text repeated in the error


class InputError(ValueError):
    """A query input the API does not accept: the field, why, and what it accepts."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotYetError(InputError):
    """A moment the server's clock has not reached: nothing is known as of it yet."""


def moment(field: str, text: str) -> datetime:
    """``text`` as an instant in UTC, if it is a time the API accepts (see the module)."""
    if not _DATE_TIME.fullmatch(text):
        raise InputError(field, f"{_shown(text)} {_why_not(text)}; accepted: {MOMENTS}")
    fraction, zone = _fraction_and_zone(text[19:])
    try:
        local = datetime(
            int(text[0:4]),
            int(text[5:7]),
            int(text[8:10]),
            int(text[11:13]),
            int(text[14:16]),
            int(text[17:19]),
            int(fraction.ljust(6, "0")[:6]) if fraction else 0,
            tzinfo=zone,
        )
    except ValueError:
        raise InputError(
            field, f"{_shown(text)} is not a date of the calendar; accepted: {MOMENTS}"
        ) from None
    try:
        return local.astimezone(UTC)
    except OverflowError:  # past the year 9999 in UTC
        return _LATEST


def not_after_now(field: str, at: datetime, now: datetime) -> datetime:
    """``at``, if the clock has reached it (``now``); else ``NotYetError``."""
    if at > now:
        raise NotYetError(
            field,
            f"{at.isoformat()} is in the future (now {now.isoformat()}): nothing is known "
            f"as of it yet; accepted: {MOMENTS}, not after now",
        )
    return at


def as_of(field: str, text: str, now: datetime) -> datetime:
    """A moment to ask results as of: accepted by ``moment`` and not after ``now``."""
    return not_after_now(field, moment(field, text), now)


def encode_cursor(positions: Positions) -> str | None:
    """The cursor of ``positions`` (None when there are none: nothing is left to read)."""
    if not positions:
        return None
    return "_".join(f"{p}.{o}" for p, o in sorted(positions.items()))


def decode_cursor(text: str) -> Positions:
    """The positions a cursor names (see the module); ``InputError`` for any other text."""
    if not _CURSOR.fullmatch(text):
        raise InputError("cursor", f"{_shown(text)} is not a cursor; accepted: {CURSORS}")
    positions: Positions = {}
    for pair in text.split("_"):
        partition, offset = (int(n) for n in pair.split("."))
        positions[partition] = min(offset, positions.get(partition, offset))
    return positions


def decode_positions(text: str) -> Positions:
    """The prefix of the log ``positions`` names (see the module), partitions ending at 0
    left out; ``InputError`` for any other text."""
    if not _POSITIONS.fullmatch(text):
        raise InputError(
            "positions", f"{_shown(text)} is not a list of positions; accepted: {POSITIONS_TEXT}"
        )
    ends: Positions = {}
    for pair in text.split(","):
        partition, end = (int(n) for n in pair.split(":"))
        ends[partition] = min(end, ends.get(partition, end))
    return {p: end for p, end in sorted(ends.items()) if end > 0}


def encode_positions(ends: Positions) -> str:
    """The ``positions`` text of ``ends`` (partition -> end), partitions in order."""
    return ",".join(f"{p}:{end}" for p, end in sorted(ends.items()))


def _fraction_and_zone(rest: str) -> tuple[str, timezone]:
    """The fractional digits and the time zone of what follows the seconds."""
    if rest[-1] in "Zz":
        fraction, zone = rest[:-1], UTC
    else:
        sign = -1 if rest[-6] == "-" else 1
        offset = timedelta(hours=int(rest[-5:-3]), minutes=int(rest[-2:]))
        fraction, zone = rest[:-6], timezone(sign * offset)
    return fraction.lstrip("."), zone


def _why_not(text: str) -> str:
    if _WITHOUT_ZONE.fullmatch(text):
        return "has no time zone"
    if re.match(r"[0-9]{4}-", text) and (
        int(text[:4]) < EPOCH.year or text.startswith("1970-01-01")
    ):
        return "is before 1970-01-01T00:00:00Z (give that day's times in UTC or a negative offset)"
    return "is not an RFC 3339 date-time"


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")


__all__ = [
    "CURSORS",
    "CURSOR_PATTERN",
    "DATE_TIME_PATTERN",
    "LIMITS",
    "MAX_POSITIONS",
    "MOMENTS",
    "POSITIONS_PATTERN",
    "POSITIONS_TEXT",
    "InputError",
    "NotYetError",
    "Positions",
    "as_of",
    "decode_cursor",
    "decode_positions",
    "encode_cursor",
    "encode_positions",
    "moment",
    "not_after_now",
]
