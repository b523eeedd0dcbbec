"""Reading the audit log from MongoDB: filtered, newest first, cursor-paginated.

Query parameters only ever become values of equality or range matches on known fields:
a value like ``{"$ne": null}`` is a string that matches nothing.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

import msgspec
from pymongo import DESCENDING, AsyncMongoClient

from domain.readmodel import AUDIT_COLLECTION, AUDIT_POINTER_ID, READMODELS_COLLECTION
from queries.views import VotePage, VoteView

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
}


class BadCursorError(ValueError):
    pass


class VoteFilter(msgspec.Struct, frozen=True, kw_only=True):
    band: str | None = None
    album: str | None = None
    year: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def encode_cursor(cast_at: datetime, event_id: str) -> str:
    raw = msgspec.json.encode([cast_at.isoformat(), event_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, event_id = msgspec.json.decode(raw, type=tuple[datetime, str])
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise BadCursorError("cursor is not one this API returned; start without it") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC), event_id


def match(flt: VoteFilter, cursor: str | None) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for name in ("band", "album", "year"):
        value = getattr(flt, name)
        if value is not None:
            query[name] = {"$eq": value}
    window: dict[str, datetime] = {}
    if flt.since is not None:
        window["$gte"] = flt.since
    if flt.until is not None:
        window["$lt"] = flt.until
    if window:
        query["cast_at"] = window
    if cursor:
        at, event_id = decode_cursor(cursor)
        query = {
            "$and": [
                query,
                {"$or": [{"cast_at": {"$lt": at}}, {"cast_at": at, "_id": {"$lt": event_id}}]},
            ]
        }
    return query


def to_view(doc: dict[str, Any]) -> VoteView:
    cast_at = doc["cast_at"]
    return VoteView(
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
    )


class MongoVotes:
    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self._client = client
        self._db = client[database]

    async def _collection(self) -> Any:
        pointer = await self._db[READMODELS_COLLECTION].find_one({"_id": AUDIT_POINTER_ID})
        return self._db[str(pointer["collection"]) if pointer else AUDIT_COLLECTION]

    async def page(self, flt: VoteFilter, limit: int, cursor: str | None) -> VotePage:
        collection = await self._collection()
        found = (
            collection.find(match(flt, cursor), FIELDS)
            .sort([("cast_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit + 1)
        )
        docs = [doc async for doc in found]
        votes = [to_view(d) for d in docs[:limit]]
        more = len(docs) > limit
        next_cursor = encode_cursor(votes[-1].cast_at, votes[-1].event_id) if more else None
        return VotePage(votes, next_cursor)

    async def by_vote_id(self, vote_id: str) -> VoteView | None:
        collection = await self._collection()
        doc = await collection.find_one({"vote_id": {"$eq": vote_id}}, FIELDS)
        return to_view(doc) if doc else None

    async def ping(self) -> bool:
        await self._client.admin.command("ping")
        return True
