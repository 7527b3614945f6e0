"""Who may ask for an SMS code: the limits per phone, address and network, the captcha, and the captcha tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.voting.api_errors import api_error
from services.voting.domain import CaptchaRequired, CaptchaWrong, SmsLimits, sms_code_decision, window_start
from services.voting.domain.captcha import ALPHABET, check_answer, issue_token, new_answer, normalize_answer
from services.voting.domain.sms_guard import DAY_S, HOUR_S, client_network, exempt, seconds_left
from services.voting.settings import VotingSettings

NOW = datetime(2026, 12, 3, 20, 45, 30, tzinfo=UTC)  # 14m30s before the hour ends, 3h14m30s before the day does
LIMITS = SmsLimits()  # the defaults, as production runs them


def test_windows_are_fixed_hours_and_days_from_the_epoch() -> None:
    assert window_start(NOW, HOUR_S) == datetime(2026, 12, 3, 20, tzinfo=UTC)
    assert window_start(NOW, DAY_S) == datetime(2026, 12, 3, tzinfo=UTC)
    assert seconds_left(NOW, HOUR_S) == 14 * 60 + 30
    assert seconds_left(NOW, DAY_S) == 3 * 3600 + 14 * 60 + 30
    assert seconds_left(datetime(2026, 12, 3, 20, 59, 59, 500_000, tzinfo=UTC), HOUR_S) == 1


def test_the_defaults_protect_a_phone_an_address_and_a_network() -> None:
    assert (LIMITS.phone_per_hour, LIMITS.phone_per_day) == (5, 10)
    assert (LIMITS.address_per_hour, LIMITS.address_per_day) == (100, 500)
    assert (LIMITS.network_per_hour, LIMITS.network_per_day) == (300, 2000)
    assert LIMITS.captcha_after == 3 and LIMITS.exempt_networks == ""
    assert VotingSettings().sms_limits == LIMITS


def test_a_first_code_is_sent_without_a_captcha() -> None:
    decision = sms_code_decision({}, LIMITS, NOW)
    assert decision.refusal is None and not decision.captcha_needed


@pytest.mark.parametrize(("scope", "window_s", "limit", "wait"), [
    ("phone", HOUR_S, 5, 870), ("phone", DAY_S, 10, 11670),
    ("address", HOUR_S, 100, 870), ("address", DAY_S, 500, 11670),
    ("network", HOUR_S, 300, 870), ("network", DAY_S, 2000, 11670),
])
def test_each_limit_refuses_with_its_code_and_the_wait_to_its_window_end(scope: str, window_s: int, limit: int,
                                                                         wait: int) -> None:
    below = sms_code_decision({(scope, window_s): limit - 1}, LIMITS, NOW)  # type: ignore[dict-item]
    assert below.refusal is None
    refusal = sms_code_decision({(scope, window_s): limit}, LIMITS, NOW).refusal  # type: ignore[dict-item]
    assert refusal is not None
    assert (refusal.code, refusal.window_s, refusal.limit, refusal.retry_after_s) == (
        f"sms_{scope}_limit", window_s, limit, wait)


def test_of_several_limits_reached_the_longest_wait_is_told() -> None:
    counts = {("phone", HOUR_S): 5, ("network", DAY_S): 2000, ("address", HOUR_S): 100}
    refusal = sms_code_decision(counts, LIMITS, NOW).refusal  # type: ignore[arg-type]
    assert refusal is not None and (refusal.code, refusal.retry_after_s) == ("sms_network_limit", 11670)
    counts = {("phone", HOUR_S): 5, ("address", HOUR_S): 100}
    refusal = sms_code_decision(counts, LIMITS, NOW).refusal  # type: ignore[arg-type]
    assert refusal is not None and refusal.code == "sms_phone_limit"  # equal waits: the phone's first


def test_a_captcha_is_needed_once_the_network_was_sent_a_few_codes_within_the_hour() -> None:
    assert not sms_code_decision({("network", HOUR_S): 2, ("network", DAY_S): 50}, LIMITS, NOW).captcha_needed
    assert sms_code_decision({("network", HOUR_S): 3}, LIMITS, NOW).captcha_needed
    tighter = SmsLimits(captcha_after=0)
    assert sms_code_decision({}, tighter, NOW).captcha_needed


def test_an_exempt_client_is_held_to_the_phone_limits_only() -> None:
    counts = {("network", HOUR_S): 5000, ("address", DAY_S): 5000}
    decision = sms_code_decision(counts, LIMITS, NOW, exempt=True)  # type: ignore[arg-type]
    assert decision.refusal is None and not decision.captcha_needed
    refusal = sms_code_decision({("phone", DAY_S): 10}, LIMITS, NOW, exempt=True).refusal
    assert refusal is not None and refusal.code == "sms_phone_limit"


@pytest.mark.parametrize(("address", "networks", "answer"), [
    ("127.0.0.1", "127.0.0.0/8", True), ("10.1.2.3", "192.168.0.0/16, 10.0.0.0/8", True),
    ("203.0.113.9", "127.0.0.0/8", False), ("::1", "::1/128", True), ("127.0.0.1", "", False),
    (None, "0.0.0.0/0", False), ("garbage", "0.0.0.0/0", False),
])
def test_exempt_networks(address: str | None, networks: str, answer: bool) -> None:
    assert exempt(address, networks) is answer


def test_requests_without_an_address_share_one_network() -> None:
    assert client_network(None) == client_network("") == client_network("garbage") == "unknown"
    assert client_network("203.0.113.7") == "203.0.113.0/24"
    assert client_network("2001:db8:1:2::9") == "2001:db8:1:2::/64"


def test_limits_are_settings_and_a_bad_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASSLINE_SMS_LIMITS__NETWORK_PER_HOUR", "100")
    monkeypatch.setenv("MASSLINE_SMS_LIMITS__EXEMPT_NETWORKS", "127.0.0.0/8")
    limits = VotingSettings().sms_limits
    assert (limits.network_per_hour, limits.exempt_networks, limits.phone_per_hour) == (100, "127.0.0.0/8", 5)
    monkeypatch.setenv("MASSLINE_SMS_LIMITS__EXEMPT_NETWORKS", "not-a-network")
    with pytest.raises(ValueError, match="not a network"):
        VotingSettings()
    monkeypatch.delenv("MASSLINE_SMS_LIMITS__EXEMPT_NETWORKS")
    monkeypatch.setenv("MASSLINE_SMS_LIMITS__NETWORK_PER_MINUTE", "1")
    with pytest.raises(ValueError, match="network_per_minute"):
        VotingSettings()


# --- the answers ---------------------------------------------------------------------------

def test_a_limit_is_a_429_with_retry_after_and_both_languages() -> None:
    refusal = sms_code_decision({("address", HOUR_S): 100}, LIMITS, NOW).refusal
    assert refusal is not None
    err = api_error(refusal)
    assert (err.status, err.code, err.headers) == (429, "sms_address_limit", {"Retry-After": "870"})
    assert err.details == {"retry_after_s": 870, "window": "hour", "limit": 100}
    assert err.message_zh == "您所在的网络地址获取验证码过于频繁，请15分钟后再试"
    assert err.message_en == "Too many codes were asked for from your address; try again in 15 minutes"
    day = api_error(sms_code_decision({("phone", DAY_S): 10}, LIMITS, NOW).refusal)  # type: ignore[arg-type]
    assert (day.code, day.details["window"], day.message_zh) == ("sms_phone_limit", "day", "该手机号获取验证码过于频繁，请4小时后再试")


def test_captcha_refusals() -> None:
    required, wrong = api_error(CaptchaRequired()), api_error(CaptchaWrong(("abc", 1)))
    assert (required.status, required.code) == (428, "captcha_required")
    assert (wrong.status, wrong.code) == (422, "captcha_wrong")
    assert required.message_zh and required.message_en and wrong.message_zh and wrong.message_en


# --- captcha tokens ----------------------------------------------------------------------

SECRET = "unit-test-secret"


def test_a_token_takes_the_right_answer_in_any_case_and_spacing() -> None:
    token = issue_token(SECRET, "AB3K", ttl_s=300, now=1000, challenge_id="c0ffee")
    assert "AB3K" not in token and "ab3k" not in token.lower()
    check = check_answer(SECRET, token, normalize_answer(" ab 3k "), now=1100)
    assert (check.challenge_id, check.expires_at, check.solved) == ("c0ffee", 1300, True)
    wrong = check_answer(SECRET, token, "AB3X", now=1100)
    assert (wrong.challenge_id, wrong.solved) == ("c0ffee", False)  # a known challenge, used up by a wrong answer


def test_an_expired_altered_or_foreign_token_is_refused_without_an_id() -> None:
    token = issue_token(SECRET, "AB3K", ttl_s=300, now=1000)
    assert check_answer(SECRET, token, "AB3K", now=1300).challenge_id is None  # expired
    parts = token.split(".")
    later = ".".join([parts[0], parts[1], "999999", *parts[3:]])
    assert check_answer(SECRET, later, "AB3K", now=1100).challenge_id is None  # expiry pushed out
    assert check_answer("another-secret", token, "AB3K", now=1100).challenge_id is None
    for junk in ("", "c1", "c1.a.b.c.d", "x" * 300):
        assert check_answer(SECRET, junk, "AB3K", now=1100).challenge_id is None


def test_answers_use_letters_and_digits_a_person_cannot_mix_up() -> None:
    answers = {new_answer() for _ in range(200)}
    assert all(len(a) == 4 and set(a) <= set(ALPHABET) for a in answers) and len(answers) > 150
    assert not set("01ILO") & set(ALPHABET)
