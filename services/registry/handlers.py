"""Registry event subscribers: the organisations submission announces (units and offices and their parents), which
the review chain and the offices' regions are computed from."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from massline.consumer import Delivered
from massline.contracts import OrganisationSaved, topics

from . import repository as repo
from .deps import RegistryDeps
from .domain.review import Org


async def learn_organisations(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
    """Keep each unit and office as submission last saved it."""
    for item in batch:
        e = item.event
        if isinstance(e, OrganisationSaved):
            await repo.upsert_organisation(conn, Org(e.organisation_id, e.name, e.kind, e.level, e.parent_id))


def register(deps: RegistryDeps) -> None:
    """Subscribe the service's consumers on its runtime."""
    deps.rt.subscribe(topics.ORGANISATION, "organisations", learn_organisations, events=[OrganisationSaved],
                      description="Learn the units and offices, and which office is above which unit.")
