"""Reading a board log back from its files, checked (c2sp.org/tlog-tiles).

:func:`checked_entries` yields the entries of the tree a checkpoint names, read bundle by
bundle through ``read(path)``; every hash tile of that tree is compared with the hashes
the entries give, and, once the last entry is out, the root with the checkpoint's (and,
on the way, the root at an earlier checkpoint's size with that checkpoint's: the earlier
tree is a prefix of this one). A full bundle's entries come out once its hash tile agrees
with them; the last, partial, tiles and the root are checked right after the last entry:
whoever consumes the entries trusts none of them until the iterator has ended.

Which files a tree has, and what a smaller tree's files hold: a tile's hashes (a bundle's
entries) never change once written, so the partial tile ``<N>.p/<W>`` of any tree holds
the first ``W`` hashes (entries) of tile ``<N>`` of every larger tree. A board keeps the
partial tiles of every size it was published at (they are served to whoever holds an
older checkpoint); :func:`at_size` and :func:`prefix` say what each must hold in terms of
the tree of one size.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import msgspec

from domain.board.merkle import EMPTY_ROOT, HASH_SIZE
from domain.board.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    TileState,
    append,
    decode_bundle,
    encode_bundle,
    entries_path,
    level_count,
    state_root,
    tile_path,
    tile_width,
)

Read = Callable[[str], bytes | None]
"""``path -> bytes`` of a file under a log's prefix, None when there is none."""

_PATH = re.compile(
    r"tile/(?P<level>[0-9]{1,2}|entries)/(?P<index>(?:x[0-9]{3}/)*[0-9]{3})"
    r"(?:\.p/(?P<width>[0-9]{1,3}))?"
)


class BoardMismatch(ValueError):
    """Files that are not the tree a checkpoint names; the message says which and how."""


class TileName(msgspec.Struct, frozen=True, gc=False):
    """A tile (``level``) or an entry bundle (``level`` None): its index and width."""

    level: int | None
    index: int
    width: int

    @property
    def path(self) -> str:
        if self.level is None:
            return entries_path(self.index, self.width)
        return tile_path(self.level, self.index, self.width)

    @property
    def reach(self) -> int:
        """The size of the smallest tree that has everything this file holds."""
        first = self.index * TILE_WIDTH + self.width  # hashes of its level up to its end
        return first if self.level is None else first << (TILE_HEIGHT * self.level)


def parse_tile_path(path: str) -> TileName:
    """The tile a path names, as :func:`domain.board.tiles.tile_path` and ``entries_path``
    write them (no other spelling); ``ValueError`` for any other text."""
    match = _PATH.fullmatch(path)
    if match is None:
        raise ValueError(f"{path!r} is not a tile path (c2sp.org/tlog-tiles)")
    level = None if match["level"] == "entries" else int(match["level"])
    index = int(match["index"].replace("x", "").replace("/", ""))
    width = TILE_WIDTH if match["width"] is None else int(match["width"])
    try:
        name = TileName(level, index, width)
        canonical = name.path
    except ValueError as exc:
        raise ValueError(f"{path!r} is not a tile path: {exc}") from None
    if canonical != path:
        raise ValueError(f"{path!r} is not a tile path; it is spelt {canonical!r}")
    return name


def at_size(name: TileName, size: int) -> TileName | None:
    """The same tile in the tree of ``size`` (the one whose first hashes or entries
    ``name`` holds), or None when ``name`` holds more than that tree has."""
    if name.reach > size:
        return None
    if name.level is None:
        count = size - name.index * TILE_WIDTH
    else:
        count = (size >> (TILE_HEIGHT * name.level)) - name.index * TILE_WIDTH
    return TileName(name.level, name.index, min(TILE_WIDTH, count))


def prefix(name: TileName, data: bytes) -> bytes:
    """What file ``name`` holds, from the bytes of a wider tile of the same index."""
    if name.level is None:
        return encode_bundle(decode_bundle(data)[: name.width])
    return data[: name.width * HASH_SIZE]


