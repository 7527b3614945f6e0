"""Voting storage: campaigns and entries learned from events, voters, codes, quotas, the vote log, standings.

The only module that runs the named queries of queries.sql. Each function takes a connection (or the pool,
for a single read) and returns plain values or the typed rows below.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from massline.queries import load_queries

from .domain import AcceptedVote, EntryCounts, LoggedVote, TallyCounts
from .domain.ballots import EntryQuotaKey, KeyOf, QuotaKey
from .domain.sms_guard import WINDOWS, counted_for
from .domain.votelog import LoggedDay

Q = load_queries(Path(__file__).with_name("queries.sql"))

# A connection of the pool (as `pool.acquire()` gives it) or a bare one.
Conn = asyncpg.Connection | PoolConnectionProxy
Db = Conn | asyncpg.Pool


# --- campaigns and entries -----------------------------------------------------------------

@dataclass(frozen=True)
class CampaignRow:
    id: str
    version: int
    timezone: str
    vote_rules: dict[str, Any]
    categories: list[Any]
    current_phase: str | None  # the operator's last phase; None when none was set
    phases: list[dict[str, Any]]  # the definition's phases with their dates, as CampaignLoaded carried them


@dataclass(frozen=True)
class EntryRow:
    """An entry as the vote path needs it: its category and whether it takes votes."""

    id: uuid.UUID
    category_id: str
    votable: bool


@dataclass(frozen=True)
class EntryListing:
    id: uuid.UUID
    category_id: str
    name: str
    unit_name: str


async def get_campaign(db: Db, campaign_id: str) -> CampaignRow | None:
    row = await db.fetchrow(Q.get_campaign, campaign_id)
    return None if row is None else CampaignRow(row["id"], row["version"], row["timezone"], row["vote_rules"],
                                                row["categories"], row["current_phase"], row["phases"])


async def campaign_entries(db: Db, campaign_id: str) -> list[EntryRow]:
    return [EntryRow(r["id"], r["category_id"], r["votable"]) for r in await db.fetch(Q.campaign_entries, campaign_id)]


async def list_entries(db: Db, campaign_id: str, category_id: str | None) -> list[EntryListing]:
    """Votable entries, by category and name."""
    return [EntryListing(r["id"], r["category_id"], r["name"], r["unit_name"])
            for r in await db.fetch(Q.list_entries, campaign_id, category_id)]


async def upsert_campaign(conn: Conn, campaign_id: str, version: int, timezone: str,
                          vote_rules: dict[str, Any], categories: list[Any], phase: str | None,
                          phases: list[dict[str, Any]]) -> None:
    """Keep the campaign as its latest version says (an older version changes nothing)."""
    await conn.execute(Q.upsert_campaign, campaign_id, version, timezone, vote_rules, categories, phase, phases)


async def set_phase(conn: Conn, campaign_id: str, phase: str) -> None:
    await conn.execute(Q.set_phase, campaign_id, phase)


async def upsert_entry(conn: Conn, entry_id: uuid.UUID, campaign_id: str, category_id: str,
                       name: str, unit_name: str) -> None:
    """A finally approved nomination, votable from now on."""
    await conn.execute(Q.upsert_entry, entry_id, campaign_id, category_id, name, unit_name, True)


async def set_entry_votable(conn: Conn, entry_id: uuid.UUID, votable: bool) -> None:
    await conn.execute(Q.set_entry_votable, entry_id, votable)


# --- voters and verification codes ---------------------------------------------------------

@dataclass(frozen=True)
class CodeRow:
    code_hash: str
    sent_at: datetime
    expires_at: datetime
    attempts: int


async def lock_code(conn: Conn, campaign_id: str, phone_hash: str) -> CodeRow | None:
    """The code last sent to a phone, locked until the transaction ends."""
    row = await conn.fetchrow(Q.get_code, campaign_id, phone_hash)
    return None if row is None else CodeRow(row["code_hash"], row["sent_at"], row["expires_at"], row["attempts"])


async def save_code(conn: Conn, campaign_id: str, phone_hash: str, code_hash: str,
                    sent_at: datetime, expires_at: datetime) -> None:
    await conn.execute(Q.save_code, campaign_id, phone_hash, code_hash, sent_at, expires_at)


async def count_attempt(conn: Conn, campaign_id: str, phone_hash: str) -> None:
    await conn.execute(Q.count_attempt, campaign_id, phone_hash)


async def delete_code(conn: Db, campaign_id: str, phone_hash: str) -> None:
    await conn.execute(Q.delete_code, campaign_id, phone_hash)


async def upsert_voter(db: Db, campaign_id: str, voter_id: str, method: str) -> None:
    await db.execute(Q.upsert_voter, campaign_id, voter_id, method)


async def used_today(db: Db, campaign_id: str, voter_id: str, day: date) -> int:
    return int(await db.fetchval(Q.used_today, campaign_id, voter_id, day))


# --- limits on SMS codes, captchas answered ---------------------------------------------------

SmsSlice = tuple[str, int, datetime]  # counter key, window length (s), slice start
SmsSpan = tuple[str, int, datetime, datetime]  # counter key, window length (s), first slice counted, current slice


async def lock_sms_counts(conn: Conn, slices: list[SmsSlice]) -> dict[tuple[str, int], int]:
    """Codes sent per (key, window length) in the given (current) slices, their rows created at zero where missing
    and locked in a fixed order until the transaction ends."""
    k, w, st = _columns(sorted(slices))
    await conn.execute(Q.ensure_sms_counts, k, w, st)
    return {(r["key"], r["window_s"]): r["codes"] for r in await conn.fetch(Q.lock_sms_counts, k, w, st)}


async def earlier_sms_counts(conn: Conn, spans: list[SmsSpan]) -> dict[tuple[str, int], dict[datetime, int]]:
    """Codes per slice start of each (key, window length) in its slices from the first counted up to the current
    one (not included); a slice without a row is not there."""
    out: dict[tuple[str, int], dict[datetime, int]] = {}
    for r in await conn.fetch(Q.earlier_sms_counts, *_columns(spans)):
        out.setdefault((r["key"], r["window_s"]), {})[r["window_start"]] = r["codes"]
    return out


async def add_sms_code(conn: Conn, slices: list[SmsSlice]) -> None:
    """One more code in each of the (locked) current slices."""
    await conn.execute(Q.add_sms_code, *_columns(sorted(slices)))


async def prune_sms_limits(conn: Conn, now: datetime, at_most: int = 50) -> None:
    """Delete up to `at_most` counters of each window whose slices no longer count (an hour's begun over 65 minutes
    ago, a day's over 26 hours ago: the window and one of its slices) and captchas that expired; rows other requests
    hold are skipped."""
    await conn.execute(Q.prune_sms_counts, [now - counted_for(w) for w in WINDOWS], at_most, list(WINDOWS))
    await conn.execute(Q.prune_used_captchas, now, at_most)


async def use_captcha(db: Db, challenge_id: str, expires_at: datetime) -> bool:
    """Record a challenge as answered: False when it was answered before."""
    return await db.fetchval(Q.use_captcha, challenge_id, expires_at) is not None


# --- the vote batch --------------------------------------------------------------------------

def _columns(rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    return [list(col) for col in zip(*rows, strict=True)]


async def take_whole_quota(conn: Conn, keys: list[QuotaKey], asked: list[int],
                           limit: int) -> dict[QuotaKey, int]:
    """Take each voter's whole demand where it fits under `limit`; the voters taken for, with `used` after."""
    rows = await conn.fetch(Q.take_whole_quota, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
                            asked, limit)
    return {(r["campaign_id"], r["voter_id"], r["day"]): r["used"] for r in rows}


async def lock_quota(conn: Conn, keys: list[QuotaKey]) -> dict[QuotaKey, int]:
    """Create the missing quota rows, lock them all (keys sorted: a fixed order), and read `used`."""
    qc, qv, qd = _columns(keys)
    await conn.execute(Q.ensure_quota_rows, qc, qv, qd)
    return {(r["campaign_id"], r["voter_id"], r["day"]): r["used"]
            for r in await conn.fetch(Q.lock_quota_rows, qc, qv, qd)}


async def lock_entry_quota(conn: Conn, keys: list[EntryQuotaKey]) -> dict[EntryQuotaKey, int]:
    """As `lock_quota`, per entry (campaigns with a per-entry cap)."""
    ec, ev, ee, ed = _columns(keys)
    await conn.execute(Q.ensure_entry_quota_rows, ec, ev, ee, ed)
    return {(r["campaign_id"], r["voter_id"], r["entry_id"], r["day"]): r["used"]
            for r in await conn.fetch(Q.lock_entry_quota_rows, ec, ev, ee, ed)}


async def logged_votes(conn: Conn, keys: Iterable[KeyOf]) -> dict[KeyOf, LoggedVote]:
    """The votes in the log under (campaign, voter, idempotency key): entry, count and the answer given."""
    columns = _columns(list(keys))
    if not columns:
        return {}
    return {(r["campaign_id"], r["voter_id"], r["idempotency_key"]): LoggedVote(r["entry_id"], r["count"],
                                                                                  r["response"])
            for r in await conn.fetch(Q.find_votes_by_keys, *columns)}


async def insert_votes(conn: Conn, accepted: Sequence[AcceptedVote]) -> int:
    """Add the votes to the log; how many were new (a key already in the log is skipped)."""
    inserted = await conn.fetch(
        Q.insert_votes,
        [a.vote_id for a in accepted], [a.ballot.campaign_id for a in accepted],
        [a.ballot.voter_id for a in accepted], [a.ballot.idempotency_key for a in accepted],
        [a.ballot.entry_id for a in accepted], [a.ballot.category_id for a in accepted],
        [a.ballot.count for a in accepted], [a.ballot.day for a in accepted],
        [a.ballot.cast_at for a in accepted], [a.answer for a in accepted],
    )
    return len(inserted)


async def set_quota(conn: Conn, rows: Sequence[tuple[str, str, date, int]]) -> None:
    """Write `used` of locked quota rows (campaign, voter, day, used)."""
    if rows:
        await conn.execute(Q.set_quota_rows, *_columns(rows))


async def set_entry_quota(conn: Conn, rows: Sequence[tuple[str, str, uuid.UUID, date, int]]) -> None:
    if rows:
        await conn.execute(Q.set_entry_quota_rows, *_columns(rows))


# --- standings -------------------------------------------------------------------------------

async def standings_for_api(db: Db, campaign_id: str, category_id: str | None) -> list[EntryCounts]:
    return [EntryCounts(r["entry_id"], r["name"], r["unit_name"], r["category_id"], r["votes"], r["held"],
                        r["invalidated"], r["reasons"])
            for r in await db.fetch(Q.standings_for_api, campaign_id, category_id)]


async def category_standings(conn: Conn, campaign_id: str, category_id: str) -> list[TallyCounts]:
    """A category's votable entries with their counted, held and invalidated votes and those per reason."""
    return [TallyCounts(r["entry_id"], r["votes"], r["held"], r["invalidated"], r["reasons"])
            for r in await conn.fetch(Q.category_standings, campaign_id, category_id)]


async def categories_with_entries(conn: Conn, campaign_id: str) -> list[str]:
    return [r["category_id"] for r in await conn.fetch(Q.campaign_categories_with_entries, campaign_id)]


async def lock_category(conn: Conn, campaign_id: str, category_id: str) -> None:
    await conn.execute(Q.lock_category, f"{campaign_id}:{category_id}")


async def add_votes(conn: Conn, totals: dict[uuid.UUID, tuple[str, str, int]]) -> None:
    """Add counted votes per entry: entry -> (campaign, category, votes)."""
    ids = list(totals)
    await conn.execute(Q.add_votes, ids, [totals[i][0] for i in ids], [totals[i][1] for i in ids],
                       [totals[i][2] for i in ids])


async def move_votes(conn: Conn, vote_ids: list[uuid.UUID], targets: list[str],
                     reason_codes: list[str]) -> list[tuple[uuid.UUID, str, str | None]]:
    """Move each vote to its target state where its decision applies; the votes that moved, with the state and
    reason they left."""
    rows = await conn.fetch(Q.move_votes, vote_ids, targets, reason_codes)
    return [(r["vote_id"], r["previous_state"], r["previous_reason"]) for r in rows]


async def adjust_standings(conn: Conn, moves: dict[uuid.UUID, list[Any]]) -> None:
    """Add per entry the differences [campaign, category, votes, held, invalidated]."""
    entries = sorted(moves)
    await conn.execute(Q.adjust_standings, entries, *[[moves[k][i] for k in entries] for i in range(5)])


async def adjust_reasons(conn: Conn, reasons: dict[tuple[uuid.UUID, str, str], int]) -> None:
    keys = sorted(reasons, key=lambda k: (str(k[0]), k[1], k[2]))
    await conn.execute(Q.adjust_reasons, [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
                       [reasons[k] for k in keys])


async def save_reason_labels(conn: Conn,
                             labels: dict[tuple[str, str], tuple[str | None, str | None]]) -> None:
    """Keep each rule's label per (campaign, reason code); a missing label keeps the one stored."""
    keys = sorted(labels)
    await conn.execute(Q.save_reason_labels, [k[0] for k in keys], [k[1] for k in keys],
                       [labels[k][0] for k in keys], [labels[k][1] for k in keys])


# --- sealed vote logs ------------------------------------------------------------------------

@dataclass(frozen=True)
class CampaignClock:
    """What the sealer needs of a campaign: its time zone and phase, to tell whether a day is over."""

    id: str
    timezone: str
    current_phase: str | None
    phases: list[dict[str, Any]]


@dataclass(frozen=True)
class SealRow:
    day: date
    seq: int
    root: str
    leaf_count: int
    sealed_at: datetime


@dataclass(frozen=True)
class VoteInSeal:
    """A vote's place in the latest seal holding it: the seal, the index and the leaf's JSON."""

    seal: SealRow
    index: int
    leaf: str


async def campaigns_with_votes(db: Db) -> list[CampaignClock]:
    return [CampaignClock(r["id"], r["timezone"], r["current_phase"], r["phases"])
            for r in await db.fetch(Q.campaigns_with_votes)]


async def lock_sealing(conn: Conn, campaign_id: str) -> None:
    await conn.execute(Q.lock_sealing, campaign_id)


async def days_to_consider(conn: Conn, campaign_id: str, before: date | None = None) -> list[LoggedDay]:
    """The days that may need a seal, before `before` when given (the day taking votes is never due)."""
    return [LoggedDay(r["day"], r["votes"], r["last_cast_at"], r["sealed_leaves"])
            for r in await conn.fetch(Q.days_to_consider, campaign_id, before)]


async def votes_of_day(conn: Conn, campaign_id: str, day: date) -> list[tuple[uuid.UUID, str, uuid.UUID, int, str]]:
    """(vote, voter, entry, count, state now) of each of the day's votes, by vote id."""
    return [(r["vote_id"], r["voter_id"], r["entry_id"], r["count"], r["status"])
            for r in await conn.fetch(Q.votes_of_day, campaign_id, day)]


async def insert_seal(conn: Conn, campaign_id: str, seal: SealRow, leaves: list[tuple[uuid.UUID, str, str]]) -> None:
    """Write a seal and its leaves (vote, leaf JSON, leaf hash) in tree order."""
    await conn.execute(Q.insert_seal, campaign_id, seal.day, seal.seq, seal.root, seal.leaf_count, seal.sealed_at)
    await conn.execute(Q.insert_seal_leaves, campaign_id, seal.day, seal.seq, list(range(len(leaves))),
                       *_columns(leaves))


async def next_seal_seq(conn: Conn, campaign_id: str, day: date) -> int:
    return int(await conn.fetchval(Q.next_seal_seq, campaign_id, day))


def _seal(r: Any) -> SealRow:
    return SealRow(r["day"], r["seq"], r["root"], r["leaf_count"], r["sealed_at"])


async def latest_seals(db: Db, campaign_id: str) -> list[SealRow]:
    return [_seal(r) for r in await db.fetch(Q.latest_seals, campaign_id)]


async def get_seal(db: Db, campaign_id: str, day: date, seq: int) -> SealRow | None:
    row = await db.fetchrow(Q.get_seal, campaign_id, day, seq)
    return None if row is None else _seal(row)


async def seal_holding_vote(db: Db, campaign_id: str, vote_id: uuid.UUID) -> VoteInSeal | None:
    row = await db.fetchrow(Q.seal_holding_vote, campaign_id, vote_id)
    return None if row is None else VoteInSeal(_seal(row), row["idx"], row["leaf"])


async def seal_leaf_hashes(db: Db, campaign_id: str, day: date, seq: int) -> list[bytes]:
    return [bytes.fromhex(r["hash"]) for r in await db.fetch(Q.seal_leaf_hashes, campaign_id, day, seq)]


async def seal_leaves_page(db: Db, campaign_id: str, day: date, seq: int, offset: int, limit: int) -> list[str]:
    return [r["leaf"] for r in await db.fetch(Q.seal_leaves_page, campaign_id, day, seq, offset, limit)]


async def vote_decisions(db: Db, campaign_id: str) -> list[dict[str, Any]]:
    """Each vote of the campaign a decision touched: its state now, the reason code and label."""
    return [dict(r) for r in await db.fetch(Q.vote_decisions, campaign_id)]
