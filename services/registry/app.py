"""Registry service factory: builds its dependencies, mounts its routes and subscribes its consumers."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from massline.contracts import AccountChanged, AccountClosed, AccountFiled, AccountSuspended
from massline.service import ServiceRuntime

from . import handlers
from .deps import Metrics, RegistryDeps
from .domain.regions import Gazetteer
from .health import routes as health_routes
from .health import schedule as health_schedule
from .health.service import PUBLISHES as HEALTH_EVENTS
from .routes import ROUTERS
from .settings import RegistrySettings

MIGRATIONS = Path(__file__).with_name("migrations")
TITLE = "massline registry"
DESCRIPTION = ("The account registry: government new-media accounts filed (备案) with their owner units; opening, "
               "change, suspension and closing reviewed by the city and provincial offices.")


def build_deps(settings: RegistrySettings | None = None) -> RegistryDeps:
    """The runtime and what the routes and consumers share, consumers subscribed."""
    settings = settings or RegistrySettings()
    rt = ServiceRuntime(
        "registry",
        settings,
        migrations_dir=MIGRATIONS,
        publishes=[AccountFiled, AccountChanged, AccountSuspended, AccountClosed, *HEALTH_EVENTS],
    )
    deps = RegistryDeps(rt=rt, metrics=Metrics(rt), gazetteer=Gazetteer.with_extra(settings.region_list()))
    handlers.register(deps)
    health_schedule.register(deps)
    return deps


def build_runtime(settings: RegistrySettings | None = None) -> ServiceRuntime[RegistrySettings]:
    return build_deps(settings).rt


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    deps = build_deps(settings)
    return deps.rt.build_app([*ROUTERS, health_routes.router], title=TITLE, description=DESCRIPTION, deps=deps)
