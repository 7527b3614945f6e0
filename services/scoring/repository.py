"""Scoring storage, the only reader of queries.sql: campaigns, entries and their inputs learned from events, expert
panels, assignments and scores, rankings, adjustments, approvals and published results."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg

from massline.queries import load_queries

from . import domain, review

Q = load_queries(Path(__file__).with_name("queries.sql"))


@dataclass(frozen=True)
class TallyState:
    as_of: datetime | None
    voting_closed: bool


def activity_record(on_time: bool | None, held_in_period: bool | None) -> domain.ActivityRecord | None:
    """The stored activity report (None when none arrived)."""
    return None if on_time is None else domain.ActivityRecord(on_time, held_in_period)


def _vote_inputs(standing: dict[str, Any]) -> dict[str, Any]:
    """An entry's vote inputs from the tally: counted votes, tally rank, held and invalidated votes and why."""
    return {"votes": standing.get("votes"), "tally_rank": standing.get("rank"), "held": standing.get("held"),
            "invalidated": standing.get("invalidated"),
            "vote_reasons": tuple(domain.VoteReason(r["state"], r["reason_code"], int(r["votes"]), r["reason"],
                                                    r["reason_zh"]) for r in standing.get("reasons") or ())}


async def load_category_inputs(
    conn: Connection, campaign: Campaign, category_id: str, now: datetime | None = None
) -> tuple[domain.CategoryInputs, TallyState]:
    """Everything the ranking of one category depends on, read in the caller's transaction."""
    now = now or datetime.now(UTC)
    campaign_id = campaign.id
    rows = await conn.fetch(Q.category_entries, campaign_id, category_id)
    tally = await conn.fetchrow(Q.get_tally, campaign_id, category_id)
    settings = await conn.fetchrow(Q.category_review_settings, campaign_id, category_id)
    normalization = settings["normalization"] if settings else "none"
    standings: dict[str, dict[str, Any]] = {}
    if tally is not None:
        standings = {str(s["entry_id"]): s for s in tally["standings"]}
    marks: dict[str, dict[str, dict[str, float]]] = {"expert": {}, "activity": {}}
    for s in await conn.fetch(Q.category_expert_scores, campaign_id, category_id):
        marks[s["component"]].setdefault(s["expert_id"], {})[str(s["entry_id"])] = float(s["total"])
    effective = {c: review.normalise(m, normalization) for c, m in marks.items()}
    raw = {c: review.normalise(m, "none") for c, m in marks.items()}
    adjustments: dict[str, list[tuple[float, str]]] = {}
    for a in await conn.fetch(Q.category_adjustments, campaign_id, category_id):
        adjustments.setdefault(str(a["entry_id"]), []).append((float(a["points"]), a["reason"]))
    entries = []
    for r in rows:
        entry_id = str(r["id"])
        activity, summary = domain.activity_state(activity_record(r["activity_on_time"], r["activity_held_in_period"]),
                                                  campaign.activity_deadline, now)
        standing = standings.get(entry_id, {})
        metrics = None
        if r["source"] is not None:
            metrics = domain.AccountMetrics(r["followers"], r["posts"], r["interactions"], r["source"],
                                            None if r["snapshot_id"] is None else str(r["snapshot_id"]),
                                            None if r["taken_on"] is None else r["taken_on"].isoformat())
        normalised = normalization != "none"
        entries.append(domain.EntryInputs(
            entry_id=entry_id,
            name=r["name"],
            unit_id=r["unit_id"],
            metrics=metrics,
            **_vote_inputs(standing),
            activity=activity,
            summary=summary,
            expert_scores=tuple(effective["expert"].get(entry_id, {}).values()),
            activity_scores=tuple(effective["activity"].get(entry_id, {}).values()),
            expert_raw=tuple(raw["expert"].get(entry_id, {}).values()) if normalised else (),
            activity_raw=tuple(raw["activity"].get(entry_id, {}).values()) if normalised else (),
            adjustments=tuple(adjustments.get(entry_id, ())),
            platform=r["platform"],
        ))
    state = TallyState(tally["as_of"] if tally else None, bool(tally and tally["voting_closed"]))
    inputs = domain.CategoryInputs(
        campaign_id=campaign_id,
        category_id=category_id,
        rule_version=campaign.rule_version,
        rules=replace(domain.ScoringRules.from_config(campaign.scoring),
                      late_summary_forfeits=campaign.activity_late_summary == "forfeit"),
        entries=tuple(entries),
        voting_closed=state.voting_closed,
        expert_normalization=normalization,
    )
    return inputs, state


