"""Rankings: what the consumers learn (campaigns, entries and their inputs, tallies), recomputing and announcing
the rankings they touch, the throttle's held announcements, activity deadlines, and the rankings as read."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from massline.consumer import Delivered
from massline.contracts import (
    ActivitySubmitted,
    CampaignLoaded,
    EntryRanking,
    MetricsReported,
    NominationApproved,
    NominationRejected,
    NominationWithdrawn,
    RankingComputed,
    TallyUpdated,
)

from . import domain, repository
from .deps import ScoringDeps
from .errors import inputs_hidden, ranking_not_found
from .repository import Campaign, Connection, Ranking

log = logging.getLogger(__name__)

Touched = set[tuple[str, str]]  # (campaign_id, category_id) whose ranking may have changed


# --- recomputation -------------------------------------------------------------------------

def _lock_key(campaign_id: str, category_id: str | None = None) -> int:
    """A stable signed 64-bit advisory-lock key per category (or per campaign), the same in every process."""
    name = f"massline-scoring:{campaign_id}" + (f":{category_id}" if category_id is not None else "")
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def lock_campaigns(conn: asyncpg.Connection, campaign_ids: Iterable[str]) -> None:
    """The campaigns' locks, in key order, before any category's: a campaign's consumer that has written its rules
    and a nominations' consumer that has written its entries take it before reading the other's, so the one that
    gets it second reads what the first committed (neither may read "no entries" and "no campaign" at once)."""
    for key in sorted({_lock_key(c) for c in campaign_ids}):
        await repository.lock_ranking(conn, key)


async def lock_categories(conn: asyncpg.Connection, pairs: Iterable[tuple[str, str]]) -> None:
    """The campaigns' locks, then the categories', each in key order (a transaction takes every one it needs at
    once, or what it holds already: two never wait for each other)."""
    pairs = list(pairs)
    await lock_campaigns(conn, (c for c, _ in pairs))
    for key in sorted({_lock_key(c, k) for c, k in pairs}):
        await repository.lock_ranking(conn, key)


async def recompute(
    conn: asyncpg.Connection, deps: ScoringDeps, touched: Iterable[tuple[str, str]], *, throttle: bool = False
) -> int:
    """Recompute the touched categories; store and announce each ranking whose inputs digest changed.

    With `throttle` (a tally while voting is open) a category announced less than
    `ranking_announce_interval_s` ago is stored but not announced; `announce_held_rankings` sends
    its latest ranking once the interval has passed, so the last change is always announced.

    Campaign, nomination and tally consumers run side by side. Each takes the category's lock after
    writing its inputs and reads them after getting it, so whichever commits last computed from
    everything committed before it: no ranking is left without an input. The campaign's lock comes first: a
    campaign's rules and its first entries written side by side are read by whichever takes it second. Locks are
    taken in key order so two transactions never wait for each other.
    """
    pairs = sorted(set(touched))
    await lock_categories(conn, pairs)
    campaigns: dict[str, Campaign | None] = {}
    announced = 0
    for campaign_id, category_id in pairs:
        if campaign_id not in campaigns:
            campaigns[campaign_id] = await repository.get_campaign(conn, campaign_id)
        campaign = campaigns[campaign_id]
        if campaign is None:
            # The rules are not known yet; CampaignLoaded recomputes every category when it arrives.
            continue
        if await _recompute_category(conn, deps, campaign, category_id, throttle):
            announced += 1
    deps.metrics.rankings_computed.inc(announced)
    return announced


async def _recompute_category(conn: asyncpg.Connection, deps: ScoringDeps, campaign: Campaign, category_id: str,
                              throttle: bool) -> bool:
    """Store the category's ranking if its inputs changed, and announce it unless the throttle holds it back."""
    campaign_id = campaign.id
    inputs, tally = await repository.load_category_inputs(conn, campaign, category_id)
    previous = await repository.ranking_digest(conn, campaign_id, category_id)
    if previous is None and not inputs.entries:
        return False
    ranking = domain.compute_ranking(inputs)
    if ranking.inputs_digest == previous:
        return False
    entries = [
        EntryRanking(
            entry_id=e.entry_id, entry_name=e.entry_name, unit_id=e.unit_id, rank=e.rank, total=e.total,
            components=e.components, explanation=e.explanation,
        )
        for e in ranking.entries
    ]
    await repository.save_ranking(
        conn, campaign_id, category_id, ranking.rule_version, ranking.inputs_digest, inputs.canonical(),
        [e.model_dump(mode="json") for e in entries], list(ranking.warnings), tally.as_of, tally.voting_closed,
    )
    if throttle and await _recently_announced(conn, deps, campaign_id, category_id):
        deps.metrics.rankings_held.inc()
    else:
        await deps.rt.outbox.record(
            conn,
            announcement(category_id, ranking.rule_version, ranking.inputs_digest,
                         [e.model_dump(mode="json") for e in entries],
                         domain.counts_hidden(campaign.show_counts, tally.voting_closed)),
            campaign_id=campaign_id,
        )
        await repository.mark_announced(conn, campaign_id, category_id)
    if ranking.warnings:
        log.warning("ranking computed with configuration warnings",
                    extra={"campaign_id": campaign_id, "category_id": category_id,
                           "warnings": list(ranking.warnings)})
    return True


