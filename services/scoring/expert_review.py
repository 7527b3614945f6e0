"""Expert review: panels and experts (admins), assignment without conflicts of interest, the expert's own work
(scoring, recusal), the committee's reopening of a score, and the review's progress and outliers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from massline.auth import Caller
from massline.contracts import ExpertAssigned, ExpertScoreReopened
from massline.errors import ApiError

from . import domain, repository, review
from .deps import ScoringDeps
from .errors import campaign_not_found, panel_not_found, score_refused
from .rankings import recompute
from .repository import Campaign, Connection, activity_record

COMPONENT_CRITERIA = {"expert": "expert_criteria", "activity": "activity_criteria"}
CONFLICT_REASONS = {"same_unit": "同单位 / same unit", "same_region": "同地区 / same region",
                    "declared": "专家声明的利益冲突 / declared by the expert"}


# --- shared lookups ------------------------------------------------------------------------

async def campaign_or_404(conn: Connection, campaign_id: str) -> Campaign:
    campaign = await repository.get_campaign(conn, campaign_id)
    if campaign is None:
        raise campaign_not_found(campaign_id)
    return campaign


def criteria_of(campaign: Campaign, component: str) -> tuple[review.Criterion, ...]:
    return review.criteria_from_config((campaign.scoring or {}).get(COMPONENT_CRITERIA[component]))\
        or review.DEFAULT_CRITERIA


def review_deadline(panel: asyncpg.Record | None, campaign: Campaign) -> datetime | None:
    """The panel's own deadline, else the end of the campaign's expert review phase."""
    if panel is not None and panel["deadline"] is not None:
        deadline: datetime = panel["deadline"]
        return deadline
    for phase in campaign.phases or ():
        if phase.get("id") == "expert_review" and phase.get("ends_at"):
            return datetime.fromisoformat(phase["ends_at"])
    return None


def components_reviewed(campaign: Campaign) -> list[str]:
    """Experts score the account, and the practice activity when it weighs anything."""
    weights = domain.ScoringRules.from_config(campaign.scoring).weights
    return [c for c in ("expert", "activity") if weights.get(c, 0) > 0]


async def expert_or_403(conn: Connection, campaign_id: str, caller: Caller) -> asyncpg.Record:
    expert = await repository.get_expert(conn, campaign_id, caller.username)
    if expert is None:
        raise ApiError(403, "not_an_expert", "您不是本活动的评审专家", "You are not an expert of this campaign",
                       {"campaign_id": campaign_id})
    return expert


def _now() -> datetime:
    return datetime.now(UTC)


# --- panels and experts (admin) ------------------------------------------------------------

def panel_body(row: asyncpg.Record) -> dict[str, Any]:
    return {"panel_id": row["panel_id"], "name": row["name"], "category_ids": list(row["category_ids"]),
            "experts_per_entry": row["experts_per_entry"],
            "deadline": row["deadline"].isoformat() if row["deadline"] else None,
            "same_region_conflict": row["same_region_conflict"], "normalization": row["normalization"],
            "outlier_points": float(row["outlier_points"])}


async def put_panel(deps: ScoringDeps, campaign_id: str, panel_id: str, *, name: str, category_ids: list[str],
                    experts_per_entry: int, deadline: datetime | None, same_region_conflict: bool,
                    normalization: str, outlier_points: float) -> dict[str, Any]:
    """Create or change a panel; its categories are reranked (normalisation may have changed)."""
    async with deps.rt.unit_of_work() as uow:
        campaign = await campaign_or_404(uow.conn, campaign_id)
        known = {c["id"] for c in campaign.categories}
        unknown = sorted(set(category_ids) - known)
        if unknown:
            raise ApiError(422, "category_unknown", "活动中没有该类别", "The campaign has no such category",
                           {"unknown": unknown, "categories": sorted(known)})
        row = await repository.upsert_panel(uow.conn, campaign_id, panel_id, name, sorted(set(category_ids)),
                                            experts_per_entry, deadline, same_region_conflict, normalization,
                                            outlier_points)
        await recompute(uow.conn, deps, [(campaign_id, c) for c in row["category_ids"]])
    return panel_body(row)


async def put_expert(deps: ScoringDeps, campaign_id: str, panel_id: str, expert_id: str, *, display_name: str,
                     unit_id: str | None, region: str | None, declared_unit_ids: list[str]) -> dict[str, Any]:
    """Register an expert in a panel."""
    async with deps.rt.unit_of_work() as uow:
        if await repository.get_panel(uow.conn, campaign_id, panel_id) is None:
            raise panel_not_found(campaign_id, panel_id)
        row = await repository.upsert_expert(uow.conn, campaign_id, expert_id, panel_id, display_name, unit_id,
                                             region, sorted(set(declared_unit_ids)))
    return {"expert_id": row["expert_id"], "panel_id": row["panel_id"], "display_name": row["display_name"],
            "unit_id": row["unit_id"], "region": row["region"], "declared_unit_ids": list(row["declared_unit_ids"])}


async def put_unit_regions(deps: ScoringDeps, campaign_id: str, regions: dict[str, str]) -> dict[str, Any]:
    """Where each nominating unit is."""
    async with deps.rt.unit_of_work() as uow:
        await campaign_or_404(uow.conn, campaign_id)
        for unit_id, region in sorted(regions.items()):
            await repository.upsert_unit_region(uow.conn, campaign_id, unit_id, region)
    return {"campaign_id": campaign_id, "regions": len(regions)}


# --- assignment ------------------------------------------------------------------------------

async def _detect_conflicts(conn: Connection, campaign_id: str, panel: asyncpg.Record, experts: list[review.Expert],
                            entries: list[review.Entry], conflicts: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """Record the conflicts of interest not recorded yet (adding them to `conflicts`); the ones found now."""
    detected = []
    for x in experts:
        for e in entries:
            kind = review.conflict(x, e, same_region=panel["same_region_conflict"])
            if kind and (x.expert_id, e.entry_id) not in conflicts:
                await repository.record_conflict(conn, campaign_id, x.expert_id, uuid.UUID(e.entry_id),
                                                 CONFLICT_REASONS[kind], kind, None)
                conflicts.add((x.expert_id, e.entry_id))
                detected.append({"expert_id": x.expert_id, "entry_id": e.entry_id, "kind": kind})
    return detected


async def _fill(conn: Connection, campaign: Campaign, panel: asyncpg.Record, experts: list[review.Expert],
                entries: list[review.Entry], conflicts: set[tuple[str, str]]
                ) -> tuple[dict[str, int], dict[str, set[str]], list[dict[str, Any]]]:
    """Assign what is missing per component: new assignments per component, new entries per expert, entries short."""
    current = await repository.campaign_assignments(conn, campaign.id)
    assigned: dict[str, int] = {}
    newly: dict[str, set[str]] = {}
    understaffed: list[dict[str, Any]] = []
    for component in components_reviewed(campaign):
        existing = [(x, e) for x, e, c in current if c == component and (x, e) not in conflicts]
        new, short = review.assign(experts, entries, panel["experts_per_entry"], existing, conflicts)
        for expert_id, entry_id in new:
            await repository.insert_assignment(conn, campaign.id, expert_id, uuid.UUID(entry_id), component)
        assigned[component] = len(new)
        understaffed += [{"entry_id": e, "component": component, "experts": n} for e, n in sorted(short.items())]
        for expert_id, entry_id in new:
            newly.setdefault(expert_id, set()).add(entry_id)
    return assigned, newly, understaffed


async def assign_panel(deps: ScoringDeps, campaign_id: str, panel_id: str) -> dict[str, Any]:
    """Give every entry of the panel's categories k experts without a conflict; each expert with new work hears."""
    async with deps.rt.unit_of_work() as uow:
        conn = uow.conn
        await repository.lock_assignment(conn, campaign_id)
        campaign = await campaign_or_404(conn, campaign_id)
        panel = await repository.get_panel(conn, campaign_id, panel_id)
        if panel is None:
            raise panel_not_found(campaign_id, panel_id)
        experts = await repository.panel_experts(conn, campaign_id, panel_id)
        if not experts:
            raise ApiError(409, "panel_has_no_experts", "评审组还没有专家", "The panel has no experts yet",
                           {"panel_id": panel_id})
        entries = await repository.panel_entries(conn, campaign_id, list(panel["category_ids"]))
        conflicts = {(c["expert_id"], str(c["entry_id"])) for c in await repository.campaign_conflicts(conn,
                                                                                                       campaign_id)}
        detected = await _detect_conflicts(conn, campaign_id, panel, experts, entries, conflicts)
        assigned, newly, understaffed = await _fill(conn, campaign, panel, experts, entries, conflicts)
        rows = await repository.campaign_assignments(conn, campaign_id)
        panel_entries = {e.entry_id for e in entries}
        held: dict[str, set[str]] = {}
        for expert_id, entry_id, _ in rows:
            if entry_id in panel_entries and (expert_id, entry_id) not in conflicts:
                held.setdefault(expert_id, set()).add(entry_id)
        # Each expert with new work hears of it once (notification turns this into a notice).
        deadline = review_deadline(panel, campaign)
        await uow.record_many([(ExpertAssigned(
            expert_id=expert_id, panel_id=panel_id, category_ids=list(panel["category_ids"]),
            entries_count=len(held.get(expert_id, entry_ids)), new_entries=len(entry_ids), deadline=deadline),
            campaign_id) for expert_id, entry_ids in sorted(newly.items())])
    by_entry: dict[str, dict[str, list[str]]] = {}
    for expert_id, entry_id, component in rows:
        if entry_id in panel_entries and (expert_id, entry_id) not in conflicts:
            by_entry.setdefault(entry_id, {}).setdefault(component, []).append(expert_id)
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


