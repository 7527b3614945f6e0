"""Routes for nominations: a unit submits, corrects, withdraws and reports; offices review and verify."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from pydantic import Field

from massline.auth import CallerDep, require_role
from massline.errors import RequestBody

from ..deps import Deps
from ..repository import Metrics
from ..service import nominations, reads, registry
from ..service.nominations import FormSubmission
from ..views import NominationList, NominationView, RegistryAccounts
from .refusals import submission_router

router = submission_router()

NominationStatus = Literal["submitted", "held_for_review", "returned", "approved", "rejected", "withdrawn"]


class NominationRequest(RequestBody):
    category_id: str = Field(min_length=1, max_length=64)
    form: dict[str, Any] = Field(description="Field id → value, as the campaign's form defines.")
    self_nomination: bool = False
    unit_opinion: str | None = Field(None, max_length=1000, description="所在单位意见 (the unit's opinion).")
    registry_account_id: uuid.UUID | None = Field(
        None, description="The account picked from the unit's registry (campaigns with nomination_accounts registry "
                          "or either): its verified name, platform id, platform, level and the snapshot's figures "
                          "fill the form.")

    def submission(self) -> FormSubmission:
        return FormSubmission(self.category_id, self.form, self.self_nomination, self.unit_opinion,
                              self.registry_account_id)


@router.post("/campaigns/{campaign_id}/nominations", status_code=201, tags=["nominations"],
             response_model=NominationView)
async def submit_nomination(
    campaign_id: str, body: NominationRequest, deps: Deps, caller: CallerDep
) -> NominationView:
    """A nominating unit registers a nomination; every rule of the campaign is checked first."""
    require_role(caller, "unit")
    return await nominations.submit(deps, campaign_id, body.submission(), caller)


@router.get("/campaigns/{campaign_id}/registry-accounts", tags=["nominations"], response_model=RegistryAccounts)
async def registry_accounts(campaign_id: str, deps: Deps, caller: CallerDep) -> RegistryAccounts:
    """The caller's unit's registry accounts for the nomination form: status, whether the campaign takes each (and
    the code when not), and the snapshot for the campaign's reference date."""
    require_role(caller, "unit")
    return await registry.unit_accounts(deps, campaign_id, caller)


@router.get("/nominations/{nomination_id}", tags=["nominations"], response_model=NominationView)
async def get_nomination(nomination_id: uuid.UUID, deps: Deps, caller: CallerDep) -> NominationView:
    """A nomination with its form, status and full history (its unit, the offices above it, admins)."""
    return await reads.nomination_view(deps, nomination_id, caller)


@router.get("/campaigns/{campaign_id}/nominations", tags=["nominations"], response_model=NominationList)
async def list_nominations(
    campaign_id: str, deps: Deps, caller: CallerDep, status: NominationStatus | None = None
) -> NominationList:
    """Nominations the caller may see: a unit its own, an office those of units under it; `status` filters."""
    require_role(caller, "unit", "office", "admin")
    return await reads.list_nominations(deps, campaign_id, caller, status)


class ReviewRequest(RequestBody):
    decision: Literal["approve", "return", "reject"]
    reason: str | None = Field(None, max_length=1000,
                               description="The reviewer's reason (核实甄选意见), kept in the history; required to "
                                           "return or reject.")


@router.post("/nominations/{nomination_id}/review", tags=["nominations"], response_model=NominationView)
async def review_nomination(
    nomination_id: uuid.UUID, body: ReviewRequest, deps: Deps, caller: CallerDep
) -> NominationView:
    """An office gives its opinion at the current approval step: approve, return with reason, or reject."""
    require_role(caller, "office", "admin")
    return await nominations.review(deps, nomination_id, body.decision, body.reason, caller)


class CorrectionRequest(NominationRequest):
    pass


@router.put("/nominations/{nomination_id}", tags=["nominations"], response_model=NominationView)
async def correct_nomination(
    nomination_id: uuid.UUID, body: CorrectionRequest, deps: Deps, caller: CallerDep
) -> NominationView:
    """The unit corrects a returned nomination and resubmits it to the first office step."""
    require_role(caller, "unit")
    return await nominations.correct(deps, nomination_id, body.submission(), caller)


@router.post("/nominations/{nomination_id}/withdraw", tags=["nominations"], response_model=NominationView)
async def withdraw_nomination(nomination_id: uuid.UUID, deps: Deps, caller: CallerDep) -> NominationView:
    """The unit withdraws its nomination (before results are published)."""
    require_role(caller, "unit")
    return await nominations.withdraw(deps, nomination_id, caller)


class ContentReviewRequest(RequestBody):
    decision: Literal["release", "return", "reject"] = Field(
        description="release: the content is acceptable, the nomination goes on to its approval step; "
                    "return: the unit corrects it; reject: it is refused.")
    reason: str = Field(min_length=1, max_length=1000, description="Recorded in the history.")


@router.post("/nominations/{nomination_id}/content-review", tags=["nominations"], response_model=NominationView)
async def review_held_content(
    nomination_id: uuid.UUID, body: ContentReviewRequest, deps: Deps, caller: CallerDep
) -> NominationView:
    """An office decides on a nomination the content check held (spam, links outside the campaign's sites)."""
    require_role(caller, "office", "admin")
    return await nominations.decide_content(deps, nomination_id, body.decision, body.reason, caller)


class MetricsRequest(RequestBody):
    followers: int = Field(ge=0, le=10**10)
    posts: int = Field(ge=0, le=10**9)
    interactions: int = Field(ge=0, le=10**12)


@router.put("/nominations/{nomination_id}/metrics/verified", tags=["nominations"], response_model=NominationView)
async def verify_metrics(
    nomination_id: uuid.UUID, body: MetricsRequest, deps: Deps, caller: CallerDep
) -> NominationView:
    """The office records the account metrics it verified (核实); scoring prefers them to reported ones."""
    require_role(caller, "office", "admin")
    return await nominations.verify_metrics(deps, nomination_id, Metrics(body.followers, body.posts,
                                                                         body.interactions), caller)


class ActivityRequest(RequestBody):
    summary: str = Field(min_length=1, max_length=5000, description="互动实践活动总结")
    held_on: date = Field(description="The day the activity was held (campaign time), YYYY-MM-DD.",
                          examples=["2024-09-10"])
    links: list[str] = Field(min_length=1, max_length=20,
                             description="Evidence that it was held: links to its posts or pages (at least one).")


@router.post("/nominations/{nomination_id}/activity", tags=["nominations"], response_model=NominationView)
async def submit_activity(
    nomination_id: uuid.UUID, body: ActivityRequest, deps: Deps, caller: CallerDep
) -> NominationView:
    """The unit reports its practice activity: the day it was held with evidence links, and the summary.

    An activity held outside the campaign's activity period forfeits the activity part (scoring). A summary
    after its deadline is marked late (`activity.on_time: false`); the campaign may refuse it instead
    (`activity_deadline_passed`). No link: 422 `validation_failed`; a day still to come: 422
    `activity_not_yet_held`.
    """
    require_role(caller, "unit")
    return await nominations.submit_activity(deps, nomination_id, body.summary, body.links, body.held_on, caller)
