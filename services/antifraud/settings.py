"""Anti-fraud settings: detector thresholds and the default policy (a campaign's own policy overrides it)."""

from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from massline.settings import ServiceSettings

from .domain import Thresholds, validate_overrides, with_overrides
from .domain.hosting import SHIPPED, HostingNetworks


class AntifraudSettings(ServiceSettings):
    """What every service needs, plus the detectors' thresholds, the default policy and the windows kept."""

    model_config = SettingsConfigDict(env_nested_delimiter="__")

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
    policy: Literal["auto", "flag", "invalidate"] = Field(
        "auto", description="For campaigns without their own policy. auto: what a rule is sure of is invalidated on "
                            "its own and the rest is held out of the count for review; flag: everything is held for "
                            "review; invalidate: everything is invalidated at once.")
    thresholds: Thresholds = Field(
        default_factory=Thresholds,
        description="Detector thresholds, each set by name when it differs from the default (the fields of "
                    "`services.antifraud.domain.Thresholds`), e.g. MASSLINE_THRESHOLDS__DEVICE_VOTERS_PER_DAY=6; "
                    "an unknown name is refused at start. A campaign's own overrides (PUT /campaigns/{id}/policy) "
                    "apply over these.")
    fraud_thresholds: dict[str, float] = Field(
        default_factory=dict,
        description="The older way to set thresholds, still read: JSON by name, e.g. "
                    "MASSLINE_FRAUD_THRESHOLDS='{\"device_voters_per_day\": 6}'; applies over MASSLINE_THRESHOLDS__*.")
    window_retention_h: int = Field(48, description="How long detector windows are kept.")
    tens_retention_days: int = Field(
        400, description="How long the entries' and the campaign's identities per ten minutes are kept (the jumps of "
                         "a whole voting period, read at the final review); longer than the detector windows.")

    hosting_networks_file: Path = Field(
        SHIPPED, description="The data centres' address ranges (one CIDR a line, # comments): a vote from one of them "
                             "came from a cloud server, not a home, a phone or an office line (the `host` trait). The "
                             "shipped list holds the large clouds serving mainland China; replace it with an "
                             "IP-intelligence provider's list of hosting (IDC) ranges.")
    hosting_networks: list[str] = Field(
        default_factory=list,
        description="Ranges added to the file's, e.g. MASSLINE_HOSTING_NETWORKS='[\"203.0.113.0/24\"]'.")

    _hosting: HostingNetworks | None = PrivateAttr(default=None)

    def hosting(self) -> HostingNetworks:
        """The ranges read from `hosting_networks_file` and `hosting_networks` (once: checked at start, then used)."""
        if self._hosting is None:
            self._hosting = HostingNetworks.read(self.hosting_networks_file, self.hosting_networks)
        return self._hosting

    @model_validator(mode="after")
    def _readable_hosting(self) -> "AntifraudSettings":
        try:
            self.hosting()
        except (OSError, ValueError) as exc:
            raise ValueError(f"hosting networks ({self.hosting_networks_file}): {exc}") from exc
        return self

    @field_validator("fraud_thresholds")
    @classmethod
    def _known(cls, value: dict[str, float]) -> dict[str, float]:
        return validate_overrides(value)

    @model_validator(mode="after")
    def _merge_json_thresholds(self) -> "AntifraudSettings":
        self.thresholds = with_overrides(self.thresholds, self.fraud_thresholds)
        return self