def _assignment_item(r: asyncpg.Record, history: list[dict[str, Any]], campaign: Campaign) -> dict[str, Any]:
    status = _status(r)
    item = {"entry_id": str(r["entry_id"]), "category_id": r["category_id"], "entry_name": r["name"],
            "unit_name": r["unit_name"], "component": r["component"], "status": status,
            "locked": r["submitted_at"] is not None, "criteria": r["criteria"],
            "score": float(r["total"]) if r["total"] is not None else None,
            "recusal_reason": r["recusal_reason"],
            "reopened": bool(history) and status == "draft", "reopenings": history}
    if r["component"] == "activity":
        held, summary = domain.activity_state(activity_record(r["activity_on_time"], r["activity_held_in_period"]),
                                              campaign.activity_deadline, _now())
        item["activity_held"] = held
        item["activity_summary"] = summary
    return item


async def my_assignments(deps: ScoringDeps, campaign_id: str, caller: Caller) -> dict[str, Any]:
    """The calling expert's assignments with the criteria, their scores so far, reopenings and the deadline."""
    async with deps.rt.pool.acquire() as conn:
        expert = await expert_or_403(conn, campaign_id, caller)
        campaign = await campaign_or_404(conn, campaign_id)
        panel = await repository.get_panel(conn, campaign_id, expert["panel_id"])
        rows = await repository.expert_assignments(conn, campaign_id, caller.username)
        reopened = await repository.expert_reopenings(conn, campaign_id, caller.username)
    deadline = review_deadline(panel, campaign)
    criteria = {c: [{"id": x.id, "name": x.name, "name_en": x.name_en or None, "max_points": x.max_points}
                    for x in criteria_of(campaign, c)]
                for c in ("expert", "activity")}
    # Why each of the expert's scores was reopened: the committee's record of it, and nothing about anyone else.
    reopenings: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for o in reopened:
        reopenings.setdefault((str(o["entry_id"]), o["component"]), []).append({
            "reopened_at": o["reopened_at"].isoformat(), "reopened_by": o["reopened_by"], "reason": o["reason"]})
    items = [_assignment_item(r, reopenings.get((str(r["entry_id"]), r["component"]), []), campaign)
             for r in rows if r["active"]]
    return {"campaign_id": campaign_id, "expert_id": caller.username, "panel_id": expert["panel_id"],
            "deadline": deadline.isoformat() if deadline else None, "criteria": criteria, "assignments": items}


