"""Anti-fraud service factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from massline.contracts import FraudAlertRaised, VoteFlagged, VoteInvalidated, VoteReinstated
from massline.service import ServiceRuntime

from . import handlers, review
from .settings import AntifraudSettings

MIGRATIONS = Path(__file__).with_name("migrations")


def build_runtime(settings: AntifraudSettings | None = None) -> ServiceRuntime:
    rt = ServiceRuntime(
        "antifraud",
        settings or AntifraudSettings(),
        migrations_dir=MIGRATIONS,
        publishes=[VoteFlagged, VoteInvalidated, VoteReinstated, FraudAlertRaised],
    )
    handlers.register(rt)
    return rt


def create_app(settings: AntifraudSettings | None = None) -> FastAPI:
    rt = build_runtime(settings)
    return rt.build_app([review.router], title="massline antifraud",
                        description="Vote brushing detection, review cases, invalidations and reinstatements.")
