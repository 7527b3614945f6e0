"""Voting service settings."""

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from massline.sms import SmsSettings, sms_problem

from .domain import SmsLimits
from .domain.sms_guard import check_exempt_networks


class VotingSettings(SmsSettings):
    model_config = SettingsConfigDict(env_nested_delimiter="__")

    ticket_ttl_s: int = Field(2 * 3600, description="How long a voter ticket stays valid.")
    code_ttl_s: int = Field(300, description="How long a one-time verification code stays valid.")
    code_max_attempts: int = 5
    code_resend_interval_s: int = Field(60, description="Minimum gap between two codes to one phone.")
    sms_code_template: str = Field(
        "", description="The vendor's template id for verification codes; its one parameter is the code (`code`).")
    sms_limits: SmsLimits = Field(
        default_factory=SmsLimits,
        description="Codes per phone, client address and /24 or /64 network in an hour and a day, and after how "
                    "many codes from one network within the hour a captcha is asked for; each set by name when it "
                    "differs from the default (the fields of `services.voting.domain.SmsLimits`), e.g. "
                    "MASSLINE_SMS_LIMITS__NETWORK_PER_HOUR=100, MASSLINE_SMS_LIMITS__EXEMPT_NETWORKS=127.0.0.0/8.")
    captcha_provider: Literal["image"] = Field(
        "image", description="Who draws and checks the captcha: `image`, distorted characters drawn here.")
    captcha_ttl_s: int = Field(300, ge=30, description="How long a captcha challenge can be answered.")
    wechat_app_id: str = Field("", description="The official account's AppID; WeChat sign-in is offered when set.")
    wechat_app_secret: str = Field("", description="The official account's AppSecret.")
    wechat_authorize_url: str = Field("https://open.weixin.qq.com/connect/oauth2/authorize",
                                      description="Where a voter is sent to authorise (snsapi_base).")
    wechat_api_url: str = Field("https://api.weixin.qq.com",
                                description="WeChat's API, where a code becomes an openid.")
    wechat_state_ttl_s: int = Field(600, ge=30, description="How long a voter may take to come back from WeChat.")
    standings_cache_s: float = Field(1.0, description="Standings are served from memory for this long.")
    rules_cache_s: float = Field(1.0, description="Campaign rules and entries are read from memory for this long.")
    vote_batch_max: int = Field(256, description="Most votes settled in one transaction.")
    vote_batch_wait_s: float = Field(0.002, description="How long a batch waits for more votes once one arrived.")
    vote_batch_concurrency: int = Field(
        3, ge=1, le=16,
        description="Batches settled at once per process: while one waits for its commit, the next one gathers.")
    seal_interval_s: float = Field(60.0, gt=0, description="How often the vote logs are looked at for days to seal.")
    seal_grace_s: float = Field(
        30.0, ge=0, description="A day is sealed this long after its midnight (campaign time zone), or after the last "
                                "vote once voting closed, so that votes in flight are in it.")

    @field_validator("sms_limits")
    @classmethod
    def _networks(cls, limits: SmsLimits) -> SmsLimits:
        check_exempt_networks(limits.exempt_networks)
        return limits

    @property
    def wechat_enabled(self) -> bool:
        return bool(self.wechat_app_id.strip())

    def production_problem(self) -> str | None:
        problem = super().production_problem() or sms_problem(self, {"sms_code_template": self.sms_code_template})
        if problem is None and self.env == "production" and self.wechat_enabled and not self.wechat_app_secret:
            problem = "MASSLINE_WECHAT_APP_ID is set but MASSLINE_WECHAT_APP_SECRET is not"
        return problem