# --- campaigns, entries and their inputs, learned from events -----------------------------------

# Every function takes a connection (inside the caller's transaction), a pool's connection or the pool itself.
Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy | asyncpg.Pool


@dataclass(frozen=True)
class Campaign:
    """A campaign as scoring knows it from its latest CampaignLoaded."""

    id: str
    version: int
    title: str
    categories: list[dict[str, Any]]
    scoring: dict[str, Any]
    rule_version: str
    phases: list[dict[str, Any]] | None
    activity_deadline: datetime | None  # the end of the period in which the activity must be held
    show_counts: str = "always"  # what the public sees of the votes while voting is open
    activity_summary_deadline: datetime | None = None
    activity_late_summary: str = "mark_late"  # mark_late, forfeit or refuse
    approval_with_open_cases: str = "warn"  # warn or refuse

    def category_names(self) -> dict[str, dict[str, str]]:
        """Each category's names in Chinese and English."""
        return {c["id"]: {"name": c.get("name", ""), "name_en": c.get("name_en", "")} for c in self.categories}


async def get_campaign(conn: Connection, campaign_id: str) -> Campaign | None:
    r = await conn.fetchrow(Q.get_campaign, campaign_id)
    if r is None:
        return None
    return Campaign(r["id"], r["version"], r["title"], r["categories"], r["scoring"], r["rule_version"], r["phases"],
                    r["activity_deadline"], r["show_counts"], r["activity_summary_deadline"],
                    r["activity_late_summary"], r["approval_with_open_cases"])


async def upsert_campaign(conn: Connection, campaign: Campaign) -> bool:
    """Store this version of the campaign; False when a newer one is stored already."""
    c = campaign
    stored = await conn.fetchval(Q.upsert_campaign, c.id, c.version, c.title, c.categories, c.scoring, c.rule_version,
                                 c.phases, c.activity_deadline, c.show_counts, c.activity_summary_deadline,
                                 c.activity_late_summary, c.approval_with_open_cases)
    return stored is not None


async def campaign_title(conn: Connection, campaign_id: str) -> str | None:
    title: str | None = await conn.fetchval(Q.get_campaign_title, campaign_id)
    return title


async def campaign_categories(conn: Connection, campaign_id: str) -> list[str]:
    """Categories that have, or had, something to rank."""
    return [r["category_id"] for r in await conn.fetch(Q.campaign_categories, campaign_id)]


async def campaign_category_ids(conn: Connection, campaign_id: str) -> list[str]:
    """Categories with an active entry or a ranking, in id order."""
    return [r["category_id"] for r in await conn.fetch(Q.campaign_category_ids, campaign_id)]


async def entry_place(conn: Connection, entry_id: Any) -> tuple[str, str] | None:
    """(campaign, category) where the entry is stored, if it is."""
    row = await conn.fetchrow(Q.get_entry_place, entry_id)
    return (row["campaign_id"], row["category_id"]) if row else None


async def upsert_entry(conn: Connection, entry_id: Any, campaign_id: str, category_id: str, name: str,
                       unit_id: str, unit_name: str, platform: str | None) -> None:
    await conn.execute(Q.upsert_entry, entry_id, campaign_id, category_id, name, unit_id, unit_name, platform)


async def retire_entry(conn: Connection, entry_id: Any, status: str) -> tuple[str, str] | None:
    """The entry leaves the ranking; (campaign, category) where it was ranked, if it was."""
    row = await conn.fetchrow(Q.retire_entry, entry_id, status)
    return (row["campaign_id"], row["category_id"]) if row else None


async def get_entry(conn: Connection, entry_id: Any) -> asyncpg.Record | None:
    """id, campaign_id, category_id, name, unit_id, unit_name, active."""
    row: asyncpg.Record | None = await conn.fetchrow(Q.get_entry, entry_id)
    return row


async def campaign_unit_names(conn: Connection, campaign_id: str) -> dict[str, str]:
    """Entry id → the name of the unit that nominated it."""
    return {str(r["id"]): r["unit_name"] for r in await conn.fetch(Q.campaign_unit_names, campaign_id)}


async def upsert_metrics(conn: Connection, entry_id: Any, source: str, campaign_id: str, platform: str | None,
                         followers: int, posts: int, interactions: int, reported_at: datetime,
                         snapshot_id: Any = None, taken_on: date | None = None) -> None:
    """Figures from one source; registry figures name their snapshot (id and day)."""
    await conn.execute(Q.upsert_metrics, entry_id, source, campaign_id, platform, followers, posts, interactions,
                       reported_at, snapshot_id, taken_on)


