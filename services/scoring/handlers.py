"""Scoring HTTP routes and event subscribers (thin: rules live in domain.py, SQL in queries.sql)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Iterable, Sequence

import asyncpg
from fastapi import APIRouter, Path, Query
from prometheus_client import Counter

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
    topics,
)
from massline.errors import ApiError
from massline.service import Runtime, ServiceRuntime

from . import domain
from .repository import Q, load_category_inputs

log = logging.getLogger(__name__)
router = APIRouter(tags=["scoring"])

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
CampaignId = Annotated[str, Path(pattern=ID_PATTERN, description="Campaign id.", examples=["shaanxi-2024-accounts"])]
CategoryId = Annotated[str, Path(pattern=ID_PATTERN, description="Category id.", examples=["institutional"])]

Touched = set[tuple[str, str]]  # (campaign_id, category_id) whose ranking may have changed


# --- errors --------------------------------------------------------------------------------

def ranking_not_found(campaign_id: str, category_id: str | None = None) -> ApiError:
    details: dict[str, str] = {"campaign_id": campaign_id}
    if category_id is None:
        return ApiError(404, "ranking_not_found", "该活动尚无排名", "No ranking has been computed for this campaign",
                        details)
    details["category_id"] = category_id
    return ApiError(404, "ranking_not_found", "该类别尚无排名", "No ranking has been computed for this category",
                    details)


class Metrics:
    def __init__(self, rt: ServiceRuntime) -> None:
        self.rankings_computed = Counter(
            "massline_rankings_computed", "Rankings stored and announced because their inputs changed",
            registry=rt.registry,
        )
        self.rankings_held = Counter(
            "massline_rankings_held", "Ranking announcements held back while voting is open (sent later)",
            registry=rt.registry,
        )
        self.scores_submitted = Counter(
            "massline_expert_scores_submitted", "Expert scores submitted (locked)", registry=rt.registry,
        )
        self.results_published = Counter(
            "massline_results_published", "Result versions published", registry=rt.registry,
        )




# --- rankings ------------------------------------------------------------------------------

def _category_names(campaign: asyncpg.Record | None) -> dict[str, dict[str, str]]:
    if campaign is None:
        return {}
    return {c["id"]: {"name": c.get("name", ""), "name_en": c.get("name_en", "")} for c in campaign["categories"]}


def _ranking_body(row: asyncpg.Record, names: dict[str, dict[str, str]], units: dict[str, str]) -> dict[str, Any]:
    category = names.get(row["category_id"], {})
    return {
        "category_id": row["category_id"],
        "category_name": category.get("name", ""),
        "category_name_en": category.get("name_en", ""),
        "rule_version": row["rule_version"],
        "inputs_digest": row["inputs_digest"],
        "computed_at": row["computed_at"].isoformat(),
        "computations": row["computations"],
        "tally_as_of": row["tally_as_of"].isoformat() if row["tally_as_of"] else None,
        "voting_closed": row["voting_closed"],
        "warnings": row["warnings"],
        "entries": [{**e, "unit_name": units.get(e["entry_id"], "")} for e in row["entries"]],
    }


async def _names(rt: ServiceRuntime, campaign_id: str) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    campaign = await rt.pool.fetchrow(Q.get_campaign, campaign_id)
    units = {str(r["id"]): r["unit_name"] for r in await rt.pool.fetch(Q.campaign_unit_names, campaign_id)}
    return _category_names(campaign), units


@router.get("/campaigns/{campaign_id}/rankings")
async def campaign_rankings(campaign_id: CampaignId, rt: Runtime) -> dict[str, Any]:
    """The latest ranking of every category: each entry's components, total, rank and explanation."""
    rows = await rt.pool.fetch(Q.campaign_rankings, campaign_id)
    if not rows:
        raise ranking_not_found(campaign_id)
    names, units = await _names(rt, campaign_id)
    return {"campaign_id": campaign_id,
            "categories": {r["category_id"]: _ranking_body(r, names, units) for r in rows}}


@router.get("/campaigns/{campaign_id}/rankings/{category_id}")
async def category_ranking(
    campaign_id: CampaignId,
    category_id: CategoryId,
    rt: Runtime,
    inputs: Annotated[bool, Query(description="Include the canonical inputs the digest was computed from.")] = False,
) -> dict[str, Any]:
    """The latest ranking of one category; with `inputs=true`, sha256 of their canonical JSON is the digest."""
    row = await rt.pool.fetchrow(Q.get_ranking, campaign_id, category_id)
    if row is None:
        raise ranking_not_found(campaign_id, category_id)
    names, units = await _names(rt, campaign_id)
    body = {"campaign_id": campaign_id, **_ranking_body(row, names, units)}
    if inputs:
        body["inputs"] = row["inputs"]
    return body


# --- recomputation -------------------------------------------------------------------------

