"""The network a vote came from: what the anti-fraud detectors group voters by."""

from __future__ import annotations

import pytest

from services.voting.domain import network_prefix


@pytest.mark.parametrize(("address", "network"), [
    ("203.0.113.7", "203.0.113.0/24"),
    ("10.0.0.255", "10.0.0.0/24"),
    ("0.0.0.0", "0.0.0.0/24"),
    (" 198.51.100.9 ", "198.51.100.0/24"),          # surrounding blanks, as a header may carry them
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("::ffff:1.2.3.4", "::/64"),
    (None, None), ("", None), ("garbage", None), ("256.1.1.1", None), ("1.2.3", None), ("1.2.3.4.5", None),
    ("01.2.3.4", None),                               # a leading zero is ambiguous (octal?): refused
    ("١.2.3.4", None),                                # not ASCII digits
    ("1.2.3.+4", None), ("1..3.4", None),
])
def test_addresses_map_to_their_network_and_garbage_to_none(address: str | None, network: str | None) -> None:
    assert network_prefix(address) == network
