"""RFC 6962 Merkle trees (RFC 9162 section 2.1): hashes, roots, inclusion and consistency proofs.

A leaf hash is ``SHA-256(0x00 || entry)``, an interior node ``SHA-256(0x01 || left || right)``,
and the root of ``n > 1`` leaves splits them at ``k``, the largest power of two below ``n``:
``MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n]))``; the empty tree's root is ``SHA-256("")``.

Equivalently, the leaves ``[0, n)`` split into the perfect subtrees the binary digits of
``n`` name, largest first, and the root folds their roots from the right (``node(a, node(b,
c))``). Every hash a proof needs is the root of such an aligned range, so proofs read only
the roots of *perfect* subtrees: a :data:`NodeReader` ``(height, index)`` gives the root of
leaves ``[index * 2**height, (index + 1) * 2**height)``. That is what tiles store
(:mod:`domain.board.tiles`), and what :func:`node_reader` computes from a list of leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
_sha256 = hashlib.sha256
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeReader = Callable[[int, int], bytes]
"""``(height, index) -> hash``: the root of the perfect subtree over leaves
``[index << height, (index + 1) << height)``."""


class ProofError(ValueError):
    """A proof that does not prove what it is said to prove; the message says why."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def fold(roots: Sequence[bytes]) -> bytes:
    """The root over consecutive subtrees of strictly decreasing perfect sizes (left to right),
    folded from the right; :data:`EMPTY_ROOT` for none."""
    if not roots:
        return EMPTY_ROOT
    acc = roots[-1]
    for left in reversed(roots[:-1]):
        acc = node_hash(left, acc)
    return acc


def subtree_roots(hashes: Sequence[bytes]) -> list[bytes]:
    """The roots of the maximal perfect subtrees over ``hashes`` (taken as the leaves of a
    tree), largest first: one per binary digit of ``len(hashes)``."""
    stack: list[tuple[int, bytes]] = []  # (size, root), sizes strictly decreasing
    for h in hashes:
        size, acc = 1, h
        while stack and stack[-1][0] == size:
            left_size, left = stack.pop()
            size, acc = left_size + size, node_hash(left, acc)
        stack.append((size, acc))
    return [root for _, root in stack]


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """``MTH`` of the leaves whose hashes are given. A power of two of them (a full tile) is
    one perfect tree, hashed level by level: a third cheaper than the general fold."""
    n = len(leaf_hashes)
    if n < 2 or n & (n - 1):
        return fold(subtree_roots(leaf_hashes))
    level = list(leaf_hashes)
    while len(level) > 1:
        level = [
            _sha256(b"\x01" + left + right).digest()
            for left, right in zip(level[::2], level[1::2], strict=True)
        ]
    return level[0]


def node_reader(leaf_hashes: Sequence[bytes]) -> NodeReader:
    """A :data:`NodeReader` over an in-memory list of leaf hashes (every level computed once)."""
    levels = [list(leaf_hashes)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])

    def read(height: int, index: int) -> bytes:
        return levels[height][index]

    return read


def largest_power_below(n: int) -> int:
    """The largest power of two strictly less than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_root(start: int, end: int, read: NodeReader) -> bytes:
    """``MTH(D[start:end])`` for a range that begins on a multiple of its largest perfect
    part (every range RFC 6962's proofs name does)."""
    roots = []
    pos = start
    for height in reversed(range((end - start).bit_length())):
        if (end - start) >> height & 1:
            if pos % (1 << height):
                raise ValueError(f"range [{start}, {end}) is not aligned")
            roots.append(read(height, pos >> height))
            pos += 1 << height
    return fold(roots)


def tree_root(size: int, read: NodeReader) -> bytes:
    return range_root(0, size, read)


def inclusion_proof(index: int, size: int, read: NodeReader) -> list[bytes]:
    """``PATH(index, D[0:size])`` (RFC 9162 section 2.1.3.1), nearest the leaf first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    proof: list[bytes] = []
    start, n, m = 0, size, index
    while n > 1:
        k = largest_power_below(n)
        if m < k:
            proof.append(range_root(start + k, start + n, read))
            n = k
        else:
            proof.append(range_root(start, start + k, read))
            start, n, m = start + k, n - k, m - k
    proof.reverse()
    return proof


def consistency_proof(old_size: int, new_size: int, read: NodeReader) -> list[bytes]:
    """``PROOF(old_size, D[0:new_size])`` (RFC 9162 section 2.1.4.1); empty when either
    size is 0 or they are equal."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, n, m, whole = 0, new_size, old_size, True
    while m != n:
        k = largest_power_below(n)
        if m <= k:
            proof.append(range_root(start + k, start + n, read))
            n = k
        else:
            proof.append(range_root(start, start + k, read))
            start, n, m, whole = start + k, n - k, m - k, False
    if not whole:
        proof.append(range_root(start, start + n, read))
    proof.reverse()
    return proof


def _check_hashes(proof: Sequence[bytes]) -> None:
    if any(len(h) != HASH_SIZE for h in proof):
        raise ProofError("a proof hash is not 32 bytes")


def _climb(fn: int, sn: int, seed: bytes, path: Sequence[bytes]) -> tuple[bytes, bytes]:
    """Hash ``path`` up from node ``fn`` of a last level index ``sn`` (RFC 9162's loop):
    the root over the nodes left of and at the start (``fr``), and over all of them."""
    fr = sr = seed
    for c in path:
        if sn == 0:
            raise ProofError("the proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the proof is too short")
    return fr, sr


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> None:
    """Check that ``leaf`` (a leaf hash) is leaf ``index`` of the tree of ``size`` with root
    ``root_hash`` (RFC 9162 section 2.1.3.2); raises :class:`ProofError` otherwise."""
    _check_hashes(proof)
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is not in a tree of size {size}")
    if _climb(index, size - 1, leaf, proof)[1] != root_hash:
        raise ProofError("the proof does not lead to the root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``old_size`` with ``old_root`` is a prefix of the one of
    ``new_size`` with ``new_root`` (RFC 9162 section 2.1.4.2); raises :class:`ProofError`."""
    _check_hashes(proof)
    if not 0 <= old_size <= new_size:
        raise ProofError(f"size {old_size} cannot precede size {new_size}")
    if old_size in (0, new_size):
        if proof:
            raise ProofError("a proof from an empty or equal tree must be empty")
        if old_size == new_size and old_root != new_root:
            raise ProofError("equal sizes with different roots")
        return
    if not proof:
        raise ProofError("the proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is itself a node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    if _climb(fn, sn, path[0], path[1:]) != (old_root, new_root):
        raise ProofError("the proof does not lead to both roots")
