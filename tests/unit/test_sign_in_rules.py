"""Sign-in throttling rules: when a run of wrong passwords locks a name or an address, and for how long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.submission.domain.sign_in import Attempts, SignInPolicy, keys_for, wait_seconds

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
POLICY = SignInPolicy(per_user=5, per_address=30, window=timedelta(minutes=15), lock=timedelta(minutes=15))


def fail(key: str, times: int, every: timedelta = timedelta(seconds=10)) -> tuple[Attempts, datetime]:
    attempts, now = Attempts(key, 0, T0), T0
    for _ in range(times):
        attempts = attempts.after_failure(now, POLICY)
        now += every
    return attempts, now


def test_the_fifth_wrong_password_locks_the_name_for_fifteen_minutes() -> None:
    four, now = fail("user:unit1", 4)
    assert four.locked_for(now) == 0
    five = four.after_failure(now, POLICY)
    assert five.locked_for(now) == 15 * 60
    assert five.locked_for(now + timedelta(minutes=15)) == 0


def test_failures_spread_over_more_than_the_window_never_lock() -> None:
    attempts, now = fail("user:unit1", 20, every=timedelta(minutes=4))
    assert attempts.locked_for(now) == 0 and attempts.failures <= 4


def test_an_address_may_fail_more_often_than_a_name_before_it_is_locked() -> None:
    attempts, now = fail("address:203.0.113.7", 29)
    assert attempts.locked_for(now) == 0
    assert attempts.after_failure(now, POLICY).locked_for(now) > 0


def test_a_sign_in_waits_for_the_longest_lock_among_its_name_and_address() -> None:
    name, now = fail("user:unit1", 5)
    address = Attempts("address:203.0.113.7", 1, now)
    # The fifth failure came at T0 + 40 s: locked until T0 + 15 min 40 s.
    assert wait_seconds([address, name], T0 + timedelta(minutes=5)) == 10 * 60 + 40
    assert keys_for(" Unit1 ", "203.0.113.7") == ["user:unit1", "address:203.0.113.7"]
    assert keys_for("unit1", None) == ["user:unit1"]
