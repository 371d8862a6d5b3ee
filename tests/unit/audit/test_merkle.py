"""The RFC 6962 Merkle tree: known roots, and proofs that verify and fail as they must."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.transparency import merkle

# RFC 6962 test vectors (certificate-transparency): roots of the first n of these leaves.
LEAVES = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f"]
]  # fmt: skip
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def stored_subtrees(leaf_hashes: list[bytes]) -> dict[merkle.Block, bytes]:
    """What the service stores as it appends: each leaf and each completed perfect subtree."""
    frontier, perfect = merkle.Frontier(), {}
    for i, leaf in enumerate(leaf_hashes):
        perfect[(0, i)] = leaf
        for level, node in enumerate(frontier.append(leaf), start=1):
            perfect[(level, i + 1 - (1 << level))] = node
    return perfect


def flip(value: bytes, bit: int) -> bytes:
    bit %= len(value) * 8
    changed = bytearray(value)
    changed[bit // 8] ^= 1 << (bit % 8)
    return bytes(changed)


def test_roots_match_the_rfc6962_test_vectors() -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in LEAVES]
    for n, expected in enumerate(ROOTS, start=1):
        assert merkle.root(hashes[:n]).hex() == expected
    assert merkle.root([]) == merkle.EMPTY_ROOT


def test_known_inclusion_and_consistency_paths() -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in LEAVES]
    # RFC 9162 §2.1.5 example shapes: d0's path in a tree of 7 is [d1, MTH(c,d), MTH(e,f,g)]
    assert merkle.inclusion_ranges(0, 7) == [(1, 2), (2, 4), (4, 7)]
    assert merkle.inclusion_ranges(6, 7) == [(4, 6), (0, 4)]
    assert merkle.consistency_ranges(3, 7) == [(2, 3), (3, 4), (0, 2), (4, 7)]
    assert merkle.consistency_ranges(4, 7) == [(4, 7)]
    assert merkle.consistency_ranges(6, 7) == [(4, 6), (6, 7), (0, 4)]
    proof = merkle.consistency_proof(hashes, 3, 7)
    assert merkle.verify_consistency(3, 7, merkle.root(hashes[:3]), merkle.root(hashes[:7]), proof)


@given(st.integers(1, 300), st.data())
def test_frontier_and_stored_subtrees_give_the_same_roots_and_proofs(
    n: int, data: st.DataObject
) -> None:
    hashes = leaves(n)
    perfect = stored_subtrees(hashes)
    frontier = merkle.Frontier()
    for leaf in hashes:
        frontier.append(leaf)
    assert frontier.size == n
    assert frontier.root() == merkle.root(hashes) == merkle.range_hash(0, n, perfect)
    size = data.draw(st.integers(1, n))
    index = data.draw(st.integers(0, size - 1))
    from_blocks = [
        merkle.range_hash(s, e, perfect) for s, e in merkle.inclusion_ranges(index, size)
    ]
    assert from_blocks == merkle.inclusion_proof(hashes, index, size)
    old = data.draw(st.integers(1, size))
    ranges = merkle.consistency_ranges(old, size)
    assert [merkle.range_hash(s, e, perfect) for s, e in ranges] == merkle.consistency_proof(
        hashes, old, size
    )


@given(st.integers(1, 300), st.data())
def test_inclusion_proofs_verify_and_fail_for_any_alteration(n: int, data: st.DataObject) -> None:
    hashes = leaves(n)
    index = data.draw(st.integers(0, n - 1))
    root, path = merkle.root(hashes), merkle.inclusion_proof(hashes, index)
    assert merkle.verify_inclusion(index, n, hashes[index], path, root)

    bit = data.draw(st.integers(0, 255))
    assert not merkle.verify_inclusion(index, n, flip(hashes[index], bit), path, root)
    assert not merkle.verify_inclusion(index, n, hashes[index], path, flip(root, bit))
    if path:
        at = data.draw(st.integers(0, len(path) - 1))
        altered = [*path[:at], flip(path[at], bit), *path[at + 1 :]]
        assert not merkle.verify_inclusion(index, n, hashes[index], altered, root)
        assert not merkle.verify_inclusion(index, n, hashes[index], path[:-1], root)
    assert not merkle.verify_inclusion(index, n, hashes[index], [*path, root], root)
    assert not merkle.verify_inclusion(n, n, hashes[index], path, root)


@given(st.integers(1, 300), st.data())
def test_consistency_proofs_verify_and_fail_for_any_alteration(n: int, data: st.DataObject) -> None:
    hashes = leaves(n)
    old = data.draw(st.integers(1, n))
    old_root, new_root = merkle.root(hashes[:old]), merkle.root(hashes)
    path = merkle.consistency_proof(hashes, old, n)
    assert merkle.verify_consistency(old, n, old_root, new_root, path)

    bit = data.draw(st.integers(0, 255))
    assert not merkle.verify_consistency(old, n, flip(old_root, bit), new_root, path)
    assert not merkle.verify_consistency(old, n, old_root, flip(new_root, bit), path)
    if path:
        at = data.draw(st.integers(0, len(path) - 1))
        altered = [*path[:at], flip(path[at], bit), *path[at + 1 :]]
        assert not merkle.verify_consistency(old, n, old_root, new_root, altered)
        assert not merkle.verify_consistency(old, n, old_root, new_root, path[:-1])
    assert not merkle.verify_consistency(old, n, old_root, new_root, [*path, new_root])
    # A history that differs anywhere before `old` is not an extension.
    if old > 1:
        changed = data.draw(st.integers(0, old - 1))
        forked = [*hashes[:changed], flip(hashes[changed], bit), *hashes[changed + 1 :]]
        assert not merkle.verify_consistency(old, n, merkle.root(forked[:old]), new_root, path)
