"""Scoring service factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from massline import audit_api
from massline.contracts import ExpertAssigned, ExpertScoreReopened, RankingComputed, ResultsPublished
from massline.service import ServiceRuntime

from . import handlers, rankings_api, results_api, review_api
from .deps import ScoringDeps
from .settings import ScoringSettings

MIGRATIONS = Path(__file__).with_name("migrations")


def build_deps(settings: ScoringSettings | None = None) -> ScoringDeps:
    """The runtime with the subscribers registered, and everything the routes and subscribers share."""
    rt = ServiceRuntime(
        "scoring",
        settings or ScoringSettings(),
        migrations_dir=MIGRATIONS,
        publishes=[RankingComputed, ResultsPublished, ExpertAssigned, ExpertScoreReopened],
    )
    deps = ScoringDeps.build(rt)
    handlers.register(deps)
    return deps


def build_runtime(settings: ScoringSettings | None = None) -> ServiceRuntime[ScoringSettings]:
    return build_deps(settings).rt


def create_app(settings: ScoringSettings | None = None) -> FastAPI:
    deps = build_deps(settings)
    return deps.rt.build_app(
        [rankings_api.router, review_api.router, results_api.router, audit_api.router()],
        title="massline scoring",
        description="Score components per entry and rankings per category, each number with its inputs; expert "
                    "review, final review, approval and the published results.",
        deps=deps,
    )
