"""The rankings over HTTP (public): every category's latest ranking, or one with its canonical inputs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from . import rankings
from .deps import Deps
from .paths import CampaignId, CategoryId
from .responses import CampaignRankings, CategoryRanking

router = APIRouter(tags=["scoring"])


@router.get("/campaigns/{campaign_id}/rankings", response_model=CampaignRankings)
async def campaign_rankings(campaign_id: CampaignId, deps: Deps) -> dict[str, Any]:
    """The latest ranking of every category: each entry's components, total, rank and explanation."""
    return await rankings.campaign_rankings(deps, campaign_id)


@router.get("/campaigns/{campaign_id}/rankings/{category_id}", response_model=CategoryRanking,
            response_model_exclude_unset=True)
async def category_ranking(
    campaign_id: CampaignId,
    category_id: CategoryId,
    deps: Deps,
    inputs: Annotated[bool, Query(description="Include the canonical inputs the digest was computed from.")] = False,
) -> dict[str, Any]:
    """The latest ranking of one category; with `inputs=true`, sha256 of their canonical JSON is the digest."""
    return await rankings.category_ranking(deps, campaign_id, category_id, inputs)
