"""Voting service factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

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


def create_app(settings: VotingSettings | None = None) -> FastAPI:
    rt = build_runtime(settings)
    app = rt.build_app(
        [handlers.router],
        title="massline voting",
        description="Voter verification, votes within the daily quota, live standings.",
    )
    app.add_middleware(VoteFastPath, runtime=rt)
    return app
