"""C2SP tlog-tiles: the paths of the spec's examples, the tiles a tree of a given size is
made of, files that do not depend on how the entries were batched and never change once
written, and proofs read from tiles that equal the ones computed from the leaves."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.board.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_reader,
    root,
)
from domain.board.tiles import (
    TileState,
    Write,
    append,
    decode_bundle,
    edge_paths,
    edge_state,
    encode_bundle,
    encode_index,
    entries_path,
    split_hashes,
    state_root,
    tile_path,
    tile_reader,
)
from tests.unit.strategies import fewer_examples


def entries(start: int, stop: int) -> list[bytes]:
    return [f"entry {i}".encode() * (i % 3) for i in range(start, stop)]


def build(batches: list[int]) -> tuple[TileState, list[Write]]:
    """Append entries in batches of the given sizes; the final state and every write."""
    state, writes, size = TileState(), [], 0
    for n in batches:
        state, new = append(state, entries(size, size + n))
        writes += new
        size += n
    return state, writes


def store(writes: list[Write]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for w in writes:
        assert files.setdefault(w.path, w.data) == w.data, f"{w.path} changed"
    return files


@pytest.mark.parametrize(
    ("n", "path"),
    [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_indexes_are_written_in_groups_of_three_digits(n: int, path: str) -> None:
    assert encode_index(n) == path


def test_paths_are_the_specs() -> None:
    assert tile_path(4, 1234067) == "tile/4/x001/x234/067"
    assert tile_path(4, 1234067, 1) == "tile/4/x001/x234/067.p/1"
    assert tile_path(0, 0, 255) == "tile/0/000.p/255"
    assert entries_path(1234067) == "tile/entries/x001/x234/067"
    assert entries_path(5, 3) == "tile/entries/005.p/3"
    for bad in (lambda: tile_path(0, 0, 0), lambda: tile_path(64, 0), lambda: encode_index(-1)):
        with pytest.raises(ValueError, match="tile"):
            bad()


def test_a_tree_of_70000_has_the_tiles_the_spec_lists() -> None:
    """The spec's example: 273 full level 0 tiles and one of width 112, one full level 1
    tile and one of width 17, one level 2 tile of width 1; each hash is the MTH of its range."""
    state, writes = build([70_000])
    files = store(writes)
    level0 = {f"tile/0/{encode_index(n)}" for n in range(273)} | {"tile/0/273.p/112"}
    bundles = {p.replace("tile/0/", "tile/entries/") for p in level0}
    upper = {"tile/1/000", "tile/1/001.p/17", "tile/2/000.p/1"}
    assert set(files) == level0 | bundles | upper
    assert [len(state.partial[level]) // 32 for level in range(3)] == [112, 17, 1]
    hashes = [leaf_hash(e) for e in entries(0, 70_000)]
    read = node_reader(hashes)
    assert files["tile/0/273.p/112"] == b"".join(hashes[273 * 256 :])
    assert split_hashes(files["tile/1/000"]) == [read(8, i) for i in range(256)]
    assert split_hashes(files["tile/1/001.p/17"]) == [read(8, 256 + i) for i in range(17)]
    assert files["tile/2/000.p/1"] == read(16, 0)
    assert decode_bundle(files["tile/entries/272"]) == entries(272 * 256, 273 * 256)
    assert state_root(state) == root(hashes)


def test_a_tree_of_256_is_a_full_tile_and_a_level_1_tile_of_width_1() -> None:
    state, writes = build([256])
    assert sorted(store(writes)) == ["tile/0/000", "tile/1/000.p/1", "tile/entries/000"]
    assert state.partial == (b"", root([leaf_hash(e) for e in entries(0, 256)]))
    assert state.entries == ()


batchings = st.lists(st.integers(0, 300), max_size=8)


@given(batchings)
def test_files_and_root_do_not_depend_on_batching(batches: list[int]) -> None:
    size = sum(batches)
    state, writes = build(batches)
    once_state, once_writes = build([size])
    files, once = store(writes), store(once_writes)
    assert state == once_state
    assert state_root(state) == root([leaf_hash(e) for e in entries(0, size)])
    # Every file of the one-batch log was written, with the same bytes; the other files are
    # the partial tiles of the sizes between batches.
    assert {p: files[p] for p in once} == once
    for path in set(files) - set(once):
        assert ".p/" in path


@given(batchings)
def test_no_file_is_ever_written_twice(batches: list[int]) -> None:
    """A full tile is written once, when it fills; a partial one's path names its width."""
    _, writes = build(batches)
    paths = [w.path for w in writes]
    assert len(paths) == len(set(paths))


