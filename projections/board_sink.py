"""The public bulletin board in MongoDB (FerretDB v1 locally): per partition of ``votes``, an
RFC 6962 tree of its vote events published as C2SP tlog-tiles, and a signed checkpoint
(ADR 8, docs/verifiability.md).

Two collections, named ``<prefix>_files`` and ``<prefix>_state``, and the tracking codes'
places in Redis (:mod:`projections.board_codes`):

- files: ``{_id: "p<N>/<tile path>", data}``, every tile and entry bundle, at the paths of
  c2sp.org/tlog-tiles. A path's bytes never change (a partial tile's path names its width).
- state: ``{_id: "p<N>", offset, size, checkpoint}``, the partition's position (the last
  offset applied), the tree's size and the signed checkpoint of that size: the commit
  record, a few hundred bytes. The tree's right edge (``domain.board.TileState``: its
  partial tiles and bundle) is read back from the files of that size
  (``domain.board.edge_paths``), which were written before the state named it.
- codes (Redis): tracking code -> partition and index, for receipts; rewritten from the
  entry bundles when Redis lost them.

Exactly-once without transactions: a batch's files and codes are written first (bytes that
are a function of the log alone: a file found stored already holds them), then
the state, only forward (``offset`` grows). A worker killed between the two leaves files
nobody's checkpoint names yet; its successor resumes from the stored state, rebuilds the
same files and finds them stored. A checkpoint is served from the state, so
every checkpoint ever served has its tiles, and any two are consistent: both are prefixes
of the one tree over the partition's log. Two workers on one partition during a rebalance
compute the same bytes; the one behind finds the state ahead of it and re-seeks.

Every vote event has a leaf (retries, superseded votes, votes outside their window: the
recount applies the rules); an undecodable message has none, but moves the position.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from bson import Binary
from pymongo import UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from domain.board import (
    TILE_WIDTH,
    Checkpoint,
    Pseudonyms,
    TileState,
    append,
    board_entry,
    decode_bundle,
    edge_paths,
    edge_state,
    encode_entry,
    entries_path,
    format_checkpoint,
    leaf_hash,
    state_root,
)
from domain.projection import Delivered
from domain.readmodel import (
    BOARD_PREFIX,
    file_id,
    files_collection,
    state_collection,
    state_id,
)
from projections.board_codes import RedisCodes
from projections.mongo_sink import duplicates_only

Doc = dict[str, Any]
# A position written before 7df50f0 also held the tree's edge; the next commit drops it.
FORMER_EDGE = {"partial": "", "entries": ""}
# Files per bulk write or read: a full entry bundle is up to 256 entries of ~300 bytes, so
# 16 of them are ~1.2 MB of BSON (64 were ~5 MB, built and buffered at once: peak RSS).
FILES_PER_WRITE = 16


class PartitionBoard:
    """One partition's position and tree edge, as stored."""

    __slots__ = ("offset", "tiles")

    def __init__(self, offset: int = -1, tiles: TileState | None = None) -> None:
        self.offset = offset
        self.tiles = tiles or TileState()


class Prepared:
    """One batch's writes, computed by :meth:`MongoBoard.prepare`: its files (partition,
    path, bytes), its codes' runs (partition, first index, leaf hashes), each partition's
    new position and edge, the partitions with no stored position yet, the entries."""

    __slots__ = ("appended", "codes", "files", "moved", "new")

    def __init__(self) -> None:
        self.files: list[tuple[int, str, bytes]] = []
        self.codes: list[tuple[int, int, list[bytes]]] = []
        self.moved: dict[int, PartitionBoard] = {}
        self.new: list[int] = []
        self.appended = 0


