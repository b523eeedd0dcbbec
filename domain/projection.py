"""Projection laws, pure: from delivered events and a view's state, the change to apply.

Kafka delivers at least once. A view applies exactly once because (1) each partition's
checkpoint is the last offset the view has applied, stored with the view, and anything at
or below it is skipped, and (2) a vote_id already counted is never counted again (the
first occurrence in the log wins; with key = vote_id all occurrences share a partition,
so "first" is well defined). The Redis Lua script and the Mongo sink implement these laws;
:class:`TallyView` is their executable specification.

One vote per voter (ADR 6): a vote stamped ``one_vote_per_voter`` counts only if it is the
first decided vote of its voter in its contest; a later one is *superseded* by the counted
one: kept in the audit log with ``superseded_by``, counted nowhere. A vote_id is decided
once, at its first occurrence (counted or superseded): its retries change nothing. With
key = contest:voter_id all of a voter's votes share a partition, so "first" is well
defined, and the same under any redelivery, batch split, crash or rebuild.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from domain.catalog import Catalog, Contest
from domain.names import first_spelling, name_key
from domain.readmodel import album_field
from domain.votes import VoteCast, voter_key


class Delivered(msgspec.Struct, frozen=True):
    """One message as the consumer got it. ``event`` is None for an undecodable message,
    which still moves the checkpoint (it went to the dead-letter topic)."""

    partition: int
    offset: int
    event: VoteCast | None


def windows(catalog: Catalog | None) -> dict[str, Contest]:
    """The catalog's contests that have a voting window (the others admit every vote)."""
    if catalog is None:
        return {}
    return {
        c.slug: c for c in catalog.contests if c.opens_at is not None or c.closes_at is not None
    }


def admit(batch: Sequence[Delivered], windows: Mapping[str, Contest]) -> Sequence[Delivered]:
    """The batch as the read models see it: a vote cast outside its contest's window (by
    its own ``cast_at``, never a clock) keeps its position and nothing else, like an
    undecodable message. So a vote that reached the log after the close (say, through clock
    skew between command processes) never counts, in any read model, replay or rebuild; a
    later event of the same vote_id inside the window still would."""
    if not windows:
        return batch
    admitted: list[Delivered] = []
    for item in batch:
        event = item.event
        window = windows.get(event.contest) if event is not None else None
        if window is not None and event is not None and not window.is_open(event.cast_at):
            admitted.append(Delivered(item.partition, item.offset, None))
        else:
            admitted.append(item)
    return admitted


def cast_second(event: VoteCast) -> int:
    return int(event.cast_at.timestamp())


def voter_of(event: VoteCast) -> str | None:
    """The voter whose first vote alone counts, or None when the vote is not under one vote
    per voter (no policy, or no voter named)."""
    return event.voter_id if event.one_vote_per_voter and event.voter_id else None


def name_fields(band: str, album: str) -> tuple[str, str]:
    """Where a vote counts: its band's key and its album's field (band key, album key)."""
    key = name_key(band)
    return key, album_field(key, name_key(album))


@dataclass
class ContestTally:
    """One contest's tallies. Bands and albums are counted under their keys (one name per
    band and album, ADR 7); ``names`` holds the spelling each key shows."""

    bands: Counter[str] = field(default_factory=Counter)
    albums: Counter[str] = field(default_factory=Counter)
    seconds: Counter[int] = field(default_factory=Counter)
    voters: dict[str, str] = field(default_factory=dict)  # voter -> the vote_id counted
    total: int = 0
    # band key or album field -> (event_id, spelling) shown; see domain.names
    names: dict[str, tuple[str, str]] = field(default_factory=dict)

    def admits(self, event: VoteCast) -> bool:
        """False for a later vote of a voter already counted (one vote per voter); else the
        voter, if any, is recorded as counted with this vote."""
        voter = voter_of(event)
        if voter is None:
            return True
        if voter in self.voters:
            return False
        self.voters[voter] = event.vote_id
        return True

    def count(self, event: VoteCast) -> None:
        band, album = name_fields(event.band, event.album)
        self.bands[band] += 1
        self.albums[album] += 1
        self._name(band, event.event_id, event.band)
        self._name(album, event.event_id, event.album)
        self.seconds[cast_second(event)] += 1
        self.total += 1

    def _name(self, key: str, event_id: str, spelling: str) -> None:
        self.names[key] = first_spelling(self.names.get(key), event_id, spelling)

    def shown_names(self) -> dict[str, str]:
        """Band key or album field -> the spelling shown."""
        return {key: spelling for key, (_, spelling) in self.names.items()}

    def summary(self) -> dict[str, Any]:
        return {
            "bands": dict(+self.bands),
            "albums": dict(+self.albums),
            "seconds": dict(+self.seconds),
            "total": self.total,
            "names": self.shown_names(),
        }


