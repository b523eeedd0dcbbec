"""Validation and normalization of a ``CastVote``: pure functions, one per field.

Each returns the normalized value or a :class:`FieldViolation` that names the field and
says what to send instead. Normalizing a normalized value changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from domain.ids import canonical_uuid
from domain.votes import FieldViolation

MAX_TEXT = 200
MAX_RAW_TEXT = 4096  # longer input is refused before any normalization work
MIN_YEAR = 1900
MAX_RANK = 10_000
MAX_CONTEST = 64
MAX_VOTER_ID = 128
# Votes repeat the same few names, years and ranks: their checks are memoized in bounded
# caches (pure functions of their arguments). Only short text is kept, so a cache holds
# at most CACHE_SIZE * CACHEABLE_TEXT characters.
CACHE_SIZE = 8192
CACHEABLE_TEXT = 256

_RANK = re.compile(r"(\d{1,9})(st|nd|rd|th)?", re.IGNORECASE | re.ASCII)
_YEAR = re.compile(r"[0-9]{1,9}")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
# An opaque id from the caller's identity system: ASCII letters, digits and . _ : @ -
# (e-mail-like, URN-like and UUID ids fit; no spaces, no control or look-alike characters).
_VOTER_ID = re.compile(r"[A-Za-z0-9._:@-]+", re.ASCII)
# Invisible format characters that are legitimate inside words and emoji sequences.
_ALLOWED_FORMAT = {"\u200c", "\u200d"}


def normalize_text(value: str) -> str:
    """Unicode NFC, trimmed, every run of whitespace collapsed to one space."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def _describe(char: str) -> str:
    name = unicodedata.name(char, "unnamed")
    return f"U+{ord(char):04X} ({name})"


def _first_forbidden(text: str) -> tuple[int, str] | None:
    """The first control, surrogate or invisible format character, with its position."""
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or (category == "Cf" and char not in _ALLOWED_FORMAT):
            return position, char
    return None


def text_field(field: str, value: object) -> str | FieldViolation:
    if type(value) is str and len(value) <= CACHEABLE_TEXT:
        return _text_field_cached(field, value)
    return _text_field(field, value)


def _text_field(field: str, value: object) -> str | FieldViolation:
    if not isinstance(value, str):
        return FieldViolation(field, f"{field} must be text, got {type(value).__name__}")
    if len(value) > MAX_RAW_TEXT:
        return FieldViolation(field, f"{field} is {len(value)} characters; at most {MAX_TEXT}")
    # Fast path: printable ASCII is already NFC and holds no control or format character.
    plain = value.isascii() and value.isprintable()
    text = " ".join(value.split()) if plain else normalize_text(value)
    if not text:
        return FieldViolation(field, f"{field} is empty; send the {field}'s name")
    forbidden = None if plain else _first_forbidden(text)
    if forbidden is not None:
        position, char = forbidden
        return FieldViolation(
            field,
            f"{field} contains the control or invisible character {_describe(char)} "
            f"at position {position}; remove it",
        )
    if len(text) > MAX_TEXT:
        return FieldViolation(field, f"{field} is {len(text)} characters; at most {MAX_TEXT}")
    return text


_text_field_cached = lru_cache(maxsize=CACHE_SIZE)(_text_field)


def _cacheable_number(value: object) -> bool:
    """An int, or short text: the values whose year or rank check is memoized."""
    kind = type(value)
    return kind is int or (kind is str and len(value) <= 32)  # type: ignore[arg-type]


def _whole_number(value: object) -> int | str | None:
    """An int from an int or digit text; None when the value has the wrong type."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return value.strip()
    return None


def year_field(value: object, current_year: int) -> int | FieldViolation:
    if _cacheable_number(value):
        return _year_field_cached(value, current_year)
    return _year_field(value, current_year)


def _year_field(value: object, current_year: int) -> int | FieldViolation:
    raw = _whole_number(value)
    if raw is None:
        return FieldViolation("year", f"year must be a whole number, got {type(value).__name__}")
    if isinstance(raw, str):
        if not _YEAR.fullmatch(raw):
            return FieldViolation("year", f"year {raw[:20]!r} is not a whole number like 2008")
        raw = int(raw)
    if not MIN_YEAR <= raw <= current_year:
        return FieldViolation(
            "year", f"year {raw} is out of range; it must be from {MIN_YEAR} to {current_year}"
        )
    return raw


_year_field_cached = lru_cache(maxsize=CACHE_SIZE, typed=True)(_year_field)


def rank_field(value: object) -> int | FieldViolation:
    if _cacheable_number(value):
        return _rank_field_cached(value)
    return _rank_field(value)


def _rank_field(value: object) -> int | FieldViolation:
    raw = _whole_number(value)
    if raw is None:
        return FieldViolation("rank", f"rank must be a whole number, got {type(value).__name__}")
    if isinstance(raw, str):
        match = _RANK.fullmatch(raw)
        if match is None:
            return FieldViolation(
                "rank", f"rank {raw[:20]!r} is not a rank; send 7, '7', '1st', '2nd' or '3rd'"
            )
        raw = int(match.group(1))
    if not 1 <= raw <= MAX_RANK:
        return FieldViolation("rank", f"rank {raw} is out of range; it must be 1 to {MAX_RANK}")
    return raw


_rank_field_cached = lru_cache(maxsize=CACHE_SIZE, typed=True)(_rank_field)


def vote_id_field(value: object) -> str | FieldViolation | None:
    """The canonical vote_id; None when absent (the server then assigns one)."""
    if not isinstance(value, str):
        return FieldViolation("vote_id", f"vote_id must be text, got {type(value).__name__}")
    if not value.strip():
        return None
    canonical = canonical_uuid(value)
    if canonical is None:
        return FieldViolation(
            "vote_id",
            f"vote_id {value[:40]!r} is not a UUID; send a UUID (e.g. uuid4) "
            "or leave it empty and the server assigns one",
        )
    return canonical


def contest_field(value: object, default: str) -> str | FieldViolation:
    if not isinstance(value, str):
        return FieldViolation("contest", f"contest must be text, got {type(value).__name__}")
    slug = value.strip().lower() or default
    if len(slug) > MAX_CONTEST or not _SLUG.fullmatch(slug):
        return FieldViolation(
            "contest",
            f"contest {value[:40]!r} is not a contest id; use lowercase letters, digits and "
            f"hyphens (at most {MAX_CONTEST}), or leave it empty for the default contest",
        )
    return slug


def voter_id_field(value: object) -> str | FieldViolation | None:
    """The voter_id, trimmed; None when absent. Case is kept: ids are opaque."""
    if not isinstance(value, str):
        return FieldViolation("voter_id", f"voter_id must be text, got {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    if len(text) > MAX_VOTER_ID:
        return FieldViolation(
            "voter_id", f"voter_id is {len(text)} characters; at most {MAX_VOTER_ID}"
        )
    if not _VOTER_ID.fullmatch(text):
        return FieldViolation(
            "voter_id",
            f"voter_id {text[:40]!r} has a character other than ASCII letters, digits "
            "and . _ : @ -; send your identity system's id for the voter",
        )
    return text
