"""Sign-in throttling: a run of wrong passwords locks further tries, for a username and for a client address.

The lock holds even for the right password, so guessing gains nothing by going on; it is checked before any
password is hashed, so a locked attacker costs the service nothing. Unknown usernames are counted and locked
like real ones: the answers never tell which usernames exist.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True)
class SignInPolicy:
    per_user: int = 5  # wrong passwords for one username within the window
    per_address: int = 30  # wrong passwords from one client address within the window, any usernames
    window: timedelta = timedelta(minutes=15)
    lock: timedelta = timedelta(minutes=15)

    def allowed(self, key: str) -> int:
        return self.per_address if key.startswith("address:") else self.per_user


@dataclass(frozen=True)
class Attempts:
    """Failed sign-ins of one key (`user:<name>` or `address:<ip>`) in the current window."""

    key: str
    failures: int
    window_start: datetime
    locked_until: datetime | None = None

    def locked_for(self, now: datetime) -> int:
        """Whole seconds until the key may try again; 0 when it may now."""
        if self.locked_until is None or self.locked_until <= now:
            return 0
        return max(1, int((self.locked_until - now).total_seconds() + 0.999))

    def after_failure(self, now: datetime, policy: SignInPolicy) -> Attempts:
        """The record after one more wrong password: a new window once the old one passed; locked at the limit."""
        current = self if now - self.window_start < policy.window else replace(
            self, failures=0, window_start=now, locked_until=None)
        failures = current.failures + 1
        locked = now + policy.lock if failures >= policy.allowed(self.key) else current.locked_until
        return replace(current, failures=failures, locked_until=locked)


def keys_for(username: str, address: str | None) -> list[str]:
    keys = [f"user:{username.strip().lower()}"]
    if address:
        keys.append(f"address:{address}")
    return keys


def wait_seconds(attempts: list[Attempts], now: datetime) -> int:
    """How long a sign-in must wait before it is even checked: the longest lock among its keys."""
    return max((a.locked_for(now) for a in attempts), default=0)
