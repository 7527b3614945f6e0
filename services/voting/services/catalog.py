"""Campaigns and entries as the voting service learns them from events, and the entries open for voting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from massline.consumer import Delivered
from massline.contracts import (
    CampaignLoaded,
    NominationApproved,
    NominationRejected,
    NominationWithdrawn,
    PhaseChanged,
)
from massline.localtime import DEFAULT_ZONE

from .. import domain
from .. import repository as repo
from ..deps import VotingDeps
from ..domain import CampaignNotFound
from .standings import emit_tallies


async def learn_campaigns(conn: asyncpg.Connection, deps: VotingDeps, batch: Sequence[Delivered]) -> None:
    """Keep each campaign's vote rules, its phases' dates and the operator's phase; when the operator closes
    voting (voting by the operator's last phase or, without one, by the dates), send the final tallies."""
    for item in batch:
        e = item.event
        if isinstance(e, CampaignLoaded):
            await repo.upsert_campaign(conn, e.campaign_id, e.version, e.timezone,
                                       e.vote_rules.model_dump(mode="json"),
                                       [c.model_dump(mode="json") for c in e.categories], e.current_phase,
                                       [p.model_dump(mode="json") for p in e.phases])
        elif isinstance(e, PhaseChanged):
            campaign = await repo.get_campaign(conn, e.campaign_id)
            await repo.set_phase(conn, e.campaign_id, e.phase)
            phases = domain.phase_dates(campaign.phases) if campaign else ()
            timezone = campaign.timezone if campaign else DEFAULT_ZONE
            if domain.closes_voting(e.previous_phase, e.phase, phases, timezone, item.envelope.occurred_at):
                await emit_tallies(conn, deps, e.campaign_id, None, final=True)
    deps.standings_cache.clear()


async def learn_entries(conn: asyncpg.Connection, deps: VotingDeps, batch: Sequence[Delivered]) -> None:
    """Finally approved nominations become votable entries; withdrawn or rejected ones stop taking votes."""
    for item in batch:
        e = item.event
        if isinstance(e, NominationApproved) and e.final:
            await repo.upsert_entry(conn, e.nomination_id, item.envelope.campaign_id, e.category_id,
                                    e.entry_name, e.unit_name)
        elif isinstance(e, (NominationWithdrawn, NominationRejected)):
            await repo.set_entry_votable(conn, e.nomination_id, False)
    deps.standings_cache.clear()


async def votable_entries(deps: VotingDeps, campaign_id: str, category_id: str | None) -> dict[str, Any]:
    """The entries open for voting, by category and name."""
    pool = deps.rt.pool
    if await repo.get_campaign(pool, campaign_id) is None:
        raise CampaignNotFound()
    return {"entries": [{"entry_id": str(r.id), "category_id": r.category_id, "name": r.name,
                         "unit_name": r.unit_name} for r in await repo.list_entries(pool, campaign_id, category_id)]}
