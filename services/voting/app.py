"""Voting service factory."""

from __future__ import annotations

from pathlib import Path

from massline.contracts import TallyUpdated, VoteCast
from massline.service import ServiceRuntime

from . import handlers
from .fastpath import VoteFastPath
from .settings import VotingSettings

MIGRATIONS = Path(__file__).with_name("migrations")


def build_runtime(settings: VotingSettings | None = None) -> ServiceRuntime:
    rt = ServiceRuntime(
        "voting",
        settings or VotingSettings(),
        migrations_dir=MIGRATIONS,
        publishes=[VoteCast, TallyUpdated],
    )
    handlers.register(rt)
    return rt


def create_app(settings: VotingSettings | None = None) -> VoteFastPath:
    """The FastAPI application behind the vote fast path, which sits outermost: a vote passes no middleware."""
    rt = build_runtime(settings)
    app = rt.build_app(
        [handlers.router],
        title="massline voting",
        description="Voter verification, votes within the daily quota, live standings.",
    )
    return VoteFastPath(app, rt)
