"""Scoring service factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from massline.contracts import ExpertAssigned, ExpertScoreReopened, RankingComputed, ResultsPublished
from massline.service import ServiceRuntime

from . import handlers, results_api, review_api
from .settings import ScoringSettings

MIGRATIONS = Path(__file__).with_name("migrations")


def build_runtime(settings: ScoringSettings | None = None) -> ServiceRuntime:
    rt = ServiceRuntime(
        "scoring",
        settings or ScoringSettings(),
        migrations_dir=MIGRATIONS,
        publishes=[RankingComputed, ResultsPublished, ExpertAssigned, ExpertScoreReopened],
    )
    handlers.register(rt)
    return rt


def create_app(settings: ScoringSettings | None = None) -> FastAPI:
    rt = build_runtime(settings)
    return rt.build_app(
        [handlers.router, review_api.router, results_api.router],
        title="massline scoring",
        description="Score components per entry and rankings per category, each number with its inputs; expert "
                    "review, final review, approval and the published results.",
    )
