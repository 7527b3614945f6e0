"""What the registry's routes and consumers share: the runtime, metrics and the region gazetteer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import Counter

from massline.service import ServiceRuntime

from .domain.regions import Gazetteer
from .settings import RegistrySettings


class Metrics:
    """Requests filed and decided, per kind and action; refusals per rule code."""

    def __init__(self, rt: ServiceRuntime[RegistrySettings]) -> None:
        self.requests = Counter("massline_registry_requests", "Account requests by kind and what happened to them",
                                ["kind", "action"], registry=rt.registry)
        self.refusals = Counter("massline_registry_refusals", "Account filings and requests refused, per rule code",
                                ["code"], registry=rt.registry)


@dataclass
class RegistryDeps:
    """The registry service's dependencies, built once by app.build_deps."""

    rt: ServiceRuntime[RegistrySettings]
    metrics: Metrics
    gazetteer: Gazetteer = field(default_factory=Gazetteer.with_extra)

    @property
    def settings(self) -> RegistrySettings:
        return self.rt.settings


def deps_of(request: Request) -> RegistryDeps:
    """FastAPI dependency: the registry service's dependencies."""
    deps: RegistryDeps = request.app.state.deps
    return deps


Deps = Annotated[RegistryDeps, Depends(deps_of)]