class MongoBoard:
    """The board's writer: ``sign`` turns a checkpoint's text into its signed note,
    ``origin_of(partition)`` names a partition's log."""

    name = "board"

    def __init__(
        self,
        db: Database[Doc],
        pseudonyms: Pseudonyms,
        sign: Callable[[str], str],
        origin_of: Callable[[int], str],
        codes: RedisCodes,
        prefix: str = BOARD_PREFIX,
    ) -> None:
        self._files = db[files_collection(prefix)]
        self._state = db[state_collection(prefix)]
        self._codes = codes
        self._side = ThreadPoolExecutor(1, thread_name_prefix="board-codes")
        self._pseudonyms = pseudonyms
        self._sign = sign
        self._origin_of = origin_of
        self._boards: dict[int, PartitionBoard] = {}

    def stored(self) -> dict[int, PartitionBoard]:
        """Each partition's stored position, and its tree's edge read from its files."""
        states = {int(d["_id"][1:]): d for d in self._state.find({}, {"offset": 1, "size": 1})}
        wanted = {
            file_id(p, path): (p, path)
            for p, doc in states.items()
            for path in edge_paths(int(doc["size"]))
        }
        ids = list(wanted)
        found: dict[int, dict[str, bytes]] = defaultdict(dict)
        for start in range(0, len(ids), FILES_PER_WRITE):
            for doc in self._files.find({"_id": {"$in": ids[start : start + FILES_PER_WRITE]}}):
                partition, path = wanted[doc["_id"]]
                found[partition][path] = bytes(doc["data"])
        boards = {}
        for partition, doc in states.items():
            try:
                tiles = edge_state(int(doc["size"]), found[partition])
            except KeyError as missing:
                raise RuntimeError(f"board log p{partition} lacks {missing}") from None
            boards[partition] = PartitionBoard(int(doc["offset"]), tiles)
        return boards

    def positions(self) -> dict[int, int]:
        self._boards = self.stored()
        if not self._codes.intact():
            self._codes.mark()  # first, so that a loss from now on is noticed
            for partition, board in self._boards.items():
                self._rewrite_codes(partition, board.tiles.size)
        return {p: b.offset + 1 for p, b in self._boards.items()}

    def stale(self) -> bool:
        """True when Redis lost the codes: the worker re-seeks, and :meth:`positions`
        writes them again. The board itself is append-only: nothing swaps or wipes it."""
        return not self._codes.intact()

    def _rewrite_codes(self, partition: int, size: int) -> None:
        """Every code of ``partition``'s first ``size`` entries, from its entry bundles."""
        paths = [entries_path(i) for i in range(size // TILE_WIDTH)]
        if size % TILE_WIDTH:
            paths.append(entries_path(size // TILE_WIDTH, size % TILE_WIDTH))
        for start in range(0, len(paths), FILES_PER_WRITE):
            chunk = paths[start : start + FILES_PER_WRITE]
            ids = [file_id(partition, path) for path in chunk]
            found = {d["_id"]: bytes(d["data"]) for d in self._files.find({"_id": {"$in": ids}})}
            for n, name in enumerate(ids):
                if name not in found:
                    raise RuntimeError(f"board log p{partition} lacks {chunk[n]}")
                entries = decode_bundle(found[name])
                first = (start + n) * TILE_WIDTH
                self._codes.add(partition, first, [leaf_hash(e) for e in entries])

    def apply(self, batch: Sequence[Delivered], lag: Mapping[int, int] | None = None) -> int | None:
        """Append the batch's vote events to their partitions' trees: every partition's files
        and codes, then their positions (:meth:`write`). Returns the
        entries appended, or None when the worker must re-seek: another worker moved a
        partition past this one, or Redis lost the codes."""
        prepared = self.prepare(batch)
        if not prepared.moved:
            return 0 if self._codes.intact() else None
        behind = self.write(prepared)
        if behind is None:
            return None  # Redis lost the codes: re-seek, and positions() writes them again
        self.advance(prepared)
        for partition in behind:
            self._boards.pop(partition, None)
        return None if behind else prepared.appended

    def prepare(self, batch: Sequence[Delivered]) -> Prepared:
        """The batch's writes, computed from the positions this writer holds (no I/O, and
        nothing changes until :meth:`advance`)."""
        by_partition: dict[int, list[Delivered]] = defaultdict(list)
        for delivered in batch:
            by_partition[delivered.partition].append(delivered)
        prepared = Prepared()
        pseudonyms = self._pseudonyms
        for partition, messages in by_partition.items():
            board = self._boards.get(partition)
            offset = -1 if board is None else board.offset
            new = [m for m in messages if m.offset > offset]
            if not new:
                continue
            tiles = TileState() if board is None else board.tiles
            entries = [
                encode_entry(board_entry(m.event, m.offset, pseudonyms))
                for m in new
                if m.event is not None
            ]
            leaves = [leaf_hash(entry) for entry in entries]
            moved, writes = append(tiles, entries, leaves)
            prepared.files += [(partition, w.path, w.data) for w in writes]
            prepared.codes.append((partition, tiles.size, leaves))
            prepared.moved[partition] = PartitionBoard(new[-1].offset, moved)
            if board is None:
                prepared.new.append(partition)
            prepared.appended += len(entries)
        return prepared

    def advance(self, prepared: Prepared) -> None:
        """Hold the prepared positions as this writer's own: the next :meth:`prepare` goes on
        from them. (A pipeline advances before the write is confirmed, and reloads the stored
        positions with :meth:`positions` when it was not.)"""
        self._boards.update(prepared.moved)

    def write(self, prepared: Prepared) -> list[int] | None:
        """Write a prepared batch: its files and its codes (at once: to FerretDB and to
        Redis), then, once both are written, its positions, only forward. Returns the
        partitions another worker had already moved past it (not committed), or None,
        writing nothing, when Redis lost the codes."""
        if not self._codes.intact():
            return None
        codes = self._side.submit(self._codes.add_runs, prepared.codes)
        try:
            self._write_files(prepared.files)
        finally:
            wait([codes])  # nothing of this batch is left in flight, whatever happened
        codes.result()  # raises what the codes' write raised
        return self._commit(prepared.moved, prepared.new)

    def checkpoint_text(self, partition: int, tiles: TileState) -> str:
        return format_checkpoint(
            Checkpoint(self._origin_of(partition), tiles.size, state_root(tiles))
        )

    def _write_files(self, files: list[tuple[int, str, bytes]]) -> None:
        """Insert the files, unordered; a path already stored (a replay, or another worker
        on the partition) holds the same bytes, as a path's bytes never change, so its
        duplicate key is left as it is. (FerretDB inserts in half the time it upserts.)"""
        for start in range(0, len(files), FILES_PER_WRITE):
            chunk = files[start : start + FILES_PER_WRITE]
            docs = [{"_id": file_id(p, path), "data": Binary(data)} for p, path, data in chunk]
            try:
                self._files.insert_many(docs, ordered=False)
            except BulkWriteError as exc:
                duplicates_only(exc)

    def _commit(self, moved: Mapping[int, PartitionBoard], new: Sequence[int]) -> list[int]:
        """Store each partition's new position, size and signed checkpoint, only forward:
        one unordered update of the partitions stored before, one unordered insert of the
        new ones (``new``: the partitions this writer had no position of). The partitions
        whose stored position was already at or past the new one (another worker's) are
        returned; the others are committed. (No upserts: FerretDB v1 answers an unordered
        bulk upsert that hits a duplicate without ``nModified``.)"""
        docs = {p: self._state_doc(p, board) for p, board in moved.items()}
        stored = [p for p in moved if p not in new]
        behind: list[int] = []
        if stored:
            updates = [
                UpdateOne(
                    {"_id": state_id(p), "offset": {"$lt": moved[p].offset}},
                    {"$set": docs[p], "$unset": FORMER_EDGE},
                )
                for p in stored
            ]
            if self._state.bulk_write(updates, ordered=False).matched_count < len(stored):
                ids = [state_id(p) for p in stored]
                now = {d["_id"]: d["offset"] for d in self._state.find({"_id": {"$in": ids}})}
                behind += [p for p in stored if now.get(state_id(p)) != moved[p].offset]
        if new:
            try:
                self._state.insert_many(
                    [{"_id": state_id(p), **docs[p]} for p in new], ordered=False
                )
            except BulkWriteError as exc:
                behind += [new[i] for i in duplicates_only(exc)]
        return behind

    def _state_doc(self, partition: int, board: PartitionBoard) -> Doc:
        tiles = board.tiles
        return {
            "offset": board.offset,
            "size": tiles.size,
            "checkpoint": self._sign(self.checkpoint_text(partition, tiles)),
        }
