"""Anti-fraud's operator and unit routes: the campaign's policy, the review queue, decisions on cases, and
how many votes of each entry are held or invalidated, and why."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from massline.auth import Caller, CallerDep, require_role
from massline.contracts import VoteInvalidated, VoteReinstated
from massline.errors import ApiError, RequestBody
from massline.service import Runtime, ServiceRuntime

from . import domain
from .handlers import Metrics, _settings
from .repository import Q

log = logging.getLogger(__name__)
router = APIRouter(tags=["antifraud"])

REVIEWERS = ("operator", "admin")


# --- operators: policy, the review queue, decisions ------------------------------------------

def _reviewer(caller: Caller) -> None:
    require_role(caller, *REVIEWERS)


class PolicyChange(RequestBody):
    policy: Literal["flag", "invalidate"] = Field(description="flag: quarantine for review; invalidate: at once.")
    reason: str = Field(min_length=2, max_length=500, description="Why, for the audit trail.")


@router.get("/campaigns/{campaign_id}/policy")
async def get_policy(campaign_id: str, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """What a case does in this campaign: flag (quarantine for review) or invalidate at once."""
    _reviewer(caller)
    policy = await rt.pool.fetchval(Q.policy, campaign_id)
    return {"campaign_id": campaign_id, "policy": policy or _settings(rt).policy, "default": policy is None}


@router.put("/campaigns/{campaign_id}/policy")
async def set_policy(campaign_id: str, body: PolicyChange, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Set the campaign's policy; applies to cases opened from now on."""
    _reviewer(caller)
    row = await rt.pool.fetchrow(Q.set_policy, campaign_id, body.policy, caller.username, body.reason)
    return dict(row)


