"""Scoring storage: campaigns, entries and their inputs learned from events, expert scores, rankings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from massline.queries import load_queries

from . import domain

Q = load_queries(Path(__file__).with_name("queries.sql"))


@dataclass(frozen=True)
class TallyState:
    as_of: datetime | None
    voting_closed: bool


async def load_category_inputs(
    conn: asyncpg.Connection, campaign: asyncpg.Record, category_id: str
) -> tuple[domain.CategoryInputs, TallyState]:
    """Everything the ranking of one category depends on, read in the caller's transaction."""
    campaign_id = campaign["id"]
    rows = await conn.fetch(Q.category_entries, campaign_id, category_id)
    tally = await conn.fetchrow(Q.get_tally, campaign_id, category_id)
    standings: dict[str, dict[str, Any]] = {}
    if tally is not None:
        standings = {str(s["entry_id"]): s for s in tally["standings"]}
    expert: dict[str, list[float]] = {}
    activity: dict[str, list[float]] = {}
    for s in await conn.fetch(Q.category_expert_scores, campaign_id, category_id):
        target = expert if s["component"] == "expert" else activity
        target.setdefault(str(s["entry_id"]), []).append(float(s["total"]))
    entries = []
    for r in rows:
        entry_id = str(r["id"])
        standing = standings.get(entry_id, {})
        metrics = None
        if r["source"] is not None:
            metrics = domain.AccountMetrics(r["followers"], r["posts"], r["interactions"], r["source"])
        on_time = r["activity_on_time"]
        entries.append(domain.EntryInputs(
            entry_id=entry_id,
            name=r["name"],
            unit_id=r["unit_id"],
            metrics=metrics,
            votes=standing.get("votes"),
            tally_rank=standing.get("rank"),
            activity="missing" if on_time is None else "on_time" if on_time else "late",
            expert_scores=tuple(expert.get(entry_id, ())),
            activity_scores=tuple(activity.get(entry_id, ())),
        ))
    state = TallyState(tally["as_of"] if tally else None, bool(tally and tally["voting_closed"]))
    inputs = domain.CategoryInputs(
        campaign_id=campaign_id,
        category_id=category_id,
        rule_version=campaign["rule_version"],
        rules=domain.ScoringRules.from_config(campaign["scoring"]),
        entries=tuple(entries),
        voting_closed=state.voting_closed,
    )
    return inputs, state
