"""Anti-fraud subscribers (score every VoteCast, learn entry owners) and the operator and unit routes."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable, Sequence

import asyncpg
from prometheus_client import Counter, Gauge, Histogram

from massline.consumer import Delivered
from massline.contracts import (
    FraudAlertRaised,
    NominationApproved,
    VoteCast,
    VoteFlagged,
    VoteInvalidated,
    topics,
)
from massline.service import ServiceRuntime

from . import domain
from .repository import HybridWindows, Q
from .settings import AntifraudSettings

log = logging.getLogger(__name__)
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

    Each campaign is judged with its own thresholds (the service's, with the campaign's overrides) and acted on
    with its own policy. Returns what makes the batch's additions to the networks held in memory (`nets`, the
    instance's own by default) count, once its transaction committed.
    """
    metrics: Metrics = rt.state["metrics"]
    nets = nets or rt.state["networks"]
    shards = _settings(rt).counter_shards
    offsets: dict[int, tuple[int, int]] = {}
    for item in batch:
        first, last = offsets.get(item.partition, (item.offset, item.offset))
        offsets[item.partition] = (min(first, item.offset), max(last, item.offset))
    policies = await campaign_policies(conn, rt, {item.envelope.campaign_id for item in batch})
    by_campaign: dict[str, list[domain.VoteSignal]] = {}
    for item in batch:
        campaign = item.envelope.campaign_id
        t = policies[campaign][1]
        by_campaign.setdefault(campaign, []).extend(
            domain.VoteSignal.of(campaign, vote, t, shard=item.partition % shards, partition=item.partition)
            for vote in item.event.votes)  # type: ignore[attr-defined]
    store = HybridWindows(conn, nets, offsets, sharded=shards > 1)
    rebuilt = nets.rebuilt
    for campaign, signals in by_campaign.items():
        policy, t = policies[campaign]
        results = await domain.detect(signals, store, t)
        metrics.scored.inc(len(signals))
        for finding, votes in results:
            metrics.findings.labels(finding.reason_code, str(finding.decisive).lower()).inc()
            if not finding.decisive:
                await _alert(conn, rt, finding, "info")
                continue
            await _apply(conn, rt, finding, votes, policy)
    metrics.rebuilt.inc(nets.rebuilt - rebuilt)
    return store.committed


_POLICY_TTL_S = 5.0


async def campaign_policies(conn: asyncpg.Connection, rt: ServiceRuntime,
                            campaigns: set[str]) -> dict[str, tuple[str, domain.Thresholds]]:
    """Each campaign's policy and thresholds, read at most every few seconds per instance (a change applies to
    the votes scored from then on)."""
    cache: dict[str, tuple[float, str, domain.Thresholds]] = rt.state.setdefault("policies", {})
    now = time.monotonic()
    stale = sorted(c for c in campaigns if c not in cache or cache[c][0] < now)
    if stale:
        found = {r["campaign_id"]: r for r in await conn.fetch(Q.campaign_policies, stale)}
        default: domain.Thresholds = rt.state["thresholds"]
        for c in stale:
            r = found.get(c)
            policy = r["policy"] if r else _settings(rt).policy
            t = domain.with_overrides(default, dict(r["thresholds"])) if r and r["thresholds"] else default
            cache[c] = (now + _POLICY_TTL_S, policy, t)
    return {c: cache[c][1:] for c in campaigns}


def case_status(policy: str, f: domain.Finding) -> str:
    """What a case does to its votes: the policy decides, and under `auto` the rule's level."""
    if policy == "invalidate" or (policy == "auto" and f.level == "invalidate"):
        return "invalidated"
    return "flagged"


async def _apply(conn: asyncpg.Connection, rt: ServiceRuntime, f: domain.Finding, votes: list[domain.VoteSignal],
                 policy: str) -> None:
    metrics: Metrics = rt.state["metrics"]
    status = case_status(policy, f)
    case = await conn.fetchrow(Q.open_case, uuid.uuid4(), f.selector.campaign_id, f.reason_code, f.subject,
                               f.selector.start, f.entry_id, f.explanation, f.evidence, status, f.explanation_zh,
                               f.score)
    linked = [r["vote_id"] for r in await conn.fetch(Q.link_votes, case["id"], sorted(v.vote_id for v in votes))]
    if case["created"]:
        metrics.cases.labels(f.reason_code, status).inc()
        await _alert(conn, rt, f, "critical" if status == "invalidated" else "warning")
    if case["status"] == "overturned":
        return  # an operator judged this subject honest: later votes of it are kept but not held again
    invalidating = case["status"] == "invalidated"
    if case["status"] == "flagged" and status == "invalidated":
        # The evidence grew sure enough to act without a person (no operator has decided a held case): the whole
        # case is invalidated, the votes it held before included.
        await conn.execute(Q.set_case_status, case["id"], "invalidated")
        linked = [r["vote_id"] for r in await conn.fetch(Q.case_vote_ids, case["id"])]
        invalidating = True
    if not linked:
        return
    changed = await conn.fetch(Q.invalidate_votes if invalidating else Q.flag_votes, linked)
    if not changed:
        return
    event_cls = VoteInvalidated if invalidating else VoteFlagged
    await rt.outbox.record_many(conn, [(event_cls(
        vote_id=r["vote_id"], voter_id=r["voter_id"], entry_id=r["entry_id"], category_id=r["category_id"],
        count=r["count"], reason_code=f.reason_code, explanation=f.explanation, explanation_zh=f.explanation_zh,
        reason_text=domain.REASONS[f.reason_code], reason_text_zh=domain.REASONS_ZH[f.reason_code],
        decision_id=case["id"]), r["campaign_id"]) for r in changed])
    await conn.execute(Q.audit, case["id"], "invalidate" if invalidating else "flag", DETECTOR, "detector",
                       f.explanation, len(changed), f.explanation_zh)
    metrics.votes.labels("invalidated" if invalidating else "flagged").inc(len(changed))
    now = datetime.now(timezone.utc)
    cast = {v.vote_id: v.cast_at for v in votes}
    for r in changed:
        if r["vote_id"] in cast:  # a vote of this batch's finding (not one held earlier and invalidated now)
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
