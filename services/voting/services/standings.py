"""The standings: the public answer, accepted votes added, review decisions applied, tallies sent downstream."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from massline.consumer import Delivered
from massline.contracts import EntryStanding, TallyUpdated, VoteCast, VoteFlagged, VoteInvalidated, VoteReinstated

from .. import domain
from .. import repository as repo
from ..deps import VotingDeps
from ..domain import CampaignNotFound, Decision

# The state each decision asks for; `move_votes` (queries.sql) says from which states it applies.
_TARGET_STATE: dict[type, str] = {VoteFlagged: "held", VoteInvalidated: "invalidated", VoteReinstated: "counted"}


async def public_standings(deps: VotingDeps, campaign_id: str, category_id: str | None) -> dict[str, Any]:
    """Live standings per category as the campaign shows them (in the phase the vote path follows), served from
    memory for a moment."""
    cached = deps.standings_cache.get(campaign_id, category_id)
    if cached is not None:
        return cached
    pool = deps.rt.pool
    campaign = await repo.get_campaign(pool, campaign_id)
    if campaign is None:
        raise CampaignNotFound()
    rows = await repo.standings_for_api(pool, campaign_id, category_id)
    phase = domain.phase_now(campaign.current_phase, domain.phase_dates(campaign.phases), campaign.timezone,
                             domain.utcnow())
    answer = domain.public_standings(campaign_id, phase,
                                     campaign.vote_rules.get("show_counts", "always"), rows)
    deps.standings_cache.put(campaign_id, category_id, answer)
    return answer


async def add_accepted_votes(conn: asyncpg.Connection, deps: VotingDeps, batch: Sequence[Delivered]) -> None:
    """Add a batch of accepted votes to the standings in one statement, and send the touched categories' tallies."""
    totals: dict[uuid.UUID, tuple[str, str, int]] = {}
    now = datetime.now(UTC)
    lag = deps.metrics.standings_lag
    for item in batch:
        cast = item.event
        assert isinstance(cast, VoteCast)  # the subscription delivers VoteCast only
        for e in cast.votes:
            campaign_id, category_id, votes = totals.get(e.entry_id, (item.envelope.campaign_id, e.category_id, 0))
            totals[e.entry_id] = (campaign_id, category_id, votes + e.count)
            lag.observe(max((now - e.cast_at).total_seconds(), 0))
    categories = {(v[0], v[1]) for v in totals.values()}
    await lock_categories(conn, categories)
    await repo.add_votes(conn, totals)
    for campaign_id, category_id in categories:
        await emit_tallies(conn, deps, campaign_id, category_id, final=False)


_Decided = VoteFlagged | VoteInvalidated | VoteReinstated


def _decided(item: Delivered) -> _Decided:
    """The decision a delivery carries (the subscription delivers these three only)."""
    e = item.event
    assert isinstance(e, (VoteFlagged, VoteInvalidated, VoteReinstated))
    return e


def _decision(item: Delivered) -> Decision:
    e = _decided(item)
    return Decision(e.vote_id, item.envelope.campaign_id, e.category_id, e.entry_id, e.count,
                    _TARGET_STATE[type(e)], e.reason_code)


async def apply_vote_decisions(conn: asyncpg.Connection, deps: VotingDeps, batch: Sequence[Delivered]) -> None:
    """Flags hold votes out of the count, invalidations take them out for good, reinstatements bring them back.

    A vote is counted, held (VoteFlagged: out of `votes`, into `held`) or invalidated (VoteInvalidated,
    from counted or held: into `invalidated`, subtracted once); VoteReinstated brings a held or invalidated
    vote back into `votes`. A decision that does not change the vote's state (redelivered, or a flag for a
    vote already out) changes nothing. Votes per reason move with them.

    A case can hold thousands of votes: the batch is applied in rounds of set-based statements, each
    vote at most once per round (a vote flagged and reinstated in one batch takes two rounds, in order),
    so the result is the same as applying the events one by one.
    """
    await lock_categories(conn, {(item.envelope.campaign_id, _decided(item).category_id) for item in batch})
    await _save_reason_labels(conn, batch)
    touched: set[tuple[str, str]] = set()
    for round_ in domain.decision_rounds([_decision(item) for item in batch]):
        ids = list(round_)
        moved = await repo.move_votes(conn, ids, [round_[v].target for v in ids], [round_[v].reason_code for v in ids])
        changes = domain.moves_of(round_, moved)
        if changes.moves:
            await repo.adjust_standings(conn, changes.moves)
        if changes.reasons:
            await repo.adjust_reasons(conn, changes.reasons)
        touched |= changes.touched
    for campaign_id, category_id in touched:
        await emit_tallies(conn, deps, campaign_id, category_id, final=False)


async def _save_reason_labels(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
    """Keep the rule's short label per reason code, as the decisions carry it, for the public standings."""
    labels: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for item in batch:
        e = _decided(item)
        text, text_zh = getattr(e, "reason_text", None), getattr(e, "reason_text_zh", None)
        if text or text_zh:
            key = (item.envelope.campaign_id, e.reason_code)
            old = labels.get(key, (None, None))
            labels[key] = (text or old[0], text_zh or old[1])
    if labels:
        await repo.save_reason_labels(conn, labels)


async def lock_categories(conn: asyncpg.Connection, categories: set[tuple[str, str]]) -> None:
    """Changes to a category's standings, and the tallies read from them, take turns.

    Without this, a tally read while another transaction's votes are not yet committed would miss
    them yet carry a later `as_of`, and downstream (scoring keeps the latest tally) would keep the
    incomplete one — at the close of voting, a final tally short of the last votes. Sorted, so two
    transactions never wait on each other in opposite order.
    """
    for campaign_id, category_id in sorted(categories):
        await repo.lock_category(conn, campaign_id, category_id)


async def emit_tallies(
    conn: asyncpg.Connection, deps: VotingDeps, campaign_id: str, category_id: str | None, *, final: bool
) -> None:
    """A TallyUpdated per category (all of the campaign's categories with entries when none is named)."""
    categories = [category_id] if category_id else await repo.categories_with_entries(conn, campaign_id)
    await lock_categories(conn, {(campaign_id, c) for c in categories})
    campaign = await repo.get_campaign(conn, campaign_id)
    hidden = campaign is not None and domain.tally_hides_counts(
        campaign.vote_rules.get("show_counts", "always"),
        domain.phase_now(campaign.current_phase, domain.phase_dates(campaign.phases), campaign.timezone,
                         domain.utcnow()),
        final)
    for cat in categories:
        rows = await repo.category_standings(conn, campaign_id, cat)
        standings = [EntryStanding.model_validate(s) for s in domain.tally_standings(rows, hidden)]
        await deps.rt.outbox.record(
            conn,
            TallyUpdated(category_id=cat, standings=standings, final=final, as_of=datetime.now(UTC)),
            campaign_id=campaign_id,
        )
