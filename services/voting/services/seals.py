"""Sealing the vote log (a Merkle root per campaign and day) and serving what anyone needs to check it.

The scheduled task (`handlers.py`), `massline seal` and the tests call `seal_due`; the public routes call the rest.
docs/transparency.md describes the construction and the checks.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from massline.contracts import VoteLogSealed
from massline.outbox import Outbox
from massline.votelog import Tree, canonical_leaf, leaf_hash

from .. import repository as repo
from ..domain import phase_dates, phase_now
from ..domain.errors import SealNotFound, VoteNotSealed
from ..domain.votelog import days_due, first_open_day, leaf_of, log_voter

log = logging.getLogger(__name__)

LEAVES_PAGE_MAX = 5000


async def seal_due(pool: asyncpg.Pool, outbox: Outbox, secret: str, now: datetime, grace: timedelta,
                   campaign_id: str | None = None) -> list[VoteLogSealed]:
    """Seal every day that is due (over, or voting closed) in each campaign with votes, or in the one named.

    Idempotent: a day whose latest seal holds all its votes is left alone. One campaign at a time under a lock, so
    replicas, the scheduled task and `massline seal` never seal the same day twice."""
    made: list[VoteLogSealed] = []
    for campaign in await repo.campaigns_with_votes(pool):
        if campaign_id is not None and campaign.id != campaign_id:
            continue
        voting_open = phase_now(campaign.current_phase, phase_dates(campaign.phases), campaign.timezone,
                                now) == "voting"
        async with pool.acquire() as conn, conn.transaction():
            await repo.lock_sealing(conn, campaign.id)
            days = await repo.days_to_consider(conn, campaign.id,
                                               first_open_day(now, campaign.timezone, voting_open))
            for day in days_due(days, now, campaign.timezone, voting_open, grace):
                made.append(await _seal_day(conn, outbox, secret, campaign.id, day, now))
    return made


async def _seal_day(conn: repo.Conn, outbox: Outbox, secret: str, campaign_id: str, day: date,
                    now: datetime) -> VoteLogSealed:
    leaves: list[tuple[uuid.UUID, str, str]] = []
    for vote_id, voter_id, entry_id, count, status in await repo.votes_of_day(conn, campaign_id, day):
        encoded = canonical_leaf(leaf_of(campaign_id, vote_id, log_voter(secret, campaign_id, voter_id), entry_id,
                                         count, day, status))
        leaves.append((vote_id, encoded.decode(), leaf_hash(encoded).hex()))
    root = Tree([bytes.fromhex(h) for _, _, h in leaves]).root().hex()
    seal = repo.SealRow(day, await repo.next_seal_seq(conn, campaign_id, day), root, len(leaves), now)
    await repo.insert_seal(conn, campaign_id, seal, leaves)
    event = VoteLogSealed(campaign_id=campaign_id, day=day, seq=seal.seq, root=root, leaf_count=len(leaves),
                          sealed_at=now)
    await outbox.record(conn, event, campaign_id=campaign_id)
    log.info("vote log sealed", extra={"campaign_id": campaign_id, "day": day.isoformat(), "seq": seal.seq,
                                       "leaves": len(leaves)})
    return event


def seal_view(seal: repo.SealRow) -> dict[str, Any]:
    return {"day": seal.day.isoformat(), "seq": seal.seq, "root": seal.root, "leaf_count": seal.leaf_count,
            "sealed_at": seal.sealed_at.isoformat()}


async def published_seals(pool: asyncpg.Pool, campaign_id: str, now: datetime) -> dict[str, Any]:
    """The vote-log roots the campaign's tallies come from: the latest seal of each day, and whether every vote is
    in them with voting closed (`complete`: the standings can then be recomputed from the seals alone)."""
    seals = await repo.latest_seals(pool, campaign_id)
    campaign = await repo.get_campaign(pool, campaign_id)
    complete = False
    if campaign is not None:
        closed = phase_now(campaign.current_phase, phase_dates(campaign.phases), campaign.timezone,
                           now) != "voting"
        async with pool.acquire() as conn:
            days = await repo.days_to_consider(conn, campaign_id)
        complete = closed and all(d.votes == d.sealed_leaves for d in days)
    return {"campaign_id": campaign_id, "complete": complete, "seals": [seal_view(s) for s in seals]}


@dataclass
class SealTrees:
    """The trees of the last few seals proofs were asked for (a seal never changes, so they never go stale)."""

    size: int = 8

    def __post_init__(self) -> None:
        self._trees: OrderedDict[tuple[str, date, int], Tree] = OrderedDict()

    async def get(self, pool: asyncpg.Pool, campaign_id: str, seal: repo.SealRow) -> Tree:
        key = (campaign_id, seal.day, seal.seq)
        tree = self._trees.get(key)
        if tree is None:
            tree = Tree(await repo.seal_leaf_hashes(pool, campaign_id, seal.day, seal.seq))
            self._trees[key] = tree
            while len(self._trees) > self.size:
                self._trees.popitem(last=False)
        self._trees.move_to_end(key)
        return tree


async def inclusion_proof(pool: asyncpg.Pool, trees: SealTrees, campaign_id: str,
                          vote_id: uuid.UUID) -> dict[str, Any]:
    """The vote's leaf, its index in the latest seal of its day and the audit path to that seal's root."""
    found = await repo.seal_holding_vote(pool, campaign_id, vote_id)
    if found is None:
        raise VoteNotSealed()
    tree = await trees.get(pool, campaign_id, found.seal)
    return {"campaign_id": campaign_id, "vote_id": str(vote_id), "day": found.seal.day.isoformat(),
            "seq": found.seal.seq, "index": found.index, "tree_size": found.seal.leaf_count,
            "root": found.seal.root, "leaf": json.loads(found.leaf),
            "audit_path": [h.hex() for h in tree.audit_path(found.index)]}


async def day_leaves(pool: asyncpg.Pool, campaign_id: str, day: date, seq: int | None, offset: int,
                     limit: int) -> dict[str, Any]:
    """A page of a day's sealed leaves (the latest seal's, or seal `seq`), in tree order."""
    if seq is None:
        seq = next((s.seq for s in await repo.latest_seals(pool, campaign_id) if s.day == day), None)
    seal = await repo.get_seal(pool, campaign_id, day, seq) if seq is not None else None
    if seal is None:
        raise SealNotFound()
    page = await repo.seal_leaves_page(pool, campaign_id, day, seal.seq, offset, min(limit, LEAVES_PAGE_MAX))
    return {"campaign_id": campaign_id, **seal_view(seal), "offset": offset,
            "leaves": [json.loads(leaf) for leaf in page]}


async def decisions(pool: asyncpg.Pool, campaign_id: str) -> dict[str, Any]:
    """Every vote a decision touched, with its state now and why: subtracted from (or, reinstated, added back to)
    what the seals say."""
    return {"campaign_id": campaign_id, "votes": [
        {"vote_id": str(d["vote_id"]), "state": d["state"],
         "reason_code": d["reason_code"], "reason": d["reason_text"] or d["reason_code"],
         "reason_zh": d["reason_text_zh"] or d["reason_text"] or d["reason_code"]}
        for d in await repo.vote_decisions(pool, campaign_id)]}
