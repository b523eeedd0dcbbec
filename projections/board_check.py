"""Checking the public board: against the log (``boleta verify``, invariant 6) and against
a board rebuilt from the log (``boleta rebuild board``, invariant 5).

Against the log: per partition, the entries of the tree its stored checkpoint names (read
back from its files by :func:`domain.board.reading.checked_entries`, every hash tile and
the root checked) are exactly the entries of the log's vote events up to the stored
position, in log order, pseudonyms recomputed (``domain.board.board_entry``), nothing
added, dropped or changed; the checkpoint is signed by the board's key, names the
partition's origin and the stored size. The log is read once, for every read model: the
check watches the batches go by (:meth:`BoardAgainstLog.watch`).

Against a rebuilt board: every file of the live board that the tree at the rebuilt size
holds (every file the live board published up to that size, partial tiles of earlier sizes
included: a tile's first hashes never change, :func:`domain.board.reading.prefix`) is
byte for byte what the rebuilt tree says, every file of the tree at that size is there, and
each partition's stored checkpoint is the rebuilt one (Ed25519 signatures are
deterministic, so the same text signs to the same note). Files past the rebuilt size are
the live worker's since: not compared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.board import Pseudonyms, board_entry, encode_entry, parse_checkpoint
from domain.board.reading import (
    BoardMismatch,
    Read,
    at_size,
    checked_entries,
    parse_tile_path,
    prefix,
    tree_paths,
)
from domain.projection import Delivered

MAX_SHOWN = 20  # differences listed per check before "... and N more"


@dataclass(frozen=True)
class StoredBoard:
    """A partition's board as stored: the last offset applied, the tree's size and the
    signed checkpoint of that size."""

    offset: int
    size: int
    checkpoint: str

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> StoredBoard:
        return cls(int(doc["offset"]), int(doc["size"]), str(doc["checkpoint"]))


def partition_of(state_id: str) -> int:
    """The partition of a state document's ``_id`` (``p<N>``)."""
    return int(state_id.removeprefix("p"))


@dataclass
class _Partition:
    partition: int
    stored: StoredBoard
    entries: Iterator[bytes] | None  # None once a difference stopped the comparison
    compared: int = 0


@dataclass
class BoardAgainstLog:
    """Compares each partition's board with the log's vote events as they are replayed.

    ``read(partition, path)`` reads a file of the board; ``opened(note)`` returns the text
    of a checkpoint note signed by the board's key (else raises ``ValueError``);
    ``origin_of(partition)`` is the partition's checkpoint origin."""

    boards: Mapping[int, StoredBoard]
    read: Callable[[int, str], bytes | None]
    pseudonyms: Pseudonyms
    opened: Callable[[str], str]
    origin_of: Callable[[int], str]
    differences: list[str] = field(default_factory=list)
    _partitions: dict[int, _Partition] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for partition, stored in sorted(self.boards.items()):
            entries = self._open(partition, stored)
            self._partitions[partition] = _Partition(partition, stored, entries)

    def _open(self, partition: int, stored: StoredBoard) -> Iterator[bytes] | None:
        where = f"board p{partition}"
        try:
            checkpoint = parse_checkpoint(self.opened(stored.checkpoint))
        except ValueError as exc:
            self.differences.append(f"{where}: its checkpoint does not verify: {exc}")
            return None
        if checkpoint.origin != self.origin_of(partition):
            self.differences.append(
                f"{where}: its checkpoint names the origin {checkpoint.origin!r}, not "
                f"{self.origin_of(partition)!r}"
            )
        if checkpoint.size != stored.size:
            self.differences.append(
                f"{where}: its checkpoint's size {checkpoint.size} is not the stored {stored.size}"
            )
            return None
        read: Read = lambda path: self.read(partition, path)  # noqa: E731
        return checked_entries(checkpoint.size, checkpoint.root, read)

    @property
    def positions(self) -> dict[int, int]:
        """Per partition, the end offset (exclusive) of the log the board holds."""
        return {p: b.offset + 1 for p, b in self.boards.items()}

    def watch(self, log: Iterable[Sequence[Delivered]]) -> Iterator[Sequence[Delivered]]:
        """The log's batches, unchanged, each compared with the board on the way."""
        for batch in log:
            for item in batch:
                found = self._partitions.get(item.partition)
                if found is not None and item.offset <= found.stored.offset:
                    self._compare(found, item)
            yield batch

    def _compare(self, found: _Partition, item: Delivered) -> None:
        if found.entries is None or item.event is None:
            return
        expected = encode_entry(board_entry(item.event, item.offset, self.pseudonyms))
        where = f"board p{found.partition}"
        try:
            actual = next(found.entries, None)
        except BoardMismatch as exc:
            self._stop(found, f"{where}: {exc}")
            return
        if actual is None:
            self._stop(
                found,
                f"{where}: {found.compared} entries, but the log has a vote event at offset "
                f"{item.offset} (up to the board's position {found.stored.offset})",
            )
        elif actual != expected:
            self._stop(
                found,
                f"{where}: leaf {found.compared} is not the log's vote event at offset "
                f"{item.offset}: board {_shown(actual)}, log {_shown(expected)}",
            )
        else:
            found.compared += 1

    def _stop(self, found: _Partition, difference: str) -> None:
        self.differences.append(difference)
        found.entries = None

    def finish(self) -> int:
        """After the replay: each tree read to its end (extra entries are differences,
        the root is checked); returns the entries found equal to the log's."""
        for found in self._partitions.values():
            if found.entries is None:
                continue
            where = f"board p{found.partition}"
            try:
                extra = sum(1 for _ in found.entries)
            except BoardMismatch as exc:
                self.differences.append(f"{where}: {exc}")
                continue
            if extra:
                self.differences.append(
                    f"{where}: {extra} entries past the log's vote events up to offset "
                    f"{found.stored.offset}"
                )
        return sum(f.compared for f in self._partitions.values())


