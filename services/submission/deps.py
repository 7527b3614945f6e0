"""What the submission routes and service functions are given: the runtime with its typed settings."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from massline.service import ServiceRuntime

from .domain.sign_in import SignInPolicy
from .settings import SubmissionSettings


@dataclass(frozen=True)
class SubmissionDeps:
    """The submission service's dependencies: its runtime (pool, outbox, settings)."""

    rt: ServiceRuntime[SubmissionSettings]
    # Password hashing is memory-hard: this many at once, the rest wait (memory stays bounded under a flood).
    password_checks: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "password_checks", asyncio.Semaphore(self.settings.password_checks_at_once))

    @property
    def settings(self) -> SubmissionSettings:
        return self.rt.settings

    @property
    def sign_in(self) -> SignInPolicy:
        s = self.settings
        lock = timedelta(minutes=s.sign_in_lock_minutes)
        return SignInPolicy(per_user=s.sign_in_failures_per_user, per_address=s.sign_in_failures_per_address,
                            window=lock, lock=lock,
                            longest_lock=max(lock, timedelta(minutes=s.sign_in_longest_lock_minutes)))


def deps_of(request: Request) -> SubmissionDeps:
    """FastAPI dependency: the dependencies the app was built with."""
    deps: SubmissionDeps = request.app.state.deps
    return deps


# Route parameter type: `deps: Deps` gives a route the submission service's dependencies.
Deps = Annotated[SubmissionDeps, Depends(deps_of)]
