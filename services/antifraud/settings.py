"""Anti-fraud settings: detector thresholds and the default policy (a campaign's own policy overrides it)."""

from typing import Literal

from pydantic import Field

from massline.settings import ServiceSettings

from .domain import Thresholds

_T = Thresholds()


class AntifraudSettings(ServiceSettings):
    kafka_consumer_max_records: int = Field(
        2000, ge=1,
        description="Vote messages per batch. A batch costs a handful of statements whatever its size, and one "
                    "instance scores batches one after the other: when it falls behind, larger batches let it "
                    "catch up sooner (each message carries one voting micro-batch's votes of one network shard).")
    counter_shards: int = Field(
        1, ge=1, le=64,
        description="Rows per busy counter (entry, network): 1 for one instance; about the number of instances when "
                    "several would otherwise wait on each other's row locks (each row is then read as a sum).")
    networks_held: int = Field(
        100_000, ge=100,
        description="Networks whose windows an instance keeps in memory; the least recently seen beyond this are "
                    "dropped and rebuilt from the stored votes when they vote again. A network holds its day's "
                    "and hour's windows: 8-13 KB for one with a few votes, more for a busy one (the identities it "
                    "showed that day). Keep it above the networks voting within the hour on this instance: below, "
                    "networks are rebuilt over and over and each rebuild replays the network's day.")
    policy: Literal["flag", "invalidate"] = Field(
        "flag", description="For campaigns without their own policy: flag = quarantine for review, invalidate at once.")
    voter_votes_per_minute: int = Field(_T.voter_per_minute, description="Vote requests per identity per minute.")
    device_votes_per_minute: int = Field(_T.device_per_minute, description="Vote requests per device per minute.")
    ip_votes_per_minute: int = Field(_T.ip_per_minute, description="Alert level for one address (never decisive).")
    subnet_votes_per_minute: int = Field(_T.subnet_per_minute, description="Alert level for one /24 or /64.")
    device_voters_per_day: int = Field(_T.device_voters_per_day, description="Identities on one device in a day.")
    focus_share: float = Field(_T.focus_share, description="Share of a network's votes going to one entry.")
    entry_share: float = Field(_T.entry_share, description="Share of an entry's votes coming from one network.")
    focus_min_votes_minute: int = Field(_T.focus_min_votes_minute, description="Least votes for a focus finding.")
    focus_min_votes_hour: int = Field(_T.focus_min_votes_hour, description="Least votes for an hourly focus finding.")
    burst_min: int = Field(_T.burst_min, description="Least requests in 10 s for an entry burst.")
    burst_ratio: float = Field(_T.burst_ratio, description="Burst: this many times the entry's usual rate.")
    lockstep_min_shared: int = Field(_T.lockstep_min_shared, description="Identities sharing a network or device.")
    fresh_window_s: int = Field(_T.fresh_window_s, description="An identity verified this recently is fresh.")
    fresh_min_votes: int = Field(_T.fresh_min_votes, description="Fresh identities from one network for one entry.")
    regular_min_votes: int = Field(_T.regular_min_votes, description="Votes needed to judge an identity's rhythm.")
    regular_max_cv: float = Field(_T.regular_max_cv, description="Gap variation below which the rhythm is a timer.")
    covote_min_identities: int = Field(_T.covote_min_identities,
                                       description="Co-voting: least identities of one network voting for one entry.")
    covote_min_votes: int = Field(_T.covote_min_votes, description="Co-voting: least votes to the entry that day.")
    covote_share: float = Field(_T.covote_share,
                                description="Co-voting: share of the network's identities that day voting for it.")
    covote_focus: float = Field(_T.covote_focus, description="Co-voting: share of the network's votes that day.")
    timer_min_identities: int = Field(_T.timer_min_identities,
                                      description="Shared timer: least identities repeating one interval.")
    timer_share: float = Field(_T.timer_share,
                               description="Shared timer: share of the network's repeat voters for the entry.")
    timer_tolerance: float = Field(_T.timer_tolerance, description="Shared timer: how close two intervals must be.")
    window_retention_h: int = Field(48, description="How long detector windows are kept.")

    def thresholds(self) -> Thresholds:
        return Thresholds(
            voter_per_minute=self.voter_votes_per_minute, device_per_minute=self.device_votes_per_minute,
            ip_per_minute=self.ip_votes_per_minute, subnet_per_minute=self.subnet_votes_per_minute,
            device_voters_per_day=self.device_voters_per_day, focus_share=self.focus_share,
            entry_share=self.entry_share, focus_min_votes_minute=self.focus_min_votes_minute,
            focus_min_votes_hour=self.focus_min_votes_hour, burst_min=self.burst_min, burst_ratio=self.burst_ratio,
            lockstep_min_shared=self.lockstep_min_shared, fresh_window_s=self.fresh_window_s,
            fresh_min_votes=self.fresh_min_votes, regular_min_votes=self.regular_min_votes,
            regular_max_cv=self.regular_max_cv, covote_min_identities=self.covote_min_identities,
            covote_min_votes=self.covote_min_votes, covote_share=self.covote_share, covote_focus=self.covote_focus,
            timer_min_identities=self.timer_min_identities, timer_share=self.timer_share,
            timer_tolerance=self.timer_tolerance)
