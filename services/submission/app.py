"""Submission service factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from massline.contracts import (
    ActivitySubmitted,
    CampaignLoaded,
    MetricsReported,
    NominationApproved,
    NominationRejected,
    NominationReturned,
    NominationSubmitted,
    NominationWithdrawn,
    PhaseChanged,
)
from massline.service import ServiceRuntime

from . import handlers
from .settings import SubmissionSettings

MIGRATIONS = Path(__file__).with_name("migrations")


def build_runtime(settings: SubmissionSettings | None = None) -> ServiceRuntime:
    rt = ServiceRuntime(
        "submission",
        settings or SubmissionSettings(),
        migrations_dir=MIGRATIONS,
        publishes=[CampaignLoaded, PhaseChanged, NominationSubmitted, NominationApproved, NominationReturned,
                   NominationRejected, NominationWithdrawn, ActivitySubmitted, MetricsReported],
    )
    handlers.register(rt)
    return rt


def create_app(settings: SubmissionSettings | None = None) -> FastAPI:
    rt = build_runtime(settings)
    return rt.build_app(
        [handlers.router],
        title="massline submission",
        description="Campaign definitions and phases, nominating units and offices, nominations and their review.",
    )
