"""Anti-fraud subscribers (score every VoteCast, learn entry owners) and the operator and unit routes."""

from __future__ import annotations

import asyncio
import gc
import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Callable, Literal, Sequence

import asyncpg
from fastapi import APIRouter, Query
from prometheus_client import Counter, Gauge, Histogram
from pydantic import Field

from massline.auth import Caller, CallerDep, require_role
from massline.consumer import Delivered
from massline.contracts import (
    FraudAlertRaised,
    NominationApproved,
    VoteCast,
    VoteFlagged,
    VoteInvalidated,
    VoteReinstated,
    topics,
)
from massline.errors import ApiError, RequestBody
from massline.service import Runtime, ServiceRuntime

from . import domain
from .repository import HybridWindows, Q
from .settings import AntifraudSettings

log = logging.getLogger(__name__)
router = APIRouter(tags=["antifraud"])

REVIEWERS = ("operator", "admin")
DETECTOR = "antifraud"  # the actor recorded for automatic decisions


class Metrics:
    def __init__(self, rt: ServiceRuntime) -> None:
        r = rt.registry
        self.scored = Counter("massline_fraud_votes_scored", "Votes run through the detectors", registry=r)
        self.findings = Counter("massline_fraud_findings", "Detector findings", ["reason", "decisive"], registry=r)
        self.cases = Counter("massline_fraud_cases_opened", "Cases opened", ["reason", "status"], registry=r)
        self.votes = Counter("massline_fraud_votes_changed", "Votes flagged, invalidated or reinstated",
                             ["action"], registry=r)
        self.decisions = Counter("massline_fraud_operator_decisions", "Operator decisions", ["decision"], registry=r)
        self.alerts = Counter("massline_fraud_alerts_raised", "FraudAlertRaised events", ["reason"], registry=r)
        self.rebuilt = Counter("massline_fraud_networks_rebuilt",
                               "Networks whose windows were rebuilt from the stored votes (first seen by this "
                               "instance, taken over from another, or dropped to stay within capacity)", registry=r)
        self.held = Gauge("massline_fraud_networks_held", "Networks whose windows this instance holds in memory",
                          registry=r)
        self.lag = Histogram("massline_fraud_detection_lag_seconds", "From a vote being cast to its case",
                             buckets=(1, 2, 5, 10, 30, 60, 120, 300, 900, 3600, 86400), registry=r)


def _settings(rt: ServiceRuntime) -> AntifraudSettings:
    return rt.settings  # type: ignore[return-value]


# --- the hot path ------------------------------------------------------------------------------

async def on_votes(conn: asyncpg.Connection, batch: Sequence[Delivered], rt: ServiceRuntime,
                   nets: domain.NetworkState | None = None) -> Callable[[], None]:
    """Run the batch through every detector (a handful of statements whatever its size) and act on what tripped.

    Returns what makes the batch's additions to the networks held in memory (`nets`, the instance's own by
    default) count, once its transaction committed.
    """
    t: domain.Thresholds = rt.state["thresholds"]
    metrics: Metrics = rt.state["metrics"]
    nets = nets or rt.state["networks"]
    shards = _settings(rt).counter_shards
    offsets: dict[int, tuple[int, int]] = {}
    for item in batch:
        first, last = offsets.get(item.partition, (item.offset, item.offset))
        offsets[item.partition] = (min(first, item.offset), max(last, item.offset))
    signals = [domain.VoteSignal.of(item.envelope.campaign_id, vote, t, shard=item.partition % shards,
                                    partition=item.partition)
               for item in batch for vote in item.event.votes]  # type: ignore[attr-defined]
    store = HybridWindows(conn, nets, offsets, sharded=shards > 1)
    rebuilt = nets.rebuilt
    results = await domain.detect(signals, store, t)
    metrics.scored.inc(len(signals))
    metrics.rebuilt.inc(nets.rebuilt - rebuilt)
    policies: dict[str, str] = {}
    for finding, votes in results:
        metrics.findings.labels(finding.reason_code, str(finding.decisive).lower()).inc()
        if not finding.decisive:
            await _alert(conn, rt, finding, "info")
            continue
        campaign = finding.selector.campaign_id
        if campaign not in policies:
            policies[campaign] = await conn.fetchval(Q.policy, campaign) or _settings(rt).policy
        await _apply(conn, rt, finding, votes, policies[campaign])
    return store.committed