@given(batchings)
def test_tiles_already_written_stay_valid_as_the_tree_grows(batches: list[int]) -> None:
    """A partial tile of an earlier size is a prefix of the tile that replaces it."""
    _, writes = build([*batches, 600])
    files = store(writes)
    for path, data in files.items():
        if ".p/" in path and not path.startswith("tile/entries/"):
            full = path.split(".p/")[0]
            if full in files:
                assert files[full].startswith(data)


@given(batchings)
def test_the_edge_of_every_size_is_read_back_from_the_files_written_by_then(
    batches: list[int],
) -> None:
    """What the board's position needs to go on appending (its TileState) is in the files
    written up to that size, at the paths ``edge_paths`` names: a position stores its size
    only, and a worker that resumes reads the rest back."""
    state, files, size = TileState(), {}, 0
    for n in batches:
        state, writes = append(state, entries(size, size + n))
        files.update(store(writes))
        size += n
        assert set(edge_paths(size)) <= set(files)
        assert edge_state(size, {p: files[p] for p in edge_paths(size)}) == state


@pytest.mark.parametrize("size", [256, 65_536, 65_537, 70_000])
def test_the_edge_of_a_tree_with_full_levels_below_its_top_is_read_back(size: int) -> None:
    """Sizes whose lower levels have no partial tile (their edge holds no hashes there);
    a file of the edge missing is an error, not an empty edge."""
    state, writes = build([size])
    files = store(writes)
    assert edge_state(size, {p: files[p] for p in edge_paths(size)}) == state
    with pytest.raises(KeyError):
        edge_state(size, {})
    assert edge_paths(0) == []
    assert edge_state(0, {}) == TileState()


@given(st.integers(1, 1200), st.data())
@fewer_examples
def test_proofs_read_from_tiles_equal_proofs_from_the_leaves(
    size: int, data: st.DataObject
) -> None:
    _, writes = build([size // 2, size - size // 2])
    files = store(writes)
    read_tiles = tile_reader(size, files.__getitem__)
    read_leaves = node_reader([leaf_hash(e) for e in entries(0, size)])
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(0, size))
    assert inclusion_proof(index, size, read_tiles) == inclusion_proof(index, size, read_leaves)
    assert consistency_proof(old, size, read_tiles) == consistency_proof(old, size, read_leaves)


@given(st.lists(st.binary(max_size=300), max_size=20))
def test_bundles_round_trip(items: list[bytes]) -> None:
    data = encode_bundle(items)
    assert decode_bundle(data) == items
    assert len(data) == sum(2 + len(i) for i in items)


def test_bundles_reject_what_is_not_one() -> None:
    assert encode_bundle([b"ab"]) == b"\x00\x02ab"
    with pytest.raises(ValueError, match="at most"):
        encode_bundle([bytes(0x10000)])
    for truncated in (b"\x00", b"\x00\x03ab"):
        with pytest.raises(ValueError, match="ends inside"):
            decode_bundle(truncated)


def test_state_round_trips_and_is_checked_against_its_size() -> None:
    state, _ = build([300])
    assert msgspec.json.decode(msgspec.json.encode(state), type=TileState) == state
    with pytest.raises(ValueError, match="does not match"):
        TileState(301, state.partial, state.entries)
    with pytest.raises(ValueError, match="does not match"):
        TileState(300, (state.partial[0][32:], state.partial[1]), state.entries)
