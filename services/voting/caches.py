"""What the vote path and the public pages read again and again, kept in memory for a moment.

Every vote would otherwise read the campaign and the entry from the database. Both change rarely
(a phase change, an approval), so each process keeps them for `ttl_s`: a phase change or a newly
approved entry takes effect on the vote path within that time. The phase the definition's dates give is
worked out at each vote from the kept dates, so it turns at the very moment the dates say. The public
standings are kept the same way, and forgotten as soon as campaigns or entries change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import asyncpg

from . import repository as repo
from .domain import CampaignRules, daily_limit, entry_cap, phase_dates


class RulesCache:
    def __init__(self, pool_getter: Callable[[], asyncpg.Pool], ttl_s: float = 1.0) -> None:
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
        pool = self._pool()
        campaign = await repo.get_campaign(pool, campaign_id)
        if campaign is None:
            return None
        entries = {e.id: (e.category_id, e.votable) for e in await repo.campaign_entries(pool, campaign_id)}
        return CampaignRules(
            id=campaign_id,
            timezone=campaign.timezone,
            phase=campaign.current_phase,
            votes_per_day=daily_limit(campaign.vote_rules),
            per_entry_daily_cap=entry_cap(campaign.vote_rules),
            entries=entries,
            phases=phase_dates(campaign.phases),
        )


class StandingsCache:
    """The public standings per (campaign, category), each answer kept for `ttl_s`."""

    def __init__(self, ttl_s: float = 1.0) -> None:
        self.ttl_s = ttl_s
        self._cached: dict[tuple[str, str | None], tuple[float, dict[str, Any]]] = {}

    def get(self, campaign_id: str, category_id: str | None) -> dict[str, Any] | None:
        hit = self._cached.get((campaign_id, category_id))
        if hit and time.monotonic() - hit[0] < self.ttl_s:
            return hit[1]
        return None

    def put(self, campaign_id: str, category_id: str | None, answer: dict[str, Any]) -> None:
        self._cached[(campaign_id, category_id)] = (time.monotonic(), answer)

    def clear(self) -> None:
        self._cached.clear()
