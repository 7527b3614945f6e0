"""Anti-fraud's use cases for operators and units: a campaign's policy, the review queue, one case, one identity,
decisions on one case or many, what-if ranks, alerts, the votes of each entry held or invalidated, and the entries
whose share jumped."""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from massline import audit
from massline.auth import Caller
from massline.contracts import Event, VoteInvalidated, VoteReinstated
from massline.errors import ApiError

from . import domain, repository
from .deps import AntifraudDeps, Metrics
from .repository import LockedCase

MAX_CASES = 500  # case ids in one bulk decision or one what-if list (a case and those overlapping it, too)

log = logging.getLogger(__name__)


async def require_campaign(deps: AntifraudDeps, campaign_id: str) -> None:
    """404 `campaign_not_found` for a campaign anti-fraud has never heard of (a typo, a campaign not yet loaded):
    an empty answer would read as "no cases", and a policy stored for it would wait for a campaign that never comes.
    Anti-fraud learns a new campaign from the bus within seconds of its creation, so the answer says so and when to
    try again (`Retry-After`)."""
    if not await repository.campaign_known(deps.rt.pool, campaign_id):
        raise ApiError(404, "campaign_not_found",
                       "反作弊服务没有这个活动（新建的活动几秒内同步到反作弊服务，请稍后重试）",
                       "Anti-fraud knows no such campaign (a campaign just created reaches it within seconds: "
                       "try again shortly)",
                       [{"field": "campaign_id", "code": "not_found", "message": campaign_id}],
                       headers={"Retry-After": "5"})


def case_not_found() -> ApiError:
    return ApiError(404, "case_not_found", "案件不存在", "No such case")


# --- policy -----------------------------------------------------------------------------------

async def get_policy(deps: AntifraudDeps, campaign_id: str) -> dict[str, Any]:
    """The campaign's policy, its threshold overrides, the thresholds in effect and every rule."""
    row = await repository.policy(deps.rt.pool, campaign_id)
    overrides = row.thresholds if row else {}
    effective = domain.with_overrides(deps.thresholds, overrides)
    return {"campaign_id": campaign_id, "policy": row.policy if row else deps.settings.policy,
            "default": row is None, "thresholds": overrides, "effective_thresholds": asdict(effective),
            "rules": [{"code": r.code, "text": r.text, "text_zh": r.text_zh, "level": r.level,
                       "thresholds": list(r.thresholds)} for r in domain.RULES.values()]}


async def set_policy(deps: AntifraudDeps, campaign_id: str, policy: str, reason: str,
                     thresholds: dict[str, float] | None, caller: Caller) -> dict[str, Any]:
    """Set the campaign's policy and threshold overrides (None keeps them); the stored row, chained in the audit."""
    async with deps.rt.unit_of_work() as uow:
        row = await repository.set_policy(uow.conn, campaign_id, policy, caller.username, reason, thresholds)
        overrides = None if thresholds is None else {k: repr(v) for k, v in sorted(thresholds.items())}
        await audit.append(uow.conn, [audit.Entry(
            campaign_id, "fraud.policy", f"policy:{campaign_id}",
            {"policy": policy, "reason": reason, "thresholds": overrides}, audit.staff(caller.role, caller.username))])
    return row


# --- the review queue -------------------------------------------------------------------------

async def _queue(conn: repository.Connection, campaign_id: str, status: str | None, reason: str | None,
                 newest: bool, offset: int, limit: int) -> tuple[int, list[uuid.UUID], dict[uuid.UUID, Any]]:
    """The number of cases matching, the page's case ids in order, and each case's impact on the ranks."""
    page_ids: list[uuid.UUID] = []
    if newest:
        ids = await repository.case_ids(conn, campaign_id, status, reason)
        total, page_ids = len(ids), ids[offset:offset + limit]
        rows = await repository.case_entries(conn, campaign_id, status, reason, page_ids) if page_ids else []
    else:
        rows = await repository.case_entries(conn, campaign_id, status, reason, None)
    per_case: dict[uuid.UUID, list[repository.CaseEntry]] = {}
    for r in rows:
        per_case.setdefault(r.case_id, []).append(r)
    standings = domain.Standings.of(await repository.standings(conn, campaign_id)) if per_case else domain.Standings()
    impacts = {cid: domain.impact(standings, rs[0].status, [r.votes for r in rs]) for cid, rs in per_case.items()}
    if not newest:
        ordered = sorted(per_case, key=lambda cid: (
            not impacts[cid]["changes_rank"], -impacts[cid]["votes"],
            -per_case[cid][0].created_at.timestamp(), str(cid)))
        total, page_ids = len(ordered), ordered[offset:offset + limit]
    return total, page_ids, impacts


