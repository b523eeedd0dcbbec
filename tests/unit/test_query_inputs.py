"""The query API's times and cursors (queries.inputs): the patterns its schema states are
exactly the texts the parsers accept, and every refusal names the field and what it
accepts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.asof import EPOCH
from queries.inputs import (
    CURSOR_PATTERN,
    DATE_TIME_PATTERN,
    MAX_CURSOR_PARTITIONS,
    InputError,
    NotYetError,
    as_of,
    decode_cursor,
    encode_cursor,
    moment,
)

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timedelta(minutes=m))


def rfc3339(local: datetime, offset: timedelta | None, digits: int, lower: bool) -> str:
    """``local`` (naive) written with ``digits`` fractional digits and ``offset`` (None:
    Z); the expected instant is built from the parts, not by the code under test."""
    text = f"{local.year:04d}" + local.strftime("-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{local.microsecond:06d}{'0' * 3}"[:digits]
    if offset is None:
        text += "Z"
    else:
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        text += f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return text.lower() if lower else text


def kept(local: datetime, digits: int) -> datetime:
    """``local`` with the microseconds ``digits`` fractional digits keep."""
    scale = 10 ** (6 - min(digits, 6))
    return local.replace(microsecond=local.microsecond // scale * scale)


@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30)),
    st.none() | OFFSETS,
    st.integers(0, 9),
    st.booleans(),
)
def test_every_time_from_the_epoch_with_a_zone_is_read_as_its_instant(
    local: datetime, offset: timedelta | None, digits: int, lower: bool
) -> None:
    text = rfc3339(local, offset, digits, lower)
    assert re.fullmatch(DATE_TIME_PATTERN, text)
    expected = kept(local, digits) - (offset or timedelta())
    got = moment("since", text)
    assert got == expected.replace(tzinfo=UTC)
    assert got.tzinfo is UTC


@given(st.from_regex(DATE_TIME_PATTERN, fullmatch=True))
def test_a_text_of_the_schema_s_pattern_is_accepted_unless_no_such_day_exists(
    text: str,
) -> None:
    """The schema says ``format: date-time`` and this pattern: what both allow is
    accepted (only a 31 April or a 29 February of a common year is not a date-time)."""
    try:
        date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        with pytest.raises(InputError, match="calendar"):
            moment("until", text)
        return
    at = moment("until", text)
    assert at >= EPOCH
    assert at.tzinfo is UTC


@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(1969, 12, 31, 23, 59, 59)),
    st.none() | OFFSETS,
    st.integers(0, 9),
)
def test_a_time_before_the_epoch_is_refused_naming_the_field_and_the_range(
    local: datetime, offset: timedelta | None, digits: int
) -> None:
    with pytest.raises(InputError) as refused:
        moment("as_of", rfc3339(local, offset, digits, lower=False))
    assert refused.value.field == "as_of"
    assert str(refused.value).startswith("as_of: ")
    assert "before 1970-01-01T00:00:00Z" in refused.value.message
    assert "from 1970-01-01T00:00:00Z to the year 9999" in refused.value.message


@given(st.times(), st.integers(1, 24 * 60 - 1))
def test_on_the_epoch_s_day_a_positive_offset_is_refused(at: object, minutes: int) -> None:
    """On 1970-01-01 a positive offset can name an instant before the epoch: the pattern
    asks for that day's times in UTC (or a negative offset), and the parser agrees."""
    local = datetime.combine(date(1970, 1, 1), at)  # type: ignore[arg-type]
    text = rfc3339(local, timedelta(minutes=minutes), 0, lower=False)
    assert not re.fullmatch(DATE_TIME_PATTERN, text)
    with pytest.raises(InputError, match="before 1970-01-01T00:00:00Z"):
        moment("since", text)
    assert moment("since", rfc3339(local, None, 0, lower=False)) >= EPOCH


