"""The contest catalog: which contests exist, when they are open, which names are valid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.catalog import Band, Catalog, Contest, parse_catalog
from domain.decide import DecisionContext, decide
from domain.votes import CastVote, Rejection, VoteCast
from tests.unit.strategies import (
    Case,
    context_kwargs,
    fewer_examples,
    nfc,
    slugs,
    spell,
    valid_cases,
    valid_contests,
    words,
)
from tests.unit.test_names import icu_key

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def caseless(text: str) -> str:
    """The key strict contests match names by: NFKC_Casefold (ICU's), whitespace collapsed,
    as tallies group names (domain.names, ADR 0007)."""
    return icu_key(text)


def context(now: datetime, catalog: Catalog | None) -> DecisionContext:
    return DecisionContext(**context_kwargs(now), catalog=catalog)


def vote(band: str, album: str, contest: str) -> CastVote:
    return CastVote(band=band, album=album, year=2000, rank=1, contest=contest)


# ---------------------------------------------------------------- strategies

# Short names, so that a name in capitals still fits in 200 characters.
names = st.lists(words, min_size=1, max_size=3).map(" ".join)

_CASE_OPS = (lambda c: c, str.upper, str.lower, str.casefold)
_masks = st.integers(0, 2**256 - 1)


@st.composite
def other_case(draw: st.DrawFn, text: str) -> str:
    """``text`` with letters in another case, still equal to it without regard to case."""
    mask = draw(_masks)  # two bits per character pick one of _CASE_OPS
    out = ""
    for i, char in enumerate(text):
        variant = _CASE_OPS[mask >> 2 * i & 3](char)
        out += variant if caseless(variant) == caseless(char) else char
    # Equal character by character is not always equal as a whole (U+0345 folds to a
    # starter, which changes how the marks around it are ordered).
    assume(caseless(out) == caseless(text))
    return out


@dataclass(frozen=True)
class Entry:
    band: Band  # as written in the catalog file: odd whitespace, maybe decomposed
    name: str  # the normalized spellings
    albums: tuple[str, ...]


@st.composite
def entries(draw: st.DrawFn) -> Entry:
    name = draw(names)
    albums = draw(st.lists(names, min_size=1, max_size=2, unique_by=caseless))
    band = Band(spell(draw, name), tuple(spell(draw, album) for album in albums))
    return Entry(band, name, tuple(albums))


strict_catalogs = st.lists(entries(), min_size=1, max_size=3, unique_by=lambda e: caseless(e.name))


def strict_contest(slug: str, entries: list[Entry]) -> Catalog:
    return Catalog((Contest(slug=slug, strict=True, bands=tuple(e.band for e in entries)),))


# ---------------------------------------------------------------- contests


@given(valid_contests(), st.lists(slugs, max_size=3))
def test_a_contest_missing_from_the_catalog_is_unknown(
    contest: tuple[str, str], others: list[str]
) -> None:
    typed, slug = contest
    catalog = Catalog(tuple(Contest(slug=s) for s in others if s != slug))
    result = decide(vote("Radiohead", "Kid A", typed), context(NOW, catalog))
    assert isinstance(result, Rejection)
    assert result.reason == "unknown_contest"
    assert repr(slug) in result.message
    assert result.violations == ()


@fewer_examples
@given(valid_cases())
def test_an_open_contest_that_is_not_strict_accepts_any_valid_vote(case: Case) -> None:
    slug = str(case.expected["contest"])
    catalog = Catalog((Contest(slug=slug + "-strict", strict=True), Contest(slug=slug)))
    with_catalog = decide(case.command, context(case.now, catalog))
    assert with_catalog == decide(case.command, context(case.now, None))
    assert isinstance(with_catalog, VoteCast)


offsets = st.integers(-14 * 60, 14 * 60)  # minutes east of UTC
moments = st.integers(-(10**6), 10**6)  # microseconds from now


@given(st.none() | moments, st.none() | moments, offsets, st.booleans())
def test_a_contest_is_open_from_opens_at_until_just_before_closes_at(
    opens: int | None, closes: int | None, offset: int, strict: bool
) -> None:
    zone = timezone(timedelta(minutes=offset))
    opens_at = None if opens is None else (NOW + timedelta(microseconds=opens)).astimezone(zone)
    closes_at = None if closes is None else (NOW + timedelta(microseconds=closes)).astimezone(zone)
    slug = "spring"
    bands = (Band("Radiohead", ("OK Computer",)),)
    contest = Contest(slug=slug, strict=strict, opens_at=opens_at, closes_at=closes_at, bands=bands)
    result = decide(vote("radiohead", "ok computer", slug), context(NOW, Catalog((contest,))))

    is_open = (opens is None or opens <= 0) and (closes is None or closes > 0)
    assert contest.is_open(NOW) is is_open
    upcoming = opens is not None and opens > 0
    assert contest.status(NOW) == ("open" if is_open else "upcoming" if upcoming else "closed")
    if is_open:
        assert isinstance(result, VoteCast)
        assert result.band == ("Radiohead" if strict else "radiohead")
    else:
        assert isinstance(result, Rejection)
        assert result.reason == "contest_closed"
        assert repr(slug) in result.message


@pytest.mark.parametrize(
    ("opens_at", "closes_at", "open_"),
    [
        (NOW, None, True),
        (NOW + timedelta(microseconds=1), None, False),
        (None, NOW, False),
        (None, NOW + timedelta(microseconds=1), True),
        (NOW - timedelta(days=1), NOW + timedelta(days=1), True),
        (NOW + timedelta(days=1), NOW + timedelta(days=2), False),
        (NOW - timedelta(days=2), NOW - timedelta(days=1), False),
    ],
)
def test_contest_window_boundaries(
    opens_at: datetime | None, closes_at: datetime | None, open_: bool
) -> None:
    contest = Contest(slug="main", opens_at=opens_at, closes_at=closes_at)
    result = decide(vote("Radiohead", "Kid A", "main"), context(NOW, Catalog((contest,))))
    assert isinstance(result, VoteCast) is open_
    if not open_:
        assert isinstance(result, Rejection)
        assert result.reason == "contest_closed"


# ---------------------------------------------------------------- strict contests


@fewer_examples
@given(slugs, strict_catalogs, st.data())
def test_a_strict_contest_accepts_its_entries_in_any_case_and_spells_them_its_way(
    slug: str, catalog: list[Entry], data: st.DataObject
) -> None:
    entry = data.draw(st.sampled_from(catalog))
    album = data.draw(st.sampled_from(entry.albums))
    typed_band = spell(data.draw, data.draw(other_case(entry.name)))
    typed_album = spell(data.draw, data.draw(other_case(album)))
    result = decide(
        vote(typed_band, typed_album, slug), context(NOW, strict_contest(slug, catalog))
    )
    assert isinstance(result, VoteCast), result
    assert (result.band, result.album) == (entry.name, album)


@fewer_examples
@given(slugs, strict_catalogs, names)
def test_a_strict_contest_refuses_a_band_it_does_not_list(
    slug: str, catalog: list[Entry], band: str
) -> None:
    assume(all(caseless(band) != caseless(e.name) for e in catalog))
    album = catalog[0].albums[0]
    result = decide(vote(band, album, slug), context(NOW, strict_contest(slug, catalog)))
    assert isinstance(result, Rejection)
    assert result.reason == "invalid_argument"
    assert [v.field for v in result.violations] == ["band"]
    assert "band" in result.violations[0].description


@fewer_examples
@given(slugs, strict_catalogs, names, st.data())
def test_a_strict_contest_refuses_an_album_it_does_not_list_for_the_band(
    slug: str, catalog: list[Entry], album: str, data: st.DataObject
) -> None:
    entry = data.draw(st.sampled_from(catalog))
    assume(all(caseless(album) != caseless(a) for a in entry.albums))
    band = data.draw(other_case(entry.name))
    result = decide(vote(band, album, slug), context(NOW, strict_contest(slug, catalog)))
    assert isinstance(result, Rejection)
    assert result.reason == "invalid_argument"
    assert [v.field for v in result.violations] == ["album"]
    assert "album" in result.violations[0].description


@pytest.mark.parametrize(
    ("listed", "typed"),
    [
        ("Sigur Rós", "SIGUR RÓS"),
        ("Sigur Rós", "sigur  ro\u0301s"),
        ("  Sigur   Ro\u0301s ", "Sigur Rós"),
        ("Die Ärzte", "DIE A\u0308RZTE"),
        ("Straße", "STRASSE"),
        ("Μαρΐα", "Μαρΐα".upper()),
        ("Ϋ́", "ΰ"),
        ("Mayfield", "Ｍａｙｆｉｅｌｄ"),  # full width: one name (ADR 0007)
        ("Ⅻ Signs", "XII SIGNS"),
    ],
)
def test_strict_matching_ignores_case_spacing_and_composition(listed: str, typed: str) -> None:
    catalog = Catalog(
        (Contest(slug="main", strict=True, bands=(Band(listed, (listed + " II",)),)),)
    )
    accepted = decide(vote(typed, typed + " ii", "main"), context(NOW, catalog))
    assert isinstance(accepted, VoteCast), accepted
    assert accepted.band == nfc(" ".join(listed.split()))  # the catalog's spelling
    refused = decide(vote(typed, "B-sides", "main"), context(NOW, catalog))
    assert isinstance(refused, Rejection)
    assert [v.field for v in refused.violations] == ["album"]


# ---------------------------------------------------------------- parse_catalog

aware = st.datetimes(
    min_value=datetime(1970, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.builds(lambda m: timezone(timedelta(minutes=m)), offsets),
)
contests = st.builds(
    Contest,
    slug=slugs,
    title=st.text(max_size=10),
    strict=st.booleans(),
    one_vote_per_voter=st.booleans(),
    opens_at=st.none() | aware,
    closes_at=st.none() | aware,
    bands=st.lists(
        st.builds(
            Band, st.text(max_size=10), st.lists(st.text(max_size=10), unique_by=icu_key).map(tuple)
        ),
        max_size=3,
        unique_by=lambda band: icu_key(band.name),
    ).map(tuple),
)


@given(st.lists(contests, max_size=3).map(lambda cs: Catalog(tuple(cs))))
def test_a_catalog_round_trips_through_json(catalog: Catalog) -> None:
    assert parse_catalog(msgspec.json.encode(catalog)) == catalog


def test_a_catalog_file_reads_as_expected() -> None:
    catalog = parse_catalog(
        b"""{"contests": [
            {"slug": "main", "title": "Albums of the year", "strict": true,
             "opens_at": "2025-01-01T00:00:00Z", "closes_at": "2026-01-01T00:00:00+01:00",
             "bands": [{"name": "Radiohead", "albums": ["OK Computer", "Kid A"]}]},
            {"slug": "open"}
        ]}"""
    )
    main, open_ = catalog.contests
    assert main.strict
    assert main.opens_at == datetime(2025, 1, 1, tzinfo=UTC)
    assert main.closes_at == datetime(2025, 12, 31, 23, tzinfo=UTC)
    assert main.bands == (Band("Radiohead", ("OK Computer", "Kid A")),)
    assert open_ == Contest(slug="open")
    assert set(catalog.by_slug()) == {"main", "open"}


@pytest.mark.parametrize("field", ["opens_at", "closes_at"])
def test_a_catalog_with_a_naive_time_is_refused(field: str) -> None:
    data = msgspec.json.encode({"contests": [{"slug": "spring", field: "2025-01-01T00:00:00"}]})
    with pytest.raises(msgspec.ValidationError, match=r"'spring'.*time zone"):
        parse_catalog(data)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", msgspec.DecodeError),
        (b"{", msgspec.DecodeError),
        (b"contests: []", msgspec.DecodeError),
        (b"[]", msgspec.ValidationError),
        (b'{"contests": [{"title": "no slug"}]}', msgspec.ValidationError),
        (b'{"contests": [{"slug": "x", "strict": "yes"}]}', msgspec.ValidationError),
        (b'{"contests": [{"slug": "x", "opens_at": "soon"}]}', msgspec.ValidationError),
        (b'{"contests": [{"slug": "x", "bands": [{"albums": []}]}]}', msgspec.ValidationError),
    ],
)
def test_a_malformed_catalog_is_refused(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_catalog(data)


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        (
            [{"name": "Mayfield"}, {"name": "ＭＡＹＦＩＥＬＤ"}],
            r"bands 'Mayfield' and 'ＭＡＹＦＩＥＬＤ'",
        ),
        (
            [{"name": "Mayfield", "albums": ["Kid A", "kid  a"]}],
            r"albums 'Kid A' and 'kid  a' of band 'Mayfield'",
        ),
    ],
)
def test_a_catalog_that_lists_one_name_twice_is_refused(
    bands: list[dict[str, object]], message: str
) -> None:
    data = msgspec.json.encode({"contests": [{"slug": "main", "strict": True, "bands": bands}]})
    with pytest.raises(msgspec.ValidationError, match=message + r".*one name"):
        parse_catalog(data)


def test_a_catalog_that_is_not_utf8_is_a_msgspec_error() -> None:
    latin1 = '{"contests": [{"slug": "main", "title": "Sigur Rós"}]}'.encode("latin-1")
    with pytest.raises(msgspec.DecodeError, match="not UTF-8"):
        parse_catalog(latin1)


@st.composite
def _damaged_catalogs(draw: st.DrawFn) -> bytes:
    text = bytearray(b'{"contests": [{"slug": "main", "title": "t", "bands": [{"name": "n"}]}]}')
    position = draw(st.integers(0, len(text) - 1))
    text[position : position + 1] = draw(st.binary(max_size=3))
    return bytes(text)


@given(st.binary() | _damaged_catalogs())
def test_parse_catalog_of_any_bytes_is_a_catalog_or_a_msgspec_error(data: bytes) -> None:
    try:
        result: Catalog | str = parse_catalog(data)
    except msgspec.DecodeError as exc:  # ValidationError is one too
        result = str(exc)
    assert isinstance(result, Catalog) or result  # a catalog, or an error that says why
