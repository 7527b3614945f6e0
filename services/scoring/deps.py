"""What scoring's routes and subscribers share: the runtime and the metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import Counter

from massline.service import ServiceRuntime

from .settings import ScoringSettings


class Metrics:
    """What operators watch: rankings computed and held back, expert scores submitted, results published."""

    def __init__(self, rt: ServiceRuntime[ScoringSettings]) -> None:
        self.rankings_computed = Counter(
            "massline_rankings_computed", "Rankings stored and announced because their inputs changed",
            registry=rt.registry,
        )
        self.rankings_held = Counter(
            "massline_rankings_held", "Ranking announcements held back while voting is open (sent later)",
            registry=rt.registry,
        )
        self.scores_submitted = Counter(
            "massline_expert_scores_submitted", "Expert scores submitted (locked)", registry=rt.registry,
        )
        self.results_published = Counter(
            "massline_results_published", "Result versions published", registry=rt.registry,
        )


@dataclass
class ScoringDeps:
    """The service's dependencies, built once by `app.build_deps`."""

    rt: ServiceRuntime[ScoringSettings]
    metrics: Metrics

    @property
    def settings(self) -> ScoringSettings:
        return self.rt.settings

    @classmethod
    def build(cls, rt: ServiceRuntime[ScoringSettings]) -> ScoringDeps:
        return cls(rt=rt, metrics=Metrics(rt))


def deps_of(request: Request) -> ScoringDeps:
    """FastAPI dependency: the scoring service's dependencies."""
    deps: ScoringDeps = request.app.state.deps
    return deps


# Route parameter type: `deps: Deps` gives a route the service's dependencies.
Deps = Annotated[ScoringDeps, Depends(deps_of)]