@given(st.text())
def test_any_other_text_is_refused_naming_the_field_and_the_range(text: str) -> None:
    assume(not re.fullmatch(DATE_TIME_PATTERN, text))
    with pytest.raises(InputError) as refused:
        moment("until", text)
    assert refused.value.field == "until"
    assert "an RFC 3339 date-time with a time zone" in refused.value.message


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1900-01-01T00:00:00Z", "before 1970-01-01T00:00:00Z"),
        ("0346-08-03T14:10:25Z", "before 1970-01-01T00:00:00Z"),
        ("0001-01-01T00:00:00Z", "before 1970-01-01T00:00:00Z"),
        ("1970-01-01T00:30:00+01:00", "before 1970-01-01T00:00:00Z"),
        ("2026-11-30T20:00:00", "has no time zone"),
        ("2026-02-30T00:00:00Z", "not a date of the calendar"),
        ("2026-01-01T00:00:60Z", "not an RFC 3339 date-time"),  # no leap second
        ("2026-01-01T00:00:00.1234567890Z", "not an RFC 3339 date-time"),
        ("2026-01-01T00:00:00Z\n", "not an RFC 3339 date-time"),
        ("2026-01-01T00:00:00+24:00", "not an RFC 3339 date-time"),
        ("0.5", "not an RFC 3339 date-time"),
        ("0", "not an RFC 3339 date-time"),
        ("x" * 10_000, "not an RFC 3339 date-time"),
    ],
)
def test_what_was_refused_and_why(text: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason) as refused:
        moment("as_of", text)
    assert len(str(refused.value)) < 400  # a hostile text is not echoed whole


def test_the_edges_of_the_range() -> None:
    assert moment("as_of", "1970-01-01T00:00:00Z") == EPOCH
    assert moment("as_of", "1970-01-01T00:00:00+00:00") == EPOCH
    assert moment("as_of", "1970-01-01T00:00:00-23:59") == EPOCH + timedelta(hours=23, minutes=59)
    # Past the year 9999 in UTC: the latest instant Python holds (votes are never cast then).
    assert moment("until", "9999-12-31T23:00:00-05:00") == datetime.max.replace(tzinfo=UTC)
    assert moment("until", "2026-11-30T21:00:00.123456789+01:00") == datetime(
        2026, 11, 30, 20, 0, 0, 123456, tzinfo=UTC
    )


def test_results_as_of_a_moment_not_yet_come_are_refused_as_not_known_yet() -> None:
    assert as_of("as_of", "2026-12-01T12:00:00Z", NOW) == NOW
    assert as_of("as_of", "2026-12-01T13:00:00+01:00", NOW) == NOW
    with pytest.raises(NotYetError) as refused:
        as_of("--as-of", "2026-12-01T12:00:00.000001Z", NOW)
    assert refused.value.field == "--as-of"
    assert "in the future" in refused.value.message
    assert "not after now" in refused.value.message
    with pytest.raises(InputError, match="before 1970"):
        as_of("as_of", "1900-01-01T00:00:00Z", NOW)


POSITIONS = st.dictionaries(
    st.integers(0, 999_999),
    st.integers(0, 10**18 - 1),
    min_size=1,
    max_size=MAX_CURSOR_PARTITIONS,
)


@given(POSITIONS)
def test_a_cursor_names_its_positions_in_the_schema_s_pattern(positions: dict[int, int]) -> None:
    cursor = encode_cursor(positions)
    assert cursor is not None
    assert re.fullmatch(CURSOR_PATTERN, cursor)
    assert decode_cursor(cursor) == positions


def test_no_positions_make_no_cursor() -> None:
    assert encode_cursor({}) is None


@given(st.from_regex(CURSOR_PATTERN, fullmatch=True))
def test_every_text_of_the_cursor_pattern_is_a_position_to_read_from(text: str) -> None:
    positions = decode_cursor(text)
    pairs = [tuple(int(n) for n in pair.split(".")) for pair in text.split("_")]
    assert set(positions) == {p for p, _ in pairs}
    for partition, offset in pairs:
        assert 0 <= positions[partition] <= offset  # named twice: the lower one


@given(st.text())
def test_any_other_cursor_is_refused_naming_it(text: str) -> None:
    assume(not re.fullmatch(CURSOR_PATTERN, text))
    with pytest.raises(InputError) as refused:
        decode_cursor(text)
    assert refused.value.field == "cursor"
    assert "next_cursor" in refused.value.message


@pytest.mark.parametrize(
    "text",
    [
        "0",  # schema-valid under the old, looser schema; refused, and the schema says so
        "",
        "!!!",
        "eyJub3QiOiAiYSBjdXJzb3IifQ",  # the old base64 JSON cursor
        "0.5\n",
        "-1.5",
        "0.5_",
        "1.2_" * MAX_CURSOR_PARTITIONS + "1.2",
        "0." + "9" * 19,
    ],
)
def test_cursors_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"cursor: .* is not a cursor"):
        decode_cursor(text)


def test_a_partition_named_twice_continues_below_the_lower_offset() -> None:
    assert decode_cursor("0.5_1.7_0.3") == {0: 3, 1: 7}
    assert decode_cursor("007.0012") == {7: 12}
