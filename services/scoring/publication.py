"""Final review and publication: the committee's view and adjustments, the supervisor's approval of the rankings as
they are, versioned published results, and the published results as the public reads them."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from massline import audit
from massline.auth import Caller
from massline.contracts import AuditHead, EntryRanking, ResultsPublished, VoteLogRoot
from massline.errors import ApiError
from massline.numbers import exact, score_value

from . import anchors, domain, repository
from .deps import ScoringDeps
from .domain import canonical_json, sha256_hex
from .errors import results_not_published
from .expert_review import campaign_or_404, criteria_of, review_overview
from .rankings import recompute
from .repository import Campaign, Connection, Ranking
from .review import Criterion, points_by_criterion

# --- the committee's view and adjustments --------------------------------------------------


def _expert_score(s: asyncpg.Record, criteria: dict[str, tuple[Criterion, ...]]) -> dict[str, Any]:
    return {"expert_id": s["expert_id"], "entry_id": str(s["entry_id"]), "component": s["component"],
            "criteria": s["criteria"],
            "criteria_points": points_by_criterion(criteria.get(s["component"], ()), s["criteria"]),
            "score": float(s["total"]), "submitted": s["submitted_at"] is not None,
            "counts": s["submitted_at"] is not None and s["recusal_reason"] is None}


def _approval_state(approval: asyncpg.Record | None, digests: dict[str, str]) -> dict[str, Any] | None:
    if approval is None:
        return None
    return {"id": approval["id"], "approved_by": approval["approved_by"], "note": approval["note"],
            "approved_at": approval["approved_at"].isoformat(), "current": approval["digests"] == digests}


async def final_review(deps: ScoringDeps, campaign_id: str) -> dict[str, Any]:
    """Every ranking with its inputs, every expert score, the review's progress, adjustments, approval, version."""
    async with deps.rt.pool.acquire() as conn:
        campaign = await campaign_or_404(conn, campaign_id)
        rankings = await repository.campaign_rankings(conn, campaign_id)
        inputs = {}
        for r in rankings:
            ranking = await repository.get_ranking(conn, campaign_id, r.category_id)
            inputs[r.category_id] = ranking.inputs if ranking else None
        scores = await repository.campaign_expert_scores(conn, campaign_id)
        adjustments = await repository.campaign_adjustments(conn, campaign_id)
        approval = await repository.latest_approval(conn, campaign_id)
        published = await repository.latest_published(conn, campaign_id)
        overview = await review_overview(conn, campaign_id)
        cases = await open_cases(conn, campaign)
    digests = {r.category_id: r.inputs_digest for r in rankings}
    criteria = {c: criteria_of(campaign, c) for c in ("expert", "activity")}
    return {
        "campaign_id": campaign_id,
        "title": campaign.title,
        "rankings": {r.category_id: {"rule_version": r.rule_version, "inputs_digest": r.inputs_digest,
                                     "warnings": r.warnings, "entries": r.entries, "inputs": inputs[r.category_id]}
                     for r in rankings},
        "expert_scores": [_expert_score(s, criteria) for s in scores],
        "expert_review": overview,
        "adjustments": [{"id": a["id"], "entry_id": str(a["entry_id"]), "category_id": a["category_id"],
                         "points": float(a["points"]), "reason": a["reason"], "adjusted_by": a["adjusted_by"],
                         "adjusted_at": a["adjusted_at"].isoformat()} for a in adjustments],
        "approval": _approval_state(approval, digests),
        "open_cases": cases,
        "approval_with_open_cases": campaign.approval_with_open_cases,
        "published_version": published.version if published else None,
    }


