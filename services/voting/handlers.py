"""The voting service's subscribers: campaigns, entries, accepted votes and review decisions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

import asyncpg

from massline.consumer import Delivered
from massline.contracts import (
    CampaignLoaded,
    NominationApproved,
    NominationRejected,
    NominationWithdrawn,
    PhaseChanged,
    VoteCast,
    VoteFlagged,
    VoteInvalidated,
    VoteReinstated,
    topics,
)
from massline.service import ServiceRuntime

from .deps import VotingDeps
from .services import catalog, seals, standings
from .settings import VotingSettings

log = logging.getLogger(__name__)

UseCase = Callable[[asyncpg.Connection, VotingDeps, Sequence[Delivered]], Awaitable[None]]
Handler = Callable[[asyncpg.Connection, Sequence[Delivered]], Awaitable[None]]


def _bind(use_case: UseCase, deps: VotingDeps) -> Handler:
    async def handler(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        await use_case(conn, deps, batch)

    handler.__doc__ = use_case.__doc__
    return handler


def register(rt: ServiceRuntime[VotingSettings], deps: VotingDeps) -> None:
    """Subscribe the service to its topics, and settle votes for as long as it runs."""

    @rt.background
    async def settle_votes(_: ServiceRuntime[VotingSettings]) -> None:
        await deps.batcher.run()

    @rt.background
    async def seal_vote_logs(_: ServiceRuntime[VotingSettings]) -> None:
        """Seal each campaign's vote log of every day that ended, and of the last day once voting closed."""
        s = deps.settings
        while True:
            await asyncio.sleep(s.seal_interval_s)
            try:
                await seals.seal_due(rt.pool, rt.outbox, s.secret_key, datetime.now(UTC),
                                     timedelta(seconds=s.seal_grace_s))
            except Exception as exc:
                log.error("sealing the vote logs failed (%s)", type(exc).__name__, exc_info=True)

    rt.subscribe(topics.CAMPAIGN, "campaigns", _bind(catalog.learn_campaigns, deps),
                 events=[CampaignLoaded, PhaseChanged],
                 description="Learn vote rules and phases from the campaign definition.")
    rt.subscribe(topics.NOMINATION, "entries", _bind(catalog.learn_entries, deps),
                 events=[NominationApproved, NominationWithdrawn, NominationRejected],
                 description="Finally approved nominations become votable entries.")
    rt.subscribe(topics.VOTE, "standings", _bind(standings.add_accepted_votes, deps), events=[VoteCast],
                 description="Add accepted votes to the live standings.")
    # The group keeps its first name ("invalidations") so that it goes on from its committed offsets.
    rt.subscribe(topics.VOTE_DECISION, "invalidations", _bind(standings.apply_vote_decisions, deps),
                 events=[VoteFlagged, VoteInvalidated, VoteReinstated],
                 description="Hold flagged votes out of the standings, remove invalidated ones, add reinstated "
                             "ones back.")