def announcement(category_id: str, rule_version: str, inputs_digest: str, entries: Sequence[dict[str, Any]],
                 counts_hidden: bool) -> RankingComputed:
    """The RankingComputed a ranking is announced with (a public topic): without vote counts while hidden."""
    shown = domain.without_counts(entries) if counts_hidden else entries
    return RankingComputed(category_id=category_id, rule_version=rule_version, inputs_digest=inputs_digest,
                           entries=[EntryRanking(**e) for e in shown], counts_hidden=counts_hidden)


async def _recently_announced(conn: Connection, deps: ScoringDeps, campaign_id: str, category_id: str) -> bool:
    interval = deps.settings.ranking_announce_interval_s
    if interval <= 0:
        return False
    at = await repository.announced_at(conn, campaign_id, category_id)
    if at is None:
        return False
    return at > datetime.now(UTC) - timedelta(seconds=interval)


async def announce_held_rankings(deps: ScoringDeps) -> int:
    """Announce every ranking whose latest change the throttle held back and whose interval has passed."""
    announced = 0
    async with deps.rt.unit_of_work() as uow:
        for row in await repository.unannounced_rankings(uow.conn, float(deps.settings.ranking_announce_interval_s)):
            await uow.record(
                announcement(row["category_id"], row["rule_version"], row["inputs_digest"], row["entries"],
                             domain.counts_hidden(row["show_counts"], row["voting_closed"])),
                campaign_id=row["campaign_id"],
            )
            await repository.mark_announced(uow.conn, row["campaign_id"], row["category_id"])
            announced += 1
    return announced


async def apply_passed_activity_deadlines(deps: ScoringDeps, now: datetime | None = None) -> int:
    """Rerank every campaign whose activity deadline has passed since: missing summaries are forfeited now."""
    done = 0
    async with deps.rt.unit_of_work() as uow:
        for campaign_id in await repository.campaigns_past_activity_deadline(uow.conn):
            categories = await repository.campaign_category_ids(uow.conn, campaign_id)
            await recompute(uow.conn, deps, [(campaign_id, c) for c in categories])
            await repository.mark_activity_deadline_applied(uow.conn, campaign_id)
            done += 1
    return done


