"""Voting service settings."""

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from massline.settings import ServiceSettings

from .domain import SmsLimits
from .domain.sms_guard import check_exempt_networks


class VotingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_nested_delimiter="__")

    ticket_ttl_s: int = Field(2 * 3600, description="How long a voter ticket stays valid.")
    code_ttl_s: int = Field(300, description="How long a one-time verification code stays valid.")
    code_max_attempts: int = 5
    code_resend_interval_s: int = Field(60, description="Minimum gap between two codes to one phone.")
    sms_limits: SmsLimits = Field(
        default_factory=SmsLimits,
        description="Codes per phone, client address and /24 or /64 network in an hour and a day, and after how "
                    "many codes from one network within the hour a captcha is asked for; each set by name when it "
                    "differs from the default (the fields of `services.voting.domain.SmsLimits`), e.g. "
                    "MASSLINE_SMS_LIMITS__NETWORK_PER_HOUR=100, MASSLINE_SMS_LIMITS__EXEMPT_NETWORKS=127.0.0.0/8.")
    captcha_provider: Literal["image"] = Field(
        "image", description="Who draws and checks the captcha: `image`, distorted characters drawn here.")
    captcha_ttl_s: int = Field(300, ge=30, description="How long a captcha challenge can be answered.")
    standings_cache_s: float = Field(1.0, description="Standings are served from memory for this long.")
    rules_cache_s: float = Field(1.0, description="Campaign rules and entries are read from memory for this long.")
    vote_batch_max: int = Field(256, description="Most votes settled in one transaction.")
    vote_batch_wait_s: float = Field(0.002, description="How long a batch waits for more votes once one arrived.")
    vote_batch_concurrency: int = Field(
        3, ge=1, le=16,
        description="Batches settled at once per process: while one waits for its commit, the next one gathers.")

    @field_validator("sms_limits")
    @classmethod
    def _networks(cls, limits: SmsLimits) -> SmsLimits:
        check_exempt_networks(limits.exempt_networks)
        return limits
