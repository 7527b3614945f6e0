"""Development providers are refused in production: a service set to send no SMS does not start, and says why."""

from __future__ import annotations

import asyncio

import pytest

from services.notification.app import build_runtime as notification_runtime
from services.notification.settings import NotificationSettings
from services.voting.app import build_runtime as voting_runtime
from services.voting.domain import WechatStateInvalid
from services.voting.domain.wechat import check_state, new_state
from services.voting.settings import VotingSettings

SECRET = "a-production-secret-of-more-than-32-bytes"
# Nowhere to connect: a service that got past its checks would fail on the database instead, with another message.
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/none"
ALIYUN = {"sms_provider": "aliyun", "sms_aliyun_access_key_id": "id", "sms_aliyun_access_key_secret": "secret",
          "sms_sign_name": "群众路线推选"}


def _start_fails(runtime: object) -> str:
    with pytest.raises(RuntimeError) as refused:
        asyncio.run(runtime.start())  # type: ignore[attr-defined]
    return str(refused.value)


def test_voting_with_the_development_sms_provider_refuses_to_start_in_production() -> None:
    message = _start_fails(voting_runtime(VotingSettings(env="production", secret_key=SECRET,
                                                         database_url=UNREACHABLE)))
    assert message.startswith("voting refuses to start in production: MASSLINE_SMS_PROVIDER is dev")


def test_notification_with_the_development_sms_provider_refuses_to_start_in_production() -> None:
    message = _start_fails(notification_runtime(NotificationSettings(env="production", secret_key=SECRET,
                                                                     database_url=UNREACHABLE)))
    assert message.startswith("notification refuses to start in production: MASSLINE_SMS_PROVIDER is dev")


def test_a_vendor_without_its_template_or_keys_is_refused_naming_what_is_missing() -> None:
    voting = VotingSettings(env="production", secret_key=SECRET, **ALIYUN)
    assert voting.production_problem() == "MASSLINE_SMS_PROVIDER is aliyun but MASSLINE_SMS_CODE_TEMPLATE is not set"
    tencent = NotificationSettings(env="production", secret_key=SECRET, sms_provider="tencent")
    assert tencent.production_problem() == (
        "MASSLINE_SMS_PROVIDER is tencent but MASSLINE_SMS_NOTICE_TEMPLATE, MASSLINE_SMS_SIGN_NAME, "
        "MASSLINE_SMS_TENCENT_SDK_APP_ID, MASSLINE_SMS_TENCENT_SECRET_ID, MASSLINE_SMS_TENCENT_SECRET_KEY is not set")
    wechat = VotingSettings(env="production", secret_key=SECRET, sms_code_template="SMS_1", wechat_app_id="wx1",
                            **ALIYUN)
    assert wechat.production_problem() == "MASSLINE_WECHAT_APP_ID is set but MASSLINE_WECHAT_APP_SECRET is not"
    ready = VotingSettings(env="production", secret_key=SECRET, sms_code_template="SMS_1", **ALIYUN)
    assert ready.production_problem() is None


def test_a_vendor_configured_service_gets_past_the_check_and_development_is_untouched() -> None:
    ready = VotingSettings(env="production", secret_key=SECRET, sms_code_template="SMS_1",
                           database_url=UNREACHABLE, **ALIYUN)
    assert "refuses to start" not in _start_fails_any(voting_runtime(ready))
    assert VotingSettings(env="development").production_problem() is None  # `make run` keeps the dev provider
    assert NotificationSettings(sms_provider="development").sms_provider == "dev"  # the former name still reads


def _start_fails_any(runtime: object) -> str:
    with pytest.raises(Exception) as failed:  # whatever the unreachable database raises
        asyncio.run(runtime.start())  # type: ignore[attr-defined]
    return str(failed.value)


def test_a_wechat_state_is_good_for_its_campaign_and_return_address_until_it_expires() -> None:
    state = new_state("k" * 40, "c1", "https://vote.example.org/c/c1/wechat/return", 600, now=1_000_000)
    assert len(state) == 56 and state.isalnum()  # WeChat takes at most 128 letters and digits
    check_state("k" * 40, state, "c1", "https://vote.example.org/c/c1/wechat/return", now=1_000_599)
    for secret, campaign, back, now in [("k" * 40, "c1", "https://vote.example.org/c/c1/wechat/return", 1_000_600),
                                        ("k" * 40, "c2", "https://vote.example.org/c/c1/wechat/return", 1_000_001),
                                        ("k" * 40, "c1", "https://evil.example/c/c1/wechat/return", 1_000_001),
                                        ("x" * 40, "c1", "https://vote.example.org/c/c1/wechat/return", 1_000_001)]:
        with pytest.raises(WechatStateInvalid):
            check_state(secret, state, campaign, back, now=now)
