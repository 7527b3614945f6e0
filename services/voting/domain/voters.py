"""Who votes: pseudonymous voter identity, signed voter tickets, the voting day, the signals a vote carries."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import ipaddress
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import jwt

from massline.client_values import clean_client_value

from .errors import TicketError, TicketMissing

TICKET_AUDIENCE = "massline-voter"

# A voter ticket is an HS256 JWT signed with the service secret. Its claims:
#   sub  pseudonymous voter id (keyed hash)     cid  the campaign it is good for
#   m    verification method (sms, wechat)      iat  when the identity was verified (unix seconds)
#   exp  expiry (unix seconds)                  aud  "massline-voter"
#   pv   optional: when the campaign's public page first loaded with this ticket (unix seconds), stamped by
#        `GET /campaigns/{id}/voters/me` (`stamp_page_view`); a vote carries it as `page_viewed_at`. Tickets
#        without it (issued before, or never shown on the page) vote as before, `page_viewed_at` None.
#   nk   optional: the kind of the verified phone number (`number_kind`: mobile, virtual, data); the number
#        itself is never in the ticket. A vote carries it as `number_kind`.
#   cs   optional: when the code it was verified with was sent (unix seconds): where the holder's sitting began
#        (asking for a code). A vote carries it as `code_sent_at`.


def keyed_hash(secret: str, purpose: str, value: str) -> str:
    """A stable pseudonym: the same input gives the same id, and the input cannot be read back."""
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:40]


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


@dataclass(frozen=True)
class VoterTicket:
    voter_id: str
    campaign_id: str
    method: str
    verified_at: int
    expires_at: int
    page_viewed_at: int | None = None  # claim `pv`: when the holder's page first loaded with this ticket (unix s)
    number_kind: str | None = None  # claim `nk`: the kind of the phone number verified (`number_kind`)
    code_sent_at: int | None = None  # claim `cs`: when its code was sent (unix s)
    # claim `vms`: when it verified, in milliseconds (`iat` is whole seconds: the delay from verifying to voting,
    # which anti-fraud bins from two seconds up, would read up to a second long)
    verified_ms: int | None = None

    @property
    def verified_at_s(self) -> float:
        """When the holder verified (unix s), to the millisecond where the ticket says so."""
        ms = self.verified_ms
        return ms / 1000 if ms is not None and 0 <= ms - self.verified_at * 1000 < 1000 else float(self.verified_at)


# Mainland mobile numbers by their first three digits (MIIT's allocation): numbers resold by virtual operators
# (转售: 170, 171, 162, 165, 167 — the segments code-receiving platforms sell most), data and IoT SIMs with
# 11-digit numbers that can still receive SMS (145, 147, 149 data cards; 146, 148 IoT), and the carriers' own
# mobile numbers.
_VIRTUAL = frozenset({"162", "165", "167", "170", "171"})
_DATA = frozenset({"145", "146", "147", "148", "149"})
_MOBILE = frozenset({
    *(f"13{d}" for d in range(10)), *(f"15{d}" for d in range(10) if d != 4), "166",
    *(f"17{d}" for d in (2, 3, 4, 5, 6, 7, 8)), *(f"18{d}" for d in range(10)),
    *(f"19{d}" for d in range(10)),
})


def number_kind(phone: str) -> str | None:
    """`virtual`, `data` or `mobile` for a mainland mobile number (with or without +86), else None (unknown)."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) != 11 or not digits.startswith("1"):
        return None
    head = digits[:3]
    return "virtual" if head in _VIRTUAL else "data" if head in _DATA else "mobile" if head in _MOBILE else None


def issue_ticket(
    secret: str, *, voter_id: str, campaign_id: str, method: str, ttl_s: int, now: float | None = None,
    number_kind: str | None = None, code_sent_at: int | None = None,
) -> str:
    exact = now if now is not None else time.time()
    now = int(exact)
    claims: dict[str, object] = {"sub": voter_id, "cid": campaign_id, "m": method, "iat": now, "exp": now + ttl_s,
                                 "aud": TICKET_AUDIENCE, "vms": int(exact * 1000)}
    if number_kind:
        claims["nk"] = number_kind
    if code_sent_at is not None:
        claims["cs"] = int(code_sent_at)
    return jwt.encode(claims, secret, algorithm="HS256")


def stamp_page_view(secret: str, ticket: VoterTicket, now: float | None = None) -> str:
    """The same ticket (holder, campaign, method, issue and expiry unchanged) with the claim `pv`: the page was seen.

    The public page asks for it (`GET /campaigns/{id}/voters/me`) when it holds a ticket without `pv`, so a vote
    cast with the returned ticket carries `page_viewed_at` at no cost to the vote path. The expiry is kept:
    stamping never lengthens a ticket's life.
    """
    claims: dict[str, object] = {
        "sub": ticket.voter_id, "cid": ticket.campaign_id, "m": ticket.method, "iat": ticket.verified_at,
        "exp": ticket.expires_at, "aud": TICKET_AUDIENCE, "pv": int(now if now is not None else time.time())}
    if ticket.number_kind:
        claims["nk"] = ticket.number_kind
    if ticket.code_sent_at is not None:
        claims["cs"] = ticket.code_sent_at
    if ticket.verified_ms is not None:
        claims["vms"] = ticket.verified_ms
    return jwt.encode(claims, secret, algorithm="HS256")


