"""Submission service factory: the runtime, its dependencies, the routes and the first admin at startup."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from massline import audit_api
from massline.consumer import Delivered
from massline.contracts import (
    ActivitySubmitted,
    CampaignLoaded,
    MetricsReported,
    NominationApproved,
    NominationRejected,
    NominationReturned,
    NominationSubmitted,
    NominationWithdrawn,
    OrganisationSaved,
    PhaseChanged,
    topics,
)
from massline.db import Connection
from massline.service import ServiceRuntime

from .deps import SubmissionDeps
from .routes import ROUTERS
from .service import registry
from .service.people import announce_organisations, ensure_admin, forget_old_sign_in_attempts
from .settings import SubmissionSettings

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")
TITLE = "massline submission"
DESCRIPTION = "Campaign definitions and phases, nominating units and offices, nominations and their review."


def build_runtime(settings: SubmissionSettings | None = None) -> ServiceRuntime[SubmissionSettings]:
    """The runtime: schema, migrations, the events the service publishes, and its one consumer: the account
    registry's events, into the read model nominations pick their accounts from."""
    rt = ServiceRuntime(
        "submission",
        settings or SubmissionSettings(),
        migrations_dir=MIGRATIONS,
        publishes=[CampaignLoaded, PhaseChanged, NominationSubmitted, NominationApproved, NominationReturned,
                   NominationRejected, NominationWithdrawn, ActivitySubmitted, MetricsReported, OrganisationSaved],
    )

    async def learn_registry(conn: Connection, batch: Sequence[Delivered]) -> None:
        await registry.learn(conn, batch, rt.outbox)

    rt.subscribe(topics.REGISTRY, "registry", learn_registry, events=registry.REGISTRY_EVENTS,
                 description="Accounts, snapshots and idle findings of the account registry: what nominations pick "
                             "and registry campaigns' figures come from.")
    return rt


def build_deps(rt: ServiceRuntime[SubmissionSettings]) -> SubmissionDeps:
    """The dependencies the routes receive; the first admin is created once the database is ready."""
    deps = SubmissionDeps(rt=rt)

    @rt.on_startup
    async def bootstrap_admin(_: ServiceRuntime[Any]) -> None:
        await ensure_admin(deps)
        await announce_organisations(deps)

    @rt.background
    async def forget_sign_in_failures(_: ServiceRuntime[Any]) -> None:
        while True:
            try:
                await forget_old_sign_in_attempts(deps)
            except Exception as exc:  # noqa: BLE001 - database away: the next round does it
                log.warning("old sign-in attempts not pruned: %s", exc)
            await asyncio.sleep(3600)

    return deps


def app_for(rt: ServiceRuntime[SubmissionSettings], deps: SubmissionDeps, *, title: str = TITLE) -> FastAPI:
    """The HTTP app of a runtime and its dependencies."""
    return rt.build_app([*ROUTERS, audit_api.router()], title=title, description=DESCRIPTION, deps=deps)


def create_app(settings: SubmissionSettings | None = None) -> FastAPI:
    rt = build_runtime(settings)
    return app_for(rt, build_deps(rt))
