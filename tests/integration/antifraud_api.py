"""The anti-fraud service's routes over its own schema on the test PostgreSQL, as the integration tests use them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from massline import audit_api
from massline.db import create_pool, migrate
from massline.errors import install_error_handlers
from services.antifraud import routes
from services.antifraud.app import MIGRATIONS, build_deps
from services.antifraud.settings import AntifraudSettings


@asynccontextmanager
async def antifraud_api(database_url: str) -> AsyncIterator[tuple[Any, Any, httpx.AsyncClient]]:
    """(deps, pool, client): the schema migrated, the service's dependencies with the runtime holding the pool, the
    routes behind a client."""
    await migrate(database_url, "antifraud", MIGRATIONS)
    pool = await create_pool(database_url, "antifraud", min_size=1, max_size=4)
    deps = build_deps(AntifraudSettings(database_url=database_url, env="test"))
    deps.rt._pool = pool  # the pool a started service would hold
    app = FastAPI()
    app.state.runtime = deps.rt
    app.state.deps = deps
    install_error_handlers(app)
    app.include_router(routes.router)
    app.include_router(audit_api.router())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        try:
            yield deps, pool, client
        finally:
            await pool.close()
