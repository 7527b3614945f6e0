"""Expert review over HTTP: panels and experts (admin), assignment, scoring and recusal (experts), reopening
(committee)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import Field

from massline.auth import CallerDep, require_role
from massline.errors import RequestBody

from . import expert_review as service
from .deps import Deps
from .paths import ID_PATTERN, CampaignId, Component, ExpertId, PanelId

router = APIRouter(tags=["expert review"])

# A unit id as the nominating units have them; a region's name. Both are stored in indexed columns.
UnitId = Annotated[str, Field(pattern=ID_PATTERN)]
Region = Annotated[str, Field(min_length=1, max_length=64)]


# --- panels and experts (admin) ------------------------------------------------------------

class PanelRequest(RequestBody):
    name: str = Field(min_length=1, max_length=100, examples=["机构账号评审组"])
    category_ids: list[str] = Field(min_length=1, max_length=20, description="Categories this panel reviews.")
    experts_per_entry: int = Field(3, ge=1, le=20, description="k: how many experts score each entry.")
    deadline: datetime | None = Field(None, description="Scores are refused after it; default: the end of the "
                                                        "campaign's expert_review phase.")
    same_region_conflict: bool = Field(False, description="An expert may not score entries of units in their region.")
    normalization: Literal["none", "zscore"] = "none"
    outlier_points: float = Field(15, gt=0, le=100, description="Mean deviation from the other experts that raises "
                                                                "an outlier alert.")



@router.put("/campaigns/{campaign_id}/panels/{panel_id}")
async def put_panel(campaign_id: CampaignId, panel_id: PanelId, body: PanelRequest, deps: Deps,
                    caller: CallerDep) -> dict[str, Any]:
    """Create or change an expert panel (admins). Changing normalisation reranks its categories."""
    require_role(caller, "admin")
    return await service.put_panel(
        deps, campaign_id, panel_id, name=body.name, category_ids=body.category_ids,
        experts_per_entry=body.experts_per_entry, deadline=body.deadline,
        same_region_conflict=body.same_region_conflict, normalization=body.normalization,
        outlier_points=body.outlier_points)


class ExpertRequest(RequestBody):
    display_name: str = Field(min_length=1, max_length=50)
    unit_id: str | None = Field(None, max_length=64, description="The expert's own unit: never scores its entries.")
    region: str | None = Field(None, max_length=64, description="For the panel's same-region conflict rule.")
    declared_unit_ids: list[UnitId] = Field(default_factory=list, max_length=50,
                                         description="Units the expert declared a conflict of interest with.")



@router.put("/campaigns/{campaign_id}/panels/{panel_id}/experts/{expert_id}")
async def put_expert(campaign_id: CampaignId, panel_id: PanelId, expert_id: ExpertId, body: ExpertRequest,
                     deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """Register an expert (by the username of their staff account) in a panel (admins)."""
    require_role(caller, "admin")
    return await service.put_expert(
        deps, campaign_id, panel_id, expert_id, display_name=body.display_name, unit_id=body.unit_id,
        region=body.region, declared_unit_ids=body.declared_unit_ids)


class UnitRegionsRequest(RequestBody):
    regions: dict[UnitId, Region] = Field(min_length=1, max_length=2000, description="unit id → region",
                                    examples=[{"univ-a": "西安市"}])



@router.put("/campaigns/{campaign_id}/unit-regions")
async def put_unit_regions(campaign_id: CampaignId, body: UnitRegionsRequest, deps: Deps,
                           caller: CallerDep) -> dict[str, Any]:
    """Where each nominating unit is, for the same-region conflict rule (admins)."""
    require_role(caller, "admin")
    return await service.put_unit_regions(deps, campaign_id, body.regions)


@router.post("/campaigns/{campaign_id}/panels/{panel_id}/assignments")
async def assign_panel(campaign_id: CampaignId, panel_id: PanelId, deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """Give every entry of the panel's categories k experts without a conflict, balancing the load (admins).

    Running it again keeps every assignment and fills only what is missing (after a recusal, a new
    entry or a new expert).
    """
    require_role(caller, "admin")
    return await service.assign_panel(deps, campaign_id, panel_id)


# --- the expert's own work -----------------------------------------------------------------

@router.get("/campaigns/{campaign_id}/my-assignments")
async def my_assignments(campaign_id: CampaignId, deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """The entries assigned to the calling expert, with the criteria, their scores so far and the deadline.

    A score the committee reopened says so (`reopened` while it waits to be submitted again) and keeps every
    reopening of it in `reopenings`: when, by whom (the account that reopened it) and the committee's reason.
    """
    require_role(caller, "expert")
    return await service.my_assignments(deps, campaign_id, caller)


class ScoreRequest(RequestBody):
    criteria: dict[str, Any] = Field(description="Points per criterion id.",
                                     examples=[{"standardization": 22, "reach": 20, "influence": 21, "service": 23}])
    submit: bool = Field(True, description="Submit (and lock) the score; false keeps a draft that does not count.")



@router.put("/campaigns/{campaign_id}/my-assignments/{entry_id}/{component}")
async def score_assignment(campaign_id: CampaignId, entry_id: uuid.UUID, component: Component, body: ScoreRequest,
                           deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """Score an assigned entry per criterion. A submitted score is locked until the committee reopens it."""
    require_role(caller, "expert")
    return await service.score_assignment(deps, campaign_id, entry_id, component, body.criteria, body.submit,
                                                caller)


class ReasonRequest(RequestBody):
    reason: str = Field(min_length=2, max_length=500, examples=["本人曾在该单位任职"])



@router.post("/campaigns/{campaign_id}/my-assignments/{entry_id}/recusal")
async def recuse(campaign_id: CampaignId, entry_id: uuid.UUID, body: ReasonRequest, deps: Deps,
                 caller: CallerDep) -> dict[str, Any]:
    """The expert recuses from an assigned entry with a reason; any score they gave no longer counts."""
    require_role(caller, "expert")
    return await service.recuse(deps, campaign_id, entry_id, body.reason, caller)


# --- the committee's view of the review ----------------------------------------------------

class ReopenRequest(RequestBody):
    expert_id: str = Field(pattern=ID_PATTERN)
    entry_id: uuid.UUID
    component: Component
    reason: str = Field(min_length=2, max_length=500, examples=["评分项录入有误，请专家复核"])



@router.post("/campaigns/{campaign_id}/expert-scores/reopen")
async def reopen_score(campaign_id: CampaignId, body: ReopenRequest, deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """Unlock a submitted score with a recorded reason (committee); it stops counting until resubmitted."""
    require_role(caller, "committee", "admin")
    return await service.reopen_score(deps, campaign_id, body.expert_id, body.entry_id, body.component,
                                            body.reason, caller)


@router.get("/campaigns/{campaign_id}/expert-review")
async def expert_review(campaign_id: CampaignId, deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """Progress of the expert review and the outlier alerts (committee, supervisor, admin)."""
    require_role(caller, "committee", "supervisor", "admin")
    return await service.expert_review(deps, campaign_id)
