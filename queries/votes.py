"""Reading the audit log from MongoDB: filtered, newest first, cursor-paginated.

Pages are read from the audit log's timeline by ``_id`` lookups (domain.timeline), never
by a sort over the whole log. Query parameters only ever become values compared with the
votes' fields: a value like ``{"$ne": null}`` is a string that matches nothing.

What it reads is the full record (``AuditRecord``, the voter_id included): the auditor
routes serve it as is, the public ones only its ``public`` view (queries.votes_api).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from pymongo import AsyncMongoClient
from pymongo.errors import ExecutionTimeout

from domain.names import name_key
from domain.readmodel import (
    AUDIT_COLLECTION,
    AUDIT_POINTER_ID,
    CHECKPOINTS_COLLECTION,
    READMODELS_COLLECTION,
    audit_checkpoints,
)
from domain.timeline import timeline_collection, vote_key
from queries.inputs import encode_cursor
from queries.timeline import SLACK, Entry, Positions, newest_first
from queries.views import AuditPage, AuditRecord

FIELDS = {
    "_id": 1,
    "vote_id": 1,
    "contest": 1,
    "band": 1,
    "album": 1,
    "year": 1,
    "rank": 1,
    "cast_at": 1,
    "partition": 1,
    "offset": 1,
    "voter_id": 1,
    "superseded_by": 1,
}


QUERY_BUDGET_MS = 10_000  # one page may take the server this long, then it is abandoned
QUEUE_WAIT_S = 10.0  # how long a page waits for one of the server's query slots
QUERY_SLOTS = 4  # pages read at once: the rest queue here, not in the database


class AuditBusyError(RuntimeError):
    """The audit log could not answer in time; the client should retry shortly."""


class VoteFilter(msgspec.Struct, frozen=True, kw_only=True):
    contest: str | None = None
    band: str | None = None
    album: str | None = None
    year: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def matcher(flt: VoteFilter) -> Callable[[Entry], bool]:
    """The filter as a predicate on a timeline entry (domain.timeline). Values are only
    ever compared: a value like ``{"$ne": null}`` is a string that matches nothing. Band
    and album match by their keys (domain.names), as the tallies count them: ``band=Mayfield``
    finds the votes cast as ``MAYFIELD`` too."""
    band = None if flt.band is None else name_key(flt.band)
    album = None if flt.album is None else name_key(flt.album)

    def matches(entry: Entry) -> bool:
        if flt.contest is not None and entry["c"] != flt.contest:
            return False
        if band is not None and name_key(entry["b"]) != band:
            return False
        if album is not None and name_key(entry["a"]) != album:
            return False
        if flt.year is not None and entry["y"] != flt.year:
            return False
        if flt.since is not None and entry["t"] < flt.since:
            return False
        return flt.until is None or entry["t"] < flt.until

    return matches


def to_record(doc: dict[str, Any]) -> AuditRecord:
    cast_at = doc["cast_at"]
    return AuditRecord(
        event_id=doc["_id"],
        vote_id=doc["vote_id"],
        contest=doc.get("contest", ""),
        band=doc["band"],
        album=doc["album"],
        year=int(doc["year"]),
        rank=int(doc["rank"]),
        cast_at=cast_at if cast_at.tzinfo else cast_at.replace(tzinfo=UTC),
        partition=int(doc["partition"]),
        offset=int(doc["offset"]),
        voter_id=doc.get("voter_id"),
        superseded_by=doc.get("superseded_by"),
    )


def entry_record(entry: Entry) -> AuditRecord:
    return AuditRecord(
        event_id=entry["i"],
        vote_id=entry["v"],
        contest=entry["c"],
        band=entry["b"],
        album=entry["a"],
        year=int(entry["y"]),
        rank=int(entry["r"]),
        cast_at=entry["t"],
        partition=int(entry["p"]),
        offset=int(entry["o"]),
        voter_id=entry.get("w"),
        superseded_by=entry.get("s"),
    )


class MongoVotes:
    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        database: str,
        slots: int = QUERY_SLOTS,
        slack: timedelta = SLACK,
    ) -> None:
        self._client = client
        self._db = client[database]
        self._slots = asyncio.Semaphore(slots)
        self._slack = slack  # how far out of cast order the log can be (queries.timeline)

    async def _collection(self) -> Any:
        pointer = await self._db[READMODELS_COLLECTION].find_one({"_id": AUDIT_POINTER_ID})
        return self._db[str(pointer["collection"]) if pointer else AUDIT_COLLECTION]

    async def page(self, flt: VoteFilter, limit: int, start: Positions | None) -> AuditPage:
        """Up to ``limit`` votes below ``start`` (a cursor's positions; None: the newest)."""
        try:
            await asyncio.wait_for(self._slots.acquire(), QUEUE_WAIT_S)
        except TimeoutError:
            raise AuditBusyError("the audit log is busy; retry in a second") from None
        try:
            votes = await self._collection()
            timeline = self._db[timeline_collection(votes.name)]
            if start is None:
                start = await self._newest(votes.name)
            entries, resume = await newest_first(
                lambda keys: self._by_ids(timeline, keys),
                matcher(flt),
                limit,
                start,
                flt.since,
                slack=self._slack,
            )
        except ExecutionTimeout:
            raise AuditBusyError(
                f"the audit log did not answer within {QUERY_BUDGET_MS} ms; retry"
            ) from None
        finally:
            self._slots.release()
        records = [entry_record(e) for e in entries]
        return AuditPage(records, encode_cursor(resume or {}))

    async def _newest(self, collection: str) -> Positions:
        """Where reading starts: just past each partition's checkpoint."""
        found = self._db[CHECKPOINTS_COLLECTION].find({"collection": collection})
        _, checkpoints = audit_checkpoints([doc async for doc in found])
        return {partition: offset + 1 for partition, offset in checkpoints.items()}

    @staticmethod
    async def _by_ids(collection: Any, keys: list[str]) -> dict[str, dict[str, Any]]:
        docs = await asyncio.gather(
            *(collection.find_one({"_id": key}, max_time_ms=QUERY_BUDGET_MS) for key in keys)
        )
        return {str(doc["_id"]): doc for doc in docs if doc is not None}

    async def by_vote_id(self, vote_id: str) -> AuditRecord | None:
        votes = await self._collection()
        timeline = self._db[timeline_collection(votes.name)]
        found = await timeline.find_one({"_id": vote_key(vote_id)})
        doc = await votes.find_one({"_id": found["i"]}, FIELDS) if found else None
        return to_record(doc) if doc else None

    async def ping(self) -> bool:
        await self._client.admin.command("ping")
        return True
