"""Who may ask for an SMS code: the limits per phone, address and network, the captcha, and the captcha tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.voting.api_errors import api_error
from services.voting.domain import (
    CaptchaRequired,
    CaptchaWrong,
    SmsLimits,
    first_counted_slice,
    slice_start,
    sms_code_decision,
)
from services.voting.domain.captcha import ALPHABET, check_answer, issue_token, new_answer, normalize_answer
from services.voting.domain.sms_guard import (
    DAY_S,
    HOUR_S,
    Counts,
    Scope,
    client_network,
    exempt,
    stops_counting,
    wait_below,
)
from services.voting.settings import VotingSettings

NOW = datetime(2026, 12, 3, 20, 45, 30, tzinfo=UTC)  # 30 s into an hour's slice (20:45) and 45m30s into a day's (20:00)
HOUR_SLICE = datetime(2026, 12, 3, 20, 45, tzinfo=UTC)
DAY_SLICE = datetime(2026, 12, 3, 20, tzinfo=UTC)
# A campaign's tighter place limits (the defaults sit higher: `test_the_defaults_…`), the rest the defaults
LIMITS = SmsLimits(address_per_hour=100, address_per_day=500, network_per_hour=300, network_per_day=2000)
# Codes in the current slice count until 13 slices after it began: the hour's until 21:50, the day's until 22:00
# the next day.
HOUR_WAIT, DAY_WAIT = 64 * 60 + 30, 25 * 3600 + 14 * 60 + 30


def _at(when: datetime, scope: Scope, window_s: int, codes: int) -> dict[tuple[Scope, int], dict[datetime, int]]:
    """`codes` sent from one scope in the slice of `window_s` that holds `when`."""
    return {(scope, window_s): {slice_start(when, window_s): codes}}


def test_windows_are_counted_in_twelve_slices_from_the_epoch() -> None:
    assert slice_start(NOW, HOUR_S) == HOUR_SLICE
    assert slice_start(NOW, DAY_S) == DAY_SLICE
    assert slice_start(datetime(2026, 12, 3, 21, 59, 59, tzinfo=UTC), DAY_S) == DAY_SLICE  # 7,200-s slices
    assert slice_start(datetime(2026, 12, 3, 22, tzinfo=UTC), DAY_S) == datetime(2026, 12, 3, 22, tzinfo=UTC)
    # A request counts its slice and the twelve before it: an hour and five minutes, a day and two hours.
    assert first_counted_slice(NOW, HOUR_S) == datetime(2026, 12, 3, 19, 45, tzinfo=UTC)
    assert first_counted_slice(NOW, DAY_S) == datetime(2026, 12, 2, 20, tzinfo=UTC)
    assert stops_counting(HOUR_SLICE, HOUR_S) == datetime(2026, 12, 3, 21, 50, tzinfo=UTC)
    assert stops_counting(DAY_SLICE, DAY_S) == datetime(2026, 12, 4, 22, tzinfo=UTC)
    # An old fixed-window row (an hour from 20:00, a day from 00:00) begins on a slice: read as one slice.
    assert slice_start(datetime(2026, 12, 3, 20, tzinfo=UTC), HOUR_S) == datetime(2026, 12, 3, 20, tzinfo=UTC)
    assert slice_start(datetime(2026, 12, 3, tzinfo=UTC), DAY_S) == datetime(2026, 12, 3, tzinfo=UTC)


def test_the_defaults_protect_a_phone_an_address_and_a_network() -> None:
    defaults = SmsLimits()
    assert (defaults.phone_per_hour, defaults.phone_per_day) == (5, 10)
    assert defaults.captcha_after == 3 and defaults.captcha_after_carrier == 200 and defaults.exempt_networks == ""
    assert VotingSettings().sms_limits == defaults


def test_the_defaults_let_a_campus_rally_and_a_carrier_nat_get_their_codes() -> None:
    """1,200 students behind four NAT addresses of one /24, told in class to vote, ask for their codes within ten
    minutes (each after a captcha); 2,500 subscribers of a carrier's NAT /24 over a day, 600 of them in its busiest
    hour: every one gets a code. A script on one address asking for codes past a person's pace still stops."""
    defaults = SmsLimits()
    counts = {**_at(NOW, "address", HOUR_S, 299), **_at(NOW, "network", HOUR_S, 1199),
              **_at(NOW, "address", DAY_S, 299), **_at(NOW, "network", DAY_S, 1199)}
    decision = sms_code_decision(counts, defaults, NOW)
    assert decision.refusal is None and decision.captcha_needed
    carrier = {**_at(NOW, "network", HOUR_S, 599), **_at(NOW, "network", DAY_S, 2499)}
    assert sms_code_decision(carrier, defaults, NOW).refusal is None
    pumped = {**_at(NOW, "address", HOUR_S, defaults.address_per_hour)}
    refusal = sms_code_decision(pumped, defaults, NOW).refusal
    assert refusal is not None and refusal.code == "sms_address_limit"


def test_a_first_code_is_sent_without_a_captcha() -> None:
    decision = sms_code_decision({}, LIMITS, NOW)
    assert decision.refusal is None and not decision.captcha_needed


