"""Sealed vote logs: the Merkle tree of a day's votes, inclusion proofs, and the checks anyone can run.

Standalone on purpose: the Python standard library only, no other module of this project. A third party may copy
this one file and check a receipt or a tally against any massline site (docs/transparency.md):

    python votelog.py receipt --url https://vote.example.org --campaign C --vote-id V [--leaf HEX]
    python votelog.py tally --url https://vote.example.org --campaign C

The tree is RFC 6962's (Certificate Transparency): a leaf's hash is SHA-256(0x00 || leaf bytes), an inner node's
SHA-256(0x01 || left || right); a tree of n > 1 leaves splits at the largest power of two below n. A leaf's bytes
are its canonical JSON: keys sorted, no spaces, UTF-8, strings and whole numbers only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

LEAF_FIELDS = ("campaign_id", "count", "day", "entry_id", "status", "vote_id", "voter")
STATUSES = ("counted", "held", "invalidated")


# --- the construction ------------------------------------------------------------------------

def canonical_leaf(leaf: Mapping[str, Any]) -> bytes:
    """A leaf's bytes: its fields (exactly LEAF_FIELDS) as JSON with sorted keys, no spaces, UTF-8."""
    if sorted(leaf) != list(LEAF_FIELDS):
        raise ValueError(f"a leaf has exactly the fields {', '.join(LEAF_FIELDS)}")
    for key, value in leaf.items():
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"leaf field {key} must be a string or a whole number")
    return json.dumps(leaf, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def hash_of_leaf(leaf: Mapping[str, Any]) -> str:
    """The hex leaf hash of a leaf object: what a receipt's `leaf` holds."""
    return leaf_hash(canonical_leaf(leaf)).hex()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Tree:
    """The tree over a list of leaf hashes; subtree hashes are remembered, so many proofs cost little more."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.leaves = list(leaf_hashes)
        self._memo: dict[tuple[int, int], bytes] = {}

    def __len__(self) -> int:
        return len(self.leaves)

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end])."""
        n = end - start
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n == 1:
            return self.leaves[start]
        found = self._memo.get((start, end))
        if found is None:
            k = _split(n)
            found = node_hash(self.subtree(start, start + k), self.subtree(start + k, end))
            self._memo[(start, end)] = found
        return found

    def root(self) -> bytes:
        return self.subtree(0, len(self.leaves))

    def audit_path(self, index: int) -> list[bytes]:
        """PATH(index, D[n]) of RFC 6962 §2.1.1: the sibling hashes from the leaf up to the root."""
        if not 0 <= index < len(self.leaves):
            raise IndexError(index)
        path: list[bytes] = []
        start, end = 0, len(self.leaves)
        while end - start > 1:
            k = _split(end - start)
            if index < start + k:
                path.append(self.subtree(start + k, end))
                end = start + k
            else:
                path.append(self.subtree(start, start + k))
                start += k
        path.reverse()
        return path


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """Whether `leaf` (a leaf hash) is leaf `index` of the tree of `size` leaves with `root` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# --- checking what a site publishes ------------------------------------------------------------

Fetch = Callable[[str], Any]


def http_fetch(base_url: str) -> Fetch:
    """GET <base_url>/api/voting<path> as JSON; an answer other than 200 raises CheckFailed with its code."""
    def fetch(path: str) -> Any:
        try:
            with urllib.request.urlopen(base_url.rstrip("/") + "/api/voting" + path, timeout=30) as r:
                return json.load(r)
        except urllib.error.HTTPError as exc:
            try:
                code = json.load(exc).get("error", {}).get("code", "")
            except (ValueError, AttributeError):
                code = ""
            raise CheckFailed(f"{path}: HTTP {exc.code} {code}".strip()) from None
        except (urllib.error.URLError, OSError) as exc:
            raise CheckFailed(f"cannot reach {base_url}: {exc}") from None
    return fetch


class CheckFailed(Exception):
    """The published data does not bear out what was checked."""


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def check_receipt(fetch: Fetch, campaign: str, vote_id: str, receipt_leaf: str | None = None) -> dict[str, Any]:
    """Check that the vote is in its day's published seal; the leaf and seal checked. Raises CheckFailed.

    The proof is checked against the root of the seal list, not only the root the proof names. With
    `receipt_leaf` (the receipt's `leaf`), the sealed leaf must be that one, or differ from it only in `status`
    (a vote held or invalidated before its day was sealed)."""
    proof = fetch(f"/campaigns/{_q(campaign)}/vote-log/proof?vote_id={_q(vote_id)}")
    leaf = proof["leaf"]
    if leaf.get("vote_id") != vote_id or leaf.get("campaign_id") != campaign:
        raise CheckFailed("the proof is for another vote")
    seals = fetch(f"/campaigns/{_q(campaign)}/vote-log/seals")["seals"]
    seal = next((s for s in seals if s["day"] == proof["day"] and s["seq"] == proof["seq"]), None)
    if seal is None or seal["root"] != proof["root"] or seal["leaf_count"] != proof["tree_size"]:
        raise CheckFailed("the proof's root is not the published root of that day")
    computed = hash_of_leaf(leaf)
    ok = verify_inclusion(bytes.fromhex(computed), proof["index"], proof["tree_size"],
                          [bytes.fromhex(p) for p in proof["audit_path"]], bytes.fromhex(seal["root"]))
    if not ok:
        raise CheckFailed("the audit path does not lead to the published root")
    if receipt_leaf is not None and receipt_leaf != computed:
        as_counted = hash_of_leaf({**leaf, "status": "counted"})
        if receipt_leaf != as_counted:
            raise CheckFailed("the sealed vote is not the one on the receipt")
    return {"day": proof["day"], "seq": proof["seq"], "index": proof["index"], "tree_size": proof["tree_size"],
            "root": seal["root"], "status": leaf["status"], "entry_id": leaf["entry_id"], "count": leaf["count"]}


@dataclass
class Tally:
    """Votes per entry recomputed from the sealed leaves and the published decisions."""

    counted: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)
    invalidated: dict[str, int] = field(default_factory=dict)
    leaves: int = 0

    def add(self, entry: str, state: str, count: int) -> None:
        bucket = {"counted": self.counted, "held": self.held, "invalidated": self.invalidated}[state]
        bucket[entry] = bucket.get(entry, 0) + count
        self.leaves += 1


def sealed_leaves(fetch: Fetch, campaign: str, seal: Mapping[str, Any], page: int = 5000) -> list[dict[str, Any]]:
    """Every leaf of a seal, fetched page by page; their tree's root must be the seal's. Raises CheckFailed."""
    leaves: list[dict[str, Any]] = []
    while len(leaves) < seal["leaf_count"]:
        got = fetch(f"/campaigns/{_q(campaign)}/vote-log/days/{seal['day']}/leaves"
                    f"?seq={seal['seq']}&offset={len(leaves)}&limit={page}")["leaves"]
        if not got:
            break
        leaves.extend(got)
    root = Tree([leaf_hash(canonical_leaf(leaf)) for leaf in leaves]).root().hex()
    if len(leaves) != seal["leaf_count"] or root != seal["root"]:
        raise CheckFailed(f"the leaves of {seal['day']} do not give the published root")
    return leaves


def recount(fetch: Fetch, campaign: str) -> tuple[Tally, dict[str, Any]]:
    """Each entry's votes from the latest seal of every day, each vote in the state the published decisions
    give it (else the state it was sealed in); and the seal list as published."""
    published = fetch(f"/campaigns/{_q(campaign)}/vote-log/seals")
    decisions = {d["vote_id"]: d["state"] for d in fetch(f"/campaigns/{_q(campaign)}/vote-log/decisions")["votes"]}
    tally = Tally()
    for seal in published["seals"]:
        for leaf in sealed_leaves(fetch, campaign, seal):
            tally.add(leaf["entry_id"], decisions.get(leaf["vote_id"], leaf["status"]), leaf["count"])
    return tally, published


def check_tally(fetch: Fetch, campaign: str) -> list[str]:
    """The differences between the recomputed tally and the public standings (none: they agree).

    Only entries whose counts the standings show are compared; a log not yet sealed through the close of voting
    is a difference of its own."""
    tally, published = recount(fetch, campaign)
    standings = fetch(f"/campaigns/{_q(campaign)}/standings")
    problems = [] if published.get("complete") else ["the vote log is not sealed through the close of voting"]
    shown = [e for entries in standings["categories"].values() for e in entries if e.get("votes") is not None]
    if not shown:
        problems.append("the standings show no counts")
    for e in shown:
        got = (tally.counted.get(e["entry_id"], 0), tally.held.get(e["entry_id"], 0),
               tally.invalidated.get(e["entry_id"], 0))
        said = (e["votes"], e.get("held", 0), e.get("invalidated", 0))
        if got != said:
            problems.append(f"entry {e['entry_id']}: standings say counted/held/invalidated {said}, "
                            f"the sealed log gives {got}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a massline vote receipt or tally from published data.")
    parser.add_argument("what", choices=["receipt", "tally"])
    parser.add_argument("--url", required=True, help="The site, e.g. https://vote.example.org")
    parser.add_argument("--campaign", required=True)
    parser.add_argument("--vote-id")
    parser.add_argument("--leaf", help="The receipt's leaf hash, to check the sealed vote is the receipt's.")
    args = parser.parse_args(argv)
    fetch = http_fetch(args.url)
    try:
        if args.what == "receipt":
            if not args.vote_id:
                parser.error("--vote-id is needed")
            print(json.dumps(check_receipt(fetch, args.campaign, args.vote_id, args.leaf), indent=2))
            return 0
        problems = check_tally(fetch, args.campaign)
    except CheckFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    for p in problems:
        print(f"DIFFERS: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
