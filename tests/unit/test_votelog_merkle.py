"""The sealed vote log's Merkle tree: RFC 6962's published vectors, a second implementation, every proof, tampering."""

from __future__ import annotations

import hashlib
import json

import pytest

from massline.votelog import Tree, canonical_leaf, hash_of_leaf, leaf_hash, node_hash, verify_inclusion

# The inputs and roots of the Certificate Transparency test vectors (RFC 6962 trees of 1 to 8 leaves), as every CT
# implementation's tests carry them.
CT_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def reference_root(data: list[bytes]) -> bytes:
    """RFC 6962 §2.1's MTH, written out straight from the definition (recursive, no memo, own hashing)."""
    if not data:
        return hashlib.sha256(b"").digest()
    if len(data) == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1 << ((len(data) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + reference_root(data[:k]) + reference_root(data[k:])).digest()


def reference_path(m: int, data: list[bytes]) -> list[bytes]:
    """RFC 6962 §2.1.1's PATH(m, D[n]), straight from the definition."""
    if len(data) <= 1:
        return []
    k = 1 << ((len(data) - 1).bit_length() - 1)
    if m < k:
        return [*reference_path(m, data[:k]), reference_root(data[k:])]
    return [*reference_path(m - k, data[k:]), reference_root(data[:k])]


def data_of(n: int) -> list[bytes]:
    return [f"vote-{i}".encode() for i in range(n)]


def test_the_certificate_transparency_vectors_give_their_published_roots() -> None:
    leaves = [bytes.fromhex(h) for h in CT_LEAVES]
    for n in range(1, 9):
        assert Tree([leaf_hash(d) for d in leaves[:n]]).root().hex() == CT_ROOTS[n - 1]
        assert reference_root(leaves[:n]).hex() == CT_ROOTS[n - 1]
    assert Tree([]).root().hex() == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 33, 100])
def test_every_leaf_of_a_tree_has_the_reference_path_and_it_verifies(n: int) -> None:
    data = data_of(n)
    tree = Tree([leaf_hash(d) for d in data])
    root = tree.root()
    assert root == reference_root(data)
    for m in range(n):
        path = tree.audit_path(m)
        assert path == reference_path(m, data)
        assert verify_inclusion(leaf_hash(data[m]), m, n, path, root)


@pytest.mark.parametrize("n", [2, 3, 6, 13])
def test_a_changed_leaf_a_wrong_index_or_path_fails(n: int) -> None:
    """(The tree size is not bound by the path alone: the checks compare it with the published leaf count.)"""
    data = data_of(n)
    tree = Tree([leaf_hash(d) for d in data])
    root = tree.root()
    for m in range(n):
        path = tree.audit_path(m)
        assert not verify_inclusion(leaf_hash(data[m] + b"x"), m, n, path, root)
        assert not verify_inclusion(leaf_hash(data[m]), (m + 1) % n, n, path, root)
        assert not verify_inclusion(leaf_hash(data[m]), m, n, path[:-1], root)
        assert not verify_inclusion(leaf_hash(data[m]), m, n, [*path, root], root)
        assert not verify_inclusion(leaf_hash(data[m]), n, n, path, root)
        flipped = [bytes([path[0][0] ^ 1]) + path[0][1:], *path[1:]]
        assert not verify_inclusion(leaf_hash(data[m]), m, n, flipped, root)
    # a changed leaf changes the root: the published root no longer matches the published leaves
    changed = [*data[:-1], data[-1] + b"!"]
    assert Tree([leaf_hash(d) for d in changed]).root() != root


def test_a_leaf_node_cannot_pass_for_an_inner_node() -> None:
    """Leaves and inner nodes are hashed with different prefixes, so two leaves' hashes joined are not a leaf."""
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert leaf_hash(a + b) != node_hash(a, b)


def test_a_leaf_is_canonical_json_of_its_fields_only() -> None:
    leaf = {"vote_id": "0190f0e0-0000-7000-8000-000000000001", "voter": "ab" * 16, "status": "counted",
            "entry_id": "0190f0e0-0000-7000-8000-0000000000aa", "day": "2026-12-04", "count": 3, "campaign_id": "c1"}
    encoded = canonical_leaf(leaf)
    assert encoded == (b'{"campaign_id":"c1","count":3,"day":"2026-12-04",'
                       b'"entry_id":"0190f0e0-0000-7000-8000-0000000000aa","status":"counted",'
                       b'"vote_id":"0190f0e0-0000-7000-8000-000000000001","voter":"' + b"ab" * 16 + b'"}')
    assert hash_of_leaf(leaf) == hashlib.sha256(b"\x00" + encoded).hexdigest()
    assert json.loads(encoded) == leaf
    with pytest.raises(ValueError):
        canonical_leaf({**leaf, "phone": "13800138000"})
    with pytest.raises(ValueError):
        canonical_leaf({**leaf, "count": 1.5})