async def adjust(deps: ScoringDeps, campaign_id: str, entry_id: uuid.UUID, points: float, reason: str,
                 caller: Caller) -> dict[str, Any]:
    """Adjust an entry's total with a recorded reason; the ranking is recomputed with it."""
    if points == 0:
        raise ApiError(422, "adjustment_zero", "调整分值不能为0", "An adjustment of 0 points changes nothing")
    async with deps.rt.unit_of_work() as uow:
        await campaign_or_404(uow.conn, campaign_id)
        entry = await repository.get_entry(uow.conn, entry_id)
        if entry is None or entry["campaign_id"] != campaign_id or not entry["active"]:
            raise ApiError(404, "entry_not_found", "该活动中没有这个参评作品", "No such entry in this campaign",
                           {"entry_id": str(entry_id)})
        adjustment_id = await repository.insert_adjustment(uow.conn, campaign_id, entry_id, score_value(points), reason,
                                                           caller.username)
        await recompute(uow.conn, deps, [(campaign_id, entry["category_id"])])
        ranking = await repository.get_ranking(uow.conn, campaign_id, entry["category_id"])
        await audit.append(uow.conn, [audit.Entry(
            campaign_id, "results.adjust", f"entry:{entry_id}",
            {"adjustment_id": adjustment_id, "category_id": entry["category_id"], "points": f"{points:.2f}",
             "reason": reason}, audit.staff(caller.role, caller.username))])
    assert ranking is not None  # recomputed just now with the active entry in it
    ranked = next(e for e in ranking.entries if e["entry_id"] == str(entry_id))
    return {"id": adjustment_id, "entry_id": str(entry_id), "points": score_value(points), "reason": reason,
            "adjusted_by": caller.username, "rank": ranked["rank"], "total": ranked["total"]}


# --- approval and publication --------------------------------------------------------------

async def open_cases(conn: Connection, campaign: Campaign) -> list[dict[str, Any]]:
    """Every entry of the campaign with votes held for review, and whether the review could change a rank."""
    cases: list[dict[str, Any]] = []
    for category_id in await repository.campaign_category_ids(conn, campaign.id):
        inputs, _ = await repository.load_category_inputs(conn, campaign, category_id)
        cases += domain.open_cases(inputs)
    return cases


def _deciding(case: dict[str, Any]) -> bool:
    """Whether reviewing this case, alone or with the category's other open cases, could move a rank."""
    return bool(case["could_change_rank"] or case["together_could_change_rank"])


def _refuse_open_cases(campaign: Campaign, cases: list[dict[str, Any]]) -> None:
    deciding = [c for c in cases if _deciding(c)]
    if deciding and campaign.approval_with_open_cases == "refuse":
        raise ApiError(409, "open_fraud_cases", "尚有待复核的投票可能改变排名，须先完成复核再审批",
                       "Votes held for review could change a rank; finish the review before approving",
                       {"open_cases": deciding})


async def approve(deps: ScoringDeps, campaign_id: str, note: str, caller: Caller) -> dict[str, Any]:
    """Approve the rankings exactly as they are now (their digests).

    The answer lists the open anti-fraud cases (votes held for review) per entry and whether their review could
    change a rank; a campaign with `approval_with_open_cases: refuse` refuses while one could
    (`open_fraud_cases`). Pending expert scores never include a forfeited part."""
    async with deps.rt.unit_of_work() as uow:
        campaign = await campaign_or_404(uow.conn, campaign_id)
        await repository.lock_publication(uow.conn, campaign_id)
        digests = await repository.campaign_digests(uow.conn, campaign_id)
        if not digests:
            raise ApiError(409, "nothing_to_approve", "尚无可审批的排名", "There is no ranking to approve",
                           {"campaign_id": campaign_id})
        cases = await open_cases(uow.conn, campaign)
        _refuse_open_cases(campaign, cases)
        pending = len((await review_overview(uow.conn, campaign_id))["pending"])
        row = await repository.insert_approval(uow.conn, campaign_id, digests, note, caller.username)
        await audit.append(uow.conn, [audit.Entry(
            campaign_id, "results.approve", f"approval:{row['id']}",
            {"digests": digests, "note": note, "pending_expert_scores": pending},
            audit.staff(caller.role, caller.username))])
    return {"id": row["id"], "campaign_id": campaign_id, "digests": digests, "approved_by": caller.username,
            "approved_at": row["approved_at"].isoformat(), "pending_expert_scores": pending,
            "open_cases": cases, "open_cases_could_change_rank": any(_deciding(c) for c in cases),
            "approval_with_open_cases": campaign.approval_with_open_cases}


