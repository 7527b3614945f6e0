"""What the vote path needs to know about campaigns and entries, kept in memory for a moment.

Every vote would otherwise read the campaign and the entry from the database. Both change rarely
(a phase change, an approval), so each process keeps them for `ttl_s`: a phase change or a newly
approved entry takes effect on the vote path within that time.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from .repository import Q


@dataclass(frozen=True)
class CampaignRules:
    id: str
    timezone: str
    phase: str | None
    votes_per_day: int
    per_entry_daily_cap: int | None
    entries: dict[uuid.UUID, tuple[str, bool]]  # entry id -> (category, votable)


class RulesCache:
    def __init__(self, pool_getter: Any, ttl_s: float = 1.0) -> None:
        self._pool = pool_getter
        self.ttl_s = ttl_s
        self._cached: dict[str, tuple[float, CampaignRules | None]] = {}

    async def get(self, campaign_id: str) -> CampaignRules | None:
        hit = self._cached.get(campaign_id)
        if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        rules = await self._load(campaign_id)
        self._cached[campaign_id] = (time.monotonic(), rules)
        return rules

    def invalidate(self) -> None:
        self._cached.clear()

    async def _load(self, campaign_id: str) -> CampaignRules | None:
        pool: asyncpg.Pool = self._pool()
        row = await pool.fetchrow(Q.get_campaign, campaign_id)
        if row is None:
            return None
        entries = {r["id"]: (r["category_id"], r["votable"]) for r in await pool.fetch(Q.campaign_entries, campaign_id)}
        rules = row["vote_rules"]
        cap = rules.get("per_entry_daily_cap")
        return CampaignRules(
            id=campaign_id,
            timezone=row["timezone"],
            phase=row["current_phase"],
            votes_per_day=int(rules.get("votes_per_day", 10)),
            per_entry_daily_cap=int(cap) if cap else None,
            entries=entries,
        )
