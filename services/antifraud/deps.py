"""What anti-fraud's routes and subscribers share: the runtime, the metrics, the thresholds, the networks held in
memory and the campaigns' policies read lately."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import Counter, Gauge, Histogram

from massline.service import ServiceRuntime

from .domain import NetworkState, Thresholds, hosting
from .settings import AntifraudSettings

POLICY_TTL_S = 5.0  # a campaign's policy is read again at most this often per instance


class Metrics:
    """What operators watch: votes scored, findings, cases, votes changed, decisions, alerts, the networks held."""

    def __init__(self, rt: ServiceRuntime[AntifraudSettings]) -> None:
        r = rt.registry
        self.scored = Counter("massline_fraud_votes_scored", "Votes run through the detectors", registry=r)
        self.findings = Counter("massline_fraud_findings", "Detector findings", ["reason", "decisive"], registry=r)
        self.cases = Counter("massline_fraud_cases_opened", "Cases opened", ["reason", "status"], registry=r)
        self.votes = Counter("massline_fraud_votes_changed", "Votes flagged, invalidated or reinstated",
                             ["action"], registry=r)
        self.decisions = Counter("massline_fraud_operator_decisions", "Operator decisions", ["decision"], registry=r)
        self.alerts = Counter("massline_fraud_alerts_raised", "FraudAlertRaised events", ["reason"], registry=r)
        self.rebuilt = Counter("massline_fraud_networks_rebuilt",
                               "Networks whose windows were rebuilt from the stored votes (first seen by this "
                               "instance, taken over from another, or dropped to stay within capacity)", registry=r)
        self.held = Gauge("massline_fraud_networks_held", "Networks whose windows this instance holds in memory",
                          registry=r)
        self.lag = Histogram("massline_fraud_detection_lag_seconds", "From a vote being cast to its case",
                             buckets=(1, 2, 5, 10, 30, 60, 120, 300, 900, 3600, 86400), registry=r)


@dataclass
class PolicyCache:
    """Each campaign's policy and thresholds as this instance last read them, with when to read them again."""

    entries: dict[str, tuple[float, str, Thresholds]] = field(default_factory=dict)

    def stale(self, campaigns: set[str], now: float) -> list[str]:
        return sorted(c for c in campaigns if c not in self.entries or self.entries[c][0] < now)

    def keep(self, campaign_id: str, policy: str, thresholds: Thresholds, now: float) -> None:
        self.entries[campaign_id] = (now + POLICY_TTL_S, policy, thresholds)

    def of(self, campaigns: set[str]) -> dict[str, tuple[str, Thresholds]]:
        return {c: self.entries[c][1:] for c in campaigns}

    @staticmethod
    def clock() -> float:
        return time.monotonic()


@dataclass
class AntifraudDeps:
    """The service's dependencies, built once by `app.build_runtime`."""

    rt: ServiceRuntime[AntifraudSettings]
    metrics: Metrics
    networks: NetworkState
    policies: PolicyCache = field(default_factory=PolicyCache)

    @property
    def settings(self) -> AntifraudSettings:
        return self.rt.settings

    @property
    def thresholds(self) -> Thresholds:
        """The service's thresholds (the defaults with the settings' values); a campaign's may differ."""
        return self.rt.settings.thresholds

    @classmethod
    def build(cls, rt: ServiceRuntime[AntifraudSettings]) -> AntifraudDeps:
        s = rt.settings
        hosting.use(s.hosting())
        deps = cls(rt=rt, metrics=Metrics(rt), networks=NetworkState(s.thresholds, s.networks_held))
        nets = deps.networks
        deps.metrics.held.set_function(lambda: len(nets.nets))
        return deps


def deps_of(request: Request) -> AntifraudDeps:
    """FastAPI dependency: the anti-fraud service's dependencies."""
    deps: AntifraudDeps = request.app.state.deps
    return deps


# Route parameter type: `deps: Deps` gives a route the service's dependencies.
Deps = Annotated[AntifraudDeps, Depends(deps_of)]
