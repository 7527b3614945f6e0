"""Who may ask for an SMS code now: limits per phone, per client address and per network, and when a captcha is due.

Codes sent are counted in fixed windows (an hour and a day, from the epoch: a day window turns at 00:00 UTC) per
key: the phone, the client's address and its /24 (IPv4) or /64 (IPv6) network. `sms_code_decision` reads the
counts of the current windows and the limits and says whether the request is refused (the scope and window whose
limit it reached, and how long until that window ends) or needs a solved captcha. Only codes actually sent are
counted: a refused request leaves the counts as they were.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import ConfigDict

from .errors import SmsLimitReached
from .voters import network_prefix

Scope = Literal["phone", "address", "network"]
SCOPES: tuple[Scope, ...] = ("phone", "address", "network")
HOUR_S = 3600
DAY_S = 86400
WINDOWS: tuple[int, ...] = (HOUR_S, DAY_S)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UNKNOWN = "unknown"  # the address and network of a request whose address the gateway could not tell


@dataclass(frozen=True)
class SmsLimits:
    """How many codes may be sent per phone, per client address and per network in an hour and in a day, and after
    how many codes from one network within the hour a captcha is asked for.

    The phone's limits protect its owner from being flooded. The captcha makes sending many codes from one network
    cost a person's effort per code. The address and network limits bound what one place can ask for even with
    every captcha solved; they sit above an honest crowd behind one address (an office of a few hundred, a mobile
    carrier's shared address), and a campaign that expects more raises them.

    The service's settings read this class as a nested model (`MASSLINE_SMS_LIMITS__PHONE_PER_HOUR=…`).
    `exempt_networks`: comma-separated networks (e.g. `127.0.0.0/8`) whose requests skip the address and network
    limits and the captcha (the phone limits still apply); empty by default.
    """

    # How pydantic (the settings) reads it: a name that is not a limit is an error.
    __pydantic_config__ = ConfigDict(extra="forbid")

    phone_per_hour: int = 5
    phone_per_day: int = 10
    address_per_hour: int = 100
    address_per_day: int = 500
    network_per_hour: int = 300
    network_per_day: int = 2000
    captcha_after: int = 3
    exempt_networks: str = ""

    def limit(self, scope: Scope, window_s: int) -> int:
        per = "hour" if window_s == HOUR_S else "day"
        value: int = getattr(self, f"{scope}_per_{per}")
        return value


Counts = Mapping[tuple[Scope, int], int]  # (scope, window length in seconds) -> codes sent in the current window


@dataclass(frozen=True)
class SmsDecision:
    """`refusal`: the limit reached (None: within every limit); `captcha_needed`: a solved captcha must come along."""

    refusal: SmsLimitReached | None
    captcha_needed: bool


def window_start(now: datetime, window_s: int) -> datetime:
    """The start of the fixed window of `window_s` seconds that holds `now`."""
    elapsed = int((now - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=elapsed - elapsed % window_s)


def seconds_left(now: datetime, window_s: int) -> int:
    """Whole seconds (at least 1) until the window holding `now` ends."""
    end = window_start(now, window_s) + timedelta(seconds=window_s)
    return max(1, math.ceil((end - now).total_seconds()))


def client_network(address: str | None) -> str:
    """The network a request counts under: the /24 or /64 of its address, `unknown` when there is none (or garbage)."""
    return network_prefix(address) or UNKNOWN


def exempt(address: str | None, networks: str) -> bool:
    """Whether the address lies in one of the comma-separated `networks` (a missing or garbage address never does)."""
    if not address or not networks.strip():
        return False
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    for item in networks.split(","):
        if item.strip() and ip in ipaddress.ip_network(item.strip(), strict=False):
            return True
    return False


def check_exempt_networks(networks: str) -> str:
    """The setting as given, or ValueError naming the entry that is not a network."""
    for item in networks.split(","):
        if item.strip():
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"not a network: {item.strip()!r}") from None
    return networks


def sms_code_decision(counts: Counts, limits: SmsLimits, now: datetime, *, exempt: bool = False) -> SmsDecision:
    """Whether one more code may be sent, given the codes already sent in the current windows.

    Every limit reached is a refusal; the one reported is the one with the longest wait (the phone's first when
    waits are equal), so the time it gives is when a request can succeed. An exempt client is held to the phone's
    limits only, and never asked for a captcha. Otherwise a captcha is needed once the network has been sent
    `captcha_after` codes within the current hour.
    """
    scopes: tuple[Scope, ...] = ("phone",) if exempt else SCOPES
    refusal: SmsLimitReached | None = None
    for scope in scopes:
        for window_s in WINDOWS:
            limit = limits.limit(scope, window_s)
            if counts.get((scope, window_s), 0) >= limit:
                wait = seconds_left(now, window_s)
                if refusal is None or wait > refusal.retry_after_s:
                    refusal = SmsLimitReached(scope, window_s, limit, wait)
    needed = not exempt and counts.get(("network", HOUR_S), 0) >= limits.captcha_after
    return SmsDecision(refusal, needed)
