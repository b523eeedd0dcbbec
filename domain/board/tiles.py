"""C2SP tlog-tiles: the board's tree as static files (https://c2sp.org/tlog-tiles).

A tile at level ``L`` (``tile/<L>/<N>``) holds 256 consecutive hashes of the tree at height
``8 * L``: at level 0 the leaf hashes, above it the root of each *full* tile of the level
below. The rightmost tile of a level is partial (``tile/<L>/<N>.p/<W>``, ``1 <= W <= 255``)
and is never hashed into the level above. An entry bundle (``tile/entries/<N>[.p/<W>]``)
holds the entries of the level 0 tile ``N``, each as a big-endian uint16 length then its
bytes. ``N`` is written in 3-digit groups, all but the last prefixed with ``x``:
1234067 -> ``x001/x234/067``.

The state a log keeps to go on appending is exactly the content of its partial tiles and
partial bundle (:class:`TileState`); :func:`append` turns a batch of entries into the files
to write. A path's content never changes: a full tile is written once, when it fills, and
a partial one's path names its width. So the files, and the root, do not depend on how the
entries were batched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from hashlib import sha256

import msgspec

from domain.board.merkle import HASH_SIZE, NodeReader, fold, root, subtree_roots

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_ENTRY = 0xFFFF


class TileState(msgspec.Struct, frozen=True, gc=False):
    """What the log needs to append: its size, for each tile level the hashes of its partial
    tile concatenated (``partial[L]`` holds ``(size >> 8L) % 256`` hashes), and the entries
    of the partial bundle (``size % 256`` of them). The empty log is ``TileState()``."""

    size: int = 0
    partial: tuple[bytes, ...] = ()
    entries: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        levels = level_count(self.size)
        if len(self.partial) != levels or len(self.entries) != self.size % TILE_WIDTH:
            raise ValueError("tile state does not match its size")
        for level, hashes in enumerate(self.partial):
            if len(hashes) != tile_width(self.size, level) * HASH_SIZE:
                raise ValueError(f"partial tile of level {level} does not match the size")


class Write(msgspec.Struct, frozen=True, gc=False):
    """One file to publish: its path under the log's prefix and its bytes."""

    path: str
    data: bytes


def level_count(size: int) -> int:
    """How many tile levels a tree of ``size`` has (0 for the empty tree)."""
    levels = 0
    while size >> (TILE_HEIGHT * levels):
        levels += 1
    return levels


def tile_width(size: int, level: int) -> int:
    """The width of the partial tile at ``level`` for a tree of ``size`` (0: none)."""
    return (size >> (TILE_HEIGHT * level)) % TILE_WIDTH


def encode_index(n: int) -> str:
    """A tile index as path elements: 1234067 -> ``x001/x234/067``."""
    if n < 0:
        raise ValueError("a tile index is never negative")
    groups = [f"{n % 1000:03d}"]
    n //= 1000
    while n:
        groups.append(f"x{n % 1000:03d}")
        n //= 1000
    return "/".join(reversed(groups))


def _suffix(width: int) -> str:
    if not 1 <= width <= TILE_WIDTH:
        raise ValueError(f"a tile is 1 to {TILE_WIDTH} wide, not {width}")
    return "" if width == TILE_WIDTH else f".p/{width}"


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    if not 0 <= level <= 63:
        raise ValueError(f"a tile level is 0 to 63, not {level}")
    return f"tile/{level}/{encode_index(index)}{_suffix(width)}"


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    return f"tile/entries/{encode_index(index)}{_suffix(width)}"


def encode_bundle(entries: Iterable[bytes]) -> bytes:
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY:
            raise ValueError(f"an entry is at most {MAX_ENTRY} bytes, not {len(entry)}")
        out += len(entry).to_bytes(2, "big")
        out += entry
    return bytes(out)


def decode_bundle(data: bytes) -> list[bytes]:
    entries = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise ValueError("entry bundle ends inside a length")
        end = pos + 2 + int.from_bytes(data[pos : pos + 2], "big")
        if end > len(data):
            raise ValueError("entry bundle ends inside an entry")
        entries.append(data[pos + 2 : end])
        pos = end
    return entries


