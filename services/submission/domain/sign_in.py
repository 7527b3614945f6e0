"""Sign-in throttling: a run of wrong passwords locks further tries, for a username and for a client address.

The lock holds even for the right password, so guessing gains nothing by going on; it is checked before any
password is hashed, so a locked attacker costs the service nothing. Unknown usernames are counted and locked
like real ones: the answers never tell which usernames exist. Each further lock of the same key lasts twice as
long as the one before (15 minutes, 30, an hour, … at most a day); a successful sign-in, an administrator
lifting the lock, or a day without failures starts the key afresh.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True)
class SignInPolicy:
    per_user: int = 5  # wrong passwords for one username within the window
    per_address: int = 30  # wrong passwords from one client address within the window, any usernames
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)  # the first lock; each further lock of the key lasts twice as long
    longest_lock: timedelta = timedelta(days=1)

    def allowed(self, key: str) -> int:
        return self.per_address if key.startswith("address:") else self.per_user

    def lock_for(self, earlier_locks: int) -> timedelta:
        """How long a key's next lock lasts after `earlier_locks` locks: doubling each time, capped."""
        if earlier_locks >= 32:  # far beyond any cap; avoids computing huge durations
            return self.longest_lock
        longer: timedelta = self.lock * (2 ** max(0, earlier_locks))
        return min(longer, self.longest_lock)


@dataclass(frozen=True)
class Attempts:
    """Failed sign-ins of one key (`user:<name>` or `address:<ip>`) in the current window, and its locks so far."""

    key: str
    failures: int
    window_start: datetime
    locked_until: datetime | None = None
    locks: int = 0

    def locked_for(self, now: datetime) -> int:
        """Whole seconds until the key may try again; 0 when it may now."""
        if self.locked_until is None or self.locked_until <= now:
            return 0
        return max(1, int((self.locked_until - now).total_seconds() + 0.999))

    def after_failure(self, now: datetime, policy: SignInPolicy) -> Attempts:
        """The record after one more wrong password: a new window once the old one passed; locked at the limit,
        each lock longer than the last. A failure while locked (a sign-in that raced the lock) changes no lock."""
        if self.locked_for(now):
            return replace(self, failures=self.failures + 1)
        current = self if now - self.window_start < policy.window else replace(
            self, failures=0, window_start=now, locked_until=None)
        failures = current.failures + 1
        if failures < policy.allowed(self.key):
            return replace(current, failures=failures)
        # Locked: the next window starts when the lock ends, with a clean count.
        until = now + policy.lock_for(current.locks)
        return replace(current, failures=0, window_start=until, locked_until=until, locks=current.locks + 1)


def keys_for(username: str, address: str | None) -> list[str]:
    keys = [user_key(username)]
    if address:
        keys.append(f"address:{address}")
    return keys


def user_key(username: str) -> str:
    """The key a username's failures are counted under (as typed at sign-in: trimmed, lower case)."""
    return f"user:{username.strip().lower()}"


def wait_seconds(attempts: list[Attempts], now: datetime) -> int:
    """How long a sign-in must wait before it is even checked: the longest lock among its keys."""
    return max((a.locked_for(now) for a in attempts), default=0)
