"""The vendor sender the settings name."""

from __future__ import annotations

import httpx

from .aliyun import AliyunSms
from .base import SmsSender
from .settings import SmsSettings
from .tencent import TencentSms


def build_sender(settings: SmsSettings, client: httpx.AsyncClient | None = None) -> SmsSender | None:
    """The configured vendor's sender over `client` (a new one when None); None for the development provider."""
    if settings.sms_provider == "dev":
        return None
    client = client or httpx.AsyncClient(timeout=settings.sms_timeout_s, follow_redirects=False)
    if settings.sms_provider == "aliyun":
        return AliyunSms(client, access_key_id=settings.sms_aliyun_access_key_id,
                         access_key_secret=settings.sms_aliyun_access_key_secret, sign_name=settings.sms_sign_name,
                         region=settings.sms_aliyun_region, endpoint=settings.sms_endpoint)
    return TencentSms(client, secret_id=settings.sms_tencent_secret_id, secret_key=settings.sms_tencent_secret_key,
                      sdk_app_id=settings.sms_tencent_sdk_app_id, sign_name=settings.sms_sign_name,
                      region=settings.sms_tencent_region, endpoint=settings.sms_endpoint)