@pytest.mark.parametrize(("scope", "window_s", "limit", "wait"), [
    ("phone", HOUR_S, 5, HOUR_WAIT), ("phone", DAY_S, 10, DAY_WAIT),
    ("address", HOUR_S, 100, HOUR_WAIT), ("address", DAY_S, 500, DAY_WAIT),
    ("network", HOUR_S, 300, HOUR_WAIT), ("network", DAY_S, 2000, DAY_WAIT),
])
def test_each_limit_refuses_with_its_code_and_the_wait_until_its_codes_stop_counting(
        scope: Scope, window_s: int, limit: int, wait: int) -> None:
    below = sms_code_decision(_at(NOW, scope, window_s, limit - 1), LIMITS, NOW)
    assert below.refusal is None
    refusal = sms_code_decision(_at(NOW, scope, window_s, limit), LIMITS, NOW).refusal
    assert refusal is not None
    assert (refusal.code, refusal.window_s, refusal.limit, refusal.retry_after_s) == (
        f"sms_{scope}_limit", window_s, limit, wait)


def test_the_thirteen_latest_slices_count_and_the_wait_is_until_enough_old_ones_leave() -> None:
    def minute(m: int) -> datetime:
        return datetime(2026, 12, 3, 19, m, tzinfo=UTC)
    # 19:45 is the oldest slice counted at 20:45:30 (it stops counting at 20:50); 19:40 stopped at 20:45.
    slices = {minute(40): 50, minute(45): 2, minute(50): 1, datetime(2026, 12, 3, 20, 30, tzinfo=UTC): 1}
    assert sms_code_decision({("phone", HOUR_S): slices}, LIMITS, NOW).refusal is None  # 4 counted, not 54
    slices[minute(55)] = 1  # 5 counted: the limit of 5 reached
    refusal = sms_code_decision({("phone", HOUR_S): slices}, LIMITS, NOW).refusal
    # Below 5 once the 19:45 slice leaves (20:50): 3 remain.
    assert refusal is not None and (refusal.code, refusal.retry_after_s) == ("sms_phone_limit", 4 * 60 + 30)
    # 1 at 19:45, 2 at 19:50, 3 at 20:30: below 5 only once 19:50 has left too (20:55).
    slices = {minute(45): 1, minute(50): 2, datetime(2026, 12, 3, 20, 30, tzinfo=UTC): 3}
    assert wait_below(slices, 5, NOW, HOUR_S) == 9 * 60 + 30
    refusal = sms_code_decision({("phone", HOUR_S): slices}, LIMITS, NOW).refusal
    assert refusal is not None and refusal.retry_after_s == 9 * 60 + 30
    # At the instant a slice stops counting its codes are gone; a wait never says less than a second.
    assert sms_code_decision({("phone", HOUR_S): {minute(45): 5}}, LIMITS,
                             datetime(2026, 12, 3, 20, 50, tzinfo=UTC)).refusal is None
    assert wait_below({minute(45): 5}, 5, datetime(2026, 12, 3, 20, 49, 59, 900_000, tzinfo=UTC), HOUR_S) == 1
    # A day counts its 13 slices of two hours: 20:00 the day before is still in at 20:45:30, 18:00 is not.
    day = {datetime(2026, 12, 2, 18, tzinfo=UTC): 500, datetime(2026, 12, 2, 20, tzinfo=UTC): 499}
    assert sms_code_decision({("address", DAY_S): day}, LIMITS, NOW).refusal is None
    day[DAY_SLICE] = 1
    refusal = sms_code_decision({("address", DAY_S): day}, LIMITS, NOW).refusal
    assert refusal is not None and (refusal.code, refusal.retry_after_s) == ("sms_address_limit", 1 * 3600 + 14 * 60 + 30)


def test_a_hundred_codes_just_before_the_hour_turns_still_count_just_after_it() -> None:
    """The flaw of fixed windows: 100 codes to an address at 22:5x and a hundred more at 23:0x. Counted in slices,
    the codes of 22:55 still count at 23:01 and until 00:00 (13 slices after 22:55)."""
    before = datetime(2026, 12, 3, 22, 58, 30, tzinfo=UTC)
    counts = _at(before, "address", HOUR_S, 100)
    refusal = sms_code_decision(counts, LIMITS, datetime(2026, 12, 3, 23, 1, tzinfo=UTC)).refusal
    assert refusal is not None
    assert (refusal.code, refusal.window_s, refusal.limit, refusal.retry_after_s) == (
        "sms_address_limit", HOUR_S, 100, 59 * 60)
    last_second = sms_code_decision(counts, LIMITS, datetime(2026, 12, 3, 23, 59, 59, tzinfo=UTC))
    assert last_second.refusal is not None and last_second.refusal.retry_after_s == 1
    # More than 13 slices (65 minutes from 22:55) on, those codes no longer count.
    assert sms_code_decision(counts, LIMITS, datetime(2026, 12, 4, 0, 0, tzinfo=UTC)).refusal is None
    # Ninety-nine of them: one more fits, and the hundredth one then holds the address to 100 in any hour.
    assert sms_code_decision(_at(before, "address", HOUR_S, 99), LIMITS,
                             datetime(2026, 12, 3, 23, 1, tzinfo=UTC)).refusal is None