async def record_activity(conn: Connection, entry_id: Any, campaign_id: str, submitted_at: datetime,
                          on_time: bool, held_in_period: bool | None) -> None:
    await conn.execute(Q.record_activity, entry_id, campaign_id, submitted_at, on_time, held_in_period)


async def activity_report(conn: Connection, entry_id: Any) -> domain.ActivityRecord | None:
    """The entry's activity report: summary on time, held within the period; None when none arrived."""
    r = await conn.fetchrow(Q.get_activity_report, entry_id)
    return None if r is None else activity_record(r["on_time"], r["held_in_period"])


async def upsert_tally(conn: Connection, campaign_id: str, category_id: str, as_of: datetime, final: bool,
                       standings: list[dict[str, Any]]) -> None:
    await conn.execute(Q.upsert_tally, campaign_id, category_id, as_of, final, standings)


# --- rankings --------------------------------------------------------------------------------

async def lock_ranking(conn: Connection, key: int) -> None:
    """One transaction at a time computes a category's ranking."""
    await conn.execute(Q.lock_ranking, key)


async def ranking_digest(conn: Connection, campaign_id: str, category_id: str) -> str | None:
    digest: str | None = await conn.fetchval(Q.get_ranking_digest, campaign_id, category_id)
    return digest


async def save_ranking(conn: Connection, campaign_id: str, category_id: str, rule_version: str, inputs_digest: str,
                       inputs: Any, entries: list[dict[str, Any]], warnings: list[str], tally_as_of: datetime | None,
                       voting_closed: bool) -> None:
    await conn.execute(Q.save_ranking, campaign_id, category_id, rule_version, inputs_digest, inputs, entries,
                       warnings, tally_as_of, voting_closed)


@dataclass(frozen=True)
class Ranking:
    """A category's latest ranking as stored: its entries (EntryRanking as JSON), the digest of its inputs, and the
    inputs themselves when they were read."""

    category_id: str
    rule_version: str
    inputs_digest: str
    entries: list[dict[str, Any]]
    warnings: list[str]
    tally_as_of: datetime | None
    voting_closed: bool
    computed_at: datetime
    computations: int
    inputs: dict[str, Any] | None = None


def _ranking(r: asyncpg.Record, with_inputs: bool) -> Ranking:
    return Ranking(r["category_id"], r["rule_version"], r["inputs_digest"], r["entries"], r["warnings"],
                   r["tally_as_of"], r["voting_closed"], r["computed_at"], r["computations"],
                   r["inputs"] if with_inputs else None)


async def get_ranking(conn: Connection, campaign_id: str, category_id: str) -> Ranking | None:
    """The category's latest ranking with its canonical inputs."""
    row = await conn.fetchrow(Q.get_ranking, campaign_id, category_id)
    return _ranking(row, with_inputs=True) if row else None


async def campaign_rankings(conn: Connection, campaign_id: str) -> list[Ranking]:
    """Every category's latest ranking (without inputs), in category order."""
    return [_ranking(r, with_inputs=False) for r in await conn.fetch(Q.campaign_rankings, campaign_id)]


async def campaign_digests(conn: Connection, campaign_id: str) -> dict[str, str]:
    """Category → the inputs digest of its latest ranking."""
    return {r["category_id"]: r["inputs_digest"] for r in await conn.fetch(Q.campaign_digests, campaign_id)}


async def mark_announced(conn: Connection, campaign_id: str, category_id: str) -> None:
    await conn.execute(Q.mark_announced, campaign_id, category_id)


async def announced_at(conn: Connection, campaign_id: str, category_id: str) -> datetime | None:
    row = await conn.fetchrow(Q.get_announcement, campaign_id, category_id)
    return row["announced_at"] if row else None


async def unannounced_rankings(conn: Connection, interval_s: float) -> list[asyncpg.Record]:
    """Rankings whose last change the throttle held back and whose interval has passed (locked)."""
    return list(await conn.fetch(Q.unannounced_rankings, interval_s))


async def campaigns_past_activity_deadline(conn: Connection) -> list[str]:
    return [r["id"] for r in await conn.fetch(Q.campaigns_past_activity_deadline)]


async def mark_activity_deadline_applied(conn: Connection, campaign_id: str) -> None:
    await conn.execute(Q.mark_activity_deadline_applied, campaign_id)


# --- expert review ---------------------------------------------------------------------------