def _shown(entry: bytes, limit: int = 160) -> str:
    text = entry.decode("utf-8", errors="replace")
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass
class FileComparison:
    files: int = 0  # live files found byte-identical
    checkpoints: int = 0
    ahead: int = 0  # live files past the rebuilt size: not compared
    differences: list[str] = field(default_factory=list)

    def differ(self, text: str) -> None:
        if len(self.differences) < MAX_SHOWN:
            self.differences.append(text)
        elif len(self.differences) == MAX_SHOWN:
            self.differences.append("... and more differences (the scratch board is kept)")


def compare_boards(
    live: Mapping[int, StoredBoard],
    rebuilt: Mapping[int, StoredBoard],
    live_files: Iterable[tuple[int, str, bytes]],
    rebuilt_file: Callable[[int, str], bytes | None],
) -> FileComparison:
    """The live board against one rebuilt at the live positions (``rebuilt``):
    ``live_files`` yields every live file as (partition, path, bytes), best in path order;
    ``rebuilt_file`` reads a rebuilt one."""
    result = FileComparison()
    for partition, board in sorted(live.items()):
        _compare_positions(partition, board, rebuilt.get(partition), result)
    expected = {(p, path) for p, b in rebuilt.items() for path in tree_paths(b.size)}
    widest: dict[tuple[int, str], bytes | None] = {}
    for partition, path, data in live_files:
        rebuilt_board = rebuilt.get(partition)
        try:
            name = parse_tile_path(path)
        except ValueError:
            result.differ(f"p{partition}/{path}: not a tile path")
            continue
        same = None if rebuilt_board is None else at_size(name, rebuilt_board.size)
        if same is None:
            result.ahead += 1
            continue
        expected.discard((partition, path))
        key = (partition, same.path)
        if key not in widest:
            widest.clear()  # in path order, a tile's every width comes in a row
            widest[key] = rebuilt_file(partition, same.path)
        wide = widest[key]
        if wide is None:
            result.differ(f"p{partition}/{same.path}: missing from the rebuilt board")
        elif prefix(name, wide) != data:
            result.differ(f"p{partition}/{path}: the live bytes are not the rebuilt tree's")
        else:
            result.files += 1
    for partition, path in sorted(expected):
        result.differ(f"p{partition}/{path}: missing from the live board")
    return result


def _compare_positions(
    partition: int, board: StoredBoard, other: StoredBoard | None, result: FileComparison
) -> None:
    if other is None:
        result.differ(f"p{partition}: the rebuilt board has no position for it")
    elif (other.offset, other.size) != (board.offset, board.size):
        result.differ(
            f"p{partition}: live at offset {board.offset} with {board.size} entries, "
            f"rebuilt at offset {other.offset} with {other.size}"
        )
    elif other.checkpoint != board.checkpoint:
        result.differ(
            f"p{partition}: the checkpoints differ: live {_body(board.checkpoint)!r}, "
            f"rebuilt {_body(other.checkpoint)!r}"
        )
    else:
        result.checkpoints += 1


def _body(note: str) -> str:
    """A checkpoint note's text without its signatures (origin, size, root)."""
    return note.partition("\n\n")[0]
