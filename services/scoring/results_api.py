"""Final review and publication over HTTP: the committee's view and adjustments, the supervisor's approval,
versioned published results, the public results API and its exports."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import Field

from massline.auth import CallerDep, require_role
from massline.errors import RequestBody

from . import exports, publication
from .deps import Deps
from .paths import CampaignId
from .responses import PublishedResults, PublishedVersions

router = APIRouter(tags=["final review and results"])

VersionQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1,  # the column is an int
                                           description="A published version; the latest when omitted.")]


# --- the committee's view and adjustments --------------------------------------------------

@router.get("/campaigns/{campaign_id}/final-review")
async def final_review(campaign_id: CampaignId, deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """Every ranking with its components, explanation and canonical inputs; every expert score, recusal,
    adjustment; the approval and the latest publication (committee, supervisor, admin).

    An expert score keeps its points by criterion id in `criteria` and lists them in `criteria_points`, in the
    campaign's order, each with the criterion's id, its names (`name`, `name_en`) and its maximum."""
    require_role(caller, "committee", "supervisor", "admin")
    return await publication.final_review(deps, campaign_id)


class AdjustmentRequest(RequestBody):
    entry_id: uuid.UUID
    points: float = Field(ge=-100, le=100, description="Points added to (or, negative, taken from) the total.")
    reason: str = Field(min_length=2, max_length=500, examples=["经复核，该账号存在转载未注明来源问题"])



@router.post("/campaigns/{campaign_id}/adjustments", status_code=201)
async def adjust(campaign_id: CampaignId, body: AdjustmentRequest, deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """The committee adjusts an entry's total with a recorded reason; the ranking is recomputed with it."""
    require_role(caller, "committee")
    return await publication.adjust(deps, campaign_id, body.entry_id, body.points, body.reason, caller)


# --- approval and publication --------------------------------------------------------------

class ApprovalRequest(RequestBody):
    note: str = Field("", max_length=500)



@router.post("/campaigns/{campaign_id}/approval", status_code=201)
async def approve(campaign_id: CampaignId, body: ApprovalRequest, deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """The supervising unit approves the rankings exactly as they are now (their digests)."""
    require_role(caller, "supervisor")
    return await publication.approve(deps, campaign_id, body.note, caller)


class PublicationRequest(RequestBody):
    winners: dict[str, int] = Field(default_factory=dict, description="Winners per category, overriding the "
                                    "campaign's plan; with neither, every ranked entry is listed.")



@router.post("/campaigns/{campaign_id}/publication", status_code=201)
async def publish(campaign_id: CampaignId, body: PublicationRequest, deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """Publish the approved rankings as a new, immutable version (committee, admin).

    Refused before the supervisor's approval (`not_approved`), when a ranking changed after it
    (`approval_stale`), and when nothing changed since the last version (`already_published`).
    """
    require_role(caller, "committee", "admin")
    return await publication.publish(deps, campaign_id, body.winners, caller)


# --- public results ------------------------------------------------------------------------

@router.get("/campaigns/{campaign_id}/results/export.csv")
async def results_csv(campaign_id: CampaignId, deps: Deps, version: VersionQuery = None) -> Response:
    """The published results as CSV (UTF-8 with a byte-order mark), one row per entry."""
    results = await publication.published(deps, campaign_id, version)
    return Response(exports.to_csv(results), media_type="text/csv; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="{campaign_id}-results-v{results["version"]}.csv"'})


@router.get("/campaigns/{campaign_id}/results/export.xlsx")
async def results_xlsx(campaign_id: CampaignId, deps: Deps, version: VersionQuery = None) -> Response:
    """The published results as an Excel workbook."""
    results = await publication.published(deps, campaign_id, version)
    return Response(exports.to_xlsx(results),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"content-disposition":
                             f'attachment; filename="{campaign_id}-results-v{results["version"]}.xlsx"'})


@router.get("/campaigns/{campaign_id}/results/commendation", response_class=HTMLResponse)
async def results_commendation(campaign_id: CampaignId, deps: Deps, version: VersionQuery = None) -> HTMLResponse:
    """A printable commendation list: the winners of every category (one page each)."""
    return HTMLResponse(exports.commendation_html(await publication.published(deps, campaign_id, version)))



@router.get("/campaigns/{campaign_id}/results/versions", response_model=PublishedVersions)
async def results_versions(campaign_id: CampaignId, deps: Deps) -> dict[str, Any]:
    """Every published version; a correction supersedes the one before."""
    return await publication.published_versions(deps, campaign_id)


@router.get("/campaigns/{campaign_id}/results", response_model=PublishedResults)
async def results(campaign_id: CampaignId, deps: Deps, version: VersionQuery = None) -> dict[str, Any]:
    """The published results (public): per category the ranked entries, totals, components, winners."""
    return await publication.published(deps, campaign_id, version)