async def upsert_panel(conn: Connection, campaign_id: str, panel_id: str, name: str, category_ids: list[str],
                       experts_per_entry: int, deadline: datetime | None, same_region_conflict: bool,
                       normalization: str, outlier_points: float) -> asyncpg.Record:
    row = await conn.fetchrow(Q.upsert_panel, campaign_id, panel_id, name, category_ids, experts_per_entry, deadline,
                              same_region_conflict, normalization, outlier_points)
    assert row is not None  # an upsert returns its row
    return row


async def get_panel(conn: Connection, campaign_id: str, panel_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(Q.get_panel, campaign_id, panel_id)
    return row


async def campaign_panels(conn: Connection, campaign_id: str) -> list[asyncpg.Record]:
    return list(await conn.fetch(Q.campaign_panels, campaign_id))


async def upsert_expert(conn: Connection, campaign_id: str, expert_id: str, panel_id: str, display_name: str,
                        unit_id: str | None, region: str | None, declared_unit_ids: list[str]) -> asyncpg.Record:
    row = await conn.fetchrow(Q.upsert_expert, campaign_id, expert_id, panel_id, display_name, unit_id, region,
                              declared_unit_ids)
    assert row is not None  # an upsert returns its row
    return row


async def get_expert(conn: Connection, campaign_id: str, expert_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(Q.get_expert, campaign_id, expert_id)
    return row


async def panel_experts(conn: Connection, campaign_id: str, panel_id: str) -> list[review.Expert]:
    return [review.Expert(x["expert_id"], x["unit_id"], x["region"], tuple(x["declared_unit_ids"]))
            for x in await conn.fetch(Q.panel_experts, campaign_id, panel_id)]


async def panel_entries(conn: Connection, campaign_id: str, category_ids: list[str]) -> list[review.Entry]:
    return [review.Entry(str(e["id"]), e["unit_id"], e["region"])
            for e in await conn.fetch(Q.panel_entries, campaign_id, category_ids)]


async def upsert_unit_region(conn: Connection, campaign_id: str, unit_id: str, region: str) -> None:
    await conn.execute(Q.upsert_unit_region, campaign_id, unit_id, region)


async def lock_assignment(conn: Connection, campaign_id: str) -> None:
    """One assignment run per campaign at a time."""
    await conn.execute(Q.lock_assignment, campaign_id)


async def campaign_assignments(conn: Connection, campaign_id: str) -> list[tuple[str, str, str]]:
    """(expert, entry, component) of every assignment of the campaign."""
    return [(a["expert_id"], str(a["entry_id"]), a["component"])
            for a in await conn.fetch(Q.campaign_assignments, campaign_id)]


async def insert_assignment(conn: Connection, campaign_id: str, expert_id: str, entry_id: uuid.UUID,
                            component: str) -> None:
    await conn.execute(Q.insert_assignment, campaign_id, expert_id, entry_id, component)


async def campaign_conflicts(conn: Connection, campaign_id: str) -> list[asyncpg.Record]:
    """expert_id, entry_id, kind, reason: conflicts of interest and recusals."""
    return list(await conn.fetch(Q.campaign_conflicts, campaign_id))


async def record_conflict(conn: Connection, campaign_id: str, expert_id: str, entry_id: uuid.UUID, reason: str,
                          kind: str, declared_by: str | None) -> None:
    await conn.execute(Q.record_conflict, campaign_id, expert_id, entry_id, reason, kind, declared_by)


async def expert_assignments(conn: Connection, campaign_id: str, expert_id: str) -> list[asyncpg.Record]:
    return list(await conn.fetch(Q.expert_assignments, campaign_id, expert_id))


async def lock_assignment_row(conn: Connection, campaign_id: str, expert_id: str, entry_id: uuid.UUID,
                              component: str) -> asyncpg.Record | None:
    """The expert's assignment of the entry and component, locked, with its score and any recusal."""
    row: asyncpg.Record | None = await conn.fetchrow(Q.get_assignment_for_update, campaign_id, expert_id, entry_id,
                                                     component)
    return row


async def save_score(conn: Connection, campaign_id: str, expert_id: str, entry_id: uuid.UUID, component: str,
                     criteria: dict[str, Any], total: float, submit: bool) -> None:
    await conn.fetchrow(Q.save_score, campaign_id, expert_id, entry_id, component, criteria, total, submit)


async def reopen_score(conn: Connection, campaign_id: str, expert_id: str, entry_id: uuid.UUID,
                       component: str) -> bool:
    """Unlock a submitted score; False when there is none."""
    return await conn.fetchval(Q.reopen_score, campaign_id, expert_id, entry_id, component) is not None


async def reopened_unlocked(conn: Connection, campaign_id: str, expert_id: str, entry_id: uuid.UUID,
                            component: str) -> bool:
    """The committee reopened this score and it is not locked again yet."""
    return bool(await conn.fetchval(Q.reopened_unlocked, campaign_id, expert_id, entry_id, component))


async def record_reopening(conn: Connection, campaign_id: str, expert_id: str, entry_id: uuid.UUID, component: str,
                           reason: str, reopened_by: str) -> None:
    await conn.execute(Q.record_reopening, campaign_id, expert_id, entry_id, component, reason, reopened_by)


async def campaign_expert_scores(conn: Connection, campaign_id: str) -> list[asyncpg.Record]:
    return list(await conn.fetch(Q.campaign_expert_scores, campaign_id))


async def expert_reopenings(conn: Connection, campaign_id: str, expert_id: str) -> list[asyncpg.Record]:
    return list(await conn.fetch(Q.expert_reopenings, campaign_id, expert_id))


async def campaign_reopenings(conn: Connection, campaign_id: str) -> list[asyncpg.Record]:
    return list(await conn.fetch(Q.campaign_reopenings, campaign_id))


# --- final review and publication ------------------------------------------------------------

async def insert_adjustment(conn: Connection, campaign_id: str, entry_id: uuid.UUID, points: float, reason: str,
                            adjusted_by: str) -> int:
    """The new adjustment's id."""
    row = await conn.fetchrow(Q.insert_adjustment, campaign_id, entry_id, points, reason, adjusted_by)
    assert row is not None  # an insert returns its row
    adjustment_id: int = row["id"]
    return adjustment_id


async def campaign_adjustments(conn: Connection, campaign_id: str) -> list[asyncpg.Record]:
    return list(await conn.fetch(Q.campaign_adjustments, campaign_id))


async def lock_publication(conn: Connection, campaign_id: str) -> None:
    """One approval or publication of a campaign at a time."""
    await conn.execute(Q.lock_publication, campaign_id)


async def insert_approval(conn: Connection, campaign_id: str, digests: dict[str, str], note: str,
                          approved_by: str) -> asyncpg.Record:
    """id, approved_at."""
    row = await conn.fetchrow(Q.insert_approval, campaign_id, digests, note, approved_by)
    assert row is not None  # an insert returns its row
    return row


async def latest_approval(conn: Connection, campaign_id: str) -> asyncpg.Record | None:
    """id, digests, note, approved_by, approved_at."""
    row: asyncpg.Record | None = await conn.fetchrow(Q.latest_approval, campaign_id)
    return row


@dataclass(frozen=True)
class Published:
    """One published version of a campaign's results."""

    campaign_id: str
    version: int
    supersedes: int | None
    digests: dict[str, str]
    categories: dict[str, Any]
    published_at: datetime
    audit_heads: list[dict[str, Any]]
    vote_log_roots: list[dict[str, Any]]


def _published(row: asyncpg.Record | None) -> Published | None:
    if row is None:
        return None
    return Published(row["campaign_id"], row["version"], row["supersedes"], row["digests"], row["categories"],
                     row["published_at"], row["audit_heads"], row["vote_log_roots"])


async def latest_published(conn: Connection, campaign_id: str) -> Published | None:
    return _published(await conn.fetchrow(Q.latest_published, campaign_id))


async def get_published(conn: Connection, campaign_id: str, version: int) -> Published | None:
    return _published(await conn.fetchrow(Q.get_published, campaign_id, version))


async def latest_published_version(conn: Connection, campaign_id: str) -> int | None:
    version: int | None = await conn.fetchval(Q.latest_published_version, campaign_id)
    return version


async def published_versions(conn: Connection, campaign_id: str) -> list[asyncpg.Record]:
    """version, supersedes, published_at of every version, oldest first."""
    return list(await conn.fetch(Q.published_versions, campaign_id))


async def insert_published(conn: Connection, campaign_id: str, version: int, supersedes: int | None,
                           approval_id: int, digests: dict[str, str], categories: dict[str, Any],
                           published_by: str, audit_heads: list[dict[str, Any]],
                           vote_log_roots: list[dict[str, Any]]) -> datetime:
    """When the version was published. `audit_heads` and `vote_log_roots`: what the version is anchored to."""
    published_at: datetime = await conn.fetchval(Q.insert_published, campaign_id, version, supersedes, approval_id,
                                                 digests, categories, published_by, audit_heads, vote_log_roots)
    return published_at


async def published_anchors(conn: Connection, campaign_id: str | None) -> list[asyncpg.Record]:
    """campaign_id, version, audit_heads of every published version (of one campaign, or of all)."""
    return list(await conn.fetch(Q.published_anchors, campaign_id))
