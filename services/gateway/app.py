"""Gateway factory: one entry URL for people and systems, aggregated health, a reverse proxy to the services."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from massline.errors import install_error_handlers
from massline.logging import configure_logging

from .addresses import parse_networks
from .deps import GatewayDeps
from .edge import docs_enabled, install_edge
from .rendering import STATIC
from .routes import (
    account_health,
    api,
    console,
    final_review,
    holds,
    nominations,
    operations,
    public,
    registry,
    review,
    scoring,
)
from .settings import GatewaySettings

MIGRATIONS = None  # the gateway owns no data

# In the order they are matched: a console route's path never shadows one registered after it.
PAGE_ROUTERS = (public.router, console.router, nominations.router, review.router, scoring.router,
                final_review.router, operations.router, holds.router, registry.router, account_health.router)


def open_client(settings: GatewaySettings) -> httpx.AsyncClient:
    """The one HTTP client to the services, for the app's lifetime."""
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=200)
    client = httpx.AsyncClient(timeout=settings.proxy_timeout_s, limits=limits)
    # The client's User-Agent reaches the services as it was sent (the vote path hashes it), and a
    # request without one stays without one instead of taking httpx's own.
    del client.headers["user-agent"]
    return client


def create_app(settings: GatewaySettings | None = None, *, client: httpx.AsyncClient | None = None) -> FastAPI:
    """The gateway; `client` is a connection to the services its caller owns (tests), else one is opened."""
    settings = settings or GatewaySettings()
    configure_logging("gateway", settings.log_level)
    deps = GatewayDeps.build(settings, parse_networks(settings.trusted_proxies))
    deps.services.http = client

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        own = client is None
        if own:
            deps.services.http = open_client(settings)
        sampling = asyncio.create_task(deps.sampler.run())
        try:
            yield
        finally:
            sampling.cancel()
            if own:
                await deps.services.client.aclose()

    docs = docs_enabled(settings.env, settings.api_docs)
    about = "The entry point. Every service's API is under `/api/{service}/`: choose one above."
    app = FastAPI(title="massline", description=about,
                  version="1.0.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json" if docs else None)
    app.state.deps = deps
    # The gateway answers a bad path 400, as it did before it reached any service.
    install_error_handlers(app, path_status=400)
    app.include_router(api.router)
    install_edge(app, docs=docs, services=list(deps.services.upstreams))
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for router in PAGE_ROUTERS:
        app.include_router(router)
    return app