def _approved(campaign_id: str, approval: asyncpg.Record | None) -> asyncpg.Record:
    if approval is None:
        raise ApiError(409, "not_approved", "结果须经主管单位审批后才能发布",
                       "The supervising unit must approve the results before they are published",
                       {"campaign_id": campaign_id})
    return approval


def _refuse_stale(approval: asyncpg.Record, digests: dict[str, str]) -> None:
    if approval["digests"] != digests:
        changed = sorted(c for c in set(digests) | set(approval["digests"])
                         if digests.get(c) != approval["digests"].get(c))
        raise ApiError(409, "approval_stale", "审批后排名已变化，须重新审批",
                       "A ranking changed after the approval; it must be approved again",
                       {"changed_categories": changed, "approval_id": approval["id"]})


def _refuse_unchanged(latest: repository.Published | None, digests: dict[str, str]) -> None:
    if latest is not None and latest.digests == digests:
        raise ApiError(409, "already_published", "该结果已发布", "These results are already published",
                       {"version": latest.version})


async def publish(deps: ScoringDeps, campaign_id: str, winners: dict[str, int], caller: Caller) -> dict[str, Any]:
    """Publish the approved rankings as a new, immutable version, with its ResultsPublished.

    Refused before the supervisor's approval, when a ranking changed after it, and when nothing changed since the
    last version.
    """
    if any(n < 0 for n in winners.values()):
        raise ApiError(422, "winners_invalid", "入选数量不能为负数", "Winner counts cannot be negative")
    heads = await anchors.other_heads(deps.settings, campaign_id)
    roots = await anchors.vote_log_roots(deps.settings, campaign_id)
    async with deps.rt.unit_of_work() as uow:
        conn = uow.conn
        campaign = await campaign_or_404(conn, campaign_id)
        await repository.lock_publication(conn, campaign_id)
        approval = _approved(campaign_id, await repository.latest_approval(conn, campaign_id))
        rankings = await repository.campaign_rankings(conn, campaign_id)
        digests = {r.category_id: r.inputs_digest for r in rankings}
        _refuse_stale(approval, digests)
        latest = await repository.latest_published(conn, campaign_id)
        _refuse_unchanged(latest, digests)
        units = await repository.campaign_unit_names(conn, campaign_id)
        categories = _public_categories(campaign, rankings, units, winners)
        version = (latest.version + 1) if latest else 1
        supersedes = latest.version if latest else None
        heads = [*heads, await _chain_publication(conn, campaign_id, version, supersedes, approval["id"], digests,
                                                  categories, heads, roots, caller)]
        published_at = await repository.insert_published(
            conn, campaign_id, version, supersedes, approval["id"], digests, categories, caller.username,
            [h.model_dump() for h in heads], [r.model_dump() for r in roots])
        await uow.record(ResultsPublished(
            campaign_id=campaign_id, version=version, supersedes=supersedes,
            categories={c: [EntryRanking(**_event_entry(e)) for e in body["entries"]]
                        for c, body in categories.items()},
            audit_heads=heads, vote_log_roots=roots,
        ), campaign_id=campaign_id)
    deps.metrics.results_published.inc()
    return {"campaign_id": campaign_id, "version": version, "supersedes": supersedes,
            "published_at": published_at.isoformat(), "approval_id": approval["id"],
            "audit_heads": [h.model_dump() for h in heads], "vote_log_roots": [r.model_dump() for r in roots]}


