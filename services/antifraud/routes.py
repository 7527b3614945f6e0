"""Anti-fraud's operator and unit routes: the campaign's policy, the review queue (paged, sorted by what a decision
would do to the ranks), decisions on one case or many, what-if ranks, and how many votes of each entry are held or
invalidated, and why."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, field_validator

from massline.auth import Caller, CallerDep, require_role
from massline.errors import ApiError, RequestBody

from . import domain, holds, service
from .deps import Deps

router = APIRouter(tags=["antifraud"])

REVIEWERS = ("operator", "admin")
# The committee signs the results off and the supervisor oversees the campaign: both read the jumps of the voting
# period (what no rule held), neither acts on them.
JUMP_READERS = (*REVIEWERS, "committee", "supervisor")
MAX_CASES = service.MAX_CASES


# A campaign id as campaign definitions have them: anything else names no campaign, and a policy saved under a long
# one would not fit the index of its table.
CampaignId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="Campaign id.")]


def _reviewer(caller: Caller) -> None:
    require_role(caller, *REVIEWERS)


# --- operators: policy -----------------------------------------------------------------------

class PolicyChange(RequestBody):
    policy: Literal["auto", "flag", "invalidate"] = Field(
        description="auto: a high-confidence finding invalidates its votes at once, every other one holds them for "
                    "review; flag: every finding holds its votes for review (out of the public count until an "
                    "operator confirms or overturns the case); invalidate: every finding invalidates its votes at "
                    "once.")
    reason: str = Field(min_length=2, max_length=500, description="Why, for the audit trail.")
    thresholds: dict[str, float] | None = Field(
        None, description="Detector thresholds of this campaign that differ from the service's, by name (see "
                          "`GET /campaigns/{id}/policy` for every name and its value); {} clears them, absent keeps "
                          "them. Applies to the votes scored from a few seconds on.",
        examples=[{"hold_odds": 50, "device_voters_per_day": 6}])

    @field_validator("thresholds", mode="before")
    @classmethod
    def _known(cls, value: Any) -> Any:
        """Checked as sent: true, "5" or Infinity is no threshold (a number would otherwise be made of them)."""
        if isinstance(value, dict):
            domain.validate_overrides(value)
        return value



@router.get("/campaigns/{campaign_id}/policy")
async def get_policy(campaign_id: CampaignId, deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """What a case does in this campaign: auto, flag (hold for review) or invalidate at once."""
    _reviewer(caller)
    await service.require_campaign(deps, campaign_id)
    return await service.get_policy(deps, campaign_id)


@router.put("/campaigns/{campaign_id}/policy")
async def set_policy(campaign_id: CampaignId, body: PolicyChange, deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """Set the campaign's policy and threshold overrides; applies to cases opened from now on (within seconds)."""
    _reviewer(caller)
    await service.require_campaign(deps, campaign_id)
    return await service.set_policy(deps, campaign_id, body.policy, body.reason, body.thresholds, caller)


# --- the review queue ------------------------------------------------------------------------

CaseStatus = Literal["flagged", "invalidated", "overturned"]



