"""RFC 6962 Merkle trees: the hashes, the roots and the proofs against published test vectors
(transparency-dev/merkle's ``rfc6962`` tests, ``testonly/constants.go`` and
``cmd/proofgen``, the vectors of certificate-transparency's merkle tree tests), and proofs
that verify for any sizes and fail once anything in them is changed."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.board.merkle import (
    EMPTY_ROOT,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    node_reader,
    range_root,
    root,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [  # the root of the first n leaves, n = 1..8
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, proof), from cmd/proofgen (whose leaf indexes count from 1).
INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
# (old size, new size, proof)
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
VECTOR_HASHES = [leaf_hash(e) for e in LEAF_INPUTS]


def hexes(hashes: list[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


def leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def reference_root(hashes: list[bytes]) -> bytes:
    """MTH exactly as RFC 6962 section 2.1 writes it (recursive split)."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return node_hash(reference_root(hashes[:k]), reference_root(hashes[k:]))


def test_hashes_match_the_rfc6962_hasher_vectors() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root([]) == EMPTY_ROOT
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert leaf_hash(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_the_published_vectors(size: int) -> None:
    assert root(VECTOR_HASHES[:size]).hex() == ROOTS[size - 1]
    assert tree_root(size, node_reader(VECTOR_HASHES[:size])).hex() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_published_vectors(
    index: int, size: int, proof: list[str]
) -> None:
    assert hexes(inclusion_proof(index, size, node_reader(VECTOR_HASHES[:size]))) == proof
    verify_inclusion(
        VECTOR_HASHES[index],
        index,
        size,
        [bytes.fromhex(h) for h in proof],
        root(VECTOR_HASHES[:size]),
    )


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_published_vectors(
    old: int, new: int, proof: list[str]
) -> None:
    assert hexes(consistency_proof(old, new, node_reader(VECTOR_HASHES[:new]))) == proof
    verify_consistency(
        old,
        new,
        root(VECTOR_HASHES[:old]),
        root(VECTOR_HASHES[:new]),
        [bytes.fromhex(h) for h in proof],
    )


@pytest.mark.parametrize("size", [2, 4, 8, 64, 256, 512])
def test_a_perfect_tree_hashed_level_by_level_has_the_recursive_definitions_root(
    size: int,
) -> None:
    for hashes in (leaves(size), leaves(size + 1)[1:]):
        assert root(hashes) == reference_root(hashes)


@given(st.integers(0, 600))
def test_the_root_is_rfc6962s_recursive_definition(size: int) -> None:
    hashes = leaves(size)
    assert root(hashes) == reference_root(hashes)
    assert tree_root(size, node_reader(hashes)) == reference_root(hashes)


@given(st.integers(1, 300), st.data())
def test_inclusion_proofs_verify_for_any_leaf(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    hashes = leaves(size)
    proof = inclusion_proof(index, size, node_reader(hashes))
    verify_inclusion(hashes[index], index, size, proof, root(hashes))


@given(st.integers(0, 300), st.data())
def test_consistency_proofs_verify_for_any_sizes(size: int, data: st.DataObject) -> None:
    old = data.draw(st.integers(0, size))
    hashes = leaves(size)
    proof = consistency_proof(old, size, node_reader(hashes))
    verify_consistency(old, size, root(hashes[:old]), root(hashes), proof)


def flip(h: bytes, bit: int) -> bytes:
    return (int.from_bytes(h, "big") ^ (1 << bit % 256)).to_bytes(32, "big")


@given(st.integers(2, 300), st.data())
def test_a_changed_inclusion_proof_fails(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    hashes = leaves(size)
    proof = inclusion_proof(index, size, node_reader(hashes))
    good = (hashes[index], index, size, proof, root(hashes))
    at = data.draw(st.integers(0, len(proof) - 1))
    bit = data.draw(st.integers(0, 255))
    other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
    tampered = [
        (flip(hashes[index], bit), index, size, proof, root(hashes)),  # another leaf
        (hashes[other], index, size, proof, root(hashes)),  # another index's leaf
        (hashes[index], index, size, proof, flip(root(hashes), bit)),  # another root
        (
            hashes[index],
            index,
            size,
            [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]],
            good[4],
        ),
        (hashes[index], index, size, proof[:-1], good[4]),  # a hash dropped
        (hashes[index], index, size, [*proof, proof[-1]], good[4]),  # a hash added
        (hashes[index], index, size, proof[::-1], good[4]) if len(set(proof)) > 1 else None,
    ]
    for case in filter(None, tampered):
        with pytest.raises(ProofError):
            verify_inclusion(*case)
    # The index is part of what is proved: the same proof for another index fails.
    for wrong in (other, size, -1):
        with pytest.raises(ProofError):
            verify_inclusion(hashes[index], wrong, size, proof, good[4])


@given(st.integers(2, 300), st.data())
def test_a_changed_consistency_proof_fails(size: int, data: st.DataObject) -> None:
    old = data.draw(st.integers(1, size - 1))
    hashes = leaves(size)
    proof = consistency_proof(old, size, node_reader(hashes))
    old_root, new_root = root(hashes[:old]), root(hashes)
    bit = data.draw(st.integers(0, 255))
    at = data.draw(st.integers(0, len(proof) - 1))
    tampered = [
        (old, size, flip(old_root, bit), new_root, proof),
        (old, size, old_root, flip(new_root, bit), proof),
        (old, size, old_root, new_root, [*proof[:at], flip(proof[at], bit), *proof[at + 1 :]]),
        (old, size, old_root, new_root, proof[:-1]),
        (old, size, old_root, new_root, [*proof, proof[-1]]),
        (old, size, new_root, old_root, proof),  # the roots swapped
        (size, old, old_root, new_root, proof),  # the sizes swapped
    ]
    for case in tampered:
        with pytest.raises(ProofError):
            verify_consistency(*case)


@given(st.integers(1, 300), st.data())
def test_a_tree_that_changed_a_leaf_is_not_consistent(size: int, data: st.DataObject) -> None:
    """A log that rewrote an entry it had committed to cannot prove consistency."""
    old = data.draw(st.integers(1, size))
    changed = data.draw(st.integers(0, old - 1))
    hashes = leaves(size)
    rewritten = [*hashes[:changed], leaf_hash(b"rewritten"), *hashes[changed + 1 :]]
    proof = consistency_proof(old, size, node_reader(rewritten))
    with pytest.raises(ProofError):
        verify_consistency(old, size, root(hashes[:old]), root(rewritten), proof)


def test_edge_sizes() -> None:
    hashes = leaves(5)
    read = node_reader(hashes)
    assert consistency_proof(0, 5, read) == []
    verify_consistency(0, 5, EMPTY_ROOT, root(hashes), [])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(ProofError):
        verify_consistency(0, 5, EMPTY_ROOT, root(hashes), [hashes[0]])
    with pytest.raises(ProofError):
        verify_consistency(5, 5, root(hashes), root(hashes[:4]), [])
    with pytest.raises(ProofError):
        verify_consistency(3, 5, root(hashes[:3]), root(hashes), [])
    with pytest.raises(ProofError):
        verify_inclusion(hashes[0], 0, 5, [b"short"], root(hashes))
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(5, 5, read)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(6, 5, read)
    with pytest.raises(ValueError, match="not aligned"):
        range_root(1, 3, read)