async def _chain_publication(conn: Connection, campaign_id: str, version: int, supersedes: int | None,
                             approval_id: int, digests: dict[str, str], categories: dict[str, Any],
                             heads: list[AuditHead], roots: list[VoteLogRoot], caller: Caller) -> AuditHead:
    """The publication's row in scoring's chain, holding what it was anchored to; scoring's head is that row."""
    details = {"version": version, "supersedes": supersedes, "approval_id": approval_id, "digests": digests,
               "results_sha256": sha256_hex(canonical_json(categories)),
               "audit_heads": [h.model_dump() for h in heads], "vote_log_roots": [r.model_dump() for r in roots]}
    row = (await audit.append(conn, [audit.Entry(campaign_id, "results.publish", f"results:v{version}", details,
                                                 audit.staff(caller.role, caller.username))]))[-1]
    return AuditHead(service="scoring", seq=row.seq, hash=row.hash)


def _public_entry(e: dict[str, Any], units: dict[str, str], planned: int | None) -> dict[str, Any]:
    explanation = e["explanation"]
    adjustments = explanation.get("adjustments", [])
    return {
        "entry_id": e["entry_id"], "entry_name": e["entry_name"], "unit_id": e["unit_id"],
        "unit_name": units.get(e["entry_id"], ""), "rank": e["rank"], "total": e["total"],
        "components": e["components"], "explanation": explanation,
        "adjustment": score_value(sum(exact(a["points"]) for a in adjustments)),
        "activity_forfeited": bool(explanation.get("activity", {}).get("forfeited")),
        "winner": planned is None or e["rank"] <= planned,
    }


def _public_categories(campaign: Campaign, rankings: list[Ranking], units: dict[str, str],
                       winners: dict[str, int]) -> dict[str, Any]:
    """The published form: names, ranks, totals, components and the public part of the explanation."""
    info = {c["id"]: c for c in campaign.categories}
    out: dict[str, Any] = {}
    for r in rankings:
        category = info.get(r.category_id, {})
        planned = winners.get(r.category_id, category.get("winners"))
        out[r.category_id] = {"name": category.get("name", ""), "name_en": category.get("name_en", ""),
                              "winners_planned": planned, "rule_version": r.rule_version,
                              "inputs_digest": r.inputs_digest,
                              "entries": [_public_entry(e, units, planned) for e in r.entries]}
    return out


def _event_entry(e: dict[str, Any]) -> dict[str, Any]:
    award = {"winner": e["winner"], "unit_name": e["unit_name"], "adjustment": e["adjustment"],
             "activity_forfeited": e["activity_forfeited"]}
    return {**{k: e[k] for k in ("entry_id", "entry_name", "unit_id", "rank", "total", "components")},
            "explanation": {**e["explanation"], "award": award}}


# --- public results ------------------------------------------------------------------------

async def published(deps: ScoringDeps, campaign_id: str, version: int | None) -> dict[str, Any]:
    """One published version (the latest when `version` is None), as the public reads it."""
    pool: Connection = deps.rt.pool
    if version is None:
        row = await repository.latest_published(pool, campaign_id)
    else:
        row = await repository.get_published(pool, campaign_id, version)
    if row is None:
        raise results_not_published(campaign_id, version)
    latest = await repository.latest_published_version(pool, campaign_id)
    title = await repository.campaign_title(pool, campaign_id)
    return {"campaign_id": campaign_id, "title": title or "", "version": row.version,
            "supersedes": row.supersedes, "latest_version": latest, "superseded": row.version != latest,
            "published_at": row.published_at.isoformat(), "categories": row.categories,
            "audit_heads": row.audit_heads, "vote_log_roots": row.vote_log_roots}


async def published_versions(deps: ScoringDeps, campaign_id: str) -> dict[str, Any]:
    """Every published version; a correction supersedes the one before."""
    rows = await repository.published_versions(deps.rt.pool, campaign_id)
    if not rows:
        raise results_not_published(campaign_id)
    return {"campaign_id": campaign_id, "versions": [
        {"version": r["version"], "supersedes": r["supersedes"], "published_at": r["published_at"].isoformat()}
        for r in rows]}
