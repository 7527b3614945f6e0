"""Final review and publication over HTTP: the committee's view and adjustments, the supervisor's approval,
versioned published results, the public results API and its exports."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import Field

from massline.auth import CallerDep, require_role
from massline.contracts import EntryRanking, ResultsPublished
from massline.errors import ApiError, RequestBody
from massline.service import Runtime, ServiceRuntime

from . import exports
from .handlers import CampaignId, recompute
from .repository import Q
from .review import points_by_criterion
from .review_api import campaign_or_404, criteria_of, review_overview

router = APIRouter(tags=["final review and results"])

VersionQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1,  # the column is an int
                                           description="A published version; the latest when omitted.")]


def results_not_published(campaign_id: str, version: int | None = None) -> ApiError:
    details: dict[str, Any] = {"campaign_id": campaign_id}
    if version is not None:
        details["version"] = version
    return ApiError(404, "results_not_published", "结果尚未发布", "No results have been published", details)


# --- the committee's view and adjustments --------------------------------------------------

@router.get("/campaigns/{campaign_id}/final-review")
async def final_review(campaign_id: CampaignId, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Every ranking with its components, explanation and canonical inputs; every expert score, recusal,
    adjustment; the approval and the latest publication (committee, supervisor, admin).

    An expert score keeps its points by criterion id in `criteria` and lists them in `criteria_points`, in the
    campaign's order, each with the criterion's id, its names (`name`, `name_en`) and its maximum."""
    require_role(caller, "committee", "supervisor", "admin")
    async with rt.pool.acquire() as conn:
        campaign = await campaign_or_404(conn, campaign_id)
        rankings = await conn.fetch(Q.campaign_rankings, campaign_id)
        inputs = {r["category_id"]: (await conn.fetchrow(Q.get_ranking, campaign_id, r["category_id"]))["inputs"]
                  for r in rankings}
        scores = await conn.fetch(Q.campaign_expert_scores, campaign_id)
        adjustments = await conn.fetch(Q.campaign_adjustments, campaign_id)
        approval = await conn.fetchrow(Q.latest_approval, campaign_id)
        published = await conn.fetchrow(Q.latest_published, campaign_id)
        overview = await review_overview(conn, rt, campaign_id)
    digests = {r["category_id"]: r["inputs_digest"] for r in rankings}
    criteria = {c: criteria_of(campaign, c) for c in ("expert", "activity")}
    return {
        "campaign_id": campaign_id,
        "title": campaign["title"],
        "rankings": {r["category_id"]: {"rule_version": r["rule_version"], "inputs_digest": r["inputs_digest"],
                                        "warnings": r["warnings"], "entries": r["entries"],
                                        "inputs": inputs[r["category_id"]]} for r in rankings},
        "expert_scores": [{"expert_id": s["expert_id"], "entry_id": str(s["entry_id"]), "component": s["component"],
                           "criteria": s["criteria"],
                           "criteria_points": points_by_criterion(criteria.get(s["component"], ()), s["criteria"]),
                           "score": float(s["total"]),
                           "submitted": s["submitted_at"] is not None,
                           "counts": s["submitted_at"] is not None and s["recusal_reason"] is None}
                          for s in scores],
        "expert_review": overview,
        "adjustments": [{"id": a["id"], "entry_id": str(a["entry_id"]), "category_id": a["category_id"],
                         "points": float(a["points"]), "reason": a["reason"], "adjusted_by": a["adjusted_by"],
                         "adjusted_at": a["adjusted_at"].isoformat()} for a in adjustments],
        "approval": _approval_state(approval, digests),
        "published_version": published["version"] if published else None,
    }


def _approval_state(approval: asyncpg.Record | None, digests: dict[str, str]) -> dict[str, Any] | None:
    if approval is None:
        return None
    return {"id": approval["id"], "approved_by": approval["approved_by"], "note": approval["note"],
            "approved_at": approval["approved_at"].isoformat(), "current": approval["digests"] == digests}


class AdjustmentRequest(RequestBody):
    entry_id: uuid.UUID
    points: float = Field(ge=-100, le=100, description="Points added to (or, negative, taken from) the total.")
    reason: str = Field(min_length=2, max_length=500, examples=["经复核，该账号存在转载未注明来源问题"])


