"""Routes for campaign definitions and phases, and for what the public reads of a campaign."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from massline.auth import CallerDep, require_role
from massline.errors import RequestBody

from ..deps import Deps
from ..service import campaigns
from ..views import CampaignList, CampaignSummary, PhaseAnswer, PublicCampaign, PublicEntries
from .refusals import submission_router

router = submission_router()


class LoadCampaign(RequestBody):
    definition_yaml: str = Field(min_length=1, max_length=500_000, description="The campaign definition file.")


@router.post("/campaigns", status_code=201, tags=["campaigns"], response_model=CampaignSummary)
async def load_campaign(body: LoadCampaign, deps: Deps, caller: CallerDep) -> CampaignSummary:
    """Load a campaign definition (admins). A definition with any error is refused whole."""
    require_role(caller, "admin")
    return await campaigns.load_campaign(deps, body.definition_yaml, caller)


@router.get("/campaigns", tags=["campaigns"], response_model=CampaignList)
async def list_campaigns(deps: Deps) -> CampaignList:
    return await campaigns.list_campaigns(deps)


@router.get("/campaigns/{campaign_id}", tags=["campaigns"], response_model=PublicCampaign)
async def get_campaign(campaign_id: str, deps: Deps) -> PublicCampaign:
    """The campaign as the public may see it: categories, phases, vote rules, form labels (no exclusions list)."""
    return await campaigns.public_campaign(deps, campaign_id)


class PhaseRequest(RequestBody):
    phase: Literal["nomination", "initial_review", "voting", "expert_review", "final_review", "publication"]


@router.post("/campaigns/{campaign_id}/phase", tags=["campaigns"], response_model=PhaseAnswer,
             response_model_exclude_unset=True)
async def change_phase(campaign_id: str, body: PhaseRequest, deps: Deps, caller: CallerDep) -> PhaseAnswer:
    """Move the campaign into a phase the definition has (admins); every change is an event."""
    require_role(caller, "admin")
    return await campaigns.move_to_phase(deps, campaign_id, body.phase, caller)


@router.get("/public/campaigns/{campaign_id}/entries", tags=["public"], response_model=PublicEntries)
async def public_entries(campaign_id: str, deps: Deps) -> PublicEntries:
    """Approved entries with their public fields only: no personal data, ever."""
    return await campaigns.public_entries(deps, campaign_id)
