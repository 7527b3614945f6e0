"""Anti-fraud service factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from massline import audit_api
from massline.contracts import FraudAlertRaised, VoteFlagged, VoteInvalidated, VoteReinstated
from massline.service import ServiceRuntime

from . import handlers, routes
from .deps import AntifraudDeps
from .settings import AntifraudSettings

MIGRATIONS = Path(__file__).with_name("migrations")


def build_deps(settings: AntifraudSettings | None = None) -> AntifraudDeps:
    """The runtime with the subscribers registered, and everything the routes and subscribers share."""
    rt = ServiceRuntime(
        "antifraud",
        settings or AntifraudSettings(),
        migrations_dir=MIGRATIONS,
        publishes=[VoteFlagged, VoteInvalidated, VoteReinstated, FraudAlertRaised],
    )
    deps = AntifraudDeps.build(rt)
    handlers.register(deps)
    return deps


def build_runtime(settings: AntifraudSettings | None = None) -> ServiceRuntime[AntifraudSettings]:
    return build_deps(settings).rt


def create_app(settings: AntifraudSettings | None = None) -> FastAPI:
    deps = build_deps(settings)
    return deps.rt.build_app([routes.router, audit_api.router()], title="massline antifraud",
                             description="Vote brushing detection, review cases, invalidations and reinstatements.",
                             deps=deps)
