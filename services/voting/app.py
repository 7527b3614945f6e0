"""Voting service factory."""

from __future__ import annotations

from pathlib import Path

from massline.contracts import TallyUpdated, VoteCast, VoteLogSealed
from massline.service import ServiceRuntime

from . import handlers
from .deps import VotingDeps
from .fastpath import VoteFastPath
from .routes import router
from .settings import VotingSettings

MIGRATIONS = Path(__file__).with_name("migrations")


def build_service(settings: VotingSettings | None = None) -> VotingDeps:
    """The voting service's dependencies over a new runtime (`deps.rt`), its subscribers registered."""
    rt = ServiceRuntime(
        "voting",
        settings or VotingSettings(),
        migrations_dir=MIGRATIONS,
        publishes=[VoteCast, TallyUpdated, VoteLogSealed],
    )
    deps = VotingDeps.build(rt)
    handlers.register(rt, deps)
    return deps


def build_runtime(settings: VotingSettings | None = None) -> ServiceRuntime[VotingSettings]:
    return build_service(settings).rt


def create_app(settings: VotingSettings | None = None) -> VoteFastPath:
    """The FastAPI application behind the vote fast path, which sits outermost: a vote passes no middleware."""
    deps = build_service(settings)
    app = deps.rt.build_app(
        [router],
        title="massline voting",
        description="Voter verification, votes within the daily quota, live standings.",
        deps=deps,
    )
    return VoteFastPath(app, deps)
