"""One name per band and album (domain.names): the canonical key is NFKC_Casefold with
whitespace collapsed, checked against ICU's NFKC_Casefold; its laws; the spelling shown."""

from __future__ import annotations

import sys
import unicodedata

import icu
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.names import first_spelling, name_key, shown_tallies
from domain.readmodel import album_field

_ICU = icu.Normalizer2.getNFKCCasefoldInstance()


def icu_key(text: str) -> str:
    """The reference: ICU's NFKC_Casefold, whitespace collapsed as boleta does."""
    return " ".join(_ICU.normalize(text).split())


def assigned(char: str) -> bool:
    """Assigned in this Python's Unicode version (ICU's may be newer)."""
    return unicodedata.category(char) not in ("Cn", "Cs")


# Text of characters this Python knows, ICU's ignorables and compatibility forms included.
texts = st.text(st.characters(exclude_categories=("Cn", "Cs")), max_size=12)


def test_every_assigned_code_point_keys_as_icu_nfkc_casefold() -> None:
    chars = (chr(cp) for cp in range(sys.maxunicode + 1))
    wrong = [
        (f"U+{ord(c):04X}", name_key(c), icu_key(c))
        for c in chars
        if assigned(c) and name_key(c) != icu_key(c)
    ]
    assert wrong == []


@given(texts)
@example("e\u034f\u0301")  # an ignorable between a letter and its accent: é once removed
@example("\uffa0\u0345")  # NFKC maps U+FFA0 to an ignorable; ypogegrammeni folds to iota
def test_any_text_keys_as_icu_nfkc_casefold(text: str) -> None:
    assert name_key(text) == icu_key(text)


@given(texts)
def test_the_key_is_idempotent(text: str) -> None:
    assert name_key(name_key(text)) == name_key(text)


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


ascii_names = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1) | st.lists(
    st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True), min_size=1, max_size=3
).map(" ".join)


@given(ascii_names)
def test_spelling_variants_merge(name: str) -> None:
    variants = [
        name.upper(),
        name.lower(),
        name.swapcase(),
        full_width(name),
        f"  {name}  ",
        name.replace(" ", " \u3000 "),  # ideographic space, runs of spaces
        name.replace(" ", "\u00a0"),  # no-break space
    ]
    assert {name_key(v) for v in variants} == {name_key(name)}


@pytest.mark.parametrize(
    ("spelling", "key"),
    [
        ("Ｍａｙｆｉｅｌｄ", "mayfield"),
        ("MAYFIELD", "mayfield"),
        ("Mayfield  ", "mayfield"),
        ("ﬁve", "five"),  # a ligature is typography: the letters f, i
        ("Blink²", "blink2"),  # superscript two is a digit two (see ADR 0007)
        ("Ⅻ", "xii"),  # the roman-numeral sign is the letters
        ("Straße", "strasse"),  # full case folding
        ("ΣΊΣΥΦΟΣ", "σίσυφοσ"),  # final and medial sigma fold alike
        ("Ｒａｄｉｏ\u3000Ｈｅａｄ", "radio head"),
        ("❤\ufe0f Band", "❤ band"),  # a variation selector is ignorable
    ],
)
def test_documented_examples(spelling: str, key: str) -> None:
    assert name_key(spelling) == key


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Café", "Cafe"),  # accents are letters
        ("Mayfield", "Mаyfield"),  # a Cyrillic letter a: confusable, not a variant
        ("Sigur Rós", "SigurRós"),  # a space separates words
        ("Blink-182", "Blink 182"),
        ("İstanbul", "Istanbul"),  # dotted capital I keeps its dot (no Turkish tailoring)
    ],
)
def test_distinct_names_stay_distinct(one: str, other: str) -> None:
    assert name_key(one) != name_key(other)


@given(st.from_regex(r"[a-z]{1,8}", fullmatch=True), st.from_regex(r"[a-z]{1,8}", fullmatch=True))
def test_names_that_differ_in_letters_keep_distinct_keys(one: str, other: str) -> None:
    assert (name_key(one) == name_key(other)) == (one == other)


def test_long_names_are_keyed_without_the_cache() -> None:
    long = "Ｂ" * 300
    assert name_key(long) == "b" * 300


@given(st.lists(st.tuples(st.text(max_size=4), st.text(max_size=4)), min_size=1))
def test_the_spelling_shown_is_the_one_with_the_least_event_id(
    votes: list[tuple[str, str]],
) -> None:
    shown: tuple[str, str] | None = None
    for event_id, spelling in votes:
        shown = first_spelling(shown, event_id, spelling)
    least = min(event_id for event_id, _ in votes)
    assert shown == next(vote for vote in votes if vote[0] == least)  # ties: the first offered


def test_the_tallies_are_shown_under_each_keys_spelling() -> None:
    bands = {"mayfield": 3, "lien": 1}
    albums = {album_field("mayfield", "kid a"): 2, album_field("mayfield", "b"): 1}
    albums[album_field("lien", "x")] = 1
    names = {"mayfield": "Ｍａｙｆｉｅｌｄ", album_field("mayfield", "kid a"): "Kid A"}
    assert shown_tallies(bands, albums, names) == [
        ("Ｍａｙｆｉｅｌｄ", 3, [("Kid A", 2), ("b", 1)]),
        ("lien", 1, [("x", 1)]),  # a key without a spelling (none stored) shows as itself
    ]