async def list_cases(deps: AntifraudDeps, campaign_id: str, status: str | None, reason: str | None, sort: str,
                     limit: int, offset: int) -> dict[str, Any]:
    """A page of the review queue, sorted by impact on the ranks or newest first."""
    async with deps.rt.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # One snapshot: the standings and the cases' votes agree with each other.
        total, page_ids, impacts = await _queue(conn, campaign_id, status, reason, sort == "newest", offset, limit)
        details = await repository.cases_by_id(conn, page_ids) if page_ids else {}
    t = await _thresholds(deps, campaign_id)
    cases = [{**domain.with_odds(details[cid], t), **domain.reason_texts(details[cid]["reason_code"]),
              "impact": impacts[cid]} for cid in page_ids if cid in details]
    following = offset + limit
    return {"campaign_id": campaign_id, "sort": sort, "total": total, "limit": limit, "offset": offset,
            "next": following if following < total else None, "cases": cases}


async def get_case(deps: AntifraudDeps, case_id: uuid.UUID, votes: int) -> dict[str, Any]:
    """One case with its reason's texts, a sample of its votes and every decision so far."""
    pool = deps.rt.pool
    case = await repository.get_case(pool, case_id)
    if case is None:
        raise case_not_found()
    sample = await repository.case_votes_sample(pool, case_id, votes)
    trail = await repository.case_decisions(pool, case_id)
    overlaps = await repository.case_overlaps(pool, case_id, MAX_CASES - 1)
    t = await _thresholds(deps, case["campaign_id"])
    return {**domain.with_odds(case, t), **domain.reason_texts(case["reason_code"]), "vote_sample": sample,
            "decisions": trail,
            "overlapping_cases": [{**o, **domain.reason_texts(o["reason_code"])} for o in overlaps]}


async def _thresholds(deps: AntifraudDeps, campaign_id: str) -> domain.Thresholds:
    """The campaign's thresholds: the service's, with its overrides."""
    row = await repository.policy(deps.rt.pool, campaign_id)
    return domain.with_overrides(deps.thresholds, row.thresholds if row else {})


async def get_identity(deps: AntifraudDeps, campaign_id: str, voter_id: str) -> dict[str, Any]:
    """One identity: its risk under the campaign's thresholds, the cases holding its votes, and its votes."""
    pool = deps.rt.pool
    votes = await repository.identity_votes(pool, campaign_id, voter_id)
    if not votes:
        raise ApiError(404, "identity_not_found", "该身份在本活动中没有投票",
                       "This identity cast no vote in this campaign")
    cases = await repository.identity_cases(pool, campaign_id, voter_id)
    t = await _thresholds(deps, campaign_id)
    return {"campaign_id": campaign_id, "voter_id": voter_id, "risk": domain.identity_risk(cases, t),
            "cases": [{**domain.with_odds(dict(c), t), **domain.reason_texts(c["reason_code"])} for c in cases],
            "votes": votes}


# --- decisions --------------------------------------------------------------------------------

