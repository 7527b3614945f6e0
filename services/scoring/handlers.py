"""Scoring subscribers (campaigns, nominations, tallies) and its periodic jobs; the rules live in domain.py, the use
cases in rankings.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg

from massline.consumer import Delivered
from massline.contracts import (
    ActivitySubmitted,
    CampaignLoaded,
    MetricsReported,
    NominationApproved,
    NominationRejected,
    NominationWithdrawn,
    TallyUpdated,
    topics,
)
from massline.service import ServiceRuntime

from . import rankings
from .deps import ScoringDeps

Learn = Callable[[asyncpg.Connection, Sequence[Delivered], ScoringDeps], Awaitable[None]]


def register(deps: ScoringDeps) -> None:
    """Subscribe the consumers; announce held rankings and apply activity deadlines in the background."""
    rt = deps.rt
    interval = rt.settings.ranking_announce_interval_s

    if interval > 0:
        @rt.background
        async def announce_held(_: ServiceRuntime[Any]) -> None:
            await rankings.every(deps, interval, rankings.announce_held_rankings, "announcing held rankings")

    @rt.background
    async def activity_deadlines(_: ServiceRuntime[Any]) -> None:
        await rankings.every(deps, rt.settings.activity_deadline_check_s, rankings.apply_passed_activity_deadlines,
                             "applying activity deadlines")

    def bind(learn: Learn) -> Callable[[asyncpg.Connection, Sequence[Delivered]], Awaitable[None]]:
        async def handler(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
            await learn(conn, batch, deps)

        handler.__doc__ = learn.__doc__
        return handler

    rt.subscribe(topics.CAMPAIGN, "campaigns", bind(rankings.learn_campaigns), events=[CampaignLoaded],
                 description="Learn the scoring rules (weights, vote conversion) from the campaign definition.")
    rt.subscribe(topics.NOMINATION, "entries", bind(rankings.learn_nominations),
                 events=[NominationApproved, NominationWithdrawn, NominationRejected, MetricsReported,
                         ActivitySubmitted],
                 description="Approved entries, their account metrics and activity summaries: inputs of the ranking.")
    rt.subscribe(topics.TALLY, "tallies", bind(rankings.learn_tallies), events=[TallyUpdated],
                 description="The latest vote tally per category: input of the vote score.")
