"""Validation accepts exactly the valid CastVote commands and normalizes what it accepts."""

from __future__ import annotations

import string
from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain import validation
from domain.catalog import Catalog, Contest
from domain.decide import DecisionContext, decide
from domain.validation import (
    MAX_RAW_TEXT,
    contest_field,
    normalize_text,
    rank_field,
    text_field,
    vote_id_field,
    year_field,
)
from domain.votes import FieldViolation, Rejection, VoteCast
from tests.unit.strategies import (
    DEFAULT_CONTEST,
    FIELDS,
    MAX_RANK,
    MIN_YEAR,
    NEW_VOTE_ID,
    WHITESPACE,
    Case,
    broken_texts,
    command,
    context_kwargs,
    invalid_cases,
    spellings,
    valid_cases,
    valid_texts,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
GOOD = {"band": "Radiohead", "album": "OK Computer", "year": 1997, "rank": 1}


def decided(case: Case) -> VoteCast | Rejection:
    return decide(case.command, DecisionContext(**context_kwargs(case.now)))


# ---------------------------------------------------------------- whole commands


@given(valid_cases())
def test_every_valid_command_is_accepted_with_normalized_values(case: Case) -> None:
    result = decided(case)
    assert isinstance(result, VoteCast), result
    assert {field: getattr(result, field) for field in FIELDS} == case.expected


@given(invalid_cases())
def test_invalid_commands_are_rejected_naming_exactly_the_broken_fields(case: Case) -> None:
    result = decided(case)
    assert isinstance(result, Rejection), result
    assert result.reason == "invalid_argument"
    assert result.is_invalid_argument
    assert {v.field for v in result.violations} == case.broken
    assert len(result.violations) == len(case.broken)  # one violation per field
    for violation in result.violations:
        assert violation.field in violation.description
        assert violation.field in result.message
    # A catalog never hides them: invalid fields are reported before it is consulted.
    catalog = Catalog((Contest(slug="nothing-like-it", strict=True),))
    context = DecisionContext(**context_kwargs(case.now), catalog=catalog)
    assert decide(case.command, context) == result


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("band", ""),
        ("band", " \t\n "),
        ("album", "x" * 201),
        ("band", "Sigur\x00Rós"),
        ("album", "bell\x07"),
        ("band", "evil\u202eenil"),
        ("band", "zero\u200bwidth"),
        ("album", "\ufeffBOM"),
        ("band", 7),
        ("band", None),
        ("album", ["OK Computer"]),
        ("year", True),
        ("year", 1997.0),
        ("year", MIN_YEAR - 1),
        ("year", NOW.year + 1),
        ("year", str(NOW.year + 1)),
        ("rank", False),
        ("rank", 1.0),
        ("rank", 0),
        ("rank", -3),
        ("rank", MAX_RANK + 1),
        ("rank", "1.5"),
        ("rank", "first"),
        ("vote_id", "not-a-uuid"),
        ("vote_id", "1234"),
        ("vote_id", None),
        ("contest", "my contest"),
        ("contest", "my_contest"),
        ("contest", "x" * 65),
        ("contest", "-main"),
    ],
)
def test_issue_examples_are_rejected_for_their_field(field: str, value: object) -> None:
    result = decide(command(**{**GOOD, field: value}), DecisionContext(**context_kwargs(NOW)))
    assert isinstance(result, Rejection)
    assert result.reason == "invalid_argument"
    assert [v.field for v in result.violations] == [field]
    assert field in result.violations[0].description


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("band", "x" * 200, "x" * 200),
        ("band", "  Sigur   Ro\u0301s \n", "Sigur Rós"),
        ("band", "Ba\u200dnd\u200c", "Ba\u200dnd\u200c"),  # ZWJ and ZWNJ are allowed
        ("year", MIN_YEAR, MIN_YEAR),
        ("year", NOW.year, NOW.year),
        ("year", " 1997 ", 1997),
        ("rank", MAX_RANK, MAX_RANK),
        ("rank", "1th", 1),  # as in the seed data
        ("rank", "2th", 2),
        ("rank", "3RD", 3),
        ("rank", "22Nd", 22),
        ("rank", " 7 ", 7),
        ("contest", "MAIN", "main"),
        ("contest", " Spring-2025 ", "spring-2025"),
        ("contest", "", DEFAULT_CONTEST),
        ("vote_id", "", NEW_VOTE_ID),
        (
            "vote_id",
            "{0189C6A4-89AB-7DEF-8123-456789ABCDEF}",
            "0189c6a4-89ab-7def-8123-456789abcdef",
        ),
    ],
)
def test_issue_examples_are_accepted_and_normalized(
    field: str, value: object, expected: object
) -> None:
    result = decide(command(**{**GOOD, field: value}), DecisionContext(**context_kwargs(NOW)))
    assert isinstance(result, VoteCast), result
    assert getattr(result, field) == expected


