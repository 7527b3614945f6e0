"""Anti-fraud's operator and unit routes: the campaign's policy, the review queue (paged, sorted by what a decision
would do to the ranks), decisions on one case or many, what-if ranks, and how many votes of each entry are held or
invalidated, and why."""

from __future__ import annotations

import bisect
import itertools
import logging
import math
import uuid
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, Iterable, Literal

import asyncpg
from fastapi import APIRouter, Path, Query
from pydantic import Field, field_validator

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
MAX_CASES = 500  # case ids in one bulk decision or one what-if list


def reason_texts(code: str) -> dict[str, str]:
    """The detector's own wording of a reason code, in English and Chinese (the code itself if it has none)."""
    return {"reason": domain.REASONS.get(code, code), "reason_zh": domain.REASONS_ZH.get(code, code)}


# --- operators: policy -----------------------------------------------------------------------

def _reviewer(caller: Caller) -> None:
    require_role(caller, *REVIEWERS)


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

    @field_validator("thresholds")
    @classmethod
    def _known(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        return None if value is None else domain.validate_overrides(value)


@router.get("/campaigns/{campaign_id}/policy")
async def get_policy(campaign_id: str, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """What a case does in this campaign: auto, flag (hold for review) or invalidate at once."""
    _reviewer(caller)
    row = await rt.pool.fetchrow(Q.policy_row, campaign_id)
    overrides = dict(row["thresholds"]) if row else {}
    effective = domain.with_overrides(_settings(rt).thresholds(), overrides)
    return {"campaign_id": campaign_id, "policy": row["policy"] if row else _settings(rt).policy,
            "default": row is None, "thresholds": overrides, "effective_thresholds": asdict(effective),
            "rules": [{"code": r.code, "text": r.text, "text_zh": r.text_zh, "level": r.level,
                       "thresholds": list(r.thresholds)} for r in domain.RULES.values()]}


@router.put("/campaigns/{campaign_id}/policy")
async def set_policy(campaign_id: str, body: PolicyChange, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Set the campaign's policy and threshold overrides; applies to cases opened from now on (within seconds)."""
    _reviewer(caller)
    row = await rt.pool.fetchrow(Q.set_policy, campaign_id, body.policy, caller.username, body.reason,
                                 body.thresholds)
    return dict(row)


# --- ranks: the standings as anti-fraud counts them, and what a decision would do to them ----------

def competition_ranks(totals: dict[Any, int]) -> dict[Any, int]:
    """Ranks with ties sharing one (1, 2, 2, 4): one plus the entries with strictly more votes."""
    first: dict[int, int] = {}
    for i, v in enumerate(sorted(totals.values(), reverse=True)):
        first.setdefault(v, i + 1)
    return {k: first[v] for k, v in totals.items()}


@dataclass
class Standings:
    """Each category's entries and their counted votes (state 'counted' in anti-fraud's own votes)."""

    totals: dict[str, dict[uuid.UUID, int]] = field(default_factory=dict)
    names: dict[uuid.UUID, tuple[str | None, str | None]] = field(default_factory=dict)
    _sorted: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Iterable[asyncpg.Record]) -> Standings:
        s = cls()
        for r in rows:
            s.totals.setdefault(r["category_id"], {})[r["entry_id"]] = int(r["counted"])
            s.names[r["entry_id"]] = (r["entry_name"], r["unit_name"])
        return s

    def know(self, category_id: str | None, entry_id: uuid.UUID | None) -> None:
        """An entry whose votes are all held or invalidated has none counted: it stands at 0."""
        if category_id is not None and entry_id is not None:
            if entry_id not in self.totals.setdefault(category_id, {}):
                self.totals[category_id][entry_id] = 0
                self._sorted.pop(category_id, None)

    def _ascending(self, category_id: str) -> list[int]:
        if category_id not in self._sorted:
            self._sorted[category_id] = sorted(self.totals.get(category_id, {}).values())
        return self._sorted[category_id]

    def moved(self, category_id: str, new: dict[uuid.UUID, int]) -> int:
        """How many entries of the category change rank if the entries in `new` had these totals instead.

        Costs O(k²) for the k entries changed (a bisection per breakpoint), not a sort of the whole category (unless
        k² exceeds the category's size): the queue asks this once per case. An entry outside `new` with v votes moves
        exactly when the number of changed entries above it differs before and after; that number only changes at
        the changed entries' totals, so the totals between two consecutive breakpoints either all move or none does.
        """
        totals = self.totals.setdefault(category_id, {})
        new = {e: v for e, v in new.items() if totals.get(e, 0) != v}
        if not new:
            return 0
        for e in new:
            self.know(category_id, e)
        asc = self._ascending(category_id)

        def above(v: int) -> int:  # entries of the category with strictly more than v now
            return len(asc) - bisect.bisect_right(asc, v)

        old = {e: totals[e] for e in new}
        if len(new) ** 2 > len(totals):  # many entries changed: ranking the category again is cheaper
            now, then = competition_ranks(totals), competition_ranks({**totals, **new})
            return sum(now[e] != then[e] for e in totals)
        n = 0
        for e, v in new.items():
            rank_then = 1 + above(v) - sum(o > v for o in old.values()) + sum(w > v for w in new.values())
            n += rank_then != 1 + above(old[e])
        points = sorted(set(old.values()) | set(new.values()))
        for lo, hi in itertools.pairwise(points):
            if sum(w >= hi for w in new.values()) != sum(o >= hi for o in old.values()):
                n += bisect.bisect_left(asc, hi) - bisect.bisect_left(asc, lo) - sum(lo <= o < hi
                                                                                      for o in old.values())
        return n


async def _standings(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: str) -> Standings:
    return Standings.of(await conn.fetch(Q.review_standings, campaign_id))


def _impact(standings: Standings, status: str, per_entry: list[asyncpg.Record]) -> dict[str, Any]:
    """What deciding the case would do to the ranks: a held or invalidated case as if its votes counted again (its
    own votes, whatever other cases hold them too), an overturned one as if confirmed (its counted votes removed)."""
    release = status != "overturned"
    votes = 0
    changes: dict[str, dict[uuid.UUID, int]] = {}
    for r in per_entry:
        if r["entry_id"] is None:
            continue
        standings.know(r["category_id"], r["entry_id"])
        delta = int(r["held"]) if release else -int(r["counted"])
        votes += abs(delta)
        if delta:
            now = standings.totals[r["category_id"]][r["entry_id"]]
            changes.setdefault(r["category_id"], {})[r["entry_id"]] = max(now + delta, 0)
    moved = sum(standings.moved(cat, new) for cat, new in changes.items())
    return {"changes_rank": moved > 0, "entries_moved": moved, "votes": votes}


# --- the review queue ------------------------------------------------------------------------

CaseStatus = Literal["flagged", "invalidated", "overturned"]


@router.get("/campaigns/{campaign_id}/cases")
async def list_cases(
    campaign_id: str, rt: Runtime, caller: CallerDep,
    status: Annotated[CaseStatus | None, Query()] = None,
    reason: Annotated[str | None, Query(max_length=64)] = None,
    sort: Annotated[Literal["impact", "newest"], Query(
        description="impact (default): cases whose decision would change a rank first, then by votes; newest: "
                    "the latest opened first.")] = "impact",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The review queue, a page at a time: each case with its reason (`reason`, `reason_zh`), what an operator reads,
    how many votes it holds, and its `impact` on the ranks: {changes_rank, entries_moved, votes}.

    A held or invalidated case's impact is the ranks if its votes counted again, an overturned case's the ranks if
    it were confirmed. `total` is the number of cases matching; `next` the offset of the next page (null at the end).
    """
    _reviewer(caller)
    async with rt.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # One snapshot: the standings and the cases' votes agree with each other.
        if sort == "newest":
            ids = [r["id"] for r in await conn.fetch(Q.review_case_ids, campaign_id, status, reason, None)]
            total, page_ids = len(ids), ids[offset:offset + limit]
            rows = await conn.fetch(Q.review_case_entries, campaign_id, status, reason, page_ids) if page_ids else []
        else:
            rows = await conn.fetch(Q.review_case_entries, campaign_id, status, reason, None)
        per_case: dict[uuid.UUID, list[asyncpg.Record]] = {}
        for r in rows:
            per_case.setdefault(r["id"], []).append(r)
        standings = await _standings(conn, campaign_id) if per_case else Standings()
        impacts = {cid: _impact(standings, rs[0]["status"], rs) for cid, rs in per_case.items()}
        if sort == "impact":
            ordered = sorted(per_case, key=lambda cid: (
                not impacts[cid]["changes_rank"], -impacts[cid]["votes"],
                -per_case[cid][0]["created_at"].timestamp(), str(cid)))
            total, page_ids = len(ordered), ordered[offset:offset + limit]
        details = {r["id"]: r for r in await conn.fetch(Q.review_cases_by_id, page_ids)} if page_ids else {}
    cases = []
    for cid in page_ids:
        if cid not in details:
            continue
        cases.append({**dict(details[cid]), **reason_texts(details[cid]["reason_code"]), "impact": impacts[cid]})
    following = offset + limit
    return {"campaign_id": campaign_id, "sort": sort, "total": total, "limit": limit, "offset": offset,
            "next": following if following < total else None, "cases": cases}


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
    return {**dict(case), **reason_texts(case["reason_code"]),
            "vote_sample": [dict(r) for r in sample], "decisions": [dict(r) for r in trail]}


def identity_risk(cases: Iterable[Any], t: domain.Thresholds) -> dict[str, Any]:
    """An identity's risk: the strongest case holding its votes, as odds against the campaign's other voters (a
    coordination case's own weight of evidence; for the other rules, the odds their level stands for). Overturned
    cases do not count."""
    odds = 1.0
    for c in cases:
        if c["status"] == "overturned":
            continue
        level = domain.RULES[c["reason_code"]].level if c["reason_code"] in domain.RULES else "hold"
        floor = t.invalidate_odds if level == "invalidate" else t.hold_odds
        odds = max(odds, math.exp(c["score"]) if c["score"] else floor)
    return {"odds": round(odds, 1), "score": round(math.log(odds), 3),
            "level": "invalidate" if odds >= t.invalidate_odds else "hold" if odds >= t.hold_odds else "none"}


@router.get("/campaigns/{campaign_id}/identities/{voter_id}")
async def get_identity(campaign_id: str, voter_id: Annotated[str, Path(max_length=100)], rt: Runtime,
                       caller: CallerDep) -> dict[str, Any]:
    """One (pseudonymous) identity: its risk score, every case that holds its votes with the explanation naming
    each signal that contributed (zh and en), and its votes with their state."""
    _reviewer(caller)
    votes = await rt.pool.fetch(Q.identity_votes, campaign_id, voter_id)
    if not votes:
        raise ApiError(404, "identity_not_found", "该身份在本活动中没有投票", "This identity cast no vote in this campaign")
    cases = await rt.pool.fetch(Q.identity_cases, campaign_id, voter_id)
    row = await rt.pool.fetchrow(Q.policy_row, campaign_id)
    t = domain.with_overrides(_settings(rt).thresholds(), dict(row["thresholds"]) if row else {})
    return {"campaign_id": campaign_id, "voter_id": voter_id, "risk": identity_risk(cases, t),
            "cases": [{**dict(c), **reason_texts(c["reason_code"])} for c in cases],
            "votes": [dict(v) for v in votes]}


# --- decisions: one case or many, the same way ---------------------------------------------------

Decision = Literal["confirm", "overturn"]
TARGET_STATUS = {"confirm": "invalidated", "overturn": "overturned"}


class CaseDecision(RequestBody):
    decision: Decision = Field(
        description="confirm: the case's votes no longer count; overturn: they count again.")
    reason: str = Field(min_length=2, max_length=1000, description="Why, for the audit trail and the events.")


class BulkDecision(RequestBody):
    case_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_CASES,
                                      description="The cases to decide, all of this campaign (at most 500).")
    decision: Decision = Field(
        description="confirm: the cases' votes no longer count; overturn: they count again.")
    reason: str = Field(min_length=2, max_length=1000, description="Why, for the audit trail and the events.")


async def _decide_case(conn: asyncpg.Connection, metrics: Metrics, caller: Caller, case: asyncpg.Record,
                       decision: str, reason: str) -> tuple[int, list[tuple[Any, str]]]:
    """Decide one locked case inside the caller's transaction: its status, its votes' states, the audit row.

    Returns the votes whose state changed and the events to record. Confirming invalidates each vote that was not
    invalidated yet (VoteInvalidated each). Overturning puts each vote back to what the other cases holding it say;
    each vote that counts again — from held or from invalidated — is a VoteReinstated: the public count left out
    both. A vote that goes from invalidated to held (another case still holds it) stays out of the count: no event.
    """
    case_id = case["id"]
    target = TARGET_STATUS[decision]
    await conn.execute(Q.set_case_status, case_id, target)
    explanation = f"{caller.username}: {reason} ({case['explanation']})"
    # A case opened before explanations were written in Chinese has only the English one.
    explanation_zh = f"{caller.username}：{reason}（{case['explanation_zh'] or case['explanation']}）"
    texts = reason_texts(case["reason_code"])  # the rule's short label: public, beside the votes it decided

    def event(kind: type, r: asyncpg.Record) -> tuple[Any, str]:
        return (kind(vote_id=r["vote_id"], voter_id=r["voter_id"], entry_id=r["entry_id"],
                     category_id=r["category_id"], count=r["count"], reason_code=case["reason_code"],
                     explanation=explanation, explanation_zh=explanation_zh, decision_id=case_id,
                     reason_text=texts["reason"], reason_text_zh=texts["reason_zh"]),
                r["campaign_id"])

    if target == "invalidated":
        ids = [r["vote_id"] for r in await conn.fetch(Q.case_vote_ids, case_id)]
        changed = await conn.fetch(Q.invalidate_votes, ids)
        events = [event(VoteInvalidated, r) for r in changed]
        metrics.votes.labels("invalidated").inc(len(events))
    else:
        changed = await conn.fetch(Q.overturn_votes, case_id)
        events = [event(VoteReinstated, r) for r in changed if r["state"] == "counted"]
        metrics.votes.labels("reinstated").inc(len(events))
    await conn.execute(Q.audit, case_id, decision, caller.username, caller.role, reason, len(changed), None)
    return len(changed), events


@router.post("/cases/{case_id}/decision")
async def decide(case_id: uuid.UUID, body: CaseDecision, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Confirm or overturn a case. Audited with who and why; each vote whose standing changes is an event."""
    _reviewer(caller)
    metrics: Metrics = rt.state["metrics"]
    async with rt.pool.acquire() as conn, conn.transaction():
        case = await conn.fetchrow(Q.lock_case, case_id)
        if case is None:
            raise ApiError(404, "case_not_found", "案件不存在", "No such case")
        target = TARGET_STATUS[body.decision]
        if case["status"] == target:
            raise ApiError(409, "decision_not_allowed", "该案件已是此状态", f"The case is already {target}",
                           {"status": case["status"]})
        changed, events = await _decide_case(conn, metrics, caller, case, body.decision, body.reason)
        await rt.outbox.record_many(conn, events)
    metrics.decisions.labels(body.decision).inc()
    log.info("case decided", extra={"campaign_id": case["campaign_id"]})
    return {"id": str(case_id), "status": target, "previous_status": case["status"], "votes_changed": changed,
            "decided_by": caller.username, "reason_code": case["reason_code"], **reason_texts(case["reason_code"])}


@router.post("/campaigns/{campaign_id}/cases/decisions")
async def decide_many(campaign_id: str, body: BulkDecision, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Confirm or overturn up to 500 cases of the campaign in one transaction, each as the single-case route does
    (audited per case, an event per vote whose standing changes). A case already in the target state is reported as
    skipped; any id that is not a case of this campaign refuses the whole request (404 `cases_not_found`, nothing
    changed)."""
    _reviewer(caller)
    metrics: Metrics = rt.state["metrics"]
    wanted = list(dict.fromkeys(body.case_ids))  # each case once, in the order given
    target = TARGET_STATUS[body.decision]
    results: list[dict[str, Any]] = []
    async with rt.pool.acquire() as conn, conn.transaction():
        # Locked in id order, as every writer of several cases does, so that two bulk decisions never deadlock.
        locked = {r["id"]: r for r in await conn.fetch(Q.review_lock_cases, wanted, campaign_id)}
        unknown = [str(i) for i in wanted if i not in locked]
        if unknown:
            raise ApiError(404, "cases_not_found", "部分案件不存在或不属于本活动，未作任何处理",
                           "Some cases do not exist in this campaign; nothing was changed", {"case_ids": unknown})
        events: list[tuple[Any, str]] = []
        for case_id in wanted:
            case = locked[case_id]
            result = {"id": str(case_id), "reason_code": case["reason_code"], **reason_texts(case["reason_code"]),
                      "previous_status": case["status"], "status": target, "votes_changed": 0,
                      "skipped": case["status"] == target}
            if not result["skipped"]:
                result["votes_changed"], more = await _decide_case(conn, metrics, caller, case, body.decision,
                                                                   body.reason)
                events += more
            results.append(result)
        await rt.outbox.record_many(conn, events)
    decided = [r for r in results if not r["skipped"]]
    metrics.decisions.labels(body.decision).inc(len(decided))
    log.info("cases decided", extra={"campaign_id": campaign_id})
    return {"campaign_id": campaign_id, "decision": body.decision, "decided_by": caller.username,
            "changed": len(decided), "skipped": len(results) - len(decided),
            "votes_changed": sum(r["votes_changed"] for r in results), "cases": results}


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
                                   [{"field": name, "code": "invalid_value", "message": f"not a case id: {part}"}])
    if len(out) > MAX_CASES:
        raise ApiError(422, "validation_failed", "请求内容有误，请检查标出的字段", "The request has invalid fields",
                       [{"field": name, "code": "invalid_value", "message": f"at most {MAX_CASES} case ids"}])
    return list(dict.fromkeys(out))


async def _what_if(rt: ServiceRuntime, campaign_id: str, release: list[uuid.UUID], confirm: list[uuid.UUID],
                   scenario: str | None) -> dict[str, Any]:
    if scenario and (release or confirm):
        raise ApiError(422, "scenario_with_ids", "请只选择一种方式：情景或案件编号",
                       "Give either a scenario or case ids, not both")
    both = set(release) & set(confirm)
    if both:
        raise ApiError(422, "case_in_both", "同一案件不能既恢复又确认", "A case cannot be both released and confirmed",
                       {"case_ids": sorted(str(i) for i in both)})
    async with rt.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        if scenario:
            held = [r["id"] for r in await conn.fetch(Q.review_case_ids, campaign_id, "flagged", None, None)]
            release, confirm = (held, []) if scenario == "all_held_released" else ([], held)
        elif release or confirm:
            found = {r["id"] for r in await conn.fetch(Q.review_case_ids, campaign_id, None, None,
                                                       release + confirm)}
            unknown = [str(i) for i in release + confirm if i not in found]
            if unknown:
                raise ApiError(404, "cases_not_found", "部分案件不存在或不属于本活动",
                               "Some cases do not exist in this campaign", {"case_ids": unknown})
        standings = await _standings(conn, campaign_id)
        deltas = await conn.fetch(Q.review_what_if, campaign_id, release, confirm) if release or confirm else []
    then: dict[str, dict[uuid.UUID, int]] = {}
    for r in deltas:
        standings.know(r["category_id"], r["entry_id"])
    for cat, totals in standings.totals.items():
        then[cat] = dict(totals)
    for r in deltas:
        then[r["category_id"]][r["entry_id"]] = max(then[r["category_id"]][r["entry_id"]] + int(r["delta"]), 0)
    categories = []
    for cat in sorted(standings.totals):
        ranks_now, ranks_then = competition_ranks(standings.totals[cat]), competition_ranks(then[cat])
        entries = []
        for e in sorted(standings.totals[cat], key=lambda e: (ranks_then[e], ranks_now[e], str(e))):
            name, unit = standings.names.get(e, (None, None))
            entries.append({"entry_id": str(e), "entry_name": name, "unit_name": unit,
                            "votes_now": standings.totals[cat][e], "rank_now": ranks_now[e],
                            "votes_then": then[cat][e], "rank_then": ranks_then[e],
                            "moved": ranks_now[e] != ranks_then[e]})
        categories.append({"category_id": cat, "entries": entries,
                           "moved": [x["entry_id"] for x in entries if x["moved"]]})
    moved = sum(len(c["moved"]) for c in categories)
    return {"campaign_id": campaign_id, "scenario": scenario, "release": [str(i) for i in release],
            "confirm": [str(i) for i in confirm], "changes_rank": moved > 0, "entries_moved": moved,
            "categories": categories}


@router.get("/campaigns/{campaign_id}/what-if")
async def what_if(
    campaign_id: str, rt: Runtime, caller: CallerDep,
    release: Annotated[list[str], Query(description="Case ids as if overturned (repeated or comma-separated).")] = [],
    confirm: Annotated[list[str], Query(description="Case ids as if confirmed (repeated or comma-separated).")] = [],
    scenario: Annotated[Scenario | None, Query(description="all_held_released | all_held_confirmed")] = None,
) -> dict[str, Any]:
    """Per category, each entry's counted votes and rank now and if the given cases were decided so (or under a
    scenario: every held case released, or every held case confirmed), and which entries would move. The decisions
    are applied as the service would: a released case's vote counts again only if no other case still holds it."""
    _reviewer(caller)
    return await _what_if(rt, campaign_id, _ids(release, "release"), _ids(confirm, "confirm"), scenario)


@router.post("/campaigns/{campaign_id}/what-if")
async def what_if_post(campaign_id: str, body: WhatIf, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """The same as GET, with the case ids in the body (for long lists)."""
    _reviewer(caller)
    return await _what_if(rt, campaign_id, list(dict.fromkeys(body.release)), list(dict.fromkeys(body.confirm)),
                          body.scenario)


@router.get("/campaigns/{campaign_id}/alerts")
async def alerts(campaign_id: str, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """The latest alerts: what tripped, including the network signals that are never decisive alone."""
    _reviewer(caller)
    return {"alerts": [{**dict(r), **reason_texts(r["reason_code"])}
                       for r in await rt.pool.fetch(Q.list_alerts, campaign_id)]}


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
        e["reasons"].append({"state": r["state"], "reason_code": r["reason_code"], **reason_texts(r["reason_code"]),
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
