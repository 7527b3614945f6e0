"""Notification event subscribers: which topics and events the service consumes, and the use case
(notices.py) each applies in the consumer's transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from massline.consumer import Delivered
from massline.contracts import (
    AccountFindingClosed,
    AccountFindingEscalated,
    AccountFindingOpened,
    CampaignLoaded,
    ExpertAssigned,
    ExpertScoreReopened,
    NominationApproved,
    NominationRejected,
    NominationReturned,
    NominationSubmitted,
    NominationWithdrawn,
    RankingComputed,
    RegistryReportProduced,
    ResultsPublished,
    topics,
)

from . import notices
from .deps import NotificationDeps

UseCase = Callable[[NotificationDeps, asyncpg.Connection, Sequence[Delivered]], Awaitable[None]]
Consumer = Callable[[asyncpg.Connection, Sequence[Delivered]], Awaitable[None]]


def _bound(deps: NotificationDeps, use_case: UseCase) -> Consumer:
    """The use case as the consumer calls it, with the service's dependencies."""

    async def consumer(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
        await use_case(deps, conn, batch)

    consumer.__doc__ = use_case.__doc__
    return consumer


def register(deps: NotificationDeps) -> None:
    """Subscribe the service's consumers on its runtime."""
    rt = deps.rt
    rt.subscribe(topics.CAMPAIGN, "campaigns", _bound(deps, notices.learn_campaigns), events=[CampaignLoaded],
                 description="Learn campaign titles, category names and deadlines for the notices.")
    rt.subscribe(topics.NOMINATION, "nominations", _bound(deps, notices.tell_of_nominations),
                 events=[NominationSubmitted, NominationApproved, NominationReturned, NominationRejected,
                         NominationWithdrawn],
                 description="Tell units and reviewers what became of nominations; forward status to webhooks.")
    rt.subscribe(topics.SCORING, "rankings", _bound(deps, notices.tell_of_rankings), events=[RankingComputed],
                 description="Tell the committee a ranking is ready; forward it to webhooks.")
    rt.subscribe(topics.REVIEW, "review", _bound(deps, notices.tell_of_review),
                 events=[ExpertAssigned, ExpertScoreReopened],
                 description="Tell experts of their assignments.")
    rt.subscribe(topics.RESULT, "results", _bound(deps, notices.tell_of_results), events=[ResultsPublished],
                 description="Tell units where their entries placed; forward results to webhooks.")
    rt.subscribe(topics.REGISTRY, "registry-health", _bound(deps, notices.tell_of_registry_health),
                 events=[AccountFindingOpened, AccountFindingEscalated, AccountFindingClosed, RegistryReportProduced],
                 description="Tell units of account findings (with their deadline) and of escalations, offices of "
                             "escalated findings and of monthly registry reports.")