async def every(deps: ScoringDeps, seconds: float, job: Callable[[ScoringDeps], Awaitable[int]], what: str) -> None:
    """Run `job` every `seconds` for the life of the service."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await job(deps)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            # A database outage is waited out; the next round catches up.
            log.warning("%s postponed: database unavailable", what, exc_info=True)


# --- what the consumers learn ------------------------------------------------------------------

async def learn_campaigns(conn: asyncpg.Connection, batch: Sequence[Delivered], deps: ScoringDeps) -> None:
    """Store the scoring rules of each loaded campaign version and rerank its categories under them."""
    loaded: set[str] = set()
    for item in batch:
        e = item.event
        if not isinstance(e, CampaignLoaded):
            continue
        stored = await repository.upsert_campaign(conn, Campaign(
            e.campaign_id, e.version, e.title, [c.model_dump(mode="json") for c in e.categories], e.scoring,
            domain.rule_version(e.campaign_id, e.version, e.scoring),
            [p.model_dump(mode="json") for p in e.phases], e.activity_deadline, e.vote_rules.show_counts,
            e.activity_summary_deadline, e.activity_late_summary, e.approval_with_open_cases,
        ))
        if stored:
            loaded.add(e.campaign_id)
    touched: Touched = set()
    await lock_campaigns(conn, loaded)
    for campaign_id in loaded:
        touched |= {(campaign_id, c) for c in await repository.campaign_categories(conn, campaign_id)}
    await recompute(conn, deps, touched)


async def _place(conn: Connection, entry_id: Any, campaign_id: str, category_id: str) -> tuple[str, str]:
    """Where the entry is ranked: its stored category wins over the one an event carries."""
    return await repository.entry_place(conn, entry_id) or (campaign_id, category_id)


async def learn_nominations(conn: asyncpg.Connection, batch: Sequence[Delivered], deps: ScoringDeps) -> None:
    """Entries join on final approval and leave on withdrawal or rejection; metrics and activity are inputs."""
    touched: Touched = set()
    for item in batch:
        e = item.event
        campaign_id = item.envelope.campaign_id
        if isinstance(e, NominationApproved):
            if not e.final:
                continue
            # A final approval may move the entry to another category: both rankings change.
            touched.add(await _place(conn, e.nomination_id, campaign_id, e.category_id))
            await repository.upsert_entry(conn, e.nomination_id, campaign_id, e.category_id, e.entry_name,
                                          e.unit_id, e.unit_name, e.platform)
            touched.add((campaign_id, e.category_id))
        elif isinstance(e, (NominationWithdrawn, NominationRejected)):
            status = "withdrawn" if isinstance(e, NominationWithdrawn) else "rejected"
            place = await repository.retire_entry(conn, e.nomination_id, status)
            if place is not None:
                touched.add(place)
        elif isinstance(e, MetricsReported):
            await repository.upsert_metrics(conn, e.nomination_id, e.source, campaign_id, e.platform, e.followers,
                                            e.posts, e.interactions, item.envelope.occurred_at, e.snapshot_id,
                                            e.taken_on)
            touched.add(await _place(conn, e.nomination_id, campaign_id, e.category_id))
        elif isinstance(e, ActivitySubmitted):
            await repository.record_activity(conn, e.nomination_id, campaign_id, e.submitted_at, e.on_time,
                                             e.held_in_period)
            touched.add(await _place(conn, e.nomination_id, campaign_id, e.category_id))
    await recompute(conn, deps, touched)


async def learn_tallies(conn: asyncpg.Connection, batch: Sequence[Delivered], deps: ScoringDeps) -> None:
    """Keep the latest tally of each category and rerank it."""
    open_: Touched = set()
    final: Touched = set()
    for item in batch:
        e = item.event
        if not isinstance(e, TallyUpdated):
            continue
        standings = [s.model_dump(mode="json") for s in e.standings]
        await repository.upsert_tally(conn, item.envelope.campaign_id, e.category_id, e.as_of, e.final, standings)
        (final if e.final else open_).add((item.envelope.campaign_id, e.category_id))
    # A tally per vote batch would announce a ranking per batch: while voting is open they are throttled.
    await lock_categories(conn, open_ | final)  # both rounds' locks at once, in order
    await recompute(conn, deps, open_ - final, throttle=True)
    await recompute(conn, deps, final)


# --- the rankings as read ----------------------------------------------------------------------

def _ranking_body(row: Ranking, names: dict[str, dict[str, str]], units: dict[str, str],
                  hidden: bool) -> dict[str, Any]:
    category = names.get(row.category_id, {})
    entries = domain.without_counts(row.entries) if hidden else row.entries
    return {
        "category_id": row.category_id,
        "category_name": category.get("name", ""),
        "category_name_en": category.get("name_en", ""),
        "rule_version": row.rule_version,
        "inputs_digest": row.inputs_digest,
        "computed_at": row.computed_at.isoformat(),
        "computations": row.computations,
        "tally_as_of": row.tally_as_of.isoformat() if row.tally_as_of else None,
        "voting_closed": row.voting_closed,
        "warnings": row.warnings,
        # hidden from this caller, or from everyone: the tally itself came without counts while voting is open
        "counts_hidden": hidden or not domain.has_counts(row.entries),
        "entries": [{**e, "unit_name": units.get(e["entry_id"], "")} for e in entries],
    }


async def _names(conn: Connection, campaign_id: str) -> tuple[dict[str, dict[str, str]], dict[str, str], str]:
    """Category names, unit names, and what the campaign shows of the votes while voting is open."""
    campaign = await repository.get_campaign(conn, campaign_id)
    units = await repository.campaign_unit_names(conn, campaign_id)
    return (campaign.category_names() if campaign else {}), units, (campaign.show_counts if campaign else "always")


def _hidden_from(role: str | None, show_counts: str, row: Ranking) -> bool:
    """Whether this caller (its role; None when not signed in) gets the ranking without vote counts."""
    return domain.counts_hidden(show_counts, row.voting_closed) and not domain.may_read_counts(role)


async def campaign_rankings(deps: ScoringDeps, campaign_id: str, role: str | None = None) -> dict[str, Any]:
    """The latest ranking of every category of the campaign, with category and unit names; without vote
    counts while the campaign hides them, unless the caller's role may read them."""
    pool = deps.rt.pool
    rows = await repository.campaign_rankings(pool, campaign_id)
    if not rows:
        raise ranking_not_found(campaign_id)
    names, units, show = await _names(pool, campaign_id)
    return {"campaign_id": campaign_id,
            "categories": {r.category_id: _ranking_body(r, names, units, _hidden_from(role, show, r)) for r in rows}}


async def category_ranking(deps: ScoringDeps, campaign_id: str, category_id: str, inputs: bool,
                           role: str | None = None) -> dict[str, Any]:
    """The latest ranking of one category, with its canonical inputs when asked. While the campaign hides vote
    counts, a caller whose role may not read them gets no counts, and no inputs (they hold the counts)."""
    pool = deps.rt.pool
    row = await repository.get_ranking(pool, campaign_id, category_id)
    if row is None:
        raise ranking_not_found(campaign_id, category_id)
    names, units, show = await _names(pool, campaign_id)
    hidden = _hidden_from(role, show, row)
    if inputs and hidden:
        raise inputs_hidden(campaign_id, category_id)
    body = {"campaign_id": campaign_id, **_ranking_body(row, names, units, hidden)}
    if inputs:
        body["inputs"] = row.inputs
    return body
