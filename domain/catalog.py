"""The optional contest catalog: which contests exist, when they are open, and (in strict
mode) which bands and albums may be voted for. Parsing is pure; reading the file is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import msgspec

from domain.names import name_key
from domain.validation import normalize_text


class Band(msgspec.Struct, frozen=True):
    name: str
    albums: tuple[str, ...] = ()


class Contest(msgspec.Struct, frozen=True, kw_only=True):
    """One contest. ``strict``: only the listed bands and albums are valid votes.
    ``one_vote_per_voter``: every vote must name its voter, and only each voter's first
    vote in log order counts (ADR 6)."""

    slug: str
    title: str = ""
    strict: bool = False
    one_vote_per_voter: bool = False
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    bands: tuple[Band, ...] = ()

    def is_open(self, now: datetime) -> bool:
        if self.opens_at is not None and now < self.opens_at:
            return False
        return self.closes_at is None or now < self.closes_at

    def status(self, now: datetime) -> str:
        """``upcoming`` before it opens, ``closed`` from its close on, ``open`` between."""
        if self.opens_at is not None and now < self.opens_at:
            return "upcoming"
        if self.closes_at is not None and now >= self.closes_at:
            return "closed"
        return "open"

    def canonical(self, band: str, album: str) -> tuple[str, str] | None:
        """The catalog's spelling of (band, album), matched by their keys (domain.names:
        without regard to case, width, compatibility forms or spacing), as tallies are."""
        for entry in self.bands:
            if name_key(entry.name) != name_key(band):
                continue
            for name in entry.albums:
                if name_key(name) == name_key(album):
                    return normalize_text(entry.name), normalize_text(name)
        return None


class Catalog(msgspec.Struct, frozen=True):
    contests: tuple[Contest, ...] = ()

    def by_slug(self) -> Mapping[str, Contest]:
        return {c.slug: c for c in self.contests}

    def counts_voters(self) -> bool:
        """True when some contest counts one vote per voter."""
        return any(c.one_vote_per_voter for c in self.contests)


def parse_catalog(data: bytes) -> Catalog:
    """A catalog from its JSON text; raises ``msgspec.ValidationError`` naming the bad path."""
    try:
        catalog = msgspec.json.decode(data, type=Catalog)
    except UnicodeDecodeError as exc:
        raise msgspec.DecodeError(f"the catalog is not UTF-8 text: {exc}") from None
    for contest in catalog.contests:
        _refuse_one_name_twice(contest)
        for moment in (contest.opens_at, contest.closes_at):
            if moment is not None and moment.tzinfo is None:
                raise msgspec.ValidationError(
                    f"contest {contest.slug!r}: opens_at and closes_at need a time zone (e.g. Z)"
                )
    return catalog


def _refuse_one_name_twice(contest: Contest) -> None:
    """Two bands of a contest, or two albums of a band, that are one name (one key)."""
    lists = [("band", "", [b.name for b in contest.bands])]
    lists += [("album", f" of band {b.name!r}", list(b.albums)) for b in contest.bands]
    for what, where, spellings in lists:
        seen: dict[str, str] = {}
        for spelling in spellings:
            other = seen.setdefault(name_key(spelling), spelling)
            if other is not spelling:
                raise msgspec.ValidationError(
                    f"contest {contest.slug!r}: {what}s {other!r} and {spelling!r}{where} are "
                    "one name (they differ only in case, width or spacing); list it once"
                )
