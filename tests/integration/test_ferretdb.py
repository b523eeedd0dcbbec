"""The real MongoDB-protocol server (FerretDB v1): what the audit sink relies on."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pymongo
import pytest
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from projections.mongo_sink import MongoAudit


def test_insert_many_unordered_inserts_the_rest_and_reports_duplicates(mongo_db) -> None:  # type: ignore[no-untyped-def]
    votes = mongo_db["votes"]
    votes.create_index("vote_id", unique=True)
    votes.insert_one({"_id": "e1", "vote_id": "v1", "band": "A"})

    batch = [
        {"_id": "e1", "vote_id": "v-other", "band": "dup id"},  # duplicate _id
        {"_id": "e2", "vote_id": "v2", "band": "B"},
        {"_id": "e3", "vote_id": "v1", "band": "dup vote_id"},  # duplicate unique value
        {"_id": "e4", "vote_id": "v4", "band": "C"},
    ]
    with pytest.raises(BulkWriteError) as info:
        votes.insert_many(batch, ordered=False)

    details = info.value.details
    assert details["nInserted"] == 2
    assert sorted(e["index"] for e in details["writeErrors"]) == [0, 2]
    assert {e["code"] for e in details["writeErrors"]} == {11000}
    assert sorted(d["_id"] for d in votes.find()) == ["e1", "e2", "e4"]
    assert votes.find_one({"_id": "e1"})["band"] == "A"


def test_unique_index_rejects_a_second_vote_id(mongo_db) -> None:  # type: ignore[no-untyped-def]
    votes = mongo_db["votes"]
    votes.create_index("vote_id", unique=True, name="vote_id_unique")
    assert votes.index_information()["vote_id_unique"]["unique"] is True
    votes.insert_one({"_id": "a", "vote_id": "same"})
    with pytest.raises(DuplicateKeyError):
        votes.insert_one({"_id": "b", "vote_id": "same"})
    assert votes.count_documents({}) == 1


def test_find_with_filter_sort_and_limit(mongo_db) -> None:  # type: ignore[no-untyped-def]
    votes = mongo_db["votes"]
    votes.create_index([("band", pymongo.ASCENDING), ("cast_at", pymongo.DESCENDING)])
    votes.insert_many(
        [{"_id": f"e{i}", "band": "A" if i % 2 else "B", "cast_at": i} for i in range(20)]
    )
    found = list(votes.find({"band": "A"}).sort("cast_at", pymongo.DESCENDING).limit(3))
    assert [d["cast_at"] for d in found] == [19, 17, 15]
    # An operator-shaped value is only a value when it sits inside an equality match.
    assert list(votes.find({"band": {"$eq": {"$ne": None}}})) == []


def test_lookups_by_id_search_the_id_index(mongo_db) -> None:  # type: ignore[no-untyped-def]
    """Our FerretDB build looks documents up by the _id index's own expression (see
    infra/local/ferretdb/patches.json); unpatched v1.24.2 scans the whole table."""
    votes = mongo_db["votes"]
    votes.insert_many([{"_id": f"e{i}", "band": "A"} for i in range(20)])
    plan = mongo_db.command("explain", {"find": "votes", "filter": {"_id": "e7"}})
    steps = " ".join(plan["queryPlanner"]["Plan"])
    assert "USING INDEX" in steps, steps
    assert "__id_" in steps, steps
    assert "SCAN" not in steps, steps
    assert votes.find_one({"_id": "e7"}) == {"_id": "e7", "band": "A"}
    assert votes.update_one({"_id": "e7"}, {"$set": {"band": "B"}}).modified_count == 1
    assert votes.find_one({"_id": "e7"}) == {"_id": "e7", "band": "B"}
    assert votes.delete_one({"_id": "e7"}).deleted_count == 1
    assert votes.count_documents({}) == 19


def test_audit_replicas_starting_together_share_one_marker(mongo_db) -> None:  # type: ignore[no-untyped-def]
    """Production starts 2 to 6 audit workers at once on a new audit log: each upserts the
    log's marker. Two upserts that both find nothing both insert, and FerretDB (unlike
    MongoDB since 4.2) refuses the second as a duplicate key instead of retrying it; every
    worker must start, and all must agree on the one instance the marker names."""
    workers = 12
    for attempt in range(4):
        db = mongo_db.client[f"{mongo_db.name}_{attempt}"]
        start = threading.Barrier(workers)

        def open_audit(db: Database[dict[str, Any]] = db, start: threading.Barrier = start) -> str:
            start.wait()
            return MongoAudit(db).instance

        try:
            with ThreadPoolExecutor(workers) as pool:
                instances = set(pool.map(lambda _: open_audit(), range(workers)))
        finally:
            mongo_db.client.drop_database(db.name)
        assert len(instances) == 1, f"the workers disagree on the audit log's instance: {instances}"
