"""The recount: every contest's tallies from the board alone, by the published rules
(docs/adr/0008-board-entries-and-pseudonyms.md, "The recount").

Input: for each partition of ``votes``, that partition's board entries in log order (the
entry bundles, :func:`domain.board.entry.decode_entry` of each), and the public catalog
(only its voting windows are read). The rules are the live tallies'
(:class:`domain.projection.TallyView`), read off the entries:

1. **Window.** An entry whose ``cast_at`` is outside its contest's window
   (:func:`domain.projection.windows`, ``Contest.is_open``) is a position only: it decides
   nothing, and a later entry of its vote inside the window still can.
2. **Retries once.** A vote is decided once, by the first (remaining) entry of its ``vote``
   pseudonym: that entry's choice, contest, voter and cast_at are the vote's; later ones
   change nothing.
3. **One vote per voter.** A decided vote whose entry says ``one_vote_per_voter`` and names
   a ``voter`` counts only if that voter pseudonym (one voter in one contest) has no
   counted vote yet; else it is superseded and counts nowhere.
4. **As of.** With ``as_of``, a counted vote enters the tallies only if it was cast at or
   before ``as_of``; rules 2 and 3 apply to every vote whenever it was cast.
5. **One name per band.** A vote counts in its contest under its band's key and its album's
   field (:func:`domain.projection.name_fields`, ADR 7).

Partitions are read one after another in ascending number, each in offset order. When the
log is keyed as documented (:func:`domain.votes.event_key`), a vote's entries and a voter's
entries share a partition, no rule looks across partitions, and the result is that of the
live tallies whatever order they read the partitions in. A pseudonym in more than one
partition (a vote_id reused with another voter or contest, ADR 6; a topic whose partition
count changed, ADR 2) is listed in :attr:`Recount.straddling`: the live tallies decided
it in the order their consumer happened to read, which the board does not record.

The spelling shown for a key: the live tallies show the one of the counted vote with the
least event_id, a UUIDv7 whose leading 48 bits are the millisecond of its cast_at; the
board carries no event_id. The recount shows the spelling of the counted entry cast
earliest, and of those cast in that millisecond the least spelling (code point order): a
spelling first cast in the same millisecond as the live one, and the same one unless two
spellings of a name were both cast first in that millisecond. Tallies by key are exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.board.entry import BoardEntry
from domain.catalog import Catalog
from domain.projection import name_fields, windows


class BoardOrderError(ValueError):
    """A partition's entries that are not in log order (offsets not strictly ascending)."""


@dataclass
class ContestRecount:
    """One contest's tallies by band key and album field, as
    :class:`domain.projection.ContestTally`'s, and the spelling each key shows."""

    bands: Counter[str] = field(default_factory=Counter)
    albums: Counter[str] = field(default_factory=Counter)
    total: int = 0
    # band key or album field -> (cast_at, spelling) shown: the least pair counted
    names: dict[str, tuple[datetime, str]] = field(default_factory=dict)

    def count(self, entry: BoardEntry) -> None:
        band, album = name_fields(entry.band, entry.album)
        self.bands[band] += 1
        self.albums[album] += 1
        self.total += 1
        for key, spelling in ((band, entry.band), (album, entry.album)):
            shown = (entry.cast_at, spelling)
            self.names[key] = min(self.names.get(key, shown), shown)

    def shown_names(self) -> dict[str, str]:
        """Band key or album field -> the spelling shown."""
        return {key: spelling for key, (_, spelling) in self.names.items()}

    def summary(self) -> dict[str, Any]:
        return {
            "bands": dict(self.bands),
            "albums": dict(self.albums),
            "total": self.total,
            "names": self.shown_names(),
        }


@dataclass
class Recount:
    """Every contest with a counted vote, the total, and the pseudonyms (``vote`` or
    ``voter``) found in more than one partition (empty: the recount is the live tallies')."""

    contests: dict[str, ContestRecount] = field(default_factory=dict)
    total: int = 0
    straddling: frozenset[str] = frozenset()

    def summary(self) -> dict[str, Any]:
        return {
            "contests": {c: t.summary() for c, t in self.contests.items()},
            "total": self.total,
        }


def recount(
    partitions: Mapping[int, Iterable[BoardEntry]],
    catalog: Catalog | None = None,
    as_of: datetime | None = None,
) -> Recount:
    """The tallies of the board's ``partitions`` (partition -> its entries in log order)
    under ``catalog``'s windows, as of ``as_of`` (timezone-aware) when given."""
    voting = windows(catalog)
    result = Recount()
    decided: set[str] = set()  # vote pseudonyms
    voters: set[str] = set()  # voter pseudonyms with a counted vote
    home: dict[str, int] = {}  # pseudonym -> the partition it was first seen in
    straddling: set[str] = set()
    for partition in sorted(partitions):
        for entry in in_log_order(partition, partitions[partition]):
            for pseudonym in (entry.vote, entry.voter):
                if pseudonym and home.setdefault(pseudonym, partition) != partition:
                    straddling.add(pseudonym)
            window = voting.get(entry.contest)
            if window is not None and not window.is_open(entry.cast_at):
                continue  # a position only: it decides nothing
            if entry.vote in decided:
                continue  # a retry of a decided vote
            decided.add(entry.vote)
            if entry.one_vote_per_voter and entry.voter:
                if entry.voter in voters:
                    continue  # superseded by the voter's counted vote
                voters.add(entry.voter)
            if as_of is not None and entry.cast_at > as_of:
                continue  # counted, but cast after the moment asked about
            tally = result.contests.setdefault(entry.contest, ContestRecount())
            tally.count(entry)
            result.total += 1
    result.straddling = frozenset(straddling)
    return result


def in_log_order(partition: int, entries: Iterable[BoardEntry]) -> Iterator[BoardEntry]:
    """``entries``, checked to be in log order: offsets strictly ascending."""
    last = -1
    for entry in entries:
        if entry.offset <= last:
            raise BoardOrderError(
                f"partition {partition}: offset {entry.offset} after {last}, not log order"
            )
        last = entry.offset
        yield entry