@router.get("/campaigns/{campaign_id}/cases")
async def list_cases(
    campaign_id: CampaignId, deps: Deps, caller: CallerDep,
    status: Annotated[CaseStatus | None, Query()] = None,
    reason: Annotated[str | None, Query(max_length=64, description="only cases of this rule (a code of the "
                                                                   "registry)")] = None,
    sort: Annotated[Literal["impact", "newest"], Query(
        description="impact (default): cases whose decision would change a rank first, then by votes; newest: "
                    "the latest opened first.")] = "impact",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> dict[str, Any]:
    """The review queue, a page at a time: each case with its reason (`reason`, `reason_zh`), what an operator reads,
    how many votes it holds, and its `impact` on the ranks: {changes_rank, entries_moved, votes, alone}.

    A held or invalidated case's impact is the ranks if its votes counted again (whatever other cases hold them too),
    an overturned case's the ranks if it were confirmed; `alone` is the same for deciding this case by itself (the
    votes other cases also hold stay out). `total` is the number of cases matching; `next` the offset of the next
    page (null at the end).
    """
    _reviewer(caller)
    if reason is not None and reason not in domain.REASONS:
        # a typo must not read as "no cases"
        raise RequestValidationError([{
            "loc": ("query", "reason"), "type": "literal_error", "input": reason,
            "msg": f"unknown reason code; known: {', '.join(sorted(domain.REASONS))}"}])
    await service.require_campaign(deps, campaign_id)
    return await service.list_cases(deps, campaign_id, status, reason, sort, limit, offset)


@router.get("/cases/{case_id}")
async def get_case(
    case_id: uuid.UUID, deps: Deps, caller: CallerDep, votes: Annotated[int, Query(ge=0, le=1000)] = 100
) -> dict[str, Any]:
    """One case: the evidence, the votes it holds (identities are pseudonymous), and every decision so far."""
    _reviewer(caller)
    return await service.get_case(deps, case_id, votes)


@router.get("/campaigns/{campaign_id}/identities/{voter_id}")
async def get_identity(campaign_id: CampaignId, voter_id: Annotated[str, Path(max_length=100)], deps: Deps,
                       caller: CallerDep) -> dict[str, Any]:
    """One (pseudonymous) identity: its risk score, every case that holds its votes with the explanation naming
    each signal that contributed (zh and en), and its votes with their state."""
    _reviewer(caller)
    await service.require_campaign(deps, campaign_id)
    return await service.get_identity(deps, campaign_id, voter_id)


# --- decisions: one case or many, the same way ---------------------------------------------------

class CaseDecision(RequestBody):
    decision: domain.Decision = Field(
        description="confirm: the case's votes no longer count; overturn: they count again.")
    reason: str = Field(min_length=2, max_length=1000, description="Why, for the audit trail and the events.")


class BulkDecision(RequestBody):
    case_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_CASES,
                                      description="The cases to decide, all of this campaign (at most 500).")
    decision: domain.Decision = Field(
        description="confirm: the cases' votes no longer count; overturn: they count again.")
    reason: str = Field(min_length=2, max_length=1000, description="Why, for the audit trail and the events.")



@router.post("/cases/{case_id}/decision")
async def decide(case_id: uuid.UUID, body: CaseDecision, deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """Confirm or overturn a case. Audited with who and why; each vote whose standing changes is an event."""
    _reviewer(caller)
    return await service.decide_case(deps, case_id, body.decision, body.reason, caller)


@router.post("/campaigns/{campaign_id}/cases/decisions")
async def decide_many(campaign_id: CampaignId, body: BulkDecision, deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """Confirm or overturn up to 500 cases of the campaign in one transaction, each as the single-case route does
    (audited per case, an event per vote whose standing changes). A case already in the target state is reported as
    skipped; any id that is not a case of this campaign refuses the whole request (404 `cases_not_found`, nothing
    changed)."""
    _reviewer(caller)
    await service.require_campaign(deps, campaign_id)
    return await service.decide_cases(deps, campaign_id, body.case_ids, body.decision, body.reason, caller)


# --- what-if ranks ---------------------------------------------------------------------------

Scenario = Literal["all_held_released", "all_held_confirmed"]


class WhatIf(RequestBody):
    release: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_CASES,
                                     description="Cases as if overturned: their votes count again.")
    confirm: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_CASES,
                                     description="Cases as if confirmed: their votes no longer count.")
    scenario: Scenario | None = Field(None, description="Instead of ids: every held (flagged) case released, or "
                                                        "every held case confirmed.")


def _ids(values: list[str], name: str) -> list[uuid.UUID]:
    """Case ids given as repeated parameters or separated by commas."""
    out: list[uuid.UUID] = []
    for v in values:
        for part in v.split(","):
            if part.strip():
                try:
                    out.append(uuid.UUID(part.strip()))
                except ValueError:
                    raise ApiError(422, "validation_failed", "请求内容有误，请检查标出的字段",
                                   "The request has invalid fields",
                                   [{"field": name, "code": "invalid_value", "message": f"not a case id: {part}"}]
                                   ) from None
    if len(out) > MAX_CASES:
        raise ApiError(422, "validation_failed", "请求内容有误，请检查标出的字段", "The request has invalid fields",
                       [{"field": name, "code": "invalid_value", "message": f"at most {MAX_CASES} case ids"}])
    return list(dict.fromkeys(out))



