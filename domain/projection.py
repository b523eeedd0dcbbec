"""Projection laws, pure: from delivered events and a view's state, the change to apply.

Kafka delivers at least once. A view applies exactly once because (1) each partition's
checkpoint is the last offset the view has applied, stored with the view, and anything at
or below it is skipped, and (2) a vote_id already counted is never counted again (the
first occurrence in the log wins; with key = vote_id all occurrences share a partition,
so "first" is well defined). The Redis Lua script and the Mongo sink implement these laws;
:class:`TallyView` is their executable specification.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from domain.names import first_spelling, name_key
from domain.readmodel import album_field
from domain.votes import VoteCast


class Delivered(msgspec.Struct, frozen=True):
    """One message as the consumer got it. ``event`` is None for an undecodable message,
    which still moves the checkpoint (it went to the dead-letter topic)."""

    partition: int
    offset: int
    event: VoteCast | None


def cast_second(event: VoteCast) -> int:
    return int(event.cast_at.timestamp())


def name_fields(band: str, album: str) -> tuple[str, str]:
    """Where a vote counts: its band's key and its album's field (band key, album key)."""
    key = name_key(band)
    return key, album_field(key, name_key(album))


@dataclass
class TallyView:
    """The tallies read model in memory: what Redis holds, as plain Python."""

    checkpoints: dict[int, int] = field(default_factory=dict)
    counted: set[str] = field(default_factory=set)
    bands: Counter[str] = field(default_factory=Counter)
    albums: Counter[str] = field(default_factory=Counter)
    seconds: Counter[int] = field(default_factory=Counter)
    total: int = 0
    # band key or album field -> (event_id, spelling) shown; see domain.names
    names: dict[str, tuple[str, str]] = field(default_factory=dict)

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
            band, album = name_fields(event.band, event.album)
            self.bands[band] += 1
            self.albums[album] += 1
            self._name(band, event.event_id, event.band)
            self._name(album, event.event_id, event.album)
            self.seconds[cast_second(event)] += 1
            self.total += 1
            counted += 1
        return counted

    def _name(self, key: str, event_id: str, spelling: str) -> None:
        self.names[key] = first_spelling(self.names.get(key), event_id, spelling)

    def summary(self) -> dict[str, Any]:
        """What two views must agree on to be equal (the counted set is implied)."""
        return {
            "bands": dict(+self.bands),
            "albums": dict(+self.albums),
            "seconds": dict(+self.seconds),
            "total": self.total,
            "checkpoints": dict(self.checkpoints),
            "names": {key: spelling for key, (_, spelling) in self.names.items()},
        }


def fold(deliveries: Iterable[Sequence[Delivered]]) -> TallyView:
    view = TallyView()
    for batch in deliveries:
        view.apply(batch)
    return view


def audit_document(item: Delivered) -> dict[str, Any]:
    """The audit log's document of one counted vote: ``_id`` = event_id, position kept."""
    event = item.event
    assert event is not None
    return {
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