# Tickets are issued by issue_ticket only, so their JOSE header is always this one.
_HS256_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"


@functools.lru_cache(maxsize=4)
def _ticket_mac(secret: str) -> hmac.HMAC:
    return hmac.new(secret.encode(), digestmod=hashlib.sha256)


def bearer_token(authorization: str | None) -> str:
    """The ticket of an `Authorization: Bearer …` header; `TicketMissing` without one."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise TicketMissing()
    return authorization[7:].strip()


def read_ticket(secret: str, token: str, campaign_id: str, now: float | None = None) -> VoterTicket:
    """A forged, altered or foreign ticket is `ticket_invalid`; an old one is `ticket_expired`.

    Verified by hand (HS256 over header.payload, constant-time compare): this runs on every vote,
    and the general JWT library spends most of its time preparing the key and parsing options.
    """
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != _HS256_HEADER:
        raise TicketError("ticket_invalid")
    mac = _ticket_mac(secret).copy()
    mac.update(f"{parts[0]}.{parts[1]}".encode())
    expected = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=")
    if not hmac.compare_digest(expected, parts[2].encode()):
        raise TicketError("ticket_invalid")
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        exp, iat = int(claims["exp"]), int(claims["iat"])
        pv = claims.get("pv")
        if pv is not None:
            pv = int(pv)
        cs = claims.get("cs")
        if cs is not None:
            cs = int(cs)
        vms = claims.get("vms")
        if vms is not None:
            vms = int(vms)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise TicketError("ticket_invalid") from None
    if claims.get("aud") != TICKET_AUDIENCE or claims.get("cid") != campaign_id or not claims.get("sub"):
        raise TicketError("ticket_invalid")
    if exp <= (now if now is not None else time.time()):
        raise TicketError("ticket_expired")
    kind = claims.get("nk")
    return VoterTicket(claims["sub"], claims["cid"], claims.get("m", ""), iat, exp, pv,
                       kind if kind in ("mobile", "virtual", "data") else None, cs, vms)


def voting_day(now: datetime, tz: str) -> date:
    """The quota resets at midnight in the campaign's timezone, not the server's."""
    return now.astimezone(ZoneInfo(tz)).date()


@functools.lru_cache(maxsize=16384)
def address_hash(secret: str, ip: str) -> str:
    """`keyed_hash` of a voter's address, remembered: a busy NAT address votes again and again."""
    return keyed_hash(secret, "ip", ip)


@functools.lru_cache(maxsize=4096)
def _user_agent_hash(secret: str, user_agent: str) -> str:
    return keyed_hash(secret, "ua", user_agent)


def device_hash(secret: str, device: str | None) -> str | None:
    """`keyed_hash(secret, "device", …)` of the page's device fingerprint; None when it is missing or a placeholder
    ("unknown", "null", "0000…"): a broken client's constant must not make its users look like one phone."""
    device = clean_client_value(device)
    return keyed_hash(secret, "device", device) if device else None


def user_agent_hash(secret: str, user_agent: str | None) -> str | None:
    """`keyed_hash(secret, "ua", …)` of the User-Agent header as received; None when it is missing, empty or a
    placeholder.

    Remembered, as a few browsers' strings make most of a surge; a string longer than any browser's is
    hashed without being remembered, so a client cannot fill the memory with long ones.
    """
    if not user_agent or clean_client_value(user_agent, max_length=100_000) is None:
        return None
    if len(user_agent) > 512:
        return keyed_hash(secret, "ua", user_agent)
    return _user_agent_hash(secret, user_agent)


@functools.lru_cache(maxsize=16384)
def network_prefix(ip: str | None) -> str | None:
    """The /24 (IPv4) or /64 (IPv6) a vote came from; None when the address is missing or garbage."""
    if not ip:
        return None
    parts = ip.split(".")
    # The common case without the general parser: four plain decimal octets (no leading zeros, as
    # ipaddress would refuse them too).
    if len(parts) == 4 and all(p.isdigit() and p.isascii() and len(p) <= 3 and (p == "0" or p[0] != "0")
                               and int(p) <= 255 for p in parts):
        return f"{parts[0]}.{parts[1]}.{parts[2]}.0/24"
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    prefix = 24 if addr.version == 4 else 64
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


def utcnow() -> datetime:
    return datetime.now(UTC)
