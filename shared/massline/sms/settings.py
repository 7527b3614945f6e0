"""The SMS vendor a service sends through, read from the environment like every setting (MASSLINE_SMS_…)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..settings import ServiceSettings

Provider = Literal["dev", "aliyun", "tencent"]

_REQUIRED: dict[str, tuple[str, ...]] = {
    "aliyun": ("sms_aliyun_access_key_id", "sms_aliyun_access_key_secret", "sms_sign_name"),
    "tencent": ("sms_tencent_secret_id", "sms_tencent_secret_key", "sms_tencent_sdk_app_id", "sms_sign_name"),
}


class SmsSettings(ServiceSettings):
    """A service's settings with the SMS vendor's: which one, its keys, the sign name and where it answers."""

    sms_provider: Provider = Field(
        "dev", description="`dev` sends nothing (the code or message is kept for the development pages; refused in "
                           "production), `aliyun` (Alibaba Cloud SMS) or `tencent` (Tencent Cloud SMS).")
    sms_sign_name: str = Field(
        "", description="The approved sign name (签名) the vendor puts in front of each message.")
    sms_endpoint: str = Field("", description="The vendor's API address; its public endpoint when empty.")
    sms_timeout_s: float = Field(10.0, gt=0, description="A request to the vendor that takes longer fails.")
    sms_aliyun_access_key_id: str = ""
    sms_aliyun_access_key_secret: str = ""
    sms_aliyun_region: str = "cn-hangzhou"
    sms_tencent_secret_id: str = ""
    sms_tencent_secret_key: str = ""
    sms_tencent_sdk_app_id: str = Field("", description="The SMS application's SdkAppId (Tencent).")
    sms_tencent_region: str = "ap-guangzhou"

    @field_validator("sms_provider", mode="before")
    @classmethod
    def _development(cls, value: object) -> object:
        return "dev" if value == "development" else value


def sms_problem(settings: SmsSettings, templates: dict[str, str]) -> str | None:
    """Why the SMS settings cannot run in production (None when they can, or outside production).

    `templates`: the template settings this service sends with (name → value), each required with a vendor."""
    if settings.env != "production":
        return None
    if settings.sms_provider == "dev":
        return ("MASSLINE_SMS_PROVIDER is dev, which sends no message; set aliyun or tencent with the vendor's keys "
                "(docs/voting.md, Voter verification in production)")
    needed = {name: getattr(settings, name) for name in _REQUIRED[settings.sms_provider]} | templates
    missing = sorted(f"MASSLINE_{name.upper()}" for name, value in needed.items() if not str(value).strip())
    if missing:
        return f"MASSLINE_SMS_PROVIDER is {settings.sms_provider} but {', '.join(missing)} is not set"
    return None
