"""Scoring the votes as they arrive: every batch through the detectors, each campaign under its own thresholds and
policy, and what a finding does (a case, its votes held or invalidated, an alert); the entries' owners; old windows
dropped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import asyncpg

from massline import audit
from massline.consumer import Delivered
from massline.contracts import (
    CampaignLoaded,
    Event,
    FraudAlertRaised,
    NominationApproved,
    VoteCast,
    VoteFlagged,
    VoteInvalidated,
)

from . import domain, repository
from .deps import AntifraudDeps

log = logging.getLogger(__name__)
DETECTOR = "antifraud"  # the actor recorded for automatic decisions


async def score_votes(conn: asyncpg.Connection, batch: Sequence[Delivered], deps: AntifraudDeps,
                      nets: domain.NetworkState | None = None) -> Callable[[], None]:
    """Run the batch through every detector (a handful of statements whatever its size) and act on what tripped.

    Each campaign is judged with its own thresholds (the service's, with the campaign's overrides) and acted on
    with its own policy. Returns what makes the batch's additions to the networks held in memory (`nets`, the
    instance's own by default) count, once its transaction committed.
    """
    metrics = deps.metrics
    nets = nets or deps.networks
    shards = deps.settings.counter_shards
    offsets: dict[int, tuple[int, int]] = {}
    for item in batch:
        first, last = offsets.get(item.partition, (item.offset, item.offset))
        offsets[item.partition] = (min(first, item.offset), max(last, item.offset))
    policies = await campaign_policies(conn, deps, {item.envelope.campaign_id for item in batch})
    by_campaign: dict[str, list[domain.VoteSignal]] = {}
    for item in batch:
        campaign = item.envelope.campaign_id
        t = policies[campaign][1]
        votes = item.event.votes if isinstance(item.event, VoteCast) else ()
        by_campaign.setdefault(campaign, []).extend(
            domain.VoteSignal.of(campaign, vote, t, shard=item.partition % shards, partition=item.partition)
            for vote in votes)
    store = repository.HybridWindows(conn, nets, offsets, sharded=shards > 1)
    rebuilt = nets.rebuilt
    decisions: list[audit.Entry] = []
    for campaign, signals in by_campaign.items():
        policy, t = policies[campaign]
        results = await domain.detect(signals, store, t)
        metrics.scored.inc(len(signals))
        for finding, covered in results:
            metrics.findings.labels(finding.reason_code, str(finding.decisive).lower()).inc()
            if not finding.decisive:
                await raise_alert(conn, deps, finding, "info")
                continue
            decided = await apply_finding(conn, deps, finding, covered, policy)
            if decided is not None:
                decisions.append(decided)
    # Last in the transaction, in campaign order: the chain heads stay locked only for the commit.
    await audit.append(conn, decisions)
    metrics.rebuilt.inc(nets.rebuilt - rebuilt)
    return store.committed


async def campaign_policies(conn: asyncpg.Connection, deps: AntifraudDeps,
                            campaigns: set[str]) -> dict[str, tuple[str, domain.Thresholds]]:
    """Each campaign's policy and thresholds, read at most every few seconds per instance (a change applies to
    the votes scored from then on)."""
    cache = deps.policies
    now = cache.clock()
    stale = cache.stale(campaigns, now)
    if stale:
        found = await repository.campaign_policies(conn, stale)
        default = deps.thresholds
        for c in stale:
            r = found.get(c)
            policy = r.policy if r else deps.settings.policy
            t = default
            if r and r.thresholds:
                try:
                    t = domain.with_overrides(default, r.thresholds)
                except ValueError as exc:  # stored before a check it fails was added: scored on the service's
                    log.warning("campaign threshold overrides refused, scoring with the service's",
                                extra={"campaign_id": c, "error": str(exc)})
            cache.keep(c, policy, t, now)
    return cache.of(campaigns)


async def apply_finding(conn: asyncpg.Connection, deps: AntifraudDeps, f: domain.Finding,
                        votes: list[domain.VoteSignal], policy: str) -> audit.Entry | None:
    """Open (or grow) the finding's case and hold or invalidate its votes as the policy says, with their events.

    Returns the decision for the audit trail (None when no vote changed), which the caller appends last."""
    metrics = deps.metrics
    status = domain.case_status(policy, f)
    case = await repository.open_case(conn, f, status)
    linked = await repository.link_votes(conn, case.id, sorted(v.vote_id for v in votes))
    if case.created:
        metrics.cases.labels(f.reason_code, status).inc()
        await raise_alert(conn, deps, f, "critical" if status == "invalidated" else "warning")
    if case.status == "overturned":
        return None  # an operator judged this subject honest: later votes of it are kept but not held again
    invalidating = case.status == "invalidated"
    if case.status == "flagged" and status == "invalidated":
        # The evidence grew sure enough to act without a person (no operator has decided a held case): the whole
        # case is invalidated, the votes it held before included.
        await repository.set_case_status(conn, case.id, "invalidated")
        linked = await repository.case_vote_ids(conn, case.id)
        invalidating = True
    changed = await (repository.invalidate_votes if invalidating else repository.flag_votes)(conn, linked) \
        if linked else []
    if not changed:
        if case.created:  # its votes were held by other cases already: its history still says who opened it
            await repository.audit(conn, case.id, "invalidate" if invalidating else "flag", DETECTOR, "detector",
                                   f.explanation, 0, f.explanation_zh)
        return None
    event_cls = VoteInvalidated if invalidating else VoteFlagged
    events: list[tuple[Event, str]] = [(event_cls(
        vote_id=r.vote_id, voter_id=r.voter_id, entry_id=r.entry_id, category_id=r.category_id, count=r.count,
        reason_code=f.reason_code, explanation=f.explanation, explanation_zh=f.explanation_zh,
        reason_text=domain.REASONS[f.reason_code], reason_text_zh=domain.REASONS_ZH[f.reason_code],
        decision_id=case.id), r.campaign_id) for r in changed]
    await deps.rt.outbox.record_many(conn, events)
    await repository.audit(conn, case.id, "invalidate" if invalidating else "flag", DETECTOR, "detector",
                           f.explanation, len(changed), f.explanation_zh)
    metrics.votes.labels("invalidated" if invalidating else "flagged").inc(len(changed))
    now = datetime.now(UTC)
    cast = {v.vote_id: v.cast_at for v in votes}
    for r in changed:
        if r.vote_id in cast:  # a vote of this batch's finding (not one held earlier and invalidated now)
            metrics.lag.observe(max((now - cast[r.vote_id]).total_seconds(), 0.0))
    return domain.decision_entry(f.selector.campaign_id, case.id, "invalidate" if invalidating else "flag",
                                 audit.service(DETECTOR), f.reason_code, (r.vote_id for r in changed), None)


async def raise_alert(conn: asyncpg.Connection, deps: AntifraudDeps, f: domain.Finding, severity: str) -> None:
    """A FraudAlertRaised for the finding, once per subject and window."""
    alert_id = await repository.raise_alert(conn, f, severity)
    if alert_id is None:
        return  # raised already for this subject and window
    await deps.rt.outbox.record(conn, FraudAlertRaised(
        campaign_id=f.selector.campaign_id, alert_id=alert_id, reason_code=f.reason_code, explanation=f.explanation,
        explanation_zh=f.explanation_zh, severity=severity, entry_id=f.entry_id), campaign_id=f.selector.campaign_id)
    deps.metrics.alerts.labels(f.reason_code).inc()


async def learn_entries(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
    """Remember which unit owns each entry, so the unit can read the invalidations of its own entries."""
    rows = [(e.nomination_id, item.envelope.campaign_id, e.unit_id, e.unit_name, e.entry_name, e.category_id)
            for item in batch if isinstance(e := item.event, NominationApproved) and e.final]
    if rows:
        await repository.upsert_entries(conn, rows)


async def learn_campaigns(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
    """Remember each campaign loaded, so that an operator's request naming no campaign is refused."""
    rows = {e.campaign_id: e.version for item in batch if isinstance(e := item.event, CampaignLoaded)}
    if rows:
        await repository.learn_campaigns(conn, sorted(rows.items()))


async def prune_windows(deps: AntifraudDeps) -> None:
    """Old detector windows are dropped (the identities per ten minutes much later: the final review reads a whole
    voting period's jumps); cases and votes stay as the record of what was decided."""
    while True:
        now = datetime.now(UTC)
        cutoff, tens_cutoff = (now - timedelta(hours=deps.settings.window_retention_h),
                               now - timedelta(days=deps.settings.tens_retention_days))
        try:
            await repository.prune_windows(deps.rt.pool, cutoff, tens_cutoff)
        except (asyncpg.PostgresError, OSError):
            log.warning("pruning detector windows failed; will try again", exc_info=True)
        await asyncio.sleep(600)
