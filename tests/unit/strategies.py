"""Hypothesis strategies shared by the domain tests.

Valid field strategies produce ``(raw, expected)`` pairs: what a client may send and the
normalized value ``decide`` must produce for it. The expected values are built from the
parts (never by calling the code under test), and the raw spellings are then derived
from them (extra whitespace, decomposed Unicode, other letter case, other UUID forms).
Broken field strategies produce values ``decide`` must refuse for exactly that field.
"""

from __future__ import annotations

import functools
import operator
import string
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from domain.votes import CastVote

FIELDS = ("band", "album", "year", "rank", "vote_id", "contest", "voter_id")
MAX_TEXT = 200
MIN_YEAR = 1900
MAX_RANK = 10_000
MAX_CONTEST = 64
MAX_VOTER_ID = 128
DEFAULT_CONTEST = "main"
NEW_VOTE_ID = "00000000-0000-4000-8000-000000000001"
EVENT_ID = "01890000-0000-7000-8000-000000000001"

# For the tests that draw whole commands or catalogs to check a second property of inputs
# that the main properties already cover with Hypothesis's default 100 examples: keeps the
# unit suite fast.
fewer_examples = settings(max_examples=50)

# Whitespace a client may put around or between words (all of it is str.isspace()).
WHITESPACE = " \t\n\r\x0b\x0c\xa0\u1680\u2000\u2003\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
ZERO_WIDTH_JOINERS = ("\u200c", "\u200d")
# Characters no name may contain: controls, bidi controls, invisible format characters.
FORBIDDEN_SAMPLES = ("\x00", "\x07", "\x1b", "\x7f", "\u202e", "\u2066", "\u200b", "\ufeff")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def is_forbidden(char: str) -> bool:
    category = unicodedata.category(char)
    return category in ("Cc", "Cs") or (category == "Cf" and char not in ZERO_WIDTH_JOINERS)


def is_clean_word(word: str) -> bool:
    return bool(word) and not any(c.isspace() or is_forbidden(c) for c in word)


# ---------------------------------------------------------------- text (band, album)

# Every str.isspace() character is in Cc, Zs, Zl or Zp.
word_chars = st.characters(
    exclude_categories=("Cc", "Cs", "Cf", "Zs", "Zl", "Zp"),
    include_characters=ZERO_WIDTH_JOINERS,
)
whitespace = st.text(st.sampled_from(WHITESPACE), min_size=1, max_size=3)
optional_whitespace = st.text(st.sampled_from(WHITESPACE), max_size=3)

words = st.text(word_chars, min_size=1, max_size=20).map(nfc).filter(is_clean_word)