async def _decide_case(conn: asyncpg.Connection, metrics: Metrics, caller: Caller, case: LockedCase,
                       decision: str, reason: str) -> tuple[int, list[tuple[Event, str]], audit.Entry]:
    """Decide one locked case inside the caller's transaction: its status, its votes' states, the audit row.

    Returns how many votes changed state, the events to record and the decision for the audit trail. Confirming
    invalidates each vote that was not invalidated yet (VoteInvalidated each). Overturning puts each vote back to
    what the other cases holding it say; each vote that counts again — from held or from invalidated — is a
    VoteReinstated: the public count left out both. A vote that goes from invalidated to held (another case still
    holds it) stays out of the count: no event.
    """
    target = domain.TARGET_STATUS[decision]
    await repository.set_case_status(conn, case.id, target)
    explanation = f"{caller.username}: {reason} ({case.explanation})"
    # A case opened before explanations were written in Chinese has only the English one.
    explanation_zh = f"{caller.username}：{reason}（{case.explanation_zh or case.explanation}）"
    texts = domain.reason_texts(case.reason_code)  # the rule's short label: public, beside the votes it decided

    def event(kind: type[VoteInvalidated] | type[VoteReinstated], r: repository.ChangedVote) -> tuple[Event, str]:
        return (kind(vote_id=r.vote_id, voter_id=r.voter_id, entry_id=r.entry_id, category_id=r.category_id,
                     count=r.count, reason_code=case.reason_code, explanation=explanation,
                     explanation_zh=explanation_zh, decision_id=case.id, reason_text=texts["reason"],
                     reason_text_zh=texts["reason_zh"]),
                r.campaign_id)

    if target == "invalidated":
        changed = await repository.invalidate_votes(conn, await repository.case_vote_ids(conn, case.id))
        events = [event(VoteInvalidated, r) for r in changed]
        metrics.votes.labels("invalidated").inc(len(events))
    else:
        changed = await repository.overturn_votes(conn, case.id)
        events = [event(VoteReinstated, r) for r in changed if r.state == "counted"]
        metrics.votes.labels("reinstated").inc(len(events))
    await repository.audit(conn, case.id, decision, caller.username, caller.role, reason, len(changed), None)
    entry = domain.decision_entry(case.campaign_id, case.id, decision, audit.staff(caller.role, caller.username),
                                  case.reason_code, (r.vote_id for r in changed), reason, case.status)
    return len(changed), events, entry


async def decide_case(deps: AntifraudDeps, case_id: uuid.UUID, decision: str, reason: str,
                      caller: Caller) -> dict[str, Any]:
    """Confirm or overturn one case; refused when it is in that state already."""
    target = domain.TARGET_STATUS[decision]
    async with deps.rt.unit_of_work() as uow:
        case = await repository.lock_case(uow.conn, case_id)
        if case is None:
            raise case_not_found()
        if case.status == target:
            raise ApiError(409, "decision_not_allowed", "该案件已是此状态", f"The case is already {target}",
                           {"status": case.status})
        changed, events, entry = await _decide_case(uow.conn, deps.metrics, caller, case, decision, reason)
        await uow.record_many(events)
        await audit.append(uow.conn, [entry])
    deps.metrics.decisions.labels(decision).inc()
    log.info("case decided", extra={"campaign_id": case.campaign_id})
    return {"id": str(case_id), "status": target, "previous_status": case.status, "votes_changed": changed,
            "decided_by": caller.username, "reason_code": case.reason_code, **domain.reason_texts(case.reason_code)}


async def decide_cases(deps: AntifraudDeps, campaign_id: str, case_ids: list[uuid.UUID], decision: str,
                       reason: str, caller: Caller) -> dict[str, Any]:
    """Confirm or overturn many cases of the campaign in one transaction; all of them must be its cases."""
    wanted = list(dict.fromkeys(case_ids))  # each case once, in the order given
    target = domain.TARGET_STATUS[decision]
    results: list[dict[str, Any]] = []
    async with deps.rt.unit_of_work() as uow:
        locked = await repository.lock_cases(uow.conn, wanted, campaign_id)
        unknown = [str(i) for i in wanted if i not in locked]
        if unknown:
            raise ApiError(404, "cases_not_found", "部分案件不存在或不属于本活动，未作任何处理",
                           "Some cases do not exist in this campaign; nothing was changed", {"case_ids": unknown})
        events: list[tuple[Event, str]] = []
        decisions: list[audit.Entry] = []
        for case_id in wanted:
            case = locked[case_id]
            result = {"id": str(case_id), "reason_code": case.reason_code, **domain.reason_texts(case.reason_code),
                      "previous_status": case.status, "status": target, "votes_changed": 0,
                      "skipped": case.status == target}
            if not result["skipped"]:
                result["votes_changed"], more, entry = await _decide_case(uow.conn, deps.metrics, caller, case,
                                                                          decision, reason)
                events += more
                decisions.append(entry)
            results.append(result)
        await uow.record_many(events)
        await audit.append(uow.conn, decisions)
    decided = [r for r in results if not r["skipped"]]
    deps.metrics.decisions.labels(decision).inc(len(decided))
    log.info("cases decided", extra={"campaign_id": campaign_id})
    return {"campaign_id": campaign_id, "decision": decision, "decided_by": caller.username,
            "changed": len(decided), "skipped": len(results) - len(decided),
            "votes_changed": sum(r["votes_changed"] for r in results), "cases": results}


