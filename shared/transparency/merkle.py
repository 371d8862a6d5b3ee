"""The Merkle tree of the audit log, as RFC 6962 / RFC 9162 §2.1 define it. Pure: hashlib only.

Leaves are hashed ``SHA-256(0x00 || leaf)``, nodes ``SHA-256(0x01 || left || right)``;
a tree of ``n`` leaves splits at the largest power of two below ``n``. Every hash a
proof needs is the hash of a range ``[start, end)`` of leaves, and every such range is
made of a few *perfect* subtrees (power-of-two size, aligned), named ``(level, start)``.
The service stores the perfect subtree hashes as entries are appended, so a root or a
proof reads O(log² n) hashes instead of the whole log; the list-based functions below
(``root``, ``inclusion_proof``, ``consistency_proof``) compute the same from leaf
hashes and are what the offline verifier and the property tests use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

Block = tuple[int, int]
"""A perfect subtree: ``(level, start)`` covers leaves ``[start, start + 2**level)``."""
Range = tuple[int, int]
"""Leaves ``[start, end)``."""


def leaf_hash(leaf: bytes) -> bytes:
    """The hash of one leaf."""
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2): where RFC 6962 splits."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_blocks(start: int, end: int) -> list[Block]:
    """The perfect subtrees a range of the RFC 6962 tree is made of, left to right.

    Holds for every range that occurs in the tree (its start is a multiple of the
    smallest power of two >= its size): the blocks follow the binary digits of its size.
    """
    blocks: list[Block] = []
    size = end - start
    for level in range(size.bit_length() - 1, -1, -1):
        if size & (1 << level):
            blocks.append((level, start))
            start += 1 << level
    return blocks


def hash_of_blocks(hashes: Sequence[bytes]) -> bytes:
    """Combine perfect subtree hashes (left to right) into the hash of their range."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for block in reversed(hashes[:-1]):
        result = node_hash(block, result)
    return result


def range_hash(start: int, end: int, perfect: Mapping[Block, bytes]) -> bytes:
    """The hash of leaves ``[start, end)`` from stored perfect subtree hashes."""
    return hash_of_blocks([perfect[block] for block in subtree_blocks(start, end)])


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose hashes form the inclusion proof of leaf ``index`` (RFC 9162 PATH)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
    path.reverse()  # the proof lists the sibling nearest the leaf first
    return path


def consistency_ranges(old_size: int, new_size: int) -> list[Range]:
    """The ranges whose hashes form the consistency proof old -> new (RFC 9162 PROOF)."""
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
    path: list[Range] = []
    start, end, complete = 0, new_size, True
    m = old_size
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        path.append((start, end))
    path.reverse()
    return path


def blocks_needed(ranges: Iterable[Range]) -> set[Block]:
    """Every perfect subtree the given ranges are made of (what to fetch from the store)."""
    return {block for start, end in ranges for block in subtree_blocks(start, end)}


class Frontier:
    """The perfect subtrees covering the whole tree (its "peaks"), updated per append.

    Appending leaf ``i`` merges equal-sized peaks; each merge completes the perfect
    subtree of one level that ends at ``i``, which the service stores with entry ``i``.
    """

    def __init__(self, peaks: Sequence[tuple[int, bytes]] = ()) -> None:
        self.peaks: list[tuple[int, bytes]] = list(peaks)

    def append(self, leaf: bytes) -> list[bytes]:
        """Add a leaf hash; return the completed subtree hashes of levels 1, 2, ..."""
        level, current = 0, leaf
        completed: list[bytes] = []
        while self.peaks and self.peaks[-1][0] == level:
            _, left = self.peaks.pop()
            current = node_hash(left, current)
            level += 1
            completed.append(current)
        self.peaks.append((level, current))
        return completed

    @property
    def size(self) -> int:
        return sum(1 << level for level, _ in self.peaks)

    def root(self) -> bytes:
        """The root hash of the tree so far."""
        return hash_of_blocks([h for _, h in self.peaks])


# -- From a list of leaf hashes (verifier, tests) ---------------------------------------


def mth(leaves: Sequence[bytes], start: int = 0, end: int | None = None) -> bytes:
    """The Merkle tree hash of leaf hashes ``[start, end)`` (RFC 9162 MTH)."""
    end = len(leaves) if end is None else end
    if end == start:
        return EMPTY_ROOT
    if end - start == 1:
        return leaves[start]
    k = split_point(end - start)
    return node_hash(mth(leaves, start, start + k), mth(leaves, start + k, end))


def root(leaves: Sequence[bytes]) -> bytes:
    """The root hash of a tree of these leaf hashes."""
    return mth(leaves)


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int | None = None) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the tree of the first ``size`` leaves."""
    size = len(leaves) if size is None else size
    return [mth(leaves, s, e) for s, e in inclusion_ranges(index, size)]


def consistency_proof(leaves: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """The consistency proof between the trees of the first ``old_size``/``new_size`` leaves."""
    return [mth(leaves, s, e) for s, e in consistency_ranges(old_size, new_size)]


# -- Verification (RFC 9162 §2.1.3.2 and §2.1.4.2) --------------------------------------


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root an inclusion proof leads to, or None if the proof is malformed."""
    if not 0 <= index < size:
        return None
    fn, sn, result = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    return result if sn == 0 else None


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], expected_root: bytes
) -> bool:
    """Whether ``path`` proves leaf hash ``leaf`` is at ``index`` in the tree with that root."""
    return root_from_inclusion(index, size, leaf, path) == expected_root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> bool:
    """Whether ``path`` proves the tree ``new_root`` extends the tree ``old_root``."""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not path and old_root == new_root
    if not path:
        return False
    proof = list(path)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the path
        proof.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0