async def _assignment_or_refuse(conn: Connection, campaign_id: str, caller: Caller, entry_id: uuid.UUID,
                                component: str) -> asyncpg.Record:
    row = await repository.lock_assignment_row(conn, campaign_id, caller.username, entry_id, component)
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


async def _refuse_if_closed(conn: Connection, campaign: Campaign, panel: asyncpg.Record | None, caller: Caller,
                            entry_id: uuid.UUID, component: str, row: asyncpg.Record) -> None:
    """Refuse a score after the deadline (unless the committee reopened it), a locked one, a forfeited activity."""
    deadline = review_deadline(panel, campaign)
    # A score the committee reopened may be corrected after the deadline: it was reopened to be.
    if deadline is not None and _now() > deadline and not await repository.reopened_unlocked(
            conn, campaign.id, caller.username, entry_id, component):
        raise ApiError(409, "review_deadline_passed", "专家评审已截止", "The expert review deadline has passed",
                       {"deadline": deadline.isoformat()})
    if row["submitted_at"] is not None:
        raise ApiError(409, "score_locked", "评分已提交并锁定，需评审委员会重新开放",
                       "The score was submitted and is locked; the committee must reopen it",
                       {"submitted_at": row["submitted_at"].isoformat()})
    if component == "activity":
        rules = domain.ScoringRules.from_config(campaign.scoring)
        held, summary = domain.activity_state(await repository.activity_report(conn, entry_id),
                                              campaign.activity_deadline, _now())
        if domain.activity_forfeited(held, summary, forfeit_if_missing=rules.activity_forfeit_if_missing,
                                     late_summary_forfeits=campaign.activity_late_summary == "forfeit"):
            raise ApiError(409, "activity_forfeited", "未在规定期限内开展实践活动，该部分视作放弃",
                           "The activity was not held within its period; this part is forfeited",
                           {"entry_id": str(entry_id), "held": held, "summary": summary})