# FastAPI hands each request a copy of a list default, so `= []` is shared by no two requests.
@router.get("/campaigns/{campaign_id}/what-if")
async def what_if(
    campaign_id: CampaignId, deps: Deps, caller: CallerDep,
    release: Annotated[list[str], Query(description="Case ids as if overturned (repeated or comma-separated).")] = [],  # noqa: B006
    confirm: Annotated[list[str], Query(description="Case ids as if confirmed (repeated or comma-separated).")] = [],  # noqa: B006
    scenario: Annotated[Scenario | None, Query(description="all_held_released | all_held_confirmed")] = None,
) -> dict[str, Any]:
    """Per category, each entry's counted votes and rank now and if the given cases were decided so (or under a
    scenario: every held case released, or every held case confirmed), and which entries would move. The decisions
    are applied as the service would: a released case's vote counts again only if no other case still holds it."""
    _reviewer(caller)
    await service.require_campaign(deps, campaign_id)
    return await service.what_if(deps, campaign_id, _ids(release, "release"), _ids(confirm, "confirm"), scenario)


@router.post("/campaigns/{campaign_id}/what-if")
async def what_if_post(campaign_id: CampaignId, body: WhatIf, deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """The same as GET, with the case ids in the body (for long lists)."""
    _reviewer(caller)
    await service.require_campaign(deps, campaign_id)
    return await service.what_if(deps, campaign_id, list(dict.fromkeys(body.release)),
                                 list(dict.fromkeys(body.confirm)), body.scenario)


@router.get("/campaigns/{campaign_id}/alerts")
async def alerts(
    campaign_id: CampaignId, deps: Deps, caller: CallerDep,
    reason: Annotated[str | None, Query(max_length=64, description="Only this reason code.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> dict[str, Any]:
    """The alerts, the latest first, a page at a time: what tripped, including the network signals that are never
    decisive alone. `total` is the number matching; `next` the offset of the next page (null at the end)."""
    _reviewer(caller)
    await service.require_campaign(deps, campaign_id)
    return await service.alerts(deps, campaign_id, reason, limit, offset)


@router.get("/campaigns/{campaign_id}/jumps")
async def jumps(
    campaign_id: CampaignId, deps: Deps, caller: CallerDep,
    hours: Annotated[int, Query(ge=1, le=168, description="How far back to look.")] = 24,
    whole_campaign: Annotated[bool, Query(description="Every ten minutes of the campaign kept (the voting period's "
                                          "jumps, for the final review), instead of `hours`.")] = False,
    ratio: Annotated[float, Query(ge=1, le=1000, description="The least jump listed: how many times the entry's "
                                  "share earlier that day, read cautiously.")] = service.JUMP_LIST_RATIO,
    min_identities: Annotated[int, Query(ge=1, le=1_000_000, description="The least identities of the entry in "
                                         "its ten minutes.")] = service.JUMP_LIST_MIN,
    min_excess: Annotated[int, Query(ge=1, le=1_000_000, description="Also listed, whatever the ratio: this many "
                                     "identities beyond the entry's share earlier that day, read cautiously (an "
                                     "entry already drawing a third of everyone cannot double).")]
    = service.JUMP_LIST_EXCESS,
) -> dict[str, Any]:
    """The entries whose share of the campaign's identities jumped against their own history (each entry's
    strongest ten minutes, read as the coordination rule reads a surge, from `ratio` times on: softer than the rule,
    which needs the campaign's `surge_ratio`; or `min_excess` identities beyond its history), the strongest first,
    with the votes of those ten minutes that count, are held and were invalidated, and whether the jump reaches the
    rule's `surge`. A jump nothing holds is a crowd — a mention, a share — or a farm whose identities no rule told
    from people: for an operator to look at, and hold by hand (`POST /campaigns/{id}/holds`) if it is bought. The
    committee and the supervisor read it too (the final review shows the voting period's, `whole_campaign`)."""
    require_role(caller, *JUMP_READERS)
    await service.require_campaign(deps, campaign_id)
    return await service.jumps(deps, campaign_id, None if whole_campaign else hours, ratio, min_identities,
                               min_excess)


class HoldRequest(RequestBody):
    entry_id: uuid.UUID = Field(description="The entry whose votes to hold.")
    start: datetime = Field(description="The window's start (with its UTC offset), e.g. a jump's `window_start`.")
    end: datetime | None = Field(None, description="The window's end, not included; now when absent. At most 24 "
                                                   "hours after `start`, and not in the future.")
    identities: Literal["new", "all"] = Field(
        "new", description="new: only the identities whose first vote in the campaign fell in the window (the crowd "
                           "that arrived then; the entry's earlier supporters keep their votes); all: every vote "
                           "for the entry in the window.")
    reason: str = Field(min_length=2, max_length=1000, description="Why, for the audit trail and the events.")
    preview: bool = Field(False, description="Only show what would be held and the ranks if it stopped counting; "
                                             "change nothing.")

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return value
        if value.tzinfo is None:
            raise ValueError("give the time with its UTC offset (e.g. 2026-12-06T14:00:00+08:00)")
        try:
            return value.astimezone(UTC)
        except OverflowError:  # the first or last day a datetime holds, with an offset past it
            raise ValueError("not a time votes can have been cast at") from None


@router.post("/campaigns/{campaign_id}/holds")
async def hold(campaign_id: CampaignId, body: HoldRequest, deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """Hold an entry's votes of a time window out of the public count pending review, by hand: a case of reason
    `manual_hold` in the review queue, confirmed or overturned there like any held case (audited with who and why;
    a VoteFlagged event per vote held). With `preview`, only what it would hold — votes, requests, identities — and
    each category's ranks if those votes stopped counting. Refused with nothing changed: an unknown entry (404
    `entry_not_found`), a window that is empty, over a day or not over (422), nothing to hold (422
    `nothing_to_hold`), a window held already (409 `hold_exists`)."""
    _reviewer(caller)
    await service.require_campaign(deps, campaign_id)
    return await holds.hold(deps, campaign_id, body.entry_id, body.start, body.end, body.identities == "new",
                            body.reason, caller, body.preview)


# --- never a silent change of counts ----------------------------------------------------------

class ReasonCount(BaseModel):
    """The votes of an entry one reason holds or invalidated."""

    state: Literal["flagged", "invalidated"]
    reason_code: str
    reason: str = Field(description="The rule's wording in English.")
    reason_zh: str = Field(description="The rule's wording in Chinese.")
    votes: int = Field(description="Votes (a request may carry several).")
    requests: int = Field(description="Vote requests.")


class EntryInvalidations(BaseModel):
    """An entry's votes that no longer count (invalidated) or are held for review (flagged), and why.

    `entry_name`, `unit_id` and `unit_name` are present when a case still holds the entry's votes."""

    entry_id: str
    invalidated_votes: int
    invalidated_requests: int
    flagged_votes: int
    flagged_requests: int
    reasons: list[ReasonCount]
    entry_name: str | None = None
    unit_id: str | None = None
    unit_name: str | None = None


class CampaignInvalidations(BaseModel):
    campaign_id: str
    entries: list[EntryInvalidations]


class UnitInvalidations(BaseModel):
    unit_id: str
    campaigns: dict[str, list[EntryInvalidations]] = Field(description="Campaign id → the unit's entries in it.")


@router.get("/campaigns/{campaign_id}/invalidations", response_model=CampaignInvalidations,
            response_model_exclude_unset=True)
async def invalidations(campaign_id: CampaignId, deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """Per entry: how many votes no longer count or are held for review, and why (operators)."""
    _reviewer(caller)
    await service.require_campaign(deps, campaign_id)
    return {"campaign_id": campaign_id, "entries": await service.invalidations_per_entry(deps, campaign_id, None)}


@router.get("/units/me/invalidations", response_model=UnitInvalidations, response_model_exclude_unset=True)
async def my_invalidations(
    deps: Deps, caller: CallerDep, campaign_id: Annotated[str | None, Query(max_length=100)] = None
) -> dict[str, Any]:
    """The calling unit's own entries: how many of their votes were invalidated or held, and why."""
    require_role(caller, "unit")
    if not caller.organisation_id:
        raise ApiError(403, "no_organisation", "您的账号未关联单位", "Your account belongs to no unit")
    return await service.unit_invalidations(deps, caller.organisation_id, campaign_id)