def test_text_longer_than_the_raw_limit_is_refused_before_normalizing() -> None:
    # Even when it would normalize to a short name: a guard against huge inputs.
    raw = "a" + " " * MAX_RAW_TEXT + "b"
    assert normalize_text(raw) == "a b"
    violation = text_field("band", raw)
    assert isinstance(violation, FieldViolation)
    assert violation.field == "band"


# ---------------------------------------------------------------- normalization


@given(st.text())
@example("e\u0301 \u3000 x\u0327\u0301\t")
@example("\u0301 \u0301")
def test_normalize_text_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


# Marks, Hangul jamo and whitespace: the characters that NFC and collapsing act upon.
_TRICKY = st.text(
    st.sampled_from(
        "ae iou\u0300\u0301\u0308\u0323\u0327\u0345\u1100\u1161\u11a8\u2000\u2001\u3000\t\n"
        "\u212b\u2126\u00c5\u0390\u1e9b"
    )
)


@given(_TRICKY)
def test_normalize_text_is_idempotent_on_combining_sequences(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once
    assert once == once.strip()
    assert "  " not in once
    assert not any(c.isspace() and c != " " for c in once)


@given(valid_texts())
def test_normalize_text_undoes_every_spelling(pair: tuple[str, str]) -> None:
    raw, normalized = pair
    assert normalize_text(raw) == normalized


@given(st.data())
def test_normalized_text_is_a_fixed_point_of_text_field(data: st.DataObject) -> None:
    _, normalized = data.draw(valid_texts())
    respelled = data.draw(spellings(normalized))
    assert text_field("album", normalized) == normalized
    assert text_field("album", respelled) == normalized


@given(broken_texts, st.sampled_from(["band", "album"]))
def test_text_field_names_the_field_it_refuses(value: object, field: str) -> None:
    violation = text_field(field, value)
    assert isinstance(violation, FieldViolation)
    assert violation.field == field
    assert field in violation.description


# ---------------------------------------------------------------- reference models
#
# Arbitrary values near the grammar of each field, checked against a small model of the
# rule written from the issue's wording.

_CURRENT_YEAR = 2025
_SUFFIXES = {"st", "nd", "rd", "th"}


def _digits(text: str) -> int | None:
    """ASCII digits (at most 9 of them, so that int() stays cheap) or None."""
    if 1 <= len(text) <= 9 and all(c in string.digits for c in text):
        return int(text)
    return None


def reference_year(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    year = _digits(value.strip()) if isinstance(value, str) else value
    return year if year is not None and MIN_YEAR <= year <= _CURRENT_YEAR else None


def reference_rank(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text[-2:].isascii() and text[-2:].lower() in _SUFFIXES:
            text = text[:-2]
        rank = _digits(text)
    else:
        rank = value
    return rank if rank is not None and 1 <= rank <= MAX_RANK else None


_NUMBERISH = st.text(
    st.sampled_from("0123456789" + "stndrhSTNDRH" + " \t.-+e" + "\u0661\u0663\uff11\u017f\u212a"),
    max_size=8,
)
_NUMBERS = st.one_of(
    st.integers(-5, 12_000),
    st.integers(),
    _NUMBERISH,
    st.integers(0, 12_000).map(str),
    st.booleans(),
    st.floats(),
    st.none(),
)


@given(_NUMBERS)
@example("\u0663")  # ARABIC-INDIC DIGIT THREE
@example("1\u017ft")  # "1st" with a LATIN SMALL LETTER LONG S
def test_rank_follows_the_reference_model(value: object) -> None:
    expected = reference_rank(value)
    result = rank_field(value)
    if expected is None:
        assert isinstance(result, FieldViolation)
        assert result.field == "rank"
    else:
        assert result == expected


@given(_NUMBERS | st.integers(1890, 2030).map(str))
def test_year_follows_the_reference_model(value: object) -> None:
    expected = reference_year(value)
    result = year_field(value, _CURRENT_YEAR)
    if expected is None:
        assert isinstance(result, FieldViolation)
        assert result.field == "year"
    else:
        assert result == expected


def reference_contest(value: object, default: str) -> str | None:
    if not isinstance(value, str):
        return None
    slug = value.strip().lower() or default
    ok = (
        len(slug) <= 64
        and slug[:1] in set(string.ascii_lowercase + string.digits)
        and all(c in string.ascii_lowercase + string.digits + "-" for c in slug)
    )
    return slug if ok else None


@given(
    st.one_of(
        st.text(
            st.sampled_from(string.ascii_letters + string.digits + "-_ .\u00e9\u0130"), max_size=70
        ),
        st.text(max_size=5),
        st.none(),
        st.integers(),
    )
)
def test_contest_follows_the_reference_model(value: object) -> None:
    expected = reference_contest(value, DEFAULT_CONTEST)
    result = contest_field(value, DEFAULT_CONTEST)
    if expected is None:
        assert isinstance(result, FieldViolation)
        assert result.field == "contest"
    else:
        assert result == expected


@given(st.text(st.sampled_from(WHITESPACE), max_size=5))
def test_blank_vote_id_means_the_server_assigns_one(value: str) -> None:
    assert vote_id_field(value) is None


@given(st.one_of(st.none(), st.integers(), st.uuids(), st.binary()))
def test_vote_id_must_be_text(value: object) -> None:
    violation = vote_id_field(value)
    assert isinstance(violation, FieldViolation)
    assert violation.field == "vote_id"


# ---------------------------------------------------------------- memoized checks

any_field_value = st.one_of(
    st.text(max_size=40),
    st.text(max_size=300),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.binary(max_size=8),
)


@given(st.sampled_from(["band", "album"]), st.lists(any_field_value, min_size=1, max_size=6))
def test_memoized_text_checks_equal_the_plain_ones_in_any_order(
    field: str, values: list[object]
) -> None:
    for value in [*values, *reversed(values)]:  # the second pass answers from the cache
        assert text_field(field, value) == validation._text_field(field, value)


@given(st.lists(any_field_value, min_size=1, max_size=6), st.integers(1900, 2100))
def test_memoized_year_and_rank_checks_equal_the_plain_ones(
    values: list[object], current_year: int
) -> None:
    for value in [*values, *reversed(values)]:
        assert year_field(value, current_year) == validation._year_field(value, current_year)
        assert rank_field(value) == validation._rank_field(value)


def test_memoized_checks_tell_true_from_one() -> None:
    assert isinstance(rank_field(1), int)
    assert isinstance(rank_field(True), FieldViolation)  # True == 1 and hash(True) == hash(1)
    assert isinstance(year_field(2000, 2026), int)
    assert isinstance(year_field(2000.0, 2026), FieldViolation)