def _lock_key(campaign_id: str, category_id: str) -> int:
    """A stable signed 64-bit advisory-lock key per category, the same in every process."""
    digest = hashlib.sha256(f"massline-scoring:{campaign_id}:{category_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def recompute(
    conn: asyncpg.Connection, rt: ServiceRuntime, touched: Iterable[tuple[str, str]], *, throttle: bool = False
) -> int:
    """Recompute the touched categories; store and announce each ranking whose inputs digest changed.

    With `throttle` (a tally while voting is open) a category announced less than
    `ranking_announce_interval_s` ago is stored but not announced; `announce_held_rankings` sends
    its latest ranking once the interval has passed, so the last change is always announced.

    Campaign, nomination and tally consumers run side by side. Each takes the category's lock after
    writing its inputs and reads them after getting it, so whichever commits last computed from
    everything committed before it: no ranking is left without an input. Locks are taken in key
    order so two transactions never wait for each other.
    """
    pairs = sorted(set(touched))
    for key in sorted({_lock_key(c, k) for c, k in pairs}):
        await conn.execute(Q.lock_ranking, key)
    campaigns: dict[str, asyncpg.Record | None] = {}
    announced = 0
    for campaign_id, category_id in pairs:
        if campaign_id not in campaigns:
            campaigns[campaign_id] = await conn.fetchrow(Q.get_campaign, campaign_id)
        campaign = campaigns[campaign_id]
        if campaign is None:
            # The rules are not known yet; CampaignLoaded recomputes every category when it arrives.
            continue
        inputs, tally = await load_category_inputs(conn, campaign, category_id)
        previous = await conn.fetchval(Q.get_ranking_digest, campaign_id, category_id)
        if previous is None and not inputs.entries:
            continue
        ranking = domain.compute_ranking(inputs)
        if ranking.inputs_digest == previous:
            continue
        entries = [
            EntryRanking(
                entry_id=e.entry_id, entry_name=e.entry_name, unit_id=e.unit_id, rank=e.rank, total=e.total,
                components=e.components, explanation=e.explanation,
            )
            for e in ranking.entries
        ]
        await conn.execute(
            Q.save_ranking, campaign_id, category_id, ranking.rule_version, ranking.inputs_digest, inputs.canonical(),
            [e.model_dump(mode="json") for e in entries], list(ranking.warnings), tally.as_of, tally.voting_closed,
        )
        if throttle and await _recently_announced(conn, rt, campaign_id, category_id):
            rt.state["metrics"].rankings_held.inc()
        else:
            await rt.outbox.record(
                conn,
                RankingComputed(category_id=category_id, rule_version=ranking.rule_version,
                                inputs_digest=ranking.inputs_digest, entries=entries),
                campaign_id=campaign_id,
            )
            await conn.execute(Q.mark_announced, campaign_id, category_id)
        if ranking.warnings:
            log.warning("ranking computed with configuration warnings",
                        extra={"campaign_id": campaign_id, "category_id": category_id,
                               "warnings": list(ranking.warnings)})
        announced += 1
    rt.state["metrics"].rankings_computed.inc(announced)
    return announced


async def _recently_announced(conn: asyncpg.Connection, rt: ServiceRuntime, campaign_id: str, category_id: str) -> bool:
    interval = rt.settings.ranking_announce_interval_s
    if interval <= 0:
        return False
    row = await conn.fetchrow(Q.get_announcement, campaign_id, category_id)
    if row is None or row["announced_at"] is None:
        return False
    return row["announced_at"] > datetime.now(timezone.utc) - timedelta(seconds=interval)


async def announce_held_rankings(rt: ServiceRuntime) -> int:
    """Announce every ranking whose latest change the throttle held back and whose interval has passed."""
    announced = 0
    async with rt.pool.acquire() as conn, conn.transaction():
        for row in await conn.fetch(Q.unannounced_rankings, float(rt.settings.ranking_announce_interval_s)):
            await rt.outbox.record(
                conn,
                RankingComputed(category_id=row["category_id"], rule_version=row["rule_version"],
                                inputs_digest=row["inputs_digest"],
                                entries=[EntryRanking(**e) for e in row["entries"]]),
                campaign_id=row["campaign_id"],
            )
            await conn.execute(Q.mark_announced, row["campaign_id"], row["category_id"])
            announced += 1
    return announced


async def apply_passed_activity_deadlines(rt: ServiceRuntime, now: datetime | None = None) -> int:
    """Rerank every campaign whose activity deadline has passed since: missing summaries are forfeited now."""
    done = 0
    async with rt.pool.acquire() as conn, conn.transaction():
        for row in await conn.fetch(Q.campaigns_past_activity_deadline):
            categories = [r["category_id"] for r in await conn.fetch(Q.campaign_category_ids, row["id"])]
            await recompute(conn, rt, [(row["id"], c) for c in categories])
            await conn.execute(Q.mark_activity_deadline_applied, row["id"])
            done += 1
    return done


