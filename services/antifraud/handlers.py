"""Anti-fraud subscribers: score every VoteCast, learn which unit owns each entry; and the pruning of old windows."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg

from massline.consumer import Delivered
from massline.contracts import CampaignLoaded, NominationApproved, VoteCast, topics
from massline.service import ServiceRuntime

from . import detection
from .deps import AntifraudDeps


def register(deps: AntifraudDeps) -> None:
    """Subscribe the detectors and the entries' owners; prune old windows in the background."""
    rt = deps.rt
    # The networks held are tens of thousands of small long-lived dicts and sets, and every batch allocates
    # thousands of short-lived tuples: with the default thresholds the collector keeps walking the former
    # for the sake of the latter (a quarter of the CPU). The held state has no reference cycles; it is
    # freed by reference counting when dropped.
    gc.set_threshold(50_000, 20, 100)

    async def on_vote_cast(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> Callable[[], None]:
        return await detection.score_votes(conn, batch, deps)

    async def prune_windows(_: ServiceRuntime[Any]) -> None:
        await detection.prune_windows(deps)

    rt.subscribe(topics.VOTE, "detectors", on_vote_cast, events=[VoteCast],
                 description="Score every accepted vote against the brushing detectors; flag or invalidate.")
    rt.subscribe(topics.NOMINATION, "entries", detection.learn_entries, events=[NominationApproved],
                 description="Learn which unit owns each entry, for the unit's view of its invalidations.")
    rt.subscribe(topics.CAMPAIGN, "campaigns", detection.learn_campaigns, events=[CampaignLoaded],
                 description="Learn which campaigns exist, so that a request naming none is refused.")
    rt.background(prune_windows)
