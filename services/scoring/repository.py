"""Scoring storage: campaigns, entries and their inputs learned from events, expert scores, rankings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
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


def activity_status(on_time: bool | None, deadline: datetime | None, now: datetime) -> domain.ActivityStatus:
    """No summary is `awaiting` until the deadline and `missing` (forfeited) after it, or at once when
    the campaign gives no deadline (the summary was due before scoring)."""
    if on_time is None:
        return "awaiting" if deadline is not None and now < deadline else "missing"
    return "on_time" if on_time else "late"


async def load_category_inputs(
    conn: asyncpg.Connection, campaign: asyncpg.Record, category_id: str, now: datetime | None = None
) -> tuple[domain.CategoryInputs, TallyState]:
    """Everything the ranking of one category depends on, read in the caller's transaction."""
    now = now or datetime.now(timezone.utc)
    campaign_id = campaign["id"]
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
        standing = standings.get(entry_id, {})
        metrics = None
        if r["source"] is not None:
            metrics = domain.AccountMetrics(r["followers"], r["posts"], r["interactions"], r["source"])
        normalised = normalization != "none"
        entries.append(domain.EntryInputs(
            entry_id=entry_id,
            name=r["name"],
            unit_id=r["unit_id"],
            metrics=metrics,
            votes=standing.get("votes"),
            tally_rank=standing.get("rank"),
            activity=activity_status(r["activity_on_time"], campaign["activity_deadline"], now),
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
        rule_version=campaign["rule_version"],
        rules=domain.ScoringRules.from_config(campaign["scoring"]),
        entries=tuple(entries),
        voting_closed=state.voting_closed,
        expert_normalization=normalization,
    )
    return inputs, state
