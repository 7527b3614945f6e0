"""Expert review over HTTP: panels and experts (admin), assignment, scoring and recusal (experts), reopening (committee)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Path
from pydantic import Field

from massline.auth import Caller, CallerDep, require_role
from massline.contracts import ExpertAssigned, ExpertScoreReopened
from massline.errors import ApiError, RequestBody
from massline.service import Runtime, ServiceRuntime

from . import domain, review
from .handlers import ID_PATTERN, CampaignId, recompute
from .repository import Q, activity_status

router = APIRouter(tags=["expert review"])

PanelId = Annotated[str, Path(pattern=ID_PATTERN, description="Panel id.", examples=["panel-institutional"])]
ExpertId = Annotated[str, Path(pattern=ID_PATTERN, description="The expert's username.", examples=["expert-li"])]
Component = Literal["expert", "activity"]
COMPONENT_CRITERIA = {"expert": "expert_criteria", "activity": "activity_criteria"}


# --- errors --------------------------------------------------------------------------------

def campaign_not_found(campaign_id: str) -> ApiError:
    return ApiError(404, "campaign_not_found", "评分服务尚未收到该活动", "Scoring does not know this campaign yet",
                    {"campaign_id": campaign_id})


def panel_not_found(campaign_id: str, panel_id: str) -> ApiError:
    return ApiError(404, "panel_not_found", "评审组不存在", "No such expert panel",
                    {"campaign_id": campaign_id, "panel_id": panel_id})


def _refused(e: review.ScoreRefused) -> ApiError:
    return ApiError(422, e.code, e.zh, e.en, e.details)


# --- shared lookups ------------------------------------------------------------------------

async def campaign_or_404(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: str) -> asyncpg.Record:
    campaign = await conn.fetchrow(Q.get_campaign, campaign_id)
    if campaign is None:
        raise campaign_not_found(campaign_id)
    return campaign


def criteria_of(campaign: asyncpg.Record, component: str) -> tuple[review.Criterion, ...]:
    return review.criteria_from_config((campaign["scoring"] or {}).get(COMPONENT_CRITERIA[component]))\
        or review.DEFAULT_CRITERIA


def review_deadline(panel: asyncpg.Record | None, campaign: asyncpg.Record) -> datetime | None:
    """The panel's own deadline, else the end of the campaign's expert review phase."""
    if panel is not None and panel["deadline"] is not None:
        return panel["deadline"]
    for phase in campaign["phases"] or ():
        if phase.get("id") == "expert_review" and phase.get("ends_at"):
            return datetime.fromisoformat(phase["ends_at"])
    return None


def components_reviewed(campaign: asyncpg.Record) -> list[str]:
    """Experts score the account, and the practice activity when it weighs anything."""
    weights = domain.ScoringRules.from_config(campaign["scoring"]).weights
    return [c for c in ("expert", "activity") if weights.get(c, 0) > 0]


async def expert_or_403(conn: asyncpg.Connection, campaign_id: str, caller: Caller) -> asyncpg.Record:
    require_role(caller, "expert")
    expert = await conn.fetchrow(Q.get_expert, campaign_id, caller.username)
    if expert is None:
        raise ApiError(403, "not_an_expert", "您不是本活动的评审专家", "You are not an expert of this campaign",
                       {"campaign_id": campaign_id})
    return expert


def _now() -> datetime:
    return datetime.now(timezone.utc)


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
async def put_panel(campaign_id: CampaignId, panel_id: PanelId, body: PanelRequest, rt: Runtime,
                    caller: CallerDep) -> dict[str, Any]:
    """Create or change an expert panel (admins). Changing normalisation reranks its categories."""
    require_role(caller, "admin")
    async with rt.pool.acquire() as conn, conn.transaction():
        campaign = await campaign_or_404(conn, campaign_id)
        known = {c["id"] for c in campaign["categories"]}
        unknown = sorted(set(body.category_ids) - known)
        if unknown:
            raise ApiError(422, "category_unknown", "活动中没有该类别", "The campaign has no such category",
                           {"unknown": unknown, "categories": sorted(known)})
        row = await conn.fetchrow(Q.upsert_panel, campaign_id, panel_id, body.name, sorted(set(body.category_ids)),
                                  body.experts_per_entry, body.deadline, body.same_region_conflict,
                                  body.normalization, body.outlier_points)
        await recompute(conn, rt, [(campaign_id, c) for c in row["category_ids"]])
    return _panel_body(row)


def _panel_body(row: asyncpg.Record) -> dict[str, Any]:
    return {"panel_id": row["panel_id"], "name": row["name"], "category_ids": list(row["category_ids"]),
            "experts_per_entry": row["experts_per_entry"],
            "deadline": row["deadline"].isoformat() if row["deadline"] else None,
            "same_region_conflict": row["same_region_conflict"], "normalization": row["normalization"],
            "outlier_points": float(row["outlier_points"])}


class ExpertRequest(RequestBody):
    display_name: str = Field(min_length=1, max_length=50)
    unit_id: str | None = Field(None, max_length=64, description="The expert's own unit: never scores its entries.")
    region: str | None = Field(None, max_length=64, description="For the panel's same-region conflict rule.")
    declared_unit_ids: list[str] = Field(default_factory=list, max_length=50,
                                         description="Units the expert declared a conflict of interest with.")


@router.put("/campaigns/{campaign_id}/panels/{panel_id}/experts/{expert_id}")
async def put_expert(campaign_id: CampaignId, panel_id: PanelId, expert_id: ExpertId, body: ExpertRequest,
                     rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Register an expert (by the username of their staff account) in a panel (admins)."""
    require_role(caller, "admin")
    async with rt.pool.acquire() as conn, conn.transaction():
        if await conn.fetchrow(Q.get_panel, campaign_id, panel_id) is None:
            raise panel_not_found(campaign_id, panel_id)
        row = await conn.fetchrow(Q.upsert_expert, campaign_id, expert_id, panel_id, body.display_name,
                                  body.unit_id, body.region, sorted(set(body.declared_unit_ids)))
    return {"expert_id": row["expert_id"], "panel_id": row["panel_id"], "display_name": row["display_name"],
            "unit_id": row["unit_id"], "region": row["region"], "declared_unit_ids": list(row["declared_unit_ids"])}