def tree_paths(size: int) -> Iterator[str]:
    """Every file of the tree of ``size``: each level's tiles, then the entry bundles."""
    for level in range(level_count(size)):
        hashes = size >> (TILE_HEIGHT * level)
        for index in range(-(-hashes // TILE_WIDTH)):
            yield tile_path(level, index, min(TILE_WIDTH, hashes - index * TILE_WIDTH))
    for index in range(-(-size // TILE_WIDTH)):
        yield entries_path(index, min(TILE_WIDTH, size - index * TILE_WIDTH))


def _fetch(read: Read, path: str) -> bytes:
    data = read(path)
    if data is None:
        raise BoardMismatch(f"{path} is missing")
    return data


def checked_entries(
    size: int, root: bytes, read: Read, earlier: tuple[int, bytes] | None = None
) -> Iterator[bytes]:
    """The entries of the tree of ``size`` whose root is ``root``, in leaf order, read
    through ``read``; raises :class:`BoardMismatch` as soon as a bundle or a hash tile
    disagrees with the entries before it, and after the last entry when the root is not
    ``root``. ``earlier``: the size and root of an earlier checkpoint of the same log,
    whose tree must be this one's first leaves."""
    old_size, old_root = earlier if earlier is not None else (0, EMPTY_ROOT)
    if not 0 <= old_size <= size:
        raise BoardMismatch(
            f"the checkpoint's size {size} is below the earlier checkpoint's {old_size}: "
            "the log went back"
        )
    state = TileState()
    _check_earlier(state, old_size, old_root)
    for index in range(-(-size // TILE_WIDTH)):
        entries = _bundle(read, index, size)
        cut = old_size - state.size  # this bundle's entries up to the earlier tree's end
        for part in (entries[:cut], entries[cut:]) if 0 < cut < len(entries) else (entries,):
            state = _append_checked(state, part, read)
            if state.size == old_size < size:
                _check_earlier(state, old_size, old_root)
        yield from entries
    for level, hashes in enumerate(state.partial):
        if hashes:
            path = tile_path(level, size >> (TILE_HEIGHT * (level + 1)), tile_width(size, level))
            if _fetch(read, path) != hashes:
                raise BoardMismatch(f"{path} is not the hashes of the entries below it")
    if state_root(state) != root:
        raise BoardMismatch(f"the root of the {size} entries is not the checkpoint's")
    _check_earlier(state, old_size, old_root)  # the same size: the same tree


def _bundle(read: Read, index: int, size: int) -> list[bytes]:
    """The entries of bundle ``index`` of the tree of ``size``."""
    width = min(TILE_WIDTH, size - index * TILE_WIDTH)
    path = entries_path(index, width)
    try:
        entries = decode_bundle(_fetch(read, path))
    except BoardMismatch:
        raise
    except ValueError as exc:
        raise BoardMismatch(f"{path}: {exc}") from None
    if len(entries) != width:
        raise BoardMismatch(f"{path} holds {len(entries)} entries, not {width}")
    return entries


def _append_checked(state: TileState, entries: list[bytes], read: Read) -> TileState:
    """``state`` with ``entries`` appended, every full hash tile that filled compared with
    the one served (partial ones are compared at the end, at the tree's size)."""
    state, writes = append(state, entries)
    for write in writes:
        name = parse_tile_path(write.path)
        if name.level is None or name.width < TILE_WIDTH:
            continue
        if _fetch(read, write.path) != write.data:
            raise BoardMismatch(f"{write.path} is not the hashes of the entries below it")
    return state


def _check_earlier(state: TileState, old_size: int, old_root: bytes) -> None:
    if state.size == old_size and state_root(state) != old_root:
        raise BoardMismatch(
            f"the first {old_size} entries do not have the earlier checkpoint's root: the "
            "log is not an extension of the one seen before"
        )


__all__ = [
    "BoardMismatch",
    "Read",
    "TileName",
    "at_size",
    "checked_entries",
    "parse_tile_path",
    "prefix",
    "tree_paths",
]
