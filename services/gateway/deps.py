"""What the gateway's routes depend on: one typed dataclass, and the per-request client, staff member and language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from prometheus_client import CollectorRegistry, Counter, Histogram

from massline.metrics import process_registry

from .addresses import Network
from .rendering import PageView, page_templates
from .service_metrics import ServiceMetrics
from .settings import GatewaySettings
from .upstream import Services
from .visitor import Staff, language_in, staff_in


@dataclass
class ProxyMetrics:
    """The gateway's own counters of what it proxied, and its process's series, served on its `/metrics`."""

    registry: CollectorRegistry = field(default_factory=process_registry)
    requests: Counter = field(init=False)
    latency: Histogram = field(init=False)

    def __post_init__(self) -> None:
        self.requests = Counter("massline_gateway_requests", "Requests proxied", ["service", "status"],
                                registry=self.registry)
        self.latency = Histogram("massline_gateway_request_seconds", "Proxied request time", ["service"],
                                 registry=self.registry)


@dataclass
class GatewayDeps:
    """Everything the gateway's routes use: the services and the client to them, the pages, the figures."""

    settings: GatewaySettings
    services: Services
    trusted: list[Network]
    sampler: ServiceMetrics
    templates: Jinja2Templates
    proxy_metrics: ProxyMetrics

    @classmethod
    def build(cls, settings: GatewaySettings, trusted: list[Network]) -> GatewayDeps:
        """The dependencies of one app; the client to the services is opened by the app's lifespan."""
        services = Services(settings.upstreams())
        return cls(settings=settings, services=services, trusted=trusted,
                   sampler=ServiceMetrics(services.upstreams, lambda: services.client),
                   templates=page_templates(), proxy_metrics=ProxyMetrics())


def deps_of(request: Request) -> GatewayDeps:
    deps: GatewayDeps = request.app.state.deps
    return deps


Deps = Annotated[GatewayDeps, Depends(deps_of)]


def services_of(deps: Deps) -> Services:
    """The upstream client: calls to the services over the gateway's one HTTP client."""
    return deps.services


def staff_member(request: Request) -> Staff | None:
    """The signed-in staff member, or None: a console route then answers with the sign-in page."""
    return staff_in(request)


def language(request: Request) -> str:
    """The page's language, `zh` or `en`."""
    return language_in(request)


ServiceClient = Annotated[Services, Depends(services_of)]
StaffMember = Annotated[Staff | None, Depends(staff_member)]
Language = Annotated[str, Depends(language)]


def page_view(request: Request, deps: Deps, lang: Language, staff: StaffMember) -> PageView:
    """The page of this request, in its language, knowing who is signed in."""
    return PageView(request, lang, staff, deps.templates)


View = Annotated[PageView, Depends(page_view)]
