"""The audit trail: every decision of a service, hash-chained per campaign, in the decision's own transaction.

Each service keeps its own chain per campaign (table `audit_log`, head in `audit_heads`, in the service's schema):
row n holds prev_hash = hash of row n-1 (64 zeros for row 1) and

    hash = hex(SHA-256(utf8(prev_hash) || canonical(row)))

where `row` is the JSON object {action, actor, at, campaign_id, details, seq, subject} and `canonical` is JSON with
keys sorted, no whitespace, text as UTF-8, integers only (docs/audit.md says it byte for byte). A changed row no
longer matches its hash; a deleted or inserted one breaks the link of the row after it; a deleted tail no longer
reaches the head. `verify_chain` says which.

    async with rt.unit_of_work() as uow:
        ...the decision...
        await audit.append(uow.conn, [audit.Entry(campaign_id, "nomination.approve", f"nomination:{id}",
                                                   {"step": "office"}, audit.staff(caller.role, caller.username))])
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

from .db import Connection

GENESIS = "0" * 64
ROW_FIELDS = ("action", "actor", "at", "campaign_id", "details", "seq", "subject")
PAGE = 1000

_ENSURE_HEAD = "INSERT INTO audit_heads (campaign_id, seq, hash) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING"
_LOCK_HEAD = "SELECT seq, hash FROM audit_heads WHERE campaign_id = $1 FOR UPDATE"
_INSERT_ROW = """
INSERT INTO audit_log (campaign_id, seq, at, actor, action, subject, details, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""
_MOVE_HEAD = "UPDATE audit_heads SET seq = $2, hash = $3, at = $4 WHERE campaign_id = $1"
_HEAD = "SELECT campaign_id, seq, hash, at FROM audit_heads WHERE campaign_id = $1 AND seq > 0"
_CAMPAIGNS = "SELECT campaign_id FROM audit_heads UNION SELECT DISTINCT campaign_id FROM audit_log ORDER BY 1"
_KEPT = "SELECT to_regclass('audit_log') IS NOT NULL"
_ROWS = """
SELECT campaign_id, seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log
WHERE campaign_id = $1 AND seq > $2 ORDER BY seq LIMIT $3
"""


class NotCanonical(ValueError):
    """A value the canonical encoding does not take (a float, a non-text key, an object of another type)."""


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        raise NotCanonical(f"{path}: a float ({value!r}); write decimals as text")
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonical(f"{path}: key {key!r} is not text")
            _check(item, f"{path}.{key}")
        return
    raise NotCanonical(f"{path}: {type(value).__name__} is not JSON")


def canonical(value: Any) -> bytes:
    """The one byte string a value encodes to: sorted keys, no whitespace, UTF-8, integers but no floats."""
    _check(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def timestamp(at: datetime) -> str:
    """An instant as the chain writes it: UTC, microseconds, `Z` (2024-05-01T08:00:00.000000Z)."""
    if at.tzinfo is None:
        raise ValueError("an audit time must carry its time zone")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def staff(role: str, username: str) -> str:
    """The actor of a person's decision: their role and username (never their name, phone or organisation)."""
    return f"{role}:{username}"


def service(name: str) -> str:
    """The actor of an automatic decision: the service that took it."""
    return f"service:{name}"


@dataclass(frozen=True)
class Entry:
    """A decision to record: what it was, on what, with which facts, by whom."""

    campaign_id: str
    action: str
    subject: str
    details: Mapping[str, Any]
    actor: str


@dataclass(frozen=True)
class Row:
    """A stored row of a chain. `details` is the canonical JSON text that was hashed."""

    campaign_id: str
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    details: str
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        return {"action": self.action, "actor": self.actor, "at": self.at, "campaign_id": self.campaign_id,
                "details": json.loads(self.details), "seq": self.seq, "subject": self.subject}

    def public(self) -> dict[str, Any]:
        return {**self.body(), "prev_hash": self.prev_hash, "hash": self.hash}


@dataclass(frozen=True)
class Head:
    """The last row of a campaign's chain in one service: what a publication carries and the public may check."""

    service: str
    campaign_id: str
    seq: int
    hash: str
    at: str | None = None

    def public(self) -> dict[str, Any]:
        return {"service": self.service, "campaign_id": self.campaign_id, "seq": self.seq, "hash": self.hash,
                "at": self.at}


def row_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    """hex(SHA-256(utf8(prev_hash) || canonical(body)))."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(dict(body))).hexdigest()


def make_row(entry: Entry, seq: int, prev_hash: str, at: datetime) -> Row:
    details = canonical(dict(entry.details)).decode("utf-8")
    row = Row(entry.campaign_id, seq, timestamp(at), entry.actor, entry.action, entry.subject, details, prev_hash, "")
    return replace(row, hash=row_hash(prev_hash, row.body()))


async def append(conn: Connection, entries: Sequence[Entry], *, at: datetime | None = None) -> list[Row]:
    """Append decisions to their campaigns' chains inside the caller's transaction.

    Each campaign's head row is locked (FOR UPDATE) until the transaction ends, so two decisions of one campaign
    chain one after the other; heads are locked in campaign order, so two transactions never wait on each other
    in a circle. Call it last in the transaction: the head stays locked only for the commit.
    """
    written: list[Row] = []
    for campaign_id in sorted({e.campaign_id for e in entries}):
        await conn.execute(_ENSURE_HEAD, campaign_id, GENESIS)
        head = await conn.fetchrow(_LOCK_HEAD, campaign_id)
        assert head is not None  # inserted just above, or there already
        when = at or datetime.now(UTC)  # read under the lock, so times follow the order of the chain
        seq, prev = int(head["seq"]), str(head["hash"])
        for entry in (e for e in entries if e.campaign_id == campaign_id):
            seq += 1
            row = make_row(entry, seq, prev, when)
            await conn.execute(_INSERT_ROW, row.campaign_id, row.seq, when, row.actor, row.action, row.subject,
                               row.details, row.prev_hash, row.hash)
            written.append(row)
            prev = row.hash
        await conn.execute(_MOVE_HEAD, campaign_id, seq, prev, when)
    return written


def _row(r: asyncpg.Record) -> Row:
    return Row(r["campaign_id"], int(r["seq"]), timestamp(r["at"]), r["actor"], r["action"], r["subject"],
               r["details"], r["prev_hash"], r["hash"])


async def head(conn: Connection, service_name: str, campaign_id: str) -> Head | None:
    """The campaign's chain head in this service; None while the chain is empty."""
    r = await conn.fetchrow(_HEAD, campaign_id)
    if r is None:
        return None
    return Head(service_name, campaign_id, int(r["seq"]), r["hash"], timestamp(r["at"]) if r["at"] else None)


async def rows(conn: Connection, campaign_id: str, *, after: int = 0, limit: int = 100) -> list[Row]:
    """The chain's rows with seq > `after`, in order, at most `limit`."""
    return [_row(r) for r in await conn.fetch(_ROWS, campaign_id, after, limit)]


async def kept(conn: Connection) -> bool:
    """Whether this schema has an audit trail (its service migrated)."""
    return bool(await conn.fetchval(_KEPT))


async def campaigns(conn: Connection) -> list[str]:
    """Every campaign with a chain in this service."""
    return [r["campaign_id"] for r in await conn.fetch(_CAMPAIGNS)]


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class Break:
    """The first row of a chain that is not as it was written."""

    service: str
    campaign_id: str
    seq: int
    kind: str  # hash_mismatch | broken_link | head_mismatch | anchor_mismatch
    detail: str

    def line(self) -> str:
        return f"{self.service} {self.campaign_id} seq {self.seq}: {self.kind}: {self.detail}"


@dataclass
class ChainCheck:
    """Walks one chain row by row (`feed`), then checks its head (`finish`); keeps the first break."""

    service: str
    campaign_id: str
    seq: int = 0
    last_hash: str = GENESIS
    rows: int = 0
    hashes: dict[int, str] = field(default_factory=dict)
    broken: Break | None = None

    def _break(self, seq: int, kind: str, detail: str) -> None:
        if self.broken is None:
            self.broken = Break(self.service, self.campaign_id, seq, kind, detail)

    def feed(self, row: Row) -> None:
        if self.broken is not None:
            return
        expected = self.seq + 1
        if row.seq != expected:
            self._break(expected, "broken_link",
                        f"row {expected} is missing: the next row is {row.seq}" if row.seq > expected
                        else f"row {row.seq} appears again after row {self.seq}")
            return
        try:
            recomputed = row_hash(row.prev_hash, row.body())
        except ValueError:  # details no longer JSON (or no longer canonical values)
            recomputed = "not computable: the details are not canonical JSON"
        if recomputed != row.hash:
            self._break(row.seq, "hash_mismatch",
                        f"the row's content does not match its hash (stored {row.hash[:16]}…, "
                        f"recomputed {recomputed[:16]}…): a field of this row was changed")
            return
        if row.prev_hash != self.last_hash:
            self._break(row.seq, "broken_link",
                        f"prev_hash {row.prev_hash[:16]}… is not the hash of row {self.seq} "
                        f"({self.last_hash[:16]}…): a row before was replaced, inserted or deleted")
            return
        self.seq, self.last_hash, self.rows = row.seq, row.hash, self.rows + 1
        self.hashes[row.seq] = row.hash

    def finish(self, head: Head | None) -> Break | None:
        if self.broken is None and head is not None and (head.seq, head.hash) != (self.seq, self.last_hash):
            if head.seq > self.seq:
                self._break(self.seq + 1, "broken_link",
                            f"rows {self.seq + 1}..{head.seq} are missing: the head is at row {head.seq}, "
                            f"the chain ends at row {self.seq}")
            else:
                self._break(head.seq, "head_mismatch",
                            f"the head (row {head.seq}, {head.hash[:16]}…) is not the chain's last row "
                            f"(row {self.seq}, {self.last_hash[:16]}…)")
        return self.broken

    def check_anchor(self, seq: int, hash_: str, where: str) -> Break | None:
        """A head published elsewhere (a ResultsPublished) must still be a row of this chain."""
        if self.broken is None and self.hashes.get(seq) != hash_:
            found = self.hashes.get(seq)
            self._break(seq, "anchor_mismatch",
                        f"{where} published row {seq} as {hash_[:16]}…; the chain "
                        + (f"holds {found[:16]}…" if found else "has no such row"))
        return self.broken


def verify_rows(service_name: str, campaign_id: str, chain: Iterable[Row], head_: Head | None) -> Break | None:
    """The first break of one chain held in memory (None: intact)."""
    check = ChainCheck(service_name, campaign_id)
    for r in chain:
        check.feed(r)
    return check.finish(head_)


async def verify_campaign(conn: Connection, service_name: str, campaign_id: str) -> ChainCheck:
    """Recompute one campaign's chain in this service from the database, a page at a time."""
    check = ChainCheck(service_name, campaign_id)
    after = 0
    while True:
        page = await rows(conn, campaign_id, after=after, limit=PAGE)
        for r in page:
            check.feed(r)
        if len(page) < PAGE:
            break
        after = page[-1].seq
    check.finish(await head(conn, service_name, campaign_id))
    return check
