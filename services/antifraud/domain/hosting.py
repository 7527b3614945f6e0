"""Hosting networks: the address ranges of data centres (cloud providers' servers, hosting companies' machines).

People vote from homes, phones and offices. A cloud-phone farm's phones (云手机) and a server's headless browsers
sit in data centres, each phone with an address of its own there, so a vote's network being a data centre's is a
trait (`host`) the coordination rule compares like the others: never evidence alone (a person on a VPN, a company
whose internet goes out through a cloud NAT gateway), evidence when an entry's voters show it far more than the
campaign's other voters do, from many addresses of one data-centre network.

The ranges are a list of CIDR networks: the shipped `hosting_networks.txt` (the large clouds serving mainland China,
from their own announcements; a starting point), or an operator's own list from an IP-intelligence provider (their
"IDC" tag), set by `MASSLINE_HOSTING_NETWORKS_FILE`, with `MASSLINE_HOSTING_NETWORKS` added to either. A vote's
network is the /24 (or /64) the voting service stamps on it; it is a hosting network when a listed range holds it.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
from collections.abc import Iterable
from pathlib import Path

SHIPPED = Path(__file__).with_name("hosting_networks.txt")


class HostingNetworks:
    """A set of CIDR ranges, asked whether they hold a /24 or /64."""

    def __init__(self, networks: Iterable[str] = ()) -> None:
        spans: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        for text in networks:
            try:
                net = ipaddress.ip_network(text.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(f"not a CIDR network: {text.strip()!r}") from exc
            spans[net.version].append((int(net.network_address), int(net.broadcast_address)))
        # merged, sorted spans per version: one bisection per lookup
        self._starts: dict[int, list[int]] = {}
        self._ends: dict[int, list[int]] = {}
        for version, found in spans.items():
            merged: list[tuple[int, int]] = []
            for start, end in sorted(found):
                if merged and start <= merged[-1][1] + 1:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], end))
                else:
                    merged.append((start, end))
            self._starts[version] = [s for s, _ in merged]
            self._ends[version] = [e for _, e in merged]
        self.size = sum(len(s) for s in self._starts.values())
        self.holds = functools.lru_cache(maxsize=65536)(self._holds)

    @classmethod
    def read(cls, path: Path, extra: Iterable[str] = ()) -> HostingNetworks:
        """The ranges of a file (one CIDR a line; `#` starts a comment), and `extra`."""
        lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
        return cls([*(line for line in lines if line), *extra])

    def _holds(self, subnet: str | None) -> bool:
        if not subnet:
            return False
        try:
            net = ipaddress.ip_network(subnet, strict=False)
        except ValueError:
            return False
        starts, ends = self._starts[net.version], self._ends[net.version]
        i = bisect.bisect_right(starts, int(net.network_address)) - 1
        return i >= 0 and int(net.broadcast_address) <= ends[i]


_current = HostingNetworks.read(SHIPPED)


def use(networks: HostingNetworks) -> None:
    """The ranges every later vote is classified by (the service's settings, at start)."""
    global _current
    _current = networks


def hosted(subnet: str | None) -> bool:
    """The vote's network lies in a hosting network (a data centre's)."""
    return _current.holds(subnet)