@router.post("/campaigns/{campaign_id}/adjustments", status_code=201)
async def adjust(campaign_id: CampaignId, body: AdjustmentRequest, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """The committee adjusts an entry's total with a recorded reason; the ranking is recomputed with it."""
    require_role(caller, "committee")
    if body.points == 0:
        raise ApiError(422, "adjustment_zero", "调整分值不能为0", "An adjustment of 0 points changes nothing")
    async with rt.pool.acquire() as conn, conn.transaction():
        await campaign_or_404(conn, campaign_id)
        entry = await conn.fetchrow(Q.get_entry, body.entry_id)
        if entry is None or entry["campaign_id"] != campaign_id or not entry["active"]:
            raise ApiError(404, "entry_not_found", "该活动中没有这个参评作品", "No such entry in this campaign",
                           {"entry_id": str(body.entry_id)})
        row = await conn.fetchrow(Q.insert_adjustment, campaign_id, body.entry_id, round(body.points, 2), body.reason,
                                  caller.username)
        await recompute(conn, rt, [(campaign_id, entry["category_id"])])
        ranking = await conn.fetchrow(Q.get_ranking, campaign_id, entry["category_id"])
    ranked = next(e for e in ranking["entries"] if e["entry_id"] == str(body.entry_id))
    return {"id": row["id"], "entry_id": str(body.entry_id), "points": round(body.points, 2), "reason": body.reason,
            "adjusted_by": caller.username, "rank": ranked["rank"], "total": ranked["total"]}


# --- approval and publication --------------------------------------------------------------

class ApprovalRequest(RequestBody):
    note: str = Field("", max_length=500)


@router.post("/campaigns/{campaign_id}/approval", status_code=201)
async def approve(campaign_id: CampaignId, body: ApprovalRequest, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """The supervising unit approves the rankings exactly as they are now (their digests)."""
    require_role(caller, "supervisor")
    async with rt.pool.acquire() as conn, conn.transaction():
        await campaign_or_404(conn, campaign_id)
        await conn.execute(Q.lock_publication, campaign_id)
        digests = {r["category_id"]: r["inputs_digest"] for r in await conn.fetch(Q.campaign_digests, campaign_id)}
        if not digests:
            raise ApiError(409, "nothing_to_approve", "尚无可审批的排名", "There is no ranking to approve",
                           {"campaign_id": campaign_id})
        pending = len((await review_overview(conn, rt, campaign_id))["pending"])
        row = await conn.fetchrow(Q.insert_approval, campaign_id, digests, body.note, caller.username)
    return {"id": row["id"], "campaign_id": campaign_id, "digests": digests, "approved_by": caller.username,
            "approved_at": row["approved_at"].isoformat(), "pending_expert_scores": pending}


class PublicationRequest(RequestBody):
    winners: dict[str, int] = Field(default_factory=dict, description="Winners per category, overriding the "
                                    "campaign's plan; with neither, every ranked entry is listed.")


@router.post("/campaigns/{campaign_id}/publication", status_code=201)
async def publish(campaign_id: CampaignId, body: PublicationRequest, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Publish the approved rankings as a new, immutable version (committee, admin).

    Refused before the supervisor's approval (`not_approved`), when a ranking changed after it
    (`approval_stale`), and when nothing changed since the last version (`already_published`).
    """
    require_role(caller, "committee", "admin")
    if any(n < 0 for n in body.winners.values()):
        raise ApiError(422, "winners_invalid", "入选数量不能为负数", "Winner counts cannot be negative")
    async with rt.pool.acquire() as conn, conn.transaction():
        campaign = await campaign_or_404(conn, campaign_id)
        await conn.execute(Q.lock_publication, campaign_id)
        approval = await conn.fetchrow(Q.latest_approval, campaign_id)
        if approval is None:
            raise ApiError(409, "not_approved", "结果须经主管单位审批后才能发布",
                           "The supervising unit must approve the results before they are published",
                           {"campaign_id": campaign_id})
        rankings = await conn.fetch(Q.campaign_rankings, campaign_id)
        digests = {r["category_id"]: r["inputs_digest"] for r in rankings}
        if approval["digests"] != digests:
            changed = sorted(c for c in set(digests) | set(approval["digests"])
                             if digests.get(c) != approval["digests"].get(c))
            raise ApiError(409, "approval_stale", "审批后排名已变化，须重新审批",
                           "A ranking changed after the approval; it must be approved again",
                           {"changed_categories": changed, "approval_id": approval["id"]})
        latest = await conn.fetchrow(Q.latest_published, campaign_id)
        if latest is not None and latest["digests"] == digests:
            raise ApiError(409, "already_published", "该结果已发布", "These results are already published",
                           {"version": latest["version"]})
        units = {str(r["id"]): r["unit_name"] for r in await conn.fetch(Q.campaign_unit_names, campaign_id)}
        categories = _public_categories(campaign, rankings, units, body.winners)
        version = (latest["version"] + 1) if latest else 1
        supersedes = latest["version"] if latest else None
        published_at = await conn.fetchval(Q.insert_published, campaign_id, version, supersedes, approval["id"],
                                           digests, categories, caller.username)
        await rt.outbox.record(conn, ResultsPublished(
            campaign_id=campaign_id, version=version, supersedes=supersedes,
            categories={c: [EntryRanking(**_event_entry(e)) for e in body_["entries"]]
                        for c, body_ in categories.items()},
        ), campaign_id=campaign_id)
    rt.state["metrics"].results_published.inc()
    return {"campaign_id": campaign_id, "version": version, "supersedes": supersedes,
            "published_at": published_at.isoformat(), "approval_id": approval["id"]}


def _public_categories(campaign: asyncpg.Record, rankings: list[asyncpg.Record], units: dict[str, str],
                       winners: dict[str, int]) -> dict[str, Any]:
    """The published form: names, ranks, totals, components and the public part of the explanation."""
    info = {c["id"]: c for c in campaign["categories"]}
    out: dict[str, Any] = {}
    for r in rankings:
        category = info.get(r["category_id"], {})
        planned = winners.get(r["category_id"], category.get("winners"))
        entries = []
        for e in r["entries"]:
            explanation = e["explanation"]
            adjustments = explanation.get("adjustments", [])
            entries.append({
                "entry_id": e["entry_id"], "entry_name": e["entry_name"], "unit_id": e["unit_id"],
                "unit_name": units.get(e["entry_id"], ""), "rank": e["rank"], "total": e["total"],
                "components": e["components"], "explanation": explanation,
                "adjustment": round(sum(a["points"] for a in adjustments), 2),
                "activity_forfeited": bool(explanation.get("activity", {}).get("forfeited")),
                "winner": planned is None or e["rank"] <= planned,
            })
        out[r["category_id"]] = {"name": category.get("name", ""), "name_en": category.get("name_en", ""),
                                 "winners_planned": planned, "rule_version": r["rule_version"],
                                 "inputs_digest": r["inputs_digest"], "entries": entries}
    return out


def _event_entry(e: dict[str, Any]) -> dict[str, Any]:
    award = {"winner": e["winner"], "unit_name": e["unit_name"], "adjustment": e["adjustment"],
             "activity_forfeited": e["activity_forfeited"]}
    return {**{k: e[k] for k in ("entry_id", "entry_name", "unit_id", "rank", "total", "components")},
            "explanation": {**e["explanation"], "award": award}}


# --- public results ------------------------------------------------------------------------

async def _published(rt: ServiceRuntime, campaign_id: str, version: int | None) -> dict[str, Any]:
    if version is None:
        row = await rt.pool.fetchrow(Q.latest_published, campaign_id)
    else:
        row = await rt.pool.fetchrow(Q.get_published, campaign_id, version)
    if row is None:
        raise results_not_published(campaign_id, version)
    latest = await rt.pool.fetchval(Q.latest_published_version, campaign_id)
    title = await rt.pool.fetchval(Q.get_campaign_title, campaign_id)
    return {"campaign_id": campaign_id, "title": title or "", "version": row["version"],
            "supersedes": row["supersedes"], "latest_version": latest, "superseded": row["version"] != latest,
            "published_at": row["published_at"].isoformat(), "categories": row["categories"]}


@router.get("/campaigns/{campaign_id}/results/export.csv")
async def results_csv(campaign_id: CampaignId, rt: Runtime, version: VersionQuery = None) -> Response:
    """The published results as CSV (UTF-8 with a byte-order mark), one row per entry."""
    results = await _published(rt, campaign_id, version)
    return Response(exports.to_csv(results), media_type="text/csv; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="{campaign_id}-results-v{results["version"]}.csv"'})


@router.get("/campaigns/{campaign_id}/results/export.xlsx")
async def results_xlsx(campaign_id: CampaignId, rt: Runtime, version: VersionQuery = None) -> Response:
    """The published results as an Excel workbook."""
    results = await _published(rt, campaign_id, version)
    return Response(exports.to_xlsx(results),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"content-disposition":
                             f'attachment; filename="{campaign_id}-results-v{results["version"]}.xlsx"'})


@router.get("/campaigns/{campaign_id}/results/commendation", response_class=HTMLResponse)
async def results_commendation(campaign_id: CampaignId, rt: Runtime, version: VersionQuery = None) -> HTMLResponse:
    """A printable commendation list: the winners of every category (one page each)."""
    return HTMLResponse(exports.commendation_html(await _published(rt, campaign_id, version)))


@router.get("/campaigns/{campaign_id}/results/versions")
async def results_versions(campaign_id: CampaignId, rt: Runtime) -> dict[str, Any]:
    """Every published version; a correction supersedes the one before."""
    rows = await rt.pool.fetch(Q.published_versions, campaign_id)
    if not rows:
        raise results_not_published(campaign_id)
    return {"campaign_id": campaign_id, "versions": [
        {"version": r["version"], "supersedes": r["supersedes"], "published_at": r["published_at"].isoformat()}
        for r in rows]}


@router.get("/campaigns/{campaign_id}/results")
async def results(campaign_id: CampaignId, rt: Runtime, version: VersionQuery = None) -> dict[str, Any]:
    """The published results (public): per category the ranked entries, totals, components, winners."""
    return await _published(rt, campaign_id, version)
