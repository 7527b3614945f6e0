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


def test_each_further_lock_of_a_name_lasts_twice_as_long_up_to_a_day() -> None:
    policy = SignInPolicy(per_user=5, window=timedelta(minutes=15), lock=timedelta(minutes=15),
                          longest_lock=timedelta(days=1))
    attempts, now = Attempts("user:unit1", 0, T0), T0
    lengths = []
    for _ in range(9):
        for _ in range(5):
            attempts = attempts.after_failure(now, policy)
        lengths.append(attempts.locked_for(now) // 60)
        now = attempts.locked_until + timedelta(seconds=1)  # the lock has passed: try again, wrongly
    assert lengths == [15, 30, 60, 120, 240, 480, 960, 1440, 1440]
    assert attempts.locks == 9
    assert policy.lock_for(10_000) == timedelta(days=1)


def test_after_a_lock_the_count_starts_again_and_a_failure_racing_the_lock_does_not_lengthen_it() -> None:
    locked, now = fail("user:unit1", 5)
    assert locked.locks == 1 and locked.failures == 0
    raced = locked.after_failure(now, POLICY)  # a request that passed the check before the lock was written
    assert raced.locked_until == locked.locked_until and raced.locks == 1
    after = locked.locked_until + timedelta(seconds=1)
    four = locked
    for _ in range(4):
        four = four.after_failure(after, POLICY)
    assert four.locked_for(after) == 0 and four.failures == 4
    assert four.after_failure(after, POLICY).locked_for(after) == 30 * 60


def test_the_longest_lock_is_never_shorter_than_the_first() -> None:
    policy = SignInPolicy(lock=timedelta(hours=2), longest_lock=timedelta(hours=1))
    assert policy.lock_for(0) == timedelta(hours=1)
