"""Who may ask for an SMS code now: limits per phone, per client address and per network, and when a captcha is due.

Each limit holds over any rolling interval of its window's length (an hour, a day), not over fixed clock windows:
a fixed window lets twice its limit through around its turn (a limit just before it, another just after). Codes
sent are counted per key (the phone, the client's address and its /24 (IPv4) or /64 (IPv6) network) and window in
twelve slices of the window (an hour in 300-s slices, a day in 7,200-s slices, aligned from the epoch). A request
counts the codes of the current slice and of the twelve before it: thirteen slices, which cover the whole interval
of the window's length that ends now. So a code counts against a limit for between one window and one window and one
slice after it was sent (an hour to 65 minutes; a day to 26 hours), and no interval of an hour (a day) ever holds
more codes than the limit allows.

`sms_code_decision` reads those counts (codes per slice start) and the limits and says whether the request is
refused (the scope and window whose limit it reached, and how long until enough of its oldest slices have left the
count) or needs a solved captcha. Only codes actually sent are counted: a refused request leaves the counts as they
were.
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
    """How many codes may be sent per phone, per client address and per network in any hour and in any day (rolling,
    not clock hours and days), and after how many codes from one network within the last hour a captcha is asked for.

    The phone's limits protect its owner from being flooded. The captcha makes sending many codes from one network
    cost a person's effort per code: after `captcha_after` for a number that is not a carrier's (a virtual
    operator's, a data SIM's, one from outside the mainland: what code-receiving platforms sell), after
    `captcha_after_carrier` for a carrier's. A carrier's NAT /24 or a campus's carries hundreds of people asking for
    codes within the hour when a rally reaches them, nearly all on carriers' numbers: asked for a captcha after three
    codes, a county's TV audience solved one each (97 % of it, a fifth of them twice), while the farms it is meant to
    slow solve theirs through a paid service for a fraction of a fen. The address and network limits bound what one
    place can ask for even with every captcha solved (the cost of pumping codes from one machine); they sit above the
    honest crowds one address carries when a rally reaches them all at once: a university's students behind a few
    NAT addresses told in class to vote (1,200 behind four: 300 an address within minutes, thousands in a day), a
    mobile carrier's shared address and its /24 (hundreds to thousands of subscribers each). Refusing a code refuses
    a person their vote; a farm on one place is the detectors' to find, and most farms come through many places.

    The service's settings read this class as a nested model (`MASSLINE_SMS_LIMITS__PHONE_PER_HOUR=…`).
    `exempt_networks`: comma-separated networks (e.g. `127.0.0.0/8`) whose requests skip the address and network
    limits and the captcha (the phone limits still apply); empty by default.
    """

    # How pydantic (the settings) reads it: a name that is not a limit is an error.
    __pydantic_config__ = ConfigDict(extra="forbid")

    phone_per_hour: int = 5
    phone_per_day: int = 10
    address_per_hour: int = 2000
    address_per_day: int = 10000
    network_per_hour: int = 5000
    network_per_day: int = 30000
    captcha_after: int = 3
    captcha_after_carrier: int = 200
    exempt_networks: str = ""

    def limit(self, scope: Scope, window_s: int) -> int:
        per = "hour" if window_s == HOUR_S else "day"
        value: int = getattr(self, f"{scope}_per_{per}")
        return value


SLICES_PER_WINDOW = 12  # a window is counted in twelfths
COUNTED_SLICES = SLICES_PER_WINDOW + 1  # a request counts its current slice and the twelve before it

# (scope, window length in seconds) -> codes sent per slice start (a slice that is not there holds none)
Counts = Mapping[tuple[Scope, int], Mapping[datetime, int]]


@dataclass(frozen=True)
class SmsDecision:
    """`refusal`: the limit reached (None: within every limit); `captcha_needed`: a solved captcha must come along."""

    refusal: SmsLimitReached | None
    captcha_needed: bool


def slice_length(window_s: int) -> timedelta:
    """How long one slice of a window of `window_s` seconds is: a twelfth (an hour: 300 s; a day: 7,200 s)."""
    return timedelta(seconds=window_s // SLICES_PER_WINDOW)


def slice_start(now: datetime, window_s: int) -> datetime:
    """The start of the slice of the window of `window_s` seconds that holds `now`, slices aligned from the epoch."""
    length = window_s // SLICES_PER_WINDOW
    elapsed = int((now - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=elapsed - elapsed % length)


def first_counted_slice(now: datetime, window_s: int) -> datetime:
    """The start of the oldest slice a request at `now` counts: twelve slices before the current one."""
    return slice_start(now, window_s) - SLICES_PER_WINDOW * slice_length(window_s)


def counted_for(window_s: int) -> timedelta:
    """How long after its slice began a code counts against a window: thirteen slices (an hour's 65 minutes, a
    day's 26 hours). A code sent at the end of its slice counts for one window, one sent as it begins for one window
    and one slice."""
    return COUNTED_SLICES * slice_length(window_s)


def stops_counting(start: datetime, window_s: int) -> datetime:
    """When the codes of the slice beginning at `start` stop counting."""
    return start + counted_for(window_s)


def codes_counted(slices: Mapping[datetime, int], now: datetime, window_s: int) -> int:
    """The codes a request at `now` counts against a window: those of the slices that have not stopped counting."""
    return sum(codes for start, codes in slices.items() if now < stops_counting(start, window_s))


def wait_below(slices: Mapping[datetime, int], limit: int, now: datetime, window_s: int) -> int:
    """For a count at or over `limit`: whole seconds (at least 1) until enough of the oldest counted slices have
    stopped counting for it to fall below `limit`. A limit of 0 or less is never fallen below: the wait is then
    until the current slice stops counting (thirteen slices)."""
    counted = sorted((start, codes) for start, codes in slices.items() if now < stops_counting(start, window_s))
    left = sum(codes for _, codes in counted)
    until = stops_counting(slice_start(now, window_s), window_s)
    for start, codes in counted:
        left -= codes
        if left < limit:
            until = stops_counting(start, window_s)
            break
    return max(1, math.ceil((until - now).total_seconds()))


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


def sms_code_decision(counts: Counts, limits: SmsLimits, now: datetime, *, exempt: bool = False,
                      carrier: bool = False) -> SmsDecision:
    """Whether one more code may be sent at `now`, given the codes already sent per slice of each window.

    A limit is reached when the slices a request counts (the current one and the twelve before it) hold as many
    codes as it allows; its wait is until enough of the oldest of them have stopped counting. Every limit reached is
    a refusal; the one reported is the one with the longest wait (the phone's first when waits are equal), so the
    time it gives is when a request can succeed. An exempt client is held to the phone's limits only, and never
    asked for a captcha. Otherwise a captcha is needed once the network's count over the rolling hour has reached
    `captcha_after`, or `captcha_after_carrier` for a `carrier`'s number.
    """
    scopes: tuple[Scope, ...] = ("phone",) if exempt else SCOPES
    refusal: SmsLimitReached | None = None
    for scope in scopes:
        for window_s in WINDOWS:
            limit, slices = limits.limit(scope, window_s), counts.get((scope, window_s), {})
            if codes_counted(slices, now, window_s) >= limit:
                wait = wait_below(slices, limit, now, window_s)
                if refusal is None or wait > refusal.retry_after_s:
                    refusal = SmsLimitReached(scope, window_s, limit, wait)
    network_hour = codes_counted(counts.get(("network", HOUR_S), {}), now, HOUR_S)
    after = limits.captcha_after_carrier if carrier else limits.captcha_after
    return SmsDecision(refusal, not exempt and network_hour >= after)