class UnitRegionsRequest(RequestBody):
    regions: dict[str, str] = Field(min_length=1, max_length=2000, description="unit id → region",
                                    examples=[{"univ-a": "西安市"}])


@router.put("/campaigns/{campaign_id}/unit-regions")
async def put_unit_regions(campaign_id: CampaignId, body: UnitRegionsRequest, rt: Runtime,
                           caller: CallerDep) -> dict[str, Any]:
    """Where each nominating unit is, for the same-region conflict rule (admins)."""
    require_role(caller, "admin")
    async with rt.pool.acquire() as conn, conn.transaction():
        await campaign_or_404(conn, campaign_id)
        for unit_id, region in sorted(body.regions.items()):
            await conn.execute(Q.upsert_unit_region, campaign_id, unit_id, region)
    return {"campaign_id": campaign_id, "regions": len(body.regions)}


CONFLICT_REASONS = {"same_unit": "同单位 / same unit", "same_region": "同地区 / same region",
                    "declared": "专家声明的利益冲突 / declared by the expert"}


@router.post("/campaigns/{campaign_id}/panels/{panel_id}/assignments")
async def assign_panel(campaign_id: CampaignId, panel_id: PanelId, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Give every entry of the panel's categories k experts without a conflict, balancing the load (admins).

    Running it again keeps every assignment and fills only what is missing (after a recusal, a new
    entry or a new expert).
    """
    require_role(caller, "admin")
    async with rt.pool.acquire() as conn, conn.transaction():
        await conn.execute(Q.lock_assignment, campaign_id)
        campaign = await campaign_or_404(conn, campaign_id)
        panel = await conn.fetchrow(Q.get_panel, campaign_id, panel_id)
        if panel is None:
            raise panel_not_found(campaign_id, panel_id)
        experts = [review.Expert(x["expert_id"], x["unit_id"], x["region"], tuple(x["declared_unit_ids"]))
                   for x in await conn.fetch(Q.panel_experts, campaign_id, panel_id)]
        if not experts:
            raise ApiError(409, "panel_has_no_experts", "评审组还没有专家", "The panel has no experts yet",
                           {"panel_id": panel_id})
        entries = [review.Entry(str(e["id"]), e["unit_id"], e["region"])
                   for e in await conn.fetch(Q.panel_entries, campaign_id, list(panel["category_ids"]))]
        conflicts = {(c["expert_id"], str(c["entry_id"])) for c in await conn.fetch(Q.campaign_conflicts, campaign_id)}
        detected = []
        for x in experts:
            for e in entries:
                kind = review.conflict(x, e, same_region=panel["same_region_conflict"])
                if kind and (x.expert_id, e.entry_id) not in conflicts:
                    await conn.execute(Q.record_conflict, campaign_id, x.expert_id, uuid.UUID(e.entry_id),
                                       CONFLICT_REASONS[kind], kind, None)
                    conflicts.add((x.expert_id, e.entry_id))
                    detected.append({"expert_id": x.expert_id, "entry_id": e.entry_id, "kind": kind})
        current = [(a["expert_id"], str(a["entry_id"]), a["component"])
                   for a in await conn.fetch(Q.campaign_assignments, campaign_id)]
        assigned: dict[str, int] = {}
        newly: dict[str, set[str]] = {}
        understaffed = []
        for component in components_reviewed(campaign):
            existing = [(x, e) for x, e, c in current if c == component and (x, e) not in conflicts]
            new, short = review.assign(experts, entries, panel["experts_per_entry"], existing, conflicts)
            for expert_id, entry_id in new:
                await conn.execute(Q.insert_assignment, campaign_id, expert_id, uuid.UUID(entry_id), component)
            assigned[component] = len(new)
            understaffed += [{"entry_id": e, "component": component, "experts": n} for e, n in sorted(short.items())]
            for expert_id, entry_id in new:
                newly.setdefault(expert_id, set()).add(entry_id)
        rows = await conn.fetch(Q.campaign_assignments, campaign_id)
        panel_entry_ids = {e.entry_id for e in entries}
        held: dict[str, set[str]] = {}
        for a in rows:
            if str(a["entry_id"]) in panel_entry_ids and (a["expert_id"], str(a["entry_id"])) not in conflicts:
                held.setdefault(a["expert_id"], set()).add(str(a["entry_id"]))
        # Each expert with new work hears of it once (notification turns this into a notice).
        deadline = review_deadline(panel, campaign)
        await rt.outbox.record_many(conn, [(ExpertAssigned(
            expert_id=expert_id, panel_id=panel_id, category_ids=list(panel["category_ids"]),
            entries_count=len(held.get(expert_id, entry_ids)), new_entries=len(entry_ids), deadline=deadline),
            campaign_id) for expert_id, entry_ids in sorted(newly.items())])
    panel_entries = {e.entry_id for e in entries}
    by_entry: dict[str, dict[str, list[str]]] = {}
    for a in rows:
        entry_id = str(a["entry_id"])
        if entry_id in panel_entries and (a["expert_id"], entry_id) not in conflicts:
            by_entry.setdefault(entry_id, {}).setdefault(a["component"], []).append(a["expert_id"])
    return {"panel_id": panel_id, "experts_per_entry": panel["experts_per_entry"], "new_assignments": assigned,
            "assignments": {e: {c: sorted(x) for c, x in sorted(v.items())} for e, v in sorted(by_entry.items())},
            "conflicts_detected": detected, "understaffed": understaffed}


# --- the expert's own work -----------------------------------------------------------------

def _status(row: asyncpg.Record) -> str:
    if row["recusal_reason"] is not None:
        return "recused"
    if row["submitted_at"] is not None:
        return "submitted"
    return "draft" if row["criteria"] is not None else "to_score"


@router.get("/campaigns/{campaign_id}/my-assignments")
async def my_assignments(campaign_id: CampaignId, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """The entries assigned to the calling expert, with the criteria, their scores so far and the deadline.

    A score the committee reopened says so (`reopened` while it waits to be submitted again) and keeps every
    reopening of it in `reopenings`: when, by whom (the account that reopened it) and the committee's reason.
    """
    async with rt.pool.acquire() as conn:
        expert = await expert_or_403(conn, campaign_id, caller)
        campaign = await campaign_or_404(conn, campaign_id)
        panel = await conn.fetchrow(Q.get_panel, campaign_id, expert["panel_id"])
        rows = await conn.fetch(Q.expert_assignments, campaign_id, caller.username)
        reopened = await conn.fetch(Q.expert_reopenings, campaign_id, caller.username)
    deadline = review_deadline(panel, campaign)
    criteria = {c: [{"id": x.id, "name": x.name, "name_en": x.name_en or None, "max_points": x.max_points}
                    for x in criteria_of(campaign, c)]
                for c in ("expert", "activity")}
    # Why each of the expert's scores was reopened: the committee's record of it, and nothing about anyone else.
    reopenings: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for o in reopened:
        reopenings.setdefault((str(o["entry_id"]), o["component"]), []).append({
            "reopened_at": o["reopened_at"].isoformat(), "reopened_by": o["reopened_by"], "reason": o["reason"]})
    items = []
    for r in rows:
        if not r["active"]:
            continue
        history = reopenings.get((str(r["entry_id"]), r["component"]), [])
        status = _status(r)
        item = {"entry_id": str(r["entry_id"]), "category_id": r["category_id"], "entry_name": r["name"],
                "unit_name": r["unit_name"], "component": r["component"], "status": status,
                "locked": r["submitted_at"] is not None, "criteria": r["criteria"],
                "score": float(r["total"]) if r["total"] is not None else None,
                "recusal_reason": r["recusal_reason"],
                "reopened": bool(history) and status == "draft", "reopenings": history}
        if r["component"] == "activity":
            item["activity_summary"] = activity_status(r["activity_on_time"], campaign["activity_deadline"], _now())
        items.append(item)
    return {"campaign_id": campaign_id, "expert_id": caller.username, "panel_id": expert["panel_id"],
            "deadline": deadline.isoformat() if deadline else None, "criteria": criteria, "assignments": items}


async def _assignment_or_refuse(conn: asyncpg.Connection, campaign_id: str, caller: Caller, entry_id: uuid.UUID,
                                component: str) -> asyncpg.Record:
    row = await conn.fetchrow(Q.get_assignment_for_update, campaign_id, caller.username, entry_id, component)
    if row is None:
        raise ApiError(403, "not_assigned", "该作品未分配给您评审", "This entry is not assigned to you",
                       {"entry_id": str(entry_id), "component": component})
    if row["recusal_reason"] is not None:
        raise ApiError(409, "expert_recused", "您已回避该作品，不能评分", "You are recused from this entry",
                       {"entry_id": str(entry_id), "reason": row["recusal_reason"]})
    if not row["active"]:
        raise ApiError(409, "entry_not_active", "该作品已退出评选", "This entry is no longer in the selection",
                       {"entry_id": str(entry_id)})
    return row


class ScoreRequest(RequestBody):
    criteria: dict[str, Any] = Field(description="Points per criterion id.",
                                     examples=[{"standardization": 22, "reach": 20, "influence": 21, "service": 23}])
    submit: bool = Field(True, description="Submit (and lock) the score; false keeps a draft that does not count.")


@router.put("/campaigns/{campaign_id}/my-assignments/{entry_id}/{component}")
async def score_assignment(campaign_id: CampaignId, entry_id: uuid.UUID, component: Component, body: ScoreRequest,
                           rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Score an assigned entry per criterion. A submitted score is locked until the committee reopens it."""
    async with rt.pool.acquire() as conn, conn.transaction():
        expert = await expert_or_403(conn, campaign_id, caller)
        campaign = await campaign_or_404(conn, campaign_id)
        row = await _assignment_or_refuse(conn, campaign_id, caller, entry_id, component)
        deadline = review_deadline(await conn.fetchrow(Q.get_panel, campaign_id, expert["panel_id"]), campaign)
        # A score the committee reopened may be corrected after the deadline: it was reopened to be.
        if deadline is not None and _now() > deadline and not await conn.fetchval(
                Q.reopened_unlocked, campaign_id, caller.username, entry_id, component):
            raise ApiError(409, "review_deadline_passed", "专家评审已截止", "The expert review deadline has passed",
                           {"deadline": deadline.isoformat()})
        if row["submitted_at"] is not None:
            raise ApiError(409, "score_locked", "评分已提交并锁定，需评审委员会重新开放",
                           "The score was submitted and is locked; the committee must reopen it",
                           {"submitted_at": row["submitted_at"].isoformat()})
        if component == "activity":
            rules = domain.ScoringRules.from_config(campaign["scoring"])
            on_time = await conn.fetchval(Q.get_activity_on_time, entry_id)
            status = activity_status(on_time, campaign["activity_deadline"], _now())
            if rules.activity_forfeit_if_missing and status in ("missing", "late"):
                raise ApiError(409, "activity_forfeited", "未按期提交实践活动总结，该部分视作放弃",
                               "No activity summary arrived by the deadline; this part is forfeited",
                               {"entry_id": str(entry_id)})
        try:
            total = review.score_total(criteria_of(campaign, component), body.criteria)
        except review.ScoreRefused as e:
            raise _refused(e) from None
        await conn.fetchrow(Q.save_score, campaign_id, caller.username, entry_id, component, body.criteria,
                            round(total, 2), body.submit)
        if body.submit:
            await recompute(conn, rt, [(campaign_id, row["category_id"])])
            rt.state["metrics"].scores_submitted.inc()
    return {"entry_id": str(entry_id), "component": component, "criteria": body.criteria, "score": round(total, 2),
            "status": "submitted" if body.submit else "draft", "locked": body.submit}


class ReasonRequest(RequestBody):
    reason: str = Field(min_length=2, max_length=500, examples=["本人曾在该单位任职"])


@router.post("/campaigns/{campaign_id}/my-assignments/{entry_id}/recusal")
async def recuse(campaign_id: CampaignId, entry_id: uuid.UUID, body: ReasonRequest, rt: Runtime,
                 caller: CallerDep) -> dict[str, Any]:
    """The expert recuses from an assigned entry with a reason; any score they gave no longer counts."""
    async with rt.pool.acquire() as conn, conn.transaction():
        await expert_or_403(conn, campaign_id, caller)
        rows = [await conn.fetchrow(Q.get_assignment_for_update, campaign_id, caller.username, entry_id, c)
                for c in ("expert", "activity")]
        rows = [r for r in rows if r is not None]
        if not rows:
            raise ApiError(403, "not_assigned", "该作品未分配给您评审", "This entry is not assigned to you",
                           {"entry_id": str(entry_id)})
        if rows[0]["recusal_reason"] is not None:
            raise ApiError(409, "expert_recused", "您已回避该作品", "You are already recused from this entry",
                           {"entry_id": str(entry_id), "reason": rows[0]["recusal_reason"]})
        await conn.execute(Q.record_conflict, campaign_id, caller.username, entry_id, body.reason, "recused",
                           caller.username)
        await recompute(conn, rt, [(campaign_id, rows[0]["category_id"])])
    return {"entry_id": str(entry_id), "status": "recused", "reason": body.reason}


# --- the committee's view of the review ----------------------------------------------------

class ReopenRequest(RequestBody):
    expert_id: str = Field(pattern=ID_PATTERN)
    entry_id: uuid.UUID
    component: Component
    reason: str = Field(min_length=2, max_length=500, examples=["评分项录入有误，请专家复核"])


@router.post("/campaigns/{campaign_id}/expert-scores/reopen")
async def reopen_score(campaign_id: CampaignId, body: ReopenRequest, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Unlock a submitted score with a recorded reason (committee); it stops counting until resubmitted."""
    require_role(caller, "committee", "admin")
    async with rt.pool.acquire() as conn, conn.transaction():
        reopened = await conn.fetchval(Q.reopen_score, campaign_id, body.expert_id, body.entry_id, body.component)
        if reopened is None:
            raise ApiError(409, "score_not_submitted", "该评分尚未提交，无需重新开放",
                           "There is no submitted score to reopen", {"expert_id": body.expert_id,
                                                                    "entry_id": str(body.entry_id)})
        await conn.execute(Q.record_reopening, campaign_id, body.expert_id, body.entry_id, body.component,
                           body.reason, caller.username)
        entry = await conn.fetchrow(Q.get_entry, body.entry_id)
        await recompute(conn, rt, [(campaign_id, entry["category_id"])])
        await rt.outbox.record(conn, ExpertScoreReopened(
            expert_id=body.expert_id, entry_id=body.entry_id, entry_name=entry["name"] or "",
            category_id=entry["category_id"], component=body.component, reason=body.reason), campaign_id=campaign_id)
    return {"expert_id": body.expert_id, "entry_id": str(body.entry_id), "component": body.component,
            "status": "reopened", "reason": body.reason}


async def review_overview(conn: asyncpg.Connection, rt: ServiceRuntime, campaign_id: str) -> dict[str, Any]:
    """Per panel: assignments, submitted and pending scores, recusals, and outlying experts per category."""
    panels = await conn.fetch(Q.campaign_panels, campaign_id)
    scores = await conn.fetch(Q.campaign_expert_scores, campaign_id)
    assignments = await conn.fetch(Q.campaign_assignments, campaign_id)
    conflicts = {(c["expert_id"], str(c["entry_id"])): c for c in await conn.fetch(Q.campaign_conflicts, campaign_id)}
    submitted = {(s["expert_id"], str(s["entry_id"]), s["component"]) for s in scores if s["submitted_at"]}
    pending = [{"expert_id": a["expert_id"], "entry_id": str(a["entry_id"]), "component": a["component"]}
               for a in assignments
               if (a["expert_id"], str(a["entry_id"])) not in conflicts
               and (a["expert_id"], str(a["entry_id"]), a["component"]) not in submitted]
    outliers = []
    for panel in panels:
        for category_id in panel["category_ids"]:
            for component in ("expert", "activity"):
                marks: dict[str, dict[str, float]] = {}
                for s in scores:
                    if (s["category_id"] == category_id and s["component"] == component and s["submitted_at"]
                            and s["recusal_reason"] is None):
                        marks.setdefault(s["expert_id"], {})[str(s["entry_id"])] = float(s["total"])
                for o in review.outlying_experts(marks, float(panel["outlier_points"])):
                    outliers.append({"category_id": category_id, "component": component, **o})
    return {
        "panels": [_panel_body(p) for p in panels],
        "assignments": len(assignments),
        "submitted": len(submitted),
        "pending": pending,
        "recusals": [{"expert_id": x, "entry_id": e, "kind": c["kind"], "reason": c["reason"]}
                     for (x, e), c in sorted(conflicts.items())],
        "outlying_experts": outliers,
        "reopenings": [{**dict(r), "entry_id": str(r["entry_id"]), "reopened_at": r["reopened_at"].isoformat()}
                       for r in await conn.fetch(Q.campaign_reopenings, campaign_id)],
    }


@router.get("/campaigns/{campaign_id}/expert-review")
async def expert_review(campaign_id: CampaignId, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Progress of the expert review and the outlier alerts (committee, supervisor, admin)."""
    require_role(caller, "committee", "supervisor", "admin")
    async with rt.pool.acquire() as conn:
        await campaign_or_404(conn, campaign_id)
        return {"campaign_id": campaign_id, **await review_overview(conn, rt, campaign_id)}