def split_hashes(data: bytes) -> list[bytes]:
    """A tile's bytes as its hashes."""
    if len(data) % HASH_SIZE:
        raise ValueError("a tile is a whole number of hashes")
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def append(
    state: TileState, new_entries: Sequence[bytes], leaves: Sequence[bytes] | None = None
) -> tuple[TileState, list[Write]]:
    """Append ``new_entries`` to the log in ``state``: the new state and the files to write
    (every tile and bundle that filled, then the new partial ones), all of which are to be
    written before a checkpoint of the new size is published. ``leaves``: the entries' leaf
    hashes, when the caller has them. Entries go in by runs up to the next tile boundary:
    a level 0 tile and its bundle fill at the end of a run."""
    writes: list[Write] = []
    levels = [split_hashes(hashes) for hashes in state.partial] or [[]]
    bundle = list(state.entries)
    size = state.size
    if leaves is None:
        leaves = [sha256(b"\x00" + entry).digest() for entry in new_entries]
    elif len(leaves) != len(new_entries):
        raise ValueError("one leaf hash per entry")
    start, count = 0, len(new_entries)
    while start < count:
        end = min(count, start + TILE_WIDTH - size % TILE_WIDTH)
        bundle += new_entries[start:end]
        levels[0] += leaves[start:end]
        size += end - start
        start = end
        if size % TILE_WIDTH == 0:
            writes.append(Write(entries_path((size - 1) >> TILE_HEIGHT), encode_bundle(bundle)))
            bundle = []
            _filled(levels, 0, size - 1, writes)
    for level, hashes in enumerate(levels):
        if hashes and _edge(size, level) != _edge(state.size, level):
            writes.append(Write(tile_path(level, *_edge(size, level)), b"".join(hashes)))
    if bundle and _edge(size, 0) != _edge(state.size, 0):
        writes.append(Write(entries_path(*_edge(size, 0)), encode_bundle(bundle)))
    if not levels[-1]:
        levels.pop()  # the empty log has no level
    new = TileState(size, tuple(b"".join(h) for h in levels), tuple(bundle))
    return new, writes


def _filled(levels: list[list[bytes]], level: int, last: int, writes: list[Write]) -> None:
    """The tile at ``level`` is full (leaf ``last`` completed it): write it, and add its
    root to the level above, which may fill in turn."""
    tile = levels[level]
    writes.append(Write(tile_path(level, last >> (TILE_HEIGHT * (level + 1))), b"".join(tile)))
    levels[level] = []
    if level + 1 == len(levels):
        levels.append([])
    levels[level + 1].append(root(tile))
    if len(levels[level + 1]) == TILE_WIDTH:
        _filled(levels, level + 1, last, writes)


def _edge(size: int, level: int) -> tuple[int, int]:
    """The index and width of the partial tile at ``level`` for a tree of ``size``."""
    return size >> (TILE_HEIGHT * (level + 1)), tile_width(size, level)


def _partial_tiles(size: int) -> dict[int, str]:
    """Level -> the path of its partial tile, for the levels of a tree of ``size`` that
    have one."""
    edges = {level: _edge(size, level) for level in range(level_count(size))}
    return {level: tile_path(level, *edge) for level, edge in edges.items() if edge[1]}


def edge_paths(size: int) -> list[str]:
    """The files that hold the right edge of a tree of ``size``: its partial tiles and its
    partial bundle, the content of its :class:`TileState`. (:func:`append` writes them with
    the batch that reaches ``size``, or an earlier one for a tile that did not change.)"""
    paths = list(_partial_tiles(size).values())
    if size % TILE_WIDTH:
        paths.append(entries_path(*_edge(size, 0)))
    return paths


def edge_state(size: int, files: Mapping[str, bytes]) -> TileState:
    """The :class:`TileState` of a tree of ``size`` from its :func:`edge_paths` files (path
    -> bytes; a missing one raises KeyError)."""
    tiles = _partial_tiles(size)
    partial = tuple(
        files[tiles[level]] if level in tiles else b"" for level in range(level_count(size))
    )
    entries = decode_bundle(files[entries_path(*_edge(size, 0))]) if size % TILE_WIDTH else []
    return TileState(size, partial, tuple(entries))


def state_root(state: TileState) -> bytes:
    """The tree's root from its partial tiles: their perfect subtrees, the highest level
    first, folded from the right."""
    roots = []
    for hashes in reversed(state.partial):
        roots += subtree_roots(split_hashes(hashes))
    return fold(roots)


def tile_reader(size: int, read: Callable[[str], bytes]) -> NodeReader:
    """A :data:`~domain.board.merkle.NodeReader` for the tree of ``size`` that reads the tiles
    it needs through ``read(path) -> bytes`` (the partial tiles of that size, the full ones
    below them)."""

    def node(height: int, index: int) -> bytes:
        level, within = divmod(height, TILE_HEIGHT)
        first = index << within  # the node's first hash in its level's tiles
        tile = first >> TILE_HEIGHT
        width = min(TILE_WIDTH, (size >> (TILE_HEIGHT * level)) - (tile << TILE_HEIGHT))
        hashes = split_hashes(read(tile_path(level, tile, width)))
        offset = first % TILE_WIDTH
        return root(hashes[offset : offset + (1 << within)])

    return node