async def score_assignment(deps: ScoringDeps, campaign_id: str, entry_id: uuid.UUID, component: str,
                           points: dict[str, Any], submit: bool, caller: Caller) -> dict[str, Any]:
    """Score an assigned entry per criterion; a submitted score is locked and reranks the category."""
    async with deps.rt.unit_of_work() as uow:
        conn = uow.conn
        expert = await expert_or_403(conn, campaign_id, caller)
        campaign = await campaign_or_404(conn, campaign_id)
        row = await _assignment_or_refuse(conn, campaign_id, caller, entry_id, component)
        panel = await repository.get_panel(conn, campaign_id, expert["panel_id"])
        await _refuse_if_closed(conn, campaign, panel, caller, entry_id, component, row)
        try:
            total = review.score_total(criteria_of(campaign, component), points)
        except review.ScoreRefused as e:
            raise score_refused(e) from None
        await repository.save_score(conn, campaign_id, caller.username, entry_id, component, points,
                                    total, submit)
        if submit:
            await recompute(conn, deps, [(campaign_id, row["category_id"])])
            deps.metrics.scores_submitted.inc()
    return {"entry_id": str(entry_id), "component": component, "criteria": points, "score": total,
            "status": "submitted" if submit else "draft", "locked": submit}


async def recuse(deps: ScoringDeps, campaign_id: str, entry_id: uuid.UUID, reason: str,
                 caller: Caller) -> dict[str, Any]:
    """The expert recuses from an assigned entry; any score they gave stops counting."""
    async with deps.rt.unit_of_work() as uow:
        conn = uow.conn
        await expert_or_403(conn, campaign_id, caller)
        found = [await repository.lock_assignment_row(conn, campaign_id, caller.username, entry_id, c)
                 for c in ("expert", "activity")]
        rows = [r for r in found if r is not None]
        if not rows:
            raise ApiError(403, "not_assigned", "该作品未分配给您评审", "This entry is not assigned to you",
                           {"entry_id": str(entry_id)})
        if rows[0]["recusal_reason"] is not None:
            raise ApiError(409, "expert_recused", "您已回避该作品", "You are already recused from this entry",
                           {"entry_id": str(entry_id), "reason": rows[0]["recusal_reason"]})
        await repository.record_conflict(conn, campaign_id, caller.username, entry_id, reason, "recused",
                                         caller.username)
        await recompute(conn, deps, [(campaign_id, rows[0]["category_id"])])
    return {"entry_id": str(entry_id), "status": "recused", "reason": reason}