@router.get("/campaigns/{campaign_id}/cases")
async def list_cases(
    campaign_id: str, rt: Runtime, caller: CallerDep,
    status: Annotated[Literal["flagged", "invalidated", "overturned"] | None, Query()] = None,
    reason: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """The review queue: each case with its reason, what an operator reads, and how many votes it holds."""
    _reviewer(caller)
    rows = await rt.pool.fetch(Q.list_cases, campaign_id, status, reason, limit)
    return {"cases": [dict(r) for r in rows]}


@router.get("/cases/{case_id}")
async def get_case(
    case_id: uuid.UUID, rt: Runtime, caller: CallerDep, votes: Annotated[int, Query(ge=0, le=1000)] = 100
) -> dict[str, Any]:
    """One case: the evidence, the votes it holds (identities are pseudonymous), and every decision so far."""
    _reviewer(caller)
    case = await rt.pool.fetchrow(Q.get_case, case_id)
    if case is None:
        raise ApiError(404, "case_not_found", "案件不存在", "No such case")
    sample = await rt.pool.fetch(Q.case_votes_sample, case_id, votes)
    trail = await rt.pool.fetch(Q.case_decisions, case_id)
    return {**dict(case), "reason": domain.REASONS.get(case["reason_code"], case["reason_code"]),
            "reason_zh": domain.REASONS_ZH.get(case["reason_code"], case["reason_code"]),
            "vote_sample": [dict(r) for r in sample], "decisions": [dict(r) for r in trail]}


class CaseDecision(RequestBody):
    decision: Literal["confirm", "overturn"] = Field(
        description="confirm: the case's votes no longer count; overturn: they count again.")
    reason: str = Field(min_length=2, max_length=1000, description="Why, for the audit trail and the events.")


@router.post("/cases/{case_id}/decision")
async def decide(case_id: uuid.UUID, body: CaseDecision, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Confirm or overturn a case. Audited with who and why; each vote whose standing changes is an event."""
    _reviewer(caller)
    metrics: Metrics = rt.state["metrics"]
    async with rt.pool.acquire() as conn, conn.transaction():
        case = await conn.fetchrow(Q.lock_case, case_id)
        if case is None:
            raise ApiError(404, "case_not_found", "案件不存在", "No such case")
        target = "invalidated" if body.decision == "confirm" else "overturned"
        if case["status"] == target:
            raise ApiError(409, "decision_not_allowed", "该案件已是此状态", f"The case is already {target}",
                           {"status": case["status"]})
        await conn.execute(Q.set_case_status, case_id, target)
        explanation = f"{caller.username}: {body.reason} ({case['explanation']})"
        # A case opened before explanations were written in Chinese has only the English one.
        explanation_zh = f"{caller.username}：{body.reason}（{case['explanation_zh'] or case['explanation']}）"
        events: list[tuple[Any, str]] = []
        if target == "invalidated":
            ids = [r["vote_id"] for r in await conn.fetch(Q.case_vote_ids, case_id)]
            changed = await conn.fetch(Q.invalidate_votes, ids)
            events = [(VoteInvalidated(
                vote_id=r["vote_id"], voter_id=r["voter_id"], entry_id=r["entry_id"], category_id=r["category_id"],
                count=r["count"], reason_code=case["reason_code"], explanation=explanation,
                explanation_zh=explanation_zh, decision_id=case_id), r["campaign_id"]) for r in changed]
            metrics.votes.labels("invalidated").inc(len(changed))
        else:
            changed = await conn.fetch(Q.overturn_votes, case_id)
            # Only a vote that was invalidated is reinstated: the standings never saw a flagged one removed.
            events = [(VoteReinstated(
                vote_id=r["vote_id"], voter_id=r["voter_id"], entry_id=r["entry_id"], category_id=r["category_id"],
                count=r["count"], reason_code=case["reason_code"], explanation=explanation,
                explanation_zh=explanation_zh, decision_id=case_id), r["campaign_id"])
                for r in changed if r["old_state"] == "invalidated"]
            metrics.votes.labels("reinstated").inc(len(events))
        await rt.outbox.record_many(conn, events)
        await conn.execute(Q.audit, case_id, body.decision, caller.username, caller.role, body.reason, len(changed),
                           None)
    metrics.decisions.labels(body.decision).inc()
    log.info("case decided", extra={"campaign_id": case["campaign_id"]})
    return {"id": str(case_id), "status": target, "votes_changed": len(changed),
            "decided_by": caller.username}


@router.get("/campaigns/{campaign_id}/alerts")
async def alerts(campaign_id: str, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """The latest alerts: what tripped, including the network signals that are never decisive alone."""
    _reviewer(caller)
    return {"alerts": [dict(r) for r in await rt.pool.fetch(Q.list_alerts, campaign_id)]}


# --- never a silent change of counts ----------------------------------------------------------

async def _per_entry(rt: ServiceRuntime, campaign_id: str, unit_id: str | None) -> list[dict[str, Any]]:
    entries: dict[str, dict[str, Any]] = {}
    for r in await rt.pool.fetch(Q.entry_totals, campaign_id, unit_id):
        e = entries.setdefault(str(r["entry_id"]), {"entry_id": str(r["entry_id"]), "invalidated_votes": 0,
                                                    "invalidated_requests": 0, "flagged_votes": 0,
                                                    "flagged_requests": 0, "reasons": []})
        e[f"{r['state']}_votes"] = r["votes"]
        e[f"{r['state']}_requests"] = r["requests"]
    for r in await rt.pool.fetch(Q.invalidations_per_entry, campaign_id, unit_id):
        e = entries[str(r["entry_id"])]
        e.update({"entry_name": r["entry_name"], "unit_id": r["unit_id"], "unit_name": r["unit_name"]})
        e["reasons"].append({"state": r["state"], "reason_code": r["reason_code"],
                             "reason": domain.REASONS.get(r["reason_code"], r["reason_code"]),
                             "reason_zh": domain.REASONS_ZH.get(r["reason_code"], r["reason_code"]),
                             "votes": r["votes"], "requests": r["requests"]})
    return list(entries.values())


@router.get("/campaigns/{campaign_id}/invalidations")
async def invalidations(campaign_id: str, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Per entry: how many votes no longer count or are held for review, and why (operators)."""
    _reviewer(caller)
    return {"campaign_id": campaign_id, "entries": await _per_entry(rt, campaign_id, None)}


@router.get("/units/me/invalidations")
async def my_invalidations(
    rt: Runtime, caller: CallerDep, campaign_id: Annotated[str | None, Query(max_length=100)] = None
) -> dict[str, Any]:
    """The calling unit's own entries: how many of their votes were invalidated or held, and why."""
    require_role(caller, "unit")
    if not caller.organisation_id:
        raise ApiError(403, "no_organisation", "您的账号未关联单位", "Your account belongs to no unit")
    campaigns = [campaign_id] if campaign_id else [
        r["campaign_id"] for r in await rt.pool.fetch(Q.unit_campaigns, caller.organisation_id)]
    return {"unit_id": caller.organisation_id,
            "campaigns": {c: await _per_entry(rt, c, caller.organisation_id) for c in campaigns}}
