"""Names of the read models' keys and collections: one module, because the projections, the
query service, the Grafana dashboards and the tests all read them.

Redis: every key of the tallies model shares the hash tag ``{tallies}``, so one Lua call
can touch them all, also on Redis Cluster. A rebuild writes the same keys under
``boleta:{tallies}:next:`` (same tag, same slot) and swaps them in by renaming.
"""

from __future__ import annotations

PREFIX = "boleta:"
TALLIES_TAG = "{tallies}"
LIVE = ""
NEXT = "next:"

# Keys of one tallies model, relative to boleta:{tallies}:<namespace>.
# Bands and albums are counted under their canonical keys (domain.names.name_key): one
# field per name however it was spelled; NAMES says which spelling to show.
BANDS = "bands"  # HASH band key -> votes
ALBUMS = "albums"  # HASH band key + ALBUM_SEP + album key -> votes
TOTAL = "total"  # STRING votes
CHECKPOINT = "checkpoint"  # HASH partition -> last applied offset
COUNTED = "counted"  # SET of counted vote_ids (exactly-once under redelivery)
SECONDS = "seconds"  # HASH unix second of cast_at -> votes
META = "meta"  # HASH instance (changes on wipe or swap), created_at
NAMES = "names"  # HASH band key or album field -> the spelling shown (the first cast)
NAMED_BY = "named_by"  # HASH band key or album field -> event_id of that spelling's vote
MODEL_KEYS = (BANDS, ALBUMS, TOTAL, CHECKPOINT, COUNTED, SECONDS, META, NAMES, NAMED_BY)

# Operational keys (live only; not part of the model, not swapped by a rebuild).
RATE = "rate"  # STREAM, one entry per applied batch: votes, total, lag (Grafana: XRANGE)
LAG = "lag"  # HASH partition -> messages behind the end of the log
RATE_MAXLEN = 100_000

# Unit separator: validation rejects control characters, so it never occurs in a name.
ALBUM_SEP = "\x1f"


def tallies_key(name: str, namespace: str = LIVE, tag: str = TALLIES_TAG) -> str:
    return f"{PREFIX}{tag}:{namespace}{name}"


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
CHECKPOINTS_COLLECTION = "checkpoints"  # {_id: "<collection>:<partition>", offset}