def test_of_several_limits_reached_the_longest_wait_is_told() -> None:
    counts = {**_at(NOW, "phone", HOUR_S, 5), **_at(NOW, "network", DAY_S, 2000), **_at(NOW, "address", HOUR_S, 100)}
    refusal = sms_code_decision(counts, LIMITS, NOW).refusal
    assert refusal is not None and (refusal.code, refusal.retry_after_s) == ("sms_network_limit", DAY_WAIT)
    counts = {**_at(NOW, "phone", HOUR_S, 5), **_at(NOW, "address", HOUR_S, 100)}
    refusal = sms_code_decision(counts, LIMITS, NOW).refusal
    assert refusal is not None and refusal.code == "sms_phone_limit"  # equal waits: the phone's first
    # The phone's codes are older: the address's wait is the longer one.
    counts = {**_at(datetime(2026, 12, 3, 20, 0, tzinfo=UTC), "phone", HOUR_S, 5), **_at(NOW, "address", HOUR_S, 100)}
    refusal = sms_code_decision(counts, LIMITS, NOW).refusal
    assert refusal is not None and (refusal.code, refusal.retry_after_s) == ("sms_address_limit", HOUR_WAIT)


def test_a_captcha_is_needed_once_the_network_was_sent_a_few_codes_within_the_rolling_hour() -> None:
    assert not sms_code_decision({("network", HOUR_S): {HOUR_SLICE: 2},
                                  ("network", DAY_S): {DAY_SLICE: 50}}, LIMITS, NOW).captcha_needed
    assert sms_code_decision(_at(NOW, "network", HOUR_S, 3), LIMITS, NOW).captcha_needed
    # Codes on both sides of a clock hour count together: 2 at 19:55, 1 at 20:05.
    across: Counts = {("network", HOUR_S): {datetime(2026, 12, 3, 19, 55, tzinfo=UTC): 2,
                                            datetime(2026, 12, 3, 20, 5, tzinfo=UTC): 1}}
    assert sms_code_decision(across, LIMITS, NOW).captcha_needed
    # Once the 19:55 slice stops counting (21:00), only one is left.
    assert not sms_code_decision(across, LIMITS, datetime(2026, 12, 3, 21, 0, tzinfo=UTC)).captcha_needed
    tighter = SmsLimits(captcha_after=0)
    assert sms_code_decision({}, tighter, NOW).captcha_needed


def test_a_carrier_s_number_is_asked_for_a_captcha_only_on_a_network_busy_with_codes() -> None:
    """A county's audience on its carrier's NAT /24, told by the evening news: 150 of them have asked for codes in
    the hour. The next on a carrier's number gets it without a captcha; the next on a virtual operator's number (what
    code platforms sell) solves one first; at 200 within the hour everyone does."""
    busy = _at(NOW, "network", HOUR_S, 150)
    assert not sms_code_decision(busy, LIMITS, NOW, carrier=True).captcha_needed
    assert sms_code_decision(busy, LIMITS, NOW).captcha_needed
    assert sms_code_decision(_at(NOW, "network", HOUR_S, 200), LIMITS, NOW, carrier=True).captcha_needed
    assert not sms_code_decision(_at(NOW, "network", HOUR_S, 2), LIMITS, NOW).captcha_needed


def test_an_exempt_client_is_held_to_the_phone_limits_only() -> None:
    counts = {**_at(NOW, "network", HOUR_S, 5000), **_at(NOW, "address", DAY_S, 5000)}
    decision = sms_code_decision(counts, LIMITS, NOW, exempt=True)
    assert decision.refusal is None and not decision.captcha_needed
    refusal = sms_code_decision(_at(NOW, "phone", DAY_S, 10), LIMITS, NOW, exempt=True).refusal
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
    # 100 codes from 20:00 to 20:05 count until 21:05: 19m30s from 20:45:30.
    refusal = sms_code_decision(_at(datetime(2026, 12, 3, 20, 2, tzinfo=UTC), "address", HOUR_S, 100),
                                LIMITS, NOW).refusal
    assert refusal is not None
    err = api_error(refusal)
    assert (err.status, err.code, err.headers) == (429, "sms_address_limit", {"Retry-After": "1170"})
    assert err.details == {"retry_after_s": 1170, "window": "hour", "limit": 100}
    assert err.message_zh == "您所在的网络地址获取验证码过于频繁，请20分钟后再试"
    assert err.message_en == "Too many codes were asked for from your address; try again in 20 minutes"
    day_refusal = sms_code_decision(_at(NOW, "phone", DAY_S, 10), LIMITS, NOW).refusal
    assert day_refusal is not None
    day = api_error(day_refusal)
    assert (day.code, day.details["window"], day.message_zh) == ("sms_phone_limit", "day", "该手机号获取验证码过于频繁，请26小时后再试")
    assert day.details["retry_after_s"] == DAY_WAIT and day.message_en.endswith("try again in 26 hours")


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
