"""The audit log's band and album filters match names by their keys (domain.names), as the
tallies count them: a band shown once in the results finds all of its votes."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from domain.names import name_key
from queries.votes import VoteFilter, matcher

AT = datetime(2025, 6, 1, tzinfo=UTC)
SPELLINGS = (
    "Mayfield",
    "MAYFIELD",
    "Ｍａｙｆｉｅｌｄ",
    "Mayﬁeld",
    "Mayfeld",
    "Green Ridge",
    "Café",
)


def entry(band: str, album: str) -> dict[str, object]:
    return {"b": band, "a": album, "y": 2000, "t": AT}


@given(st.sampled_from(SPELLINGS), st.sampled_from(SPELLINGS), st.sampled_from(SPELLINGS))
def test_band_and_album_match_every_spelling_of_the_name(
    wanted: str, band: str, album: str
) -> None:
    assert matcher(VoteFilter(band=wanted))(entry(band, "x")) == (
        name_key(band) == name_key(wanted)
    )
    assert matcher(VoteFilter(album=wanted))(entry("x", album)) == (
        name_key(album) == name_key(wanted)
    )


def test_a_full_width_band_finds_the_votes_cast_in_ascii() -> None:
    matches = matcher(VoteFilter(band="Ｍａｙｆｉｅｌｄ"))
    assert matches(entry("Mayfield", "Kid A"))
    assert matches(entry("mayfield", "Kid A"))
    assert not matches(entry("Mayfeld", "Kid A"))
    assert not matcher(VoteFilter(band='{"$ne": null}'))(entry("Mayfield", "Kid A"))