def repeated(word: str, length: int) -> str:
    """``word`` repeated, space separated, to the shortest text of at least ``length``."""
    return " ".join([word] * -(-(length + 1) // (len(word) + 1)))


# Near the limit: as many copies of a word as fit in 200 characters.
long_texts = words.map(lambda w: " ".join([w] * max(1, (MAX_TEXT + 1) // (len(w) + 1))))

# Already-normalized names: NFC words joined by single spaces, 1..200 characters.
normalized_texts = st.one_of(
    st.lists(words, min_size=1, max_size=6).map(" ".join),
    long_texts,
    st.integers(1, MAX_TEXT).map(lambda n: "x" * n),
).filter(lambda t: len(t) <= MAX_TEXT)


_spelling_randoms = st.randoms(use_true_random=True)


def spell(draw: st.DrawFn, normalized: str) -> str:
    """A raw spelling of a normalized text: other whitespace, words maybe decomposed."""
    rnd = draw(_spelling_randoms)  # one draw, not a few per word: these are drawn a lot

    def blank(least: int) -> str:
        return "".join(rnd.choices(WHITESPACE, k=rnd.randint(least, 3)))

    parts = [nfd(w) if rnd.random() < 0.5 else w for w in normalized.split(" ")]
    return blank(0) + "".join(w + blank(1) for w in parts[:-1]) + parts[-1] + blank(0)


@st.composite
def spellings(draw: st.DrawFn, normalized: str) -> str:
    return spell(draw, normalized)


@st.composite
def valid_texts(draw: st.DrawFn) -> tuple[str, str]:
    normalized = draw(normalized_texts)
    return spell(draw, normalized), normalized


@st.composite
def texts_with_forbidden_char(draw: st.DrawFn) -> str:
    raw, _ = draw(valid_texts())
    bad = draw(
        st.sampled_from(FORBIDDEN_SAMPLES)
        | st.characters(categories=("Cc", "Cf", "Cs")).filter(
            lambda c: is_forbidden(c) and not c.isspace()
        )
    )
    position = draw(st.integers(0, len(raw)))
    return raw[:position] + bad + raw[position:]


too_long_texts = st.one_of(
    st.integers(MAX_TEXT + 1, 400).map(lambda n: "x" * n),
    words.map(lambda w: repeated(w, MAX_TEXT + 1)),
)

not_text = st.one_of(
    st.integers(),
    st.none(),
    st.lists(st.text(max_size=3), max_size=3),
    st.floats(allow_nan=False),
    st.binary(min_size=1, max_size=8),
    st.booleans(),
)

broken_texts = st.one_of(
    not_text,
    st.text(st.sampled_from(WHITESPACE), max_size=10),  # empty or whitespace only
    too_long_texts,
    texts_with_forbidden_char(),
)


# ---------------------------------------------------------------- year, rank


def padded(draw: st.DrawFn, text: str) -> str:
    return draw(optional_whitespace) + text + draw(optional_whitespace)


_case_masks = st.integers(0, 2**64 - 1)


def any_case(draw: st.DrawFn, text: str) -> str:
    """``text`` with each of its (first 64) letters in either case."""
    mask = draw(_case_masks)
    return "".join(c.upper() if mask >> i & 1 else c.lower() for i, c in enumerate(text))


@functools.cache  # one strategy per year: building strategies is not free
def valid_years(current_year: int) -> st.SearchStrategy[tuple[int | str, int]]:
    return _valid_years(current_year)


@st.composite
def _valid_years(draw: st.DrawFn, current_year: int) -> tuple[int | str, int]:
    year = draw(st.integers(MIN_YEAR, current_year))
    form = draw(st.sampled_from(("int", "digits", "zero-padded")))
    if form == "int":
        return year, year
    return padded(draw, str(year) if form == "digits" else f"0{year}"), year


@functools.cache
def broken_years(current_year: int) -> st.SearchStrategy[object]:
    out_of_range = st.one_of(
        st.integers(max_value=MIN_YEAR - 1), st.integers(min_value=current_year + 1)
    )
    return st.one_of(
        st.sampled_from([MIN_YEAR - 1, current_year + 1]),
        out_of_range,
        out_of_range.filter(lambda y: y >= 0).map(str),
        st.floats(MIN_YEAR, current_year),
        st.booleans(),
        st.none(),
        st.lists(st.integers(MIN_YEAR, current_year), max_size=2),
        st.sampled_from(
            ["", " ", "1.5", "2008.0", "20O8", "nineteen", "1e3", "-2000", "+2000", "2 008"]
        ),
        st.sampled_from(["\uff12\uff10\uff10\uff18", "\u0662\u0660\u0660\u0668"]),  # non-ASCII
    )


SUFFIXES = ("st", "nd", "rd", "th")


@st.composite
def valid_ranks(draw: st.DrawFn) -> tuple[int | str, int]:
    rank = draw(st.integers(1, MAX_RANK))
    form = draw(st.sampled_from(("int", "digits", "suffix")))
    if form == "int":
        return rank, rank
    text = str(rank)
    if form == "suffix":  # any suffix, any case: the seed data has "1th" and "2th"
        text += any_case(draw, draw(st.sampled_from(SUFFIXES)))
    return padded(draw, text), rank


broken_ranks = st.one_of(
    st.sampled_from([0, -1, MAX_RANK + 1]),
    st.integers(max_value=0),
    st.integers(min_value=MAX_RANK + 1),
    st.integers(max_value=0).map(str),
    st.integers(min_value=MAX_RANK + 1, max_value=10**9 - 1).map(lambda r: f"{r}th"),
    st.floats(1, MAX_RANK),
    st.booleans(),
    st.none(),
    st.sampled_from(
        ["", " ", "0th", "1.5", "first", "1 st", "1sts", "st", "1stt", "+1", "1e2", "#1"]
    ),
    st.sampled_from(["\u0663", "\U0001d7d7", "1\u017ft"]),  # non-ASCII digits, long s
)


# ---------------------------------------------------------------- vote_id


def hyphenated(hexdigits: str) -> str:
    h = hexdigits
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@st.composite
def uuid_forms(draw: st.DrawFn) -> tuple[str, str]:
    """A UUID in one of the forms uuid.UUID(...) reads, and its canonical form."""
    value = draw(st.uuids(allow_nil=True))
    canonical = str(value)
    body = draw(st.sampled_from((canonical, value.hex)))
    body = body.upper() if draw(st.booleans()) else body
    text = draw(st.sampled_from((body, "{" + body + "}", "urn:uuid:" + body)))
    return padded(draw, text), canonical


@st.composite
def valid_vote_ids(draw: st.DrawFn) -> tuple[str, str]:
    if draw(st.booleans()):
        return draw(st.text(st.sampled_from(WHITESPACE), max_size=3)), NEW_VOTE_ID
    return draw(uuid_forms())


@st.composite
def mangled_uuids(draw: st.DrawFn) -> str:
    text = str(draw(st.uuids()))
    position = draw(st.integers(0, len(text) - 1))
    how = draw(st.sampled_from(("replace", "delete", "insert")))
    junk = draw(st.sampled_from("gxz_+ .:{}"))
    if how == "replace":
        return text[:position] + junk + text[position + 1 :]
    if how == "delete":
        return text[:position] + text[position + 1 :]
    return text[:position] + draw(st.sampled_from("0a-")) + text[position:]


broken_vote_ids = st.one_of(
    st.none(),
    st.integers(),
    st.uuids(),  # a UUID object, not text
    mangled_uuids(),
    st.sampled_from(
        [
            "not-a-uuid",
            "1234",
            "0x" + "a" * 30,
            "+" + "a" * 31,
            "0123456789abcdef_123456789abcdef",
            "\u0663" * 32,
            "uuid:uuid:" + "a" * 32,
            "{" + "a" * 32,
            "a" * 33,
        ]
    ),
)


# ---------------------------------------------------------------- contest

_SLUG_START = string.ascii_lowercase + string.digits
_slug_starts = st.text(_SLUG_START, min_size=1, max_size=1)
slugs = st.builds(
    operator.add, _slug_starts, st.text(_SLUG_START + "-", max_size=MAX_CONTEST - 1)
)  # [a-z0-9][a-z0-9-]{0,63}


@st.composite
def valid_contests(draw: st.DrawFn) -> tuple[str, str]:
    if draw(st.booleans()):
        return draw(st.text(st.sampled_from(WHITESPACE), max_size=3)), DEFAULT_CONTEST
    slug = draw(slugs)
    return padded(draw, any_case(draw, slug)), slug


broken_contests = st.one_of(
    st.none(),
    st.integers(),
    st.builds(lambda a, b, c: a + b + c, slugs, st.sampled_from(" _.,/!:"), slugs),
    slugs.map(lambda slug: "-" + slug),
    slugs.map(lambda slug: (slug + "-") * (MAX_CONTEST // (len(slug) + 1) + 1)),
    st.sampled_from(["café", "ma\u00efn", "main!", "my contest", "my_contest", "\u0430bc"]),
)


# ---------------------------------------------------------------- voter_id

VOTER_ID_CHARS = string.ascii_letters + string.digits + "._:@-"
voter_ids = st.text(st.sampled_from(VOTER_ID_CHARS), min_size=1, max_size=MAX_VOTER_ID)


@st.composite
def valid_voter_ids(draw: st.DrawFn) -> tuple[str, str]:
    """A voter_id as sent (maybe padded, maybe blank = no voter) and as kept."""
    if draw(st.booleans()):
        return draw(st.text(st.sampled_from(WHITESPACE), max_size=3)), ""
    voter = draw(voter_ids)
    return padded(draw, voter), voter


@st.composite
def voter_ids_with_a_bad_char(draw: st.DrawFn) -> str:
    voter = draw(st.text(st.sampled_from(VOTER_ID_CHARS), max_size=20))
    bad = draw(
        st.characters(exclude_characters=VOTER_ID_CHARS, exclude_categories=("Cs",)).filter(
            lambda c: not c.isspace()
        )
    )
    position = draw(st.integers(0, len(voter)))
    return voter[:position] + bad + voter[position:]


broken_voter_ids = st.one_of(
    st.none(),
    st.integers(),
    st.lists(voter_ids, min_size=1, max_size=2),
    voter_ids_with_a_bad_char(),
    st.text(st.sampled_from(VOTER_ID_CHARS), min_size=MAX_VOTER_ID + 1, max_size=300),
    st.sampled_from(["alice smith", "bob\x00", "mallory\u202e", '{"$ne": null}', "ana\u00efs"]),
)


# ---------------------------------------------------------------- whole commands

nows = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(UTC)
)


def context_kwargs(now: datetime) -> dict[str, Any]:
    return {
        "now": now,
        "event_id": EVENT_ID,
        "new_vote_id": NEW_VOTE_ID,
        "default_contest": DEFAULT_CONTEST,
    }


def command(**fields: object) -> CastVote:
    """A CastVote with any values, as a badly behaved client might send (no type checks)."""
    return CastVote(**fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Case:
    """A command, the clock it is decided at, and what must come out of it."""

    now: datetime
    command: CastVote
    expected: dict[str, object]  # the normalized fields (valid cases)
    broken: frozenset[str] = frozenset()  # the fields that must be reported


_VALID_TEXTS = valid_texts()
_VALID_RANKS = valid_ranks()
_VALID_VOTE_IDS = valid_vote_ids()
_VALID_CONTESTS = valid_contests()
_VALID_VOTER_IDS = valid_voter_ids()


@st.composite
def valid_cases(draw: st.DrawFn) -> Case:
    now = draw(nows)
    raw: dict[str, object] = {}
    expected: dict[str, object] = {}
    for field, strategy in (
        ("band", _VALID_TEXTS),
        ("album", _VALID_TEXTS),
        ("year", valid_years(now.year)),
        ("rank", _VALID_RANKS),
        ("vote_id", _VALID_VOTE_IDS),
        ("contest", _VALID_CONTESTS),
        ("voter_id", _VALID_VOTER_IDS),
    ):
        raw[field], expected[field] = draw(strategy)
    return Case(now, command(**raw), expected)


@st.composite
def invalid_cases(draw: st.DrawFn) -> Case:
    """A valid command with one or more fields (and only those) broken."""
    case = draw(valid_cases())
    broken = draw(st.sets(st.sampled_from(FIELDS), min_size=1))
    strategies: dict[str, st.SearchStrategy[object]] = {
        "band": broken_texts,
        "album": broken_texts,
        "year": broken_years(case.now.year),
        "rank": broken_ranks,
        "vote_id": broken_vote_ids,
        "contest": broken_contests,
        "voter_id": broken_voter_ids,
    }
    raw = {field: getattr(case.command, field) for field in FIELDS}
    for field in broken:
        raw[field] = draw(strategies[field], label=field)
    return Case(case.now, command(**raw), case.expected, frozenset(broken))
