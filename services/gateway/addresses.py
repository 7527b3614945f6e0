"""The voter's address as the gateway hands it to the services: read from trusted proxies only."""

from __future__ import annotations

import ipaddress
import re

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> list[Network]:
    return [ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()]


def voter_address(peer: str, forwarded_for: str | None, trusted: list[Network]) -> str:
    """The address a request came from: the connecting peer, unless that peer is a trusted proxy.

    Then the X-Forwarded-For chain is read from the right, skipping trusted proxies; the first
    address that is not one of ours is the client's. Anything to its left was written by the
    client and proves nothing.
    """
    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in trusted)

    if not trusted or not is_trusted(peer) or not forwarded_for:
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not is_trusted(hop):
            return _address(hop)
    return peer


def _address(hop: str) -> str:
    """The address in one hop as proxies write it ("198.51.100.9", "2001:db8::1", with a port "198.51.100.9:5678"
    or "[2001:db8::1]:443"); "" when it is none (unknown: scored with what else is known, never as a shared
    address)."""
    match = _WITH_PORT.fullmatch(hop)
    try:
        return str(ipaddress.ip_address(match.group("v6") or match.group("v4") if match else hop))
    except ValueError:
        return ""


_WITH_PORT = re.compile(r"\[(?P<v6>[^\]]+)\](?::\d{1,5})?|(?P<v4>[\d.]+):\d{1,5}")
