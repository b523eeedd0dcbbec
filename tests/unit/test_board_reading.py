"""Reading a board log back from its files (domain.board.reading): the entries of any
board, however it was batched, come back whole and in order; any changed, missing or
truncated file of the tree, and a root or an earlier checkpoint that is not this tree's,
are refused naming the file or the root; the files of a smaller tree are prefixes of the
larger tree's; the live board compared with another batching of the same log is identical
(projections.board_check.compare_boards), and a changed partial tile of an earlier size
is found."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.board.merkle import EMPTY_ROOT, leaf_hash, root
from domain.board.reading import (
    BoardMismatch,
    TileName,
    at_size,
    checked_entries,
    parse_tile_path,
    prefix,
    tree_paths,
)
from domain.board.tiles import TileState, append
from projections.board_check import StoredBoard, compare_boards
from tests.unit.strategies import fewer_examples

batchings = st.lists(st.integers(1, 700), min_size=1, max_size=6)
# A board of a few thousand entries is hashed in tens of milliseconds, more on a busy machine.
unhurried = settings(deadline=None)
fewer_unhurried = settings(fewer_examples, deadline=None)


def entries(size: int) -> list[bytes]:
    return [f"entry {i}".encode() * (1 + i % 3) for i in range(size)]


def board(batches: list[int]) -> tuple[dict[str, bytes], list[int]]:
    """Every file a board of these batches published, and its size after each batch."""
    state, files, sizes = TileState(), {}, []
    log = entries(sum(batches))
    for n in batches:
        state, writes = append(state, log[state.size : state.size + n])
        files.update((w.path, w.data) for w in writes)
        sizes.append(state.size)
    return files, sizes


def tree_root(size: int) -> bytes:
    return root([leaf_hash(e) for e in entries(size)])


@given(batchings, st.data())
@unhurried
def test_the_entries_come_back_whole_and_in_order(batches: list[int], data: st.DataObject) -> None:
    files, sizes = board(batches)
    size = sizes[-1]
    old = data.draw(st.sampled_from([0, *sizes]))
    earlier = (old, tree_root(old))
    assert list(checked_entries(size, tree_root(size), files.get, earlier)) == entries(size)
    assert set(tree_paths(size)) <= set(files)


@given(batchings, st.data())
@fewer_unhurried
def test_any_changed_byte_of_the_tree_is_refused_naming_the_file(
    batches: list[int], data: st.DataObject
) -> None:
    files, sizes = board(batches)
    size = sizes[-1]
    path = data.draw(st.sampled_from(sorted(tree_paths(size))))
    changed = bytearray(files[path])
    at = data.draw(st.integers(0, len(changed) - 1))
    changed[at] ^= 1 << data.draw(st.integers(0, 7))
    tampered = {**files, path: bytes(changed)}
    with pytest.raises(BoardMismatch) as refused:
        list(checked_entries(size, tree_root(size), tampered.get))
    # A hash tile is named itself; a changed entry by its bundle, or by the hash tile of
    # its bundle's leaves, which its leaf hash no longer matches.
    message = str(refused.value)
    if "entries" in path:
        bundle = parse_tile_path(path)
        level0 = f"tile/0/{path.removeprefix('tile/entries/')}"
        assert path in message or level0 in message, (path, message)
        assert bundle.level is None
    else:
        assert path in message, (path, message)


@given(batchings, st.data())
@fewer_unhurried
def test_a_missing_or_truncated_file_is_refused(batches: list[int], data: st.DataObject) -> None:
    files, sizes = board(batches)
    size = sizes[-1]
    path = data.draw(st.sampled_from(sorted(tree_paths(size))))
    without = {p: d for p, d in files.items() if p != path}
    with pytest.raises(BoardMismatch, match="is missing"):
        list(checked_entries(size, tree_root(size), without.get))
    truncated = {**files, path: files[path][:-1]}
    with pytest.raises(BoardMismatch):
        list(checked_entries(size, tree_root(size), truncated.get))


@given(batchings)
@unhurried
def test_another_root_or_earlier_tree_is_refused(batches: list[int]) -> None:
    files, sizes = board(batches)
    size = sizes[-1]
    with pytest.raises(BoardMismatch, match="root of the"):
        list(checked_entries(size, tree_root(size - 1), files.get))
    other = root([leaf_hash(b"not " + e) for e in entries(sizes[0])])
    with pytest.raises(BoardMismatch, match="earlier checkpoint's root"):
        list(checked_entries(size, tree_root(size), files.get, (sizes[0], other)))
    with pytest.raises(BoardMismatch, match="went back"):
        list(checked_entries(size, tree_root(size), files.get, (size + 1, tree_root(size))))


def test_the_empty_tree_has_no_entries_and_the_empty_root() -> None:
    assert list(checked_entries(0, EMPTY_ROOT, {}.get)) == []
    with pytest.raises(BoardMismatch):
        list(checked_entries(0, tree_root(1), {}.get))


@given(batchings)
@unhurried
def test_every_file_published_is_a_prefix_of_its_tile_in_the_final_tree(
    batches: list[int],
) -> None:
    files, sizes = board(batches)
    for path, data in files.items():
        name = parse_tile_path(path)
        assert name.path == path
        widest = at_size(name, sizes[-1])
        assert widest is not None
        assert prefix(name, files[widest.path]) == data
        assert at_size(name, name.reach - 1) is None


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",
        "tile/0/x000/001",
        "tile/64/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/007",
        "tile/entries/000/",
        "tile/-1/000",
        "entries/000",
    ],
)
def test_other_spellings_are_not_tile_paths(path: str) -> None:
    with pytest.raises(ValueError, match="tile path"):
        parse_tile_path(path)


def test_a_tile_path_names_its_level_index_and_width() -> None:
    assert parse_tile_path("tile/1/x001/234.p/5") == TileName(1, 1234, 5)
    assert parse_tile_path("tile/entries/007") == TileName(None, 7, 256)
    assert TileName(1, 0, 1).reach == 256
    assert TileName(None, 1, 3).reach == 259


def stored(size: int) -> StoredBoard:
    return StoredBoard(offset=size - 1, size=size, checkpoint=f"checkpoint {size}\n")


@given(batchings, batchings)
@fewer_unhurried
def test_another_batching_of_the_same_log_is_byte_identical(
    live_batches: list[int], rebuilt_batches: list[int]
) -> None:
    live, sizes = board(live_batches)
    size = sizes[-1]
    rebuilt, _ = board(_cut(rebuilt_batches, size))
    found = compare_boards(
        {0: stored(size)},
        {0: stored(size)},
        sorted((0, p, d) for p, d in live.items()),
        lambda _p, path: rebuilt.get(path),
    )
    assert found.differences == []
    assert (found.files, found.checkpoints, found.ahead) == (len(live), 1, 0)


@given(batchings, st.data())
@fewer_unhurried
def test_a_changed_live_file_of_an_earlier_size_is_found(
    batches: list[int], data: st.DataObject
) -> None:
    live, sizes = board([*batches, 300])
    size = sizes[-1]
    rebuilt, _ = board([size])
    path = data.draw(st.sampled_from(sorted(live)))
    tampered = {**live, path: live[path][:-1] + bytes([live[path][-1] ^ 1])}
    found = compare_boards(
        {0: stored(size)},
        {0: stored(size)},
        sorted((0, p, d) for p, d in tampered.items()),
        lambda _p, p: rebuilt.get(p),
    )
    assert found.differences == [f"p0/{path}: the live bytes are not the rebuilt tree's"]


def test_live_files_past_the_rebuilt_size_are_not_compared_and_missing_ones_are_named() -> None:
    live, _ = board([300, 300])
    rebuilt, _ = board([300])
    found = compare_boards(
        {0: stored(300)},
        {0: stored(300)},
        sorted((0, p, d) for p, d in live.items() if p != "tile/entries/000"),
        lambda _p, p: rebuilt.get(p),
    )
    assert found.ahead > 0
    assert found.differences == ["p0/tile/entries/000: missing from the live board"]


def _cut(batches: list[int], size: int) -> list[int]:
    """Batches of the same total ``size``, split as ``batches`` goes."""
    out, left = [], size
    for n in batches:
        if left == 0:
            break
        out.append(min(n, left))
        left -= out[-1]
    return [*out, left] if left else out
