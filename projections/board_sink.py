"""The public bulletin board in MongoDB (FerretDB v1 locally): per partition of ``votes``, an
RFC 6962 tree of its vote events published as C2SP tlog-tiles, and a signed checkpoint
(ADR 8, docs/verifiability.md).

Three collections, named ``<prefix>_files``, ``<prefix>_state``, ``<prefix>_codes``:

- files: ``{_id: "p<N>/<tile path>", data}``, every tile and entry bundle, at the paths of
  c2sp.org/tlog-tiles. A path's bytes never change (a partial tile's path names its width).
- state: ``{_id: "p<N>", offset, size, partial, entries, checkpoint}``, the partition's
  position (the last offset applied), the tree's right edge (``domain.board.TileState``) and
  the signed checkpoint of that size: the commit record.
- codes: ``{_id: <tracking code hex>, partition, index}``, a leaf's place, for receipts.

Exactly-once without transactions: a batch's files and codes are written first (upserts of
bytes that are a function of the log alone, so writing them twice writes the same), then
the state, only forward (``offset`` grows). A worker killed between the two leaves files
nobody's checkpoint names yet; its successor resumes from the stored state, rebuilds the
same files and overwrites them with themselves. A checkpoint is served from the state, so
every checkpoint ever served has its tiles, and any two are consistent: both are prefixes
of the one tree over the partition's log. Two workers on one partition during a rebalance
compute the same bytes; the one behind finds the state ahead of it and re-seeks.

Every vote event has a leaf (retries, superseded votes, votes outside their window: the
recount applies the rules); an undecodable message has none, but moves the position.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bson import Binary
from pymongo import ReplaceOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from domain.board import (
    Checkpoint,
    Pseudonyms,
    TileState,
    append,
    board_entry,
    encode_entry,
    format_checkpoint,
    leaf_hash,
    state_root,
)
from domain.projection import Delivered
from domain.readmodel import (
    BOARD_PREFIX,
    codes_collection,
    file_id,
    files_collection,
    state_collection,
    state_id,
)
from projections.mongo_sink import duplicates_only

Doc = dict[str, Any]
# Files per bulk write: a full entry bundle is up to 256 entries of ~300 bytes.
FILES_PER_WRITE = 64


class PartitionBoard:
    """One partition's position and tree edge, as stored."""

    __slots__ = ("offset", "tiles")

    def __init__(self, offset: int = -1, tiles: TileState | None = None) -> None:
        self.offset = offset
        self.tiles = tiles or TileState()

    @classmethod
    def from_doc(cls, doc: Doc) -> PartitionBoard:
        tiles = TileState(
            int(doc["size"]),
            tuple(bytes(h) for h in doc["partial"]),
            tuple(bytes(e) for e in doc["entries"]),
        )
        return cls(int(doc["offset"]), tiles)


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
        prefix: str = BOARD_PREFIX,
    ) -> None:
        self._files = db[files_collection(prefix)]
        self._state = db[state_collection(prefix)]
        self._codes = db[codes_collection(prefix)]
        self._pseudonyms = pseudonyms
        self._sign = sign
        self._origin_of = origin_of
        self._boards: dict[int, PartitionBoard] = {}

    def stored(self) -> dict[int, PartitionBoard]:
        return {int(d["_id"][1:]): PartitionBoard.from_doc(d) for d in self._state.find({})}

    def positions(self) -> dict[int, int]:
        self._boards = self.stored()
        return {p: b.offset + 1 for p, b in self._boards.items()}

    def stale(self) -> bool:
        return False  # append-only: nothing swaps or wipes a board under a worker

    def apply(self, batch: Sequence[Delivered], lag: Mapping[int, int] | None = None) -> int | None:
        """Append the batch's vote events to their partitions' trees. Returns the entries
        appended, or None when another worker moved a partition past this one (re-seek)."""
        by_partition: dict[int, list[Delivered]] = defaultdict(list)
        for delivered in batch:
            by_partition[delivered.partition].append(delivered)
        appended = 0
        for partition, messages in by_partition.items():
            board = self._boards.get(partition) or PartitionBoard()
            new = [m for m in messages if m.offset > board.offset]
            if not new:
                continue
            entries = [
                encode_entry(board_entry(m.event, m.offset, self._pseudonyms))
                for m in new
                if m.event is not None
            ]
            tiles, writes = append(board.tiles, entries)
            self._write_files(partition, [(w.path, w.data) for w in writes])
            self._write_codes(partition, board.tiles.size, entries)
            moved = PartitionBoard(new[-1].offset, tiles)
            if not self._commit(partition, moved):
                self._boards.pop(partition, None)
                return None
            self._boards[partition] = moved
            appended += len(entries)
        return appended

    def checkpoint_text(self, partition: int, tiles: TileState) -> str:
        return format_checkpoint(
            Checkpoint(self._origin_of(partition), tiles.size, state_root(tiles))
        )

    def _write_files(self, partition: int, files: list[tuple[str, bytes]]) -> None:
        for start in range(0, len(files), FILES_PER_WRITE):
            chunk = files[start : start + FILES_PER_WRITE]
            self._files.bulk_write(
                [
                    ReplaceOne(
                        {"_id": file_id(partition, path)},
                        {"_id": file_id(partition, path), "data": Binary(data)},
                        upsert=True,
                    )
                    for path, data in chunk
                ],
                ordered=False,
            )

    def _write_codes(self, partition: int, first_index: int, entries: list[bytes]) -> None:
        if not entries:
            return
        docs = [
            {"_id": leaf_hash(entry).hex(), "partition": partition, "index": first_index + i}
            for i, entry in enumerate(entries)
        ]
        try:
            self._codes.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            duplicates_only(exc)  # written before a crash or by a worker on the same partition

    def _commit(self, partition: int, board: PartitionBoard) -> bool:
        """Store the partition's new position, edge and signed checkpoint, only forward.
        False when the stored position is already at or past it (another worker's)."""
        tiles = board.tiles
        doc = {
            "offset": board.offset,
            "size": tiles.size,
            "partial": [Binary(h) for h in tiles.partial],
            "entries": [Binary(e) for e in tiles.entries],
            "checkpoint": self._sign(self.checkpoint_text(partition, tiles)),
        }
        try:
            result = self._state.update_one(
                {"_id": state_id(partition), "offset": {"$lt": board.offset}},
                {"$set": doc},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # the document exists with an offset at or past ours
        return result.matched_count == 1 or result.upserted_id is not None