@dataclass
class TallyView:
    """The tallies read model in memory: what Redis holds, as plain Python. One model holds
    every contest: one checkpoint and one set of decided vote_ids (a vote_id is decided
    once, at its first occurrence, in its contest), and each contest's own tallies and
    counted voters.

    ``as_of``: the results as of that moment. Every law applies as in the live view (a
    vote claims its vote_id, and its voter, whenever it was cast); a counted vote enters
    the tallies only if it was cast at or before ``as_of``. So the results as of any moment
    are the live results restricted to the votes cast by then, and equal them once every
    vote is."""

    checkpoints: dict[int, int] = field(default_factory=dict)
    counted: set[str] = field(default_factory=set)
    contests: dict[str, ContestTally] = field(default_factory=dict)
    total: int = 0
    as_of: datetime | None = None

    def apply(self, batch: Sequence[Delivered]) -> int:
        """Apply one batch atomically; returns how many votes it counted."""
        before = dict(self.checkpoints)
        counted = 0
        for item in batch:
            if item.offset <= before.get(item.partition, -1):
                continue
            self.checkpoints[item.partition] = max(
                item.offset, self.checkpoints.get(item.partition, -1)
            )
            event = item.event
            if event is None or event.vote_id in self.counted:
                continue
            self.counted.add(event.vote_id)
            tally = self.contest(event.contest)
            if not tally.admits(event):
                continue  # superseded by the voter's counted vote
            if self.as_of is not None and event.cast_at > self.as_of:
                continue  # counted live, but cast after the moment asked about
            tally.count(event)
            self.total += 1
            counted += 1
        return counted

    def contest(self, contest: str) -> ContestTally:
        tally = self.contests.get(contest)
        if tally is None:
            tally = self.contests[contest] = ContestTally()
        return tally

    def summary(self) -> dict[str, Any]:
        """What two views must agree on to be equal (the counted set is implied)."""
        return {
            "contests": {c: t.summary() for c, t in self.contests.items() if t.total},
            "total": self.total,
            "checkpoints": dict(self.checkpoints),
        }


def fold(deliveries: Iterable[Sequence[Delivered]], as_of: datetime | None = None) -> TallyView:
    view = TallyView(as_of=as_of)
    for batch in deliveries:
        view.apply(batch)
    return view


def audit_document(item: Delivered) -> dict[str, Any]:
    """The audit log's document of one decided vote: ``_id`` = event_id, position kept;
    ``voter_id`` and ``one_vote_per_voter`` only when set (see :func:`supersede`)."""
    event = item.event
    assert event is not None
    document = {
        "_id": event.event_id,
        "vote_id": event.vote_id,
        "contest": event.contest,
        "band": event.band,
        "album": event.album,
        "year": event.year,
        "rank": event.rank,
        "cast_at": event.cast_at,
        "partition": item.partition,
        "offset": item.offset,
    }
    if event.voter_id:
        document["voter_id"] = event.voter_id
    if voter_of(event) is not None:
        document["one_vote_per_voter"] = True
    return document


def audit_change(
    batch: Sequence[Delivered], checkpoints: dict[int, int]
) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """Documents to insert (first occurrence of each vote_id past the checkpoints) and the
    checkpoints after the batch. Duplicates against stored documents are left to the
    unique indexes on ``_id`` and ``vote_id``."""
    documents = []
    seen: set[str] = set()
    moved: dict[int, int] = {}
    for item in batch:
        if item.offset <= checkpoints.get(item.partition, -1):
            continue
        moved[item.partition] = max(item.offset, moved.get(item.partition, -1))
        if item.event is None or item.event.vote_id in seen:
            continue
        seen.add(item.event.vote_id)
        documents.append(audit_document(item))
    return documents, moved


def document_voter(document: Mapping[str, Any]) -> str | None:
    """The voter key of an audit document under one vote per voter, else None."""
    if not document.get("one_vote_per_voter"):
        return None
    return voter_key(document["contest"], document["voter_id"])


def supersede(
    documents: Sequence[dict[str, Any]], counted: Mapping[str, str]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One vote per voter in the audit log. ``documents`` as :func:`audit_change` made them
    (log order per partition); ``counted``: voter key -> the vote_id already counted for
    that voter, as stored, for the voters of these documents. Returns the documents, each
    later vote of a counted voter marked ``superseded_by`` that vote_id, and the voters
    this batch counts first (to be stored before the documents). A redelivered counted vote
    finds itself in ``counted`` and stays counted: the result is the same under redelivery."""
    known = dict(counted)
    first: dict[str, str] = {}
    marked = []
    for document in documents:
        voter = document_voter(document)
        winner = None if voter is None else known.setdefault(voter, document["vote_id"])
        if winner is None or winner == document["vote_id"]:
            if voter is not None and voter not in counted:
                first[voter] = document["vote_id"]
            marked.append(document)
        else:
            marked.append({**document, "superseded_by": winner})
    return marked, first