async def _every(rt: ServiceRuntime, seconds: float, job, what: str) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await job(rt)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            # A database outage is waited out; the next round catches up.
            log.warning("%s postponed: database unavailable", what, exc_info=True)


# --- consumers -----------------------------------------------------------------------------

async def on_campaign(conn: asyncpg.Connection, batch: Sequence[Delivered], rt: ServiceRuntime) -> None:
    """Store the scoring rules of each loaded campaign version and rerank its categories under them."""
    loaded: set[str] = set()
    for item in batch:
        e = item.event
        if not isinstance(e, CampaignLoaded):
            continue
        stored = await conn.fetchval(
            Q.upsert_campaign, e.campaign_id, e.version, e.title,
            [c.model_dump(mode="json") for c in e.categories], e.scoring,
            domain.rule_version(e.campaign_id, e.version, e.scoring),
            [p.model_dump(mode="json") for p in e.phases], e.activity_deadline,
        )
        if stored is not None:
            loaded.add(e.campaign_id)
    touched: Touched = set()
    for campaign_id in loaded:
        touched |= {(campaign_id, r["category_id"]) for r in await conn.fetch(Q.campaign_categories, campaign_id)}
    await recompute(conn, rt, touched)


async def _place(conn: asyncpg.Connection, entry_id: Any, campaign_id: str, category_id: str) -> tuple[str, str]:
    """Where the entry is ranked: its stored category wins over the one an event carries."""
    row = await conn.fetchrow(Q.get_entry_place, entry_id)
    return (row["campaign_id"], row["category_id"]) if row else (campaign_id, category_id)


async def on_nomination(conn: asyncpg.Connection, batch: Sequence[Delivered], rt: ServiceRuntime) -> None:
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
            await conn.execute(Q.upsert_entry, e.nomination_id, campaign_id, e.category_id, e.entry_name,
                               e.unit_id, e.unit_name, e.platform)
            touched.add((campaign_id, e.category_id))
        elif isinstance(e, (NominationWithdrawn, NominationRejected)):
            status = "withdrawn" if isinstance(e, NominationWithdrawn) else "rejected"
            row = await conn.fetchrow(Q.retire_entry, e.nomination_id, status)
            if row is not None:
                touched.add((row["campaign_id"], row["category_id"]))
        elif isinstance(e, MetricsReported):
            await conn.execute(Q.upsert_metrics, e.nomination_id, e.source, campaign_id, e.platform, e.followers,
                               e.posts, e.interactions, item.envelope.occurred_at)
            touched.add(await _place(conn, e.nomination_id, campaign_id, e.category_id))
        elif isinstance(e, ActivitySubmitted):
            await conn.execute(Q.record_activity, e.nomination_id, campaign_id, e.submitted_at, e.on_time)
            touched.add(await _place(conn, e.nomination_id, campaign_id, e.category_id))
    await recompute(conn, rt, touched)


async def on_tally(conn: asyncpg.Connection, batch: Sequence[Delivered], rt: ServiceRuntime) -> None:
    """Keep the latest tally of each category and rerank it."""
    open_: Touched = set()
    final: Touched = set()
    for item in batch:
        e = item.event
        if not isinstance(e, TallyUpdated):
            continue
        standings = [s.model_dump(mode="json") for s in e.standings]
        await conn.execute(Q.upsert_tally, item.envelope.campaign_id, e.category_id, e.as_of, e.final, standings)
        (final if e.final else open_).add((item.envelope.campaign_id, e.category_id))
    # A tally per vote batch would announce a ranking per batch: while voting is open they are throttled.
    await recompute(conn, rt, open_ - final, throttle=True)
    await recompute(conn, rt, final)


def register(rt: ServiceRuntime) -> None:
    rt.state = {"metrics": Metrics(rt)}
    interval = rt.settings.ranking_announce_interval_s

    if interval > 0:
        @rt.background
        async def announce_held(runtime: ServiceRuntime) -> None:
            await _every(runtime, interval, announce_held_rankings, "announcing held rankings")

    @rt.background
    async def activity_deadlines(runtime: ServiceRuntime) -> None:
        await _every(runtime, rt.settings.activity_deadline_check_s, apply_passed_activity_deadlines,
                     "applying activity deadlines")

    def bind(fn):
        async def handler(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
            await fn(conn, batch, rt)

        handler.__doc__ = fn.__doc__
        return handler

    rt.subscribe(topics.CAMPAIGN, "campaigns", bind(on_campaign), events=[CampaignLoaded],
                 description="Learn the scoring rules (weights, vote conversion) from the campaign definition.")
    rt.subscribe(topics.NOMINATION, "entries", bind(on_nomination),
                 events=[NominationApproved, NominationWithdrawn, NominationRejected, MetricsReported,
                         ActivitySubmitted],
                 description="Approved entries, their account metrics and activity summaries: inputs of the ranking.")
    rt.subscribe(topics.TALLY, "tallies", bind(on_tally), events=[TallyUpdated],
                 description="The latest vote tally per category: input of the vote score.")