async def _apply(conn: asyncpg.Connection, rt: ServiceRuntime, f: domain.Finding, votes: list[domain.VoteSignal],
                 policy: str) -> None:
    metrics: Metrics = rt.state["metrics"]
    status = "invalidated" if policy == "invalidate" else "flagged"
    case = await conn.fetchrow(Q.open_case, uuid.uuid4(), f.selector.campaign_id, f.reason_code, f.subject,
                               f.selector.start, f.entry_id, f.explanation, f.evidence, status, f.explanation_zh)
    linked = [r["vote_id"] for r in await conn.fetch(Q.link_votes, case["id"], sorted(v.vote_id for v in votes))]
    if case["created"]:
        metrics.cases.labels(f.reason_code, status).inc()
        await _alert(conn, rt, f, "critical" if status == "invalidated" else "warning")
    if case["status"] == "overturned" or not linked:
        return  # an operator judged this subject honest: later votes of it are kept but not held again
    invalidating = case["status"] == "invalidated"
    changed = await conn.fetch(Q.invalidate_votes if invalidating else Q.flag_votes, linked)
    if not changed:
        return
    event_cls = VoteInvalidated if invalidating else VoteFlagged
    await rt.outbox.record_many(conn, [(event_cls(
        vote_id=r["vote_id"], voter_id=r["voter_id"], entry_id=r["entry_id"], category_id=r["category_id"],
        count=r["count"], reason_code=f.reason_code, explanation=f.explanation, explanation_zh=f.explanation_zh,
        decision_id=case["id"]), r["campaign_id"]) for r in changed])
    await conn.execute(Q.audit, case["id"], "invalidate" if invalidating else "flag", DETECTOR, "detector",
                       f.explanation, len(changed), f.explanation_zh)
    metrics.votes.labels("invalidated" if invalidating else "flagged").inc(len(changed))
    now = datetime.now(timezone.utc)
    cast = {v.vote_id: v.cast_at for v in votes}
    for r in changed:
        metrics.lag.observe(max((now - cast[r["vote_id"]]).total_seconds(), 0.0))


async def _alert(conn: asyncpg.Connection, rt: ServiceRuntime, f: domain.Finding, severity: str) -> None:
    alert_id = await conn.fetchval(Q.raise_alert, f.selector.campaign_id, f.reason_code, f.subject,
                                   f.selector.start, uuid.uuid4(), severity, f.explanation, f.entry_id,
                                   f.explanation_zh)
    if alert_id is None:
        return  # raised already for this subject and window
    await rt.outbox.record(conn, FraudAlertRaised(
        campaign_id=f.selector.campaign_id, alert_id=alert_id, reason_code=f.reason_code, explanation=f.explanation,
        explanation_zh=f.explanation_zh, severity=severity, entry_id=f.entry_id), campaign_id=f.selector.campaign_id)
    rt.state["metrics"].alerts.labels(f.reason_code).inc()


async def on_nominations(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
    """Remember which unit owns each entry, so the unit can read the invalidations of its own entries."""
    rows = [(e.nomination_id, item.envelope.campaign_id, e.unit_id, e.unit_name, e.entry_name, e.category_id)
            for item in batch if isinstance(e := item.event, NominationApproved) and e.final]
    if rows:
        await conn.execute(Q.upsert_entry, *[list(col) for col in zip(*rows)])


async def prune_windows(rt: ServiceRuntime) -> None:
    """Old detector windows are dropped; cases and votes stay as the record of what was decided."""
    while True:
        cutoff = datetime.now(timezone.utc) - timedelta(hours=_settings(rt).window_retention_h)
        try:
            await rt.pool.execute(Q.prune_windows, cutoff)
            await rt.pool.execute(Q.prune_members, cutoff)
        except (asyncpg.PostgresError, OSError):
            log.warning("pruning detector windows failed; will try again", exc_info=True)
        await asyncio.sleep(600)


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


def register(rt: ServiceRuntime) -> None:
    s = _settings(rt)
    rt.state["thresholds"] = s.thresholds()
    rt.state["metrics"] = Metrics(rt)
    rt.state["networks"] = nets = domain.NetworkState(rt.state["thresholds"], s.networks_held)
    # The networks held are tens of thousands of small long-lived dicts and sets, and every batch allocates
    # thousands of short-lived tuples: with the default thresholds the collector keeps walking the former
    # for the sake of the latter (a quarter of the CPU). The held state has no reference cycles; it is
    # freed by reference counting when dropped.
    gc.set_threshold(50_000, 20, 100)
    rt.state["metrics"].held.set_function(lambda: len(nets.nets))

    async def votes(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> Callable[[], None]:
        return await on_votes(conn, batch, rt)

    rt.subscribe(topics.VOTE, "detectors", votes, events=[VoteCast],
                 description="Score every accepted vote against the brushing detectors; flag or invalidate.")
    rt.subscribe(topics.NOMINATION, "entries", on_nominations, events=[NominationApproved],
                 description="Learn which unit owns each entry, for the unit's view of its invalidations.")
    rt.background(prune_windows)
