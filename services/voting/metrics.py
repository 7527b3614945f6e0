"""The voting service's own metrics: votes accepted and refused per campaign, vote latency, standings lag."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Histogram

from massline.service import ServiceRuntime


class Metrics:
    """The vote path's counters, per campaign so that each campaign's operators read their own vote rate.

    Labels stay as few as the campaigns: a campaign is named once the service has vouched for it (a vote accepted,
    or a refusal after the voter's ticket, which is signed for one existing campaign, was checked). Before that the
    campaign in the path is whatever the client sent, and its refusals count under campaign "".
    """

    MAX_CAMPAIGNS = 500  # a guard: far more than run at once
    TICKET_REFUSALS = frozenset({"ticket_invalid", "ticket_expired"})

    def __init__(self, rt: ServiceRuntime[Any]) -> None:
        self.accepted = Counter("massline_votes_accepted", "Votes accepted (sum of counts)", ["campaign"],
                                registry=rt.registry)
        self.rejected = Counter("massline_votes_rejected", "Vote requests refused", ["campaign", "code"],
                                registry=rt.registry)
        self.sms_codes = Counter("massline_sms_codes", "SMS code requests: sent, or the refusal's code", ["outcome"],
                                 registry=rt.registry)
        self._campaigns: set[str] = set()
        self._accepted_in: dict[str, Any] = {}  # the counter of each campaign, looked up once: every vote adds to it
        self.cast_latency = Histogram(
            "massline_vote_cast_seconds", "Time to accept a vote, commit included", registry=rt.registry,
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.standings_lag = Histogram(
            "massline_standings_lag_seconds", "From vote acceptance to standings", registry=rt.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
        )

    def _campaign(self, campaign_id: str, vouched: bool) -> str:
        if campaign_id in self._campaigns:
            return campaign_id
        if vouched and len(self._campaigns) < self.MAX_CAMPAIGNS:
            self._campaigns.add(campaign_id)
            return campaign_id
        return ""

    def voted(self, campaign_id: str, count: int) -> None:
        counter = self._accepted_in.get(campaign_id)
        if counter is None:
            counter = self._accepted_in[campaign_id] = self.accepted.labels(self._campaign(campaign_id, True))
        counter.inc(count)

    def refused(self, campaign_id: str, code: str) -> None:
        self.rejected.labels(self._campaign(campaign_id, code not in self.TICKET_REFUSALS), code).inc()