# --- what-if ranks, alerts, invalidations per entry ---------------------------------------------

async def what_if(deps: AntifraudDeps, campaign_id: str, release: list[uuid.UUID], confirm: list[uuid.UUID],
                  scenario: str | None) -> dict[str, Any]:
    """Each category's ranks now and if the cases were decided so (or under a scenario), and who would move."""
    if scenario and (release or confirm):
        raise ApiError(422, "scenario_with_ids", "请只选择一种方式：情景或案件编号",
                       "Give either a scenario or case ids, not both")
    both = set(release) & set(confirm)
    if both:
        raise ApiError(422, "case_in_both", "同一案件不能既恢复又确认", "A case cannot be both released and confirmed",
                       {"case_ids": sorted(str(i) for i in both)})
    async with deps.rt.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        if scenario:
            held = await repository.case_ids(conn, campaign_id, "flagged", None)
            release, confirm = (held, []) if scenario == "all_held_released" else ([], held)
        elif release or confirm:
            found = set(await repository.case_ids(conn, campaign_id, None, None, release + confirm))
            unknown = [str(i) for i in release + confirm if i not in found]
            if unknown:
                raise ApiError(404, "cases_not_found", "部分案件不存在或不属于本活动",
                               "Some cases do not exist in this campaign", {"case_ids": unknown})
        standings = domain.Standings.of(await repository.standings(conn, campaign_id))
        deltas = await repository.what_if_deltas(conn, campaign_id, release, confirm) if release or confirm else []
    categories = domain.ranks_then(standings, deltas)
    moved = sum(len(c["moved"]) for c in categories)
    return {"campaign_id": campaign_id, "scenario": scenario, "release": [str(i) for i in release],
            "confirm": [str(i) for i in confirm], "changes_rank": moved > 0, "entries_moved": moved,
            "categories": categories}


async def alerts(deps: AntifraudDeps, campaign_id: str, reason: str | None, limit: int,
                 offset: int) -> dict[str, Any]:
    """A page of the alerts, the latest first, each with its reason's texts; `total` and the `next` page's offset."""
    async with deps.rt.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        rows, total = await repository.list_alerts(conn, campaign_id, reason, limit, offset)
    return {"alerts": [{**r, **domain.reason_texts(r["reason_code"])} for r in rows], "total": total,
            "next": offset + len(rows) if offset + len(rows) < total else None}


JUMPS_SHOWN = 20
# The operators' list is softer than the rule (`surge_ratio`, `surge_min_identities`): a paid crowd adding its half
# again to an entry never reaches a rule's fourfold surge, and a person can look at what no rule may hold alone.
JUMP_LIST_RATIO = 2.0
JUMP_LIST_MIN = 20
# … and an entry already drawing a third of everyone cannot double: a farm adding fifty identities or more beyond
# its history in ten minutes (read cautiously) is listed whatever the ratio.
JUMP_LIST_EXCESS = 50


