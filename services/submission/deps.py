"""What the submission routes and service functions are given: the runtime with its typed settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from massline.service import ServiceRuntime

from .settings import SubmissionSettings


@dataclass(frozen=True)
class SubmissionDeps:
    """The submission service's dependencies: its runtime (pool, outbox, settings)."""

    rt: ServiceRuntime[SubmissionSettings]

    @property
    def settings(self) -> SubmissionSettings:
        return self.rt.settings


def deps_of(request: Request) -> SubmissionDeps:
    """FastAPI dependency: the dependencies the app was built with."""
    deps: SubmissionDeps = request.app.state.deps
    return deps


# Route parameter type: `deps: Deps` gives a route the submission service's dependencies.
Deps = Annotated[SubmissionDeps, Depends(deps_of)]
