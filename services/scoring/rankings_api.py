"""The rankings over HTTP (public): every category's latest ranking, or one with its canonical inputs.

While a campaign hides vote counts (voting open, `show_counts` rank_only or hidden), callers without a staff token
of a role that may read them (committee, supervisor, admin, operator) get the rankings without counts, and no
inputs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request

from massline.auth import Caller, current_caller

from . import rankings
from .deps import Deps
from .paths import CampaignId, CategoryId
from .responses import CampaignRankings, CategoryRanking

router = APIRouter(tags=["scoring"])


async def optional_caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller | None:
    """The signed-in caller, or None without a token; a token that is not valid is refused (401) as anywhere."""
    if authorization is None:
        return None
    return await current_caller(request, authorization)


MaybeCaller = Annotated[Caller | None, Depends(optional_caller)]


@router.get("/campaigns/{campaign_id}/rankings", response_model=CampaignRankings)
async def campaign_rankings(campaign_id: CampaignId, deps: Deps, caller: MaybeCaller) -> dict[str, Any]:
    """The latest ranking of every category: each entry's components, total, rank and explanation (without vote
    counts while the campaign hides them, unless the caller may read them)."""
    return await rankings.campaign_rankings(deps, campaign_id, caller.role if caller else None)


@router.get("/campaigns/{campaign_id}/rankings/{category_id}", response_model=CategoryRanking,
            response_model_exclude_unset=True)
async def category_ranking(
    campaign_id: CampaignId,
    category_id: CategoryId,
    deps: Deps,
    caller: MaybeCaller,
    inputs: Annotated[bool, Query(description="Include the canonical inputs the digest was computed from.")] = False,
) -> dict[str, Any]:
    """The latest ranking of one category; with `inputs=true`, sha256 of their canonical JSON is the digest.

    While the campaign hides vote counts, `inputs=true` is refused (403 `counts_hidden`) to callers who may not
    read them."""
    return await rankings.category_ranking(deps, campaign_id, category_id, inputs, caller.role if caller else None)