async def jumps(deps: AntifraudDeps, campaign_id: str, hours: int | None = 24, ratio: float = JUMP_LIST_RATIO,
                least: int = JUMP_LIST_MIN, excess: int = JUMP_LIST_EXCESS) -> dict[str, Any]:
    """The entries whose share of the campaign's identities jumped against their own history within the last
    `hours` (None: all the campaign's ten minutes kept, `tens_retention_days`) (each entry's strongest ten minutes,
    `domain.jumps`, from `ratio` times and `least` identities, or `excess` identities beyond its history), and
    what of those ten minutes' votes counts, is held and was invalidated: a jump nothing holds is a crowd, or a farm
    no rule told from one, for a person to look at. `surge`: the jump is one the coordination rule reads as a
    surge (with the campaign's thresholds); `excess`: its identities beyond the entry's share before; `new_identities`
    and `new_counted_votes`: the identities whose first vote in the campaign fell in those minutes and their votes
    for the entry that count (what a hold of the window's new identities would take out)."""
    t = await _thresholds(deps, campaign_id)
    since = datetime.now(UTC) - (timedelta(hours=hours) if hours is not None
                                 else timedelta(days=deps.settings.tens_retention_days))
    entry_tens: dict[str, dict[datetime, int]] = {}
    everyone: dict[datetime, int] = {}
    async with deps.rt.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        for r in await repository.entry_tens(conn, campaign_id, since):
            if r["dimension"] == "ids_ten":
                everyone[r["window_start"]] = r["value"]
            else:
                entry_tens.setdefault(r["key"].rsplit("|", 1)[0], {})[r["window_start"]] = r["value"]
        found = domain.jumps(entry_tens, everyone, t, ratio=ratio, least=least, excess=excess)[:JUMPS_SHOWN]
        windows = [(uuid.UUID(j.entry_id), j.start) for j in found]
        states = await repository.window_states(conn, campaign_id, windows)
        newcomers = await repository.window_newcomers(conn, campaign_id, windows)
    out = [{"entry_id": j.entry_id, "window_start": j.start, "window_end": j.start + timedelta(minutes=10),
            "identities": j.identities, "campaign_identities": j.everyone, "share": j.identities / j.everyone,
            "share_before": j.share_before, "ratio": round(j.ratio, 2),
            "excess": max(round(j.identities - j.share_before * j.everyone), 0),
            "surge": j.ratio >= t.surge_ratio and j.identities >= t.surge_min_identities, "counted_votes": 0,
            "flagged_votes": 0, "invalidated_votes": 0, "new_identities": 0, "new_counted_votes": 0} for j in found]
    for r in newcomers:
        out[r["idx"] - 1].update(new_identities=r["identities"], new_counted_votes=r["counted_votes"])
    for r in states:
        jump = out[r["idx"] - 1]
        jump.update({k: r[k] for k in ("entry_name", "unit_name") if r[k] is not None})
        if r["state"] is not None:
            jump[f"{r['state']}_votes"] = r["votes"]
    return {"campaign_id": campaign_id, "hours": hours, "since": since, "ratio": ratio, "min_identities": least,
            "min_excess": excess, "jumps": out}


async def invalidations_per_entry(deps: AntifraudDeps, campaign_id: str, unit_id: str | None) -> list[dict[str, Any]]:
    """Per entry (of the unit, if given): its votes invalidated and held, and why. Both reads see one snapshot, so
    a decision landing between them cannot give reasons for an entry without totals."""
    entries: dict[str, dict[str, Any]] = {}

    def entry(entry_id: Any) -> dict[str, Any]:
        return entries.setdefault(str(entry_id), {"entry_id": str(entry_id), "invalidated_votes": 0,
                                                  "invalidated_requests": 0, "flagged_votes": 0,
                                                  "flagged_requests": 0, "reasons": []})

    async with deps.rt.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        totals = await repository.entry_totals(conn, campaign_id, unit_id)
        reasons = await repository.invalidations_per_entry(conn, campaign_id, unit_id)
    for r in totals:
        e = entry(r["entry_id"])
        e[f"{r['state']}_votes"] = r["votes"]
        e[f"{r['state']}_requests"] = r["requests"]
    for r in reasons:
        e = entry(r["entry_id"])
        e.update({"entry_name": r["entry_name"], "unit_id": r["unit_id"], "unit_name": r["unit_name"]})
        e["reasons"].append({"state": r["state"], "reason_code": r["reason_code"],
                             **domain.reason_texts(r["reason_code"]), "votes": r["votes"], "requests": r["requests"]})
    return list(entries.values())


async def unit_invalidations(deps: AntifraudDeps, unit_id: str, campaign_id: str | None) -> dict[str, Any]:
    """The unit's own entries in one campaign, or in every campaign it has entries in."""
    campaigns = [campaign_id] if campaign_id else await repository.unit_campaigns(deps.rt.pool, unit_id)
    return {"unit_id": unit_id,
            "campaigns": {c: await invalidations_per_entry(deps, c, unit_id) for c in campaigns}}
