"""The audit log in MongoDB (FerretDB v1 locally): one ``insert_many`` per batch.

Idempotent: ``_id`` = event_id and a unique index on vote_id make a redelivered or retried
vote a duplicate (code 11000), which means "already applied". The per-partition
checkpoints are upserted after the documents with ``$max``, so they never move back; a
crash between the two only replays documents that are then duplicates. No transactions
and no change streams: the same code runs on FerretDB v1 and on MongoDB.

The live collection is named by a pointer document (``readmodels``/``audit``), so a
rebuild can swap a fresh collection in with one atomic update.

A wiped audit log heals from the log. Its marker document (in ``checkpoints``) names the
*instance* of the collection's contents, like the tallies' instance in Redis, and every
checkpoint is stored under the instance it was written in. A wipe removes the marker; the
next worker to resume makes a new instance, so a batch that was being written across the
wipe leaves its checkpoints under the old instance, which nobody reads: without that, the
checkpoints written after the wipe said "applied" of documents that were gone, and the
audit log stayed empty for good. Every worker notices the new instance and re-seeks.
Collections from before instances have a marker without one (instance ""): their
checkpoints keep their ids and stay valid.

One vote per voter (ADR 6): ``<collection>_voters`` holds, per voter of such a contest,
the vote_id counted (``_id`` = contest:voter_id). Before a batch's documents, the sink reads
its voters, marks later votes ``superseded_by`` (``domain.projection.supersede``) and
inserts the voters it counts first. A voter's votes share a partition and are applied in
log order, so the first stored is the first in the log; a crash before the documents
replays the batch, which finds its own counted votes stored and marks the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

import pymongo
from pymongo import UpdateOne
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from domain.projection import Delivered, audit_change, document_voter, supersede
from domain.readmodel import (
    AUDIT_COLLECTION,
    AUDIT_POINTER_ID,
    CHECKPOINTS_COLLECTION,
    READMODELS_COLLECTION,
    audit_checkpoint_id,
    audit_checkpoints,
    voters_collection,
)
from domain.readmodel import (
    AUDIT_INSTANCE as INSTANCE,
)
from domain.readmodel import (
    AUDIT_MARKER as MARKER,
)
from domain.timeline import (
    ENTRIES_FIELD,
    is_new_block,
    timeline_change,
    timeline_collection,
    vote_key,
)

DUPLICATE_KEY = 11000
Doc = dict[str, Any]

# Only what the sink relies on: pages are read from the timeline (ADR 4), not by queries
# on this collection, so indexes for filters would only slow every insert down.
INDEXES: list[tuple[list[tuple[str, int]], dict[str, Any]]] = [
    ([("vote_id", pymongo.ASCENDING)], {"unique": True, "name": "vote_id_unique"}),
]


def live_collection_name(db: Database[Doc]) -> str:
    pointer = db[READMODELS_COLLECTION].find_one({"_id": AUDIT_POINTER_ID})
    return str(pointer["collection"]) if pointer else AUDIT_COLLECTION


def stored_state(db: Database[Doc], collection: str) -> tuple[str | None, dict[int, int]]:
    """(the instance its marker names, or None when the marker is gone; the checkpoints
    of that instance) of an audit collection, in one read-only query."""
    return audit_checkpoints(db[CHECKPOINTS_COLLECTION].find({"collection": collection}))


def timeline_writes(
    documents: list[Doc], checkpoints: Mapping[int, int]
) -> tuple[list[Doc], list[UpdateOne]]:
    """(blocks to insert whole, upserts) for the timeline blocks the counted votes fall in
    (domain.timeline): a block no applied batch wrote to is inserted whole, which FerretDB
    does in one statement for all of them; one that may hold entries gets its fields set."""
    new: list[Doc] = []
    upserts: list[UpdateOne] = []
    for key, entries in timeline_change(documents).items():
        if is_new_block(key, checkpoints):
            new.append({"_id": key, ENTRIES_FIELD: entries})
        else:
            upserts.append(block_upsert(key, entries))
    return new, upserts


def block_upsert(key: str, entries: Mapping[str, Doc]) -> UpdateOne:
    return UpdateOne(
        {"_id": key},
        {"$set": {f"{ENTRIES_FIELD}.{field}": e for field, e in entries.items()}},
        upsert=True,
    )


def duplicates_only(exc: BulkWriteError) -> list[int]:
    """The indexes of an unordered insert's documents refused as duplicate keys; any other
    write error is raised again."""
    errors = exc.details.get("writeErrors", [])
    if any(e.get("code") != DUPLICATE_KEY for e in errors):
        raise exc
    return [int(e["index"]) for e in errors]


T = TypeVar("T")


def upserted(write: Callable[[], T]) -> T:
    """Run an upsert of one document, and once more if it raced another writer's: two
    upserts that both find no document both insert, and the server refuses the second as a
    duplicate key. MongoDB retries that itself (since 4.2); FerretDB does not. The second
    try finds the document and updates it (audit replicas that start together on a new log
    all upsert its marker: tests/integration/test_ferretdb.py)."""
    try:
        return write()
    except DuplicateKeyError:
        return write()


def ensure_indexes(collection: Collection[Doc]) -> None:
    for keys, options in INDEXES:
        collection.create_index(keys, **options)


class MongoAudit:
    """The audit log. ``collection``: a fixed name (a rebuild's target), or None to follow
    the live pointer."""

    name = "audit"

    def __init__(self, db: Database[Doc], collection: str | None = None) -> None:
        self._db = db
        self._fixed = collection
        self._checkpoints = db[CHECKPOINTS_COLLECTION]
        self.current = collection or live_collection_name(db)
        self.instance = self._prepare(self.current)

    def _resolve(self) -> str:
        return self._fixed or live_collection_name(self._db)

    def _prepare(self, collection: str) -> str:
        """Indexes, and the marker whose absence tells a running worker the log was wiped;
        returns the instance it names (a new one if the marker was gone)."""
        ensure_indexes(self._db[collection])
        marker = upserted(
            lambda: self._checkpoints.find_one_and_update(
                {"_id": f"{collection}:{MARKER}"},
                {
                    "$setOnInsert": {
                        "collection": collection,
                        MARKER: True,
                        INSTANCE: uuid.uuid4().hex,
                    }
                },
                upsert=True,
                return_document=pymongo.ReturnDocument.AFTER,
            )
        )
        assert marker is not None, "an upsert returns the document"
        return str(marker.get(INSTANCE, ""))

    def _stored(self, collection: str) -> tuple[str | None, dict[int, int]]:
        return stored_state(self._db, collection)

    def load_checkpoints(self, collection: str | None = None) -> dict[int, int]:
        return self._stored(collection or self.current)[1]

    def positions(self) -> dict[int, int]:
        self.current = self._resolve()
        self.instance = self._prepare(self.current)
        return {p: o + 1 for p, o in self.load_checkpoints().items()}

    def apply(self, batch: Sequence[Delivered], lag: Mapping[int, int] | None = None) -> int | None:
        """Insert the batch's votes and move the checkpoints. Returns the documents inserted,
        or None when the worker must re-seek: the live collection was swapped meanwhile, or
        the audit log was wiped (its marker is gone, or names another instance)."""
        collection, instance = self.current, self.instance
        marker, stored = self._stored(collection)
        if marker != instance:
            return None  # the audit log was wiped under us: re-seek (to 0) and heal
        documents, moved = audit_change(batch, stored)
        documents = self._supersede(self._db[voters_collection(collection)], documents)
        inserted, counted = self._insert(self._db[collection], documents)
        self._write_timeline(self._db[timeline_collection(collection)], counted, stored)
        for partition, offset in moved.items():
            upserted(  # two workers of a partition during a rebalance may both write it
                partial(
                    self._checkpoints.update_one,
                    {"_id": audit_checkpoint_id(collection, instance, partition)},
                    {
                        "$max": {"offset": offset},
                        "$set": {
                            "collection": collection,
                            "partition": partition,
                            INSTANCE: instance,
                        },
                    },
                    upsert=True,
                )
            )
        if self._resolve() != collection:
            return None
        return inserted

    @staticmethod
    def _write_timeline(
        timeline: Collection[Doc], counted: list[Doc], checkpoints: Mapping[int, int]
    ) -> None:
        """The counted votes' timeline entries and vote_id lookups: new blocks and lookups
        in one unordered insert; a duplicate lookup was written before a crash or a
        redelivery (done), a duplicate new block by a batch cut short (its fields are set)."""
        if not counted:
            return
        new, upserts = timeline_writes(counted, checkpoints)
        if upserts:
            timeline.bulk_write(upserts, ordered=True)
        inserts = new + [{"_id": vote_key(d["vote_id"]), "i": d["_id"]} for d in counted]
        try:
            timeline.insert_many(inserts, ordered=False)
        except BulkWriteError as exc:
            again = [new[i] for i in duplicates_only(exc) if i < len(new)]
            if again:
                timeline.bulk_write([block_upsert(b["_id"], b[ENTRIES_FIELD]) for b in again])

    def stale(self) -> bool:
        """True when the worker must re-seek: the log was wiped or swapped under it."""
        return self._resolve() != self.current or self._stored(self.current)[0] != self.instance

    @staticmethod
    def _supersede(voters: Collection[Doc], documents: list[Doc]) -> list[Doc]:
        """The documents with later votes of a counted voter marked; the voters counted first
        by this batch stored (before the documents, so a crash in between replays alike)."""
        keys = sorted({k for k in map(document_voter, documents) if k is not None})
        if not keys:
            return documents
        for _ in range(3):
            stored = {d["_id"]: d["vote_id"] for d in voters.find({"_id": {"$in": keys}})}
            marked, first = supersede(documents, stored)
            if not first:
                return marked
            try:
                voters.insert_many([{"_id": k, "vote_id": v} for k, v in first.items()])
                return marked
            except BulkWriteError as exc:  # another worker of this partition got there first
                duplicates_only(exc)
        raise RuntimeError("the voters of a batch kept changing under the audit worker")

    @staticmethod
    def _insert(collection: Collection[Doc], documents: list[Doc]) -> tuple[int, list[Doc]]:
        """Insert; returns (documents inserted now, documents counted in the log). A
        duplicate ``_id`` is this very vote, inserted before a crash or redelivery: counted.
        A duplicate vote_id alone is another event of a counted vote: not counted."""
        if not documents:
            return 0, []
        try:
            return len(collection.insert_many(documents, ordered=False).inserted_ids), documents
        except BulkWriteError as exc:
            failed = set(duplicates_only(exc))
            counted = [d for i, d in enumerate(documents) if i not in failed]
            counted += [
                documents[i]
                for i in sorted(failed)
                if collection.find_one({"_id": documents[i]["_id"]}, {"_id": 1}) is not None
            ]
            return int(exc.details.get("nInserted", 0)), counted

    def count(self, collection: str | None = None) -> int:
        """The votes counted: the documents not superseded (ADR 6)."""
        found = self._db[collection or self._resolve()]
        return int(found.count_documents({"superseded_by": {"$exists": False}}))

    def swap_in(self) -> tuple[bool, str]:
        """Point the live audit log at this (fixed) collection if it is at or past the live
        one on every partition. Returns (True, the retired collection) or (False, why)."""
        if self._fixed is None:
            raise ValueError("only a rebuilt collection can be swapped in")
        live = live_collection_name(self._db)
        ours = self.load_checkpoints(self._fixed)
        for partition, offset in self.load_checkpoints(live).items():
            rebuilt = ours.get(partition, -1)
            if rebuilt < offset:
                return False, f"partition {partition}: live at {offset}, rebuilt at {rebuilt}"
        self._db[READMODELS_COLLECTION].update_one(
            {"_id": AUDIT_POINTER_ID}, {"$set": {"collection": self._fixed}}, upsert=True
        )
        return True, live

    def drop_collection(self, name: str) -> None:
        """Drop a retired collection and its checkpoints (after a swap, once readers moved)."""
        if name == live_collection_name(self._db):
            raise ValueError(f"{name!r} is the live audit collection")
        self._drop(name)

    def drop(self) -> None:
        self._drop(self._fixed or self.current)

    def _drop(self, name: str) -> None:
        self._db.drop_collection(name)
        self._db.drop_collection(timeline_collection(name))
        self._db.drop_collection(voters_collection(name))
        self._checkpoints.delete_many({"collection": name})