# --- the committee's view of the review ----------------------------------------------------

async def reopen_score(deps: ScoringDeps, campaign_id: str, expert_id: str, entry_id: uuid.UUID, component: str,
                       reason: str, caller: Caller) -> dict[str, Any]:
    """Unlock a submitted score with a recorded reason; it stops counting until resubmitted, and the expert hears."""
    async with deps.rt.unit_of_work() as uow:
        conn = uow.conn
        if not await repository.reopen_score(conn, campaign_id, expert_id, entry_id, component):
            raise ApiError(409, "score_not_submitted", "该评分尚未提交，无需重新开放",
                           "There is no submitted score to reopen", {"expert_id": expert_id,
                                                                    "entry_id": str(entry_id)})
        await repository.record_reopening(conn, campaign_id, expert_id, entry_id, component, reason,
                                          caller.username)
        entry = await repository.get_entry(conn, entry_id)
        assert entry is not None  # a submitted score is of a stored entry
        await recompute(conn, deps, [(campaign_id, entry["category_id"])])
        await uow.record(ExpertScoreReopened(
            expert_id=expert_id, entry_id=entry_id, entry_name=entry["name"] or "",
            category_id=entry["category_id"], component=component, reason=reason), campaign_id=campaign_id)
    return {"expert_id": expert_id, "entry_id": str(entry_id), "component": component,
            "status": "reopened", "reason": reason}


def _outliers(panels: list[asyncpg.Record], scores: list[asyncpg.Record]) -> list[dict[str, Any]]:
    """Per panel, category and component: the experts whose submitted scores stand out."""
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
    return outliers


async def review_overview(conn: Connection, campaign_id: str) -> dict[str, Any]:
    """Per panel: assignments, submitted and pending scores, recusals, and outlying experts per category."""
    panels = await repository.campaign_panels(conn, campaign_id)
    scores = await repository.campaign_expert_scores(conn, campaign_id)
    assignments = await repository.campaign_assignments(conn, campaign_id)
    conflicts = {(c["expert_id"], str(c["entry_id"])): c for c in await repository.campaign_conflicts(conn,
                                                                                                      campaign_id)}
    submitted = {(s["expert_id"], str(s["entry_id"]), s["component"]) for s in scores if s["submitted_at"]}
    # A forfeited activity part can never be scored: its assignments are not pending, they are listed apart.
    forfeited = {e["entry_id"] for r in await repository.campaign_rankings(conn, campaign_id) for e in r.entries
                 if (e.get("explanation") or {}).get("activity", {}).get("forfeited")}
    open_ = [{"expert_id": x, "entry_id": e, "component": c} for x, e, c in assignments
             if (x, e) not in conflicts and (x, e, c) not in submitted]
    return {
        "panels": [panel_body(p) for p in panels],
        "assignments": len(assignments),
        "submitted": len(submitted),
        "pending": [p for p in open_ if not (p["component"] == "activity" and p["entry_id"] in forfeited)],
        "forfeited": [p for p in open_ if p["component"] == "activity" and p["entry_id"] in forfeited],
        "recusals": [{"expert_id": x, "entry_id": e, "kind": c["kind"], "reason": c["reason"]}
                     for (x, e), c in sorted(conflicts.items())],
        "outlying_experts": _outliers(panels, scores),
        "reopenings": [{**dict(r), "entry_id": str(r["entry_id"]), "reopened_at": r["reopened_at"].isoformat()}
                       for r in await repository.campaign_reopenings(conn, campaign_id)],
    }


async def expert_review(deps: ScoringDeps, campaign_id: str) -> dict[str, Any]:
    """The review's progress and outlier alerts."""
    async with deps.rt.pool.acquire() as conn:
        await campaign_or_404(conn, campaign_id)
        return {"campaign_id": campaign_id, **await review_overview(conn, campaign_id)}
