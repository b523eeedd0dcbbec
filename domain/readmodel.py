"""Names of the read models' keys and collections: one module, because the projections, the
query service, the Grafana dashboards and the tests all read them.

Redis: every key of the tallies model shares the hash tag ``{tallies}``, so one Lua call
can touch them all, also on Redis Cluster. A rebuild writes the same keys under
``boleta:{tallies}:next:`` (same tag, same slot) and swaps them in by renaming.

The model holds every contest: model-wide keys (checkpoint, counted, meta, total, the
``contests`` hash of each contest's votes) and, per contest, its own tallies under
``boleta:{tallies}:c:<contest>:`` (``bands``, ``albums``, ``seconds``, ``voters``: the
voter -> vote_id counted of a one-vote-per-voter contest, and ``names``, ``named_by``: the
spelling each band and album key shows, and the event_id of its vote). A contest id is a
slug (lowercase letters, digits, hyphens), so it never contains ``:``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PREFIX = "boleta:"
TALLIES_TAG = "{tallies}"
LIVE = ""
NEXT = "next:"

# Model-wide keys of one tallies model, relative to boleta:{tallies}:<namespace>.
TOTAL = "total"  # STRING votes of all contests
CHECKPOINT = "checkpoint"  # HASH partition -> last applied offset
COUNTED = "counted"  # SET of counted vote_ids (exactly-once under redelivery)
META = "meta"  # HASH instance (changes on wipe or swap), created_ms, layout
CONTESTS = "contests"  # HASH contest -> votes (the contests that have votes)
MODEL_KEYS = (TOTAL, CHECKPOINT, COUNTED, META, CONTESTS)
# The key layout a model was written with (META "layout"); a model of another layout
# (none: before per-contest tallies; "contests-1": bands and albums under their spelling,
# before one name per band, ADR 7) is replaced by a fresh one (rebuilt from the log).
LAYOUT = "names-1"
# Keys before per-contest tallies (deleted when a model of the old layout is replaced).
LEGACY_KEYS = ("bands", "albums", "seconds")

# Per-contest keys, relative to boleta:{tallies}:<namespace>c:<contest>:.
# Bands and albums are counted under their canonical keys (domain.names.name_key): one
# field per name however it was spelled; NAMES says which spelling to show (ADR 7).
BANDS = "bands"  # HASH band key -> votes
ALBUMS = "albums"  # HASH band key + ALBUM_SEP + album key -> votes
SECONDS = "seconds"  # HASH unix second of cast_at -> votes
VOTERS = "voters"  # HASH voter_id -> the vote_id counted (one vote per voter; ADR 6)
NAMES = "names"  # HASH band key or album field -> the spelling shown (the first cast)
NAMED_BY = "named_by"  # HASH band key or album field -> event_id of that spelling's vote
# tallies.lua relies on this order
CONTEST_KEYS = (BANDS, ALBUMS, SECONDS, VOTERS, NAMES, NAMED_BY)

# Operational keys (live only; not part of the model, not swapped by a rebuild).
RATE = "rate"  # STREAM, one entry per applied batch: votes, total, lag (Grafana: XRANGE)
LAG = "lag"  # HASH partition -> messages behind the end of the log
RATE_MAXLEN = 100_000

# Unit separator: validation rejects control characters, so it never occurs in a name.
ALBUM_SEP = "\x1f"


def tallies_key(name: str, namespace: str = LIVE, tag: str = TALLIES_TAG) -> str:
    return f"{PREFIX}{tag}:{namespace}{name}"


def contest_key(contest: str, name: str, namespace: str = LIVE, tag: str = TALLIES_TAG) -> str:
    return f"{PREFIX}{tag}:{namespace}c:{contest}:{name}"


def behind(ends: Mapping[int, int], checkpoints: Mapping[int, int]) -> dict[int, int]:
    """Per partition, the messages in the log (``ends``: the offset the next message will
    get) past a read model's ``checkpoints`` (the last offset applied; none: -1). Never
    negative: ends read a moment ago may be behind checkpoints stored since."""
    return {p: max(0, end - 1 - checkpoints.get(p, -1)) for p, end in ends.items()}


def album_field(band: str, album: str) -> str:
    return f"{band}{ALBUM_SEP}{album}"


def split_album_field(field: str) -> tuple[str, str]:
    band, _, album = field.partition(ALBUM_SEP)
    return band, album


# MongoDB: database boleta. The audit log's live collection is named by a pointer document
# (FerretDB v1 has no renameCollection with dropTarget, so a rebuild swaps the pointer).
AUDIT_COLLECTION = "votes"
READMODELS_COLLECTION = "readmodels"  # {_id: "audit", collection: <live collection name>}
AUDIT_POINTER_ID = "audit"
# {_id: "<collection>:<instance>:<partition>", collection, partition, offset, instance}, and
# one marker per audit collection {_id: "<collection>:marker", marker: true, instance}:
# the checkpoints that count are the marker's instance's (projections.mongo_sink).
CHECKPOINTS_COLLECTION = "checkpoints"
AUDIT_MARKER = "marker"
AUDIT_INSTANCE = "instance"


def voters_collection(audit_collection: str) -> str:
    """One vote per voter (ADR 6): {_id: "<contest>:<voter_id>", vote_id: counted vote}."""
    return f"{audit_collection}_voters"


def audit_checkpoints(docs: Iterable[Mapping[str, Any]]) -> tuple[str | None, dict[int, int]]:
    """The marker's instance and that instance's checkpoints, from a collection's
    documents in ``checkpoints`` (the audit sink and the query service read them)."""
    instance: str | None = None
    found: dict[str, dict[int, int]] = {}
    for doc in docs:
        if doc.get(AUDIT_MARKER):
            instance = str(doc.get(AUDIT_INSTANCE, ""))
        elif "partition" in doc and "offset" in doc:
            of = found.setdefault(str(doc.get(AUDIT_INSTANCE, "")), {})
            of[int(doc["partition"])] = int(doc["offset"])
    return instance, found.get(instance, {}) if instance is not None else {}


def audit_checkpoint_id(collection: str, instance: str, partition: int) -> str:
    """A checkpoint's ``_id``: ``<collection>:<partition>`` in a collection from before
    instances, else ``<collection>:<instance>:<partition>``."""
    return f"{collection}:{instance}:{partition}" if instance else f"{collection}:{partition}"


# The public board (projections.board_sink): files and per-partition state in MongoDB, and
# the tracking codes' places in Redis (projections.board_codes), under the tallies' hash tag.
BOARD_PREFIX = "board"
CODE_BUCKETS = 4096  # hashes of tracking codes, by the codes' first 12 bits


def code_bucket(code: bytes) -> int:
    return (code[0] << 4) | (code[1] >> 4)


def board_codes_key(bucket: int, prefix: str = BOARD_PREFIX, tag: str = TALLIES_TAG) -> str:
    """The Redis hash of one bucket of tracking codes: raw code -> ``<partition>:<index>``."""
    return f"{PREFIX}{tag}:{prefix}:codes:{bucket:03x}"


def board_codes_meta(prefix: str = BOARD_PREFIX, tag: str = TALLIES_TAG) -> str:
    """The codes' marker: its ``instance`` changes when Redis lost them (then rebuilt)."""
    return f"{PREFIX}{tag}:{prefix}:codes:meta"


def files_collection(prefix: str = BOARD_PREFIX) -> str:
    return f"{prefix}_files"


def state_collection(prefix: str = BOARD_PREFIX) -> str:
    return f"{prefix}_state"


def file_id(partition: int, path: str) -> str:
    return f"p{partition}/{path}"


def state_id(partition: int) -> str:
    return f"p{partition}"
