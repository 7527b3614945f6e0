"""Hosting networks: which /24s and /64s are a data centre's, read from the shipped list or an operator's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.antifraud.domain import hosting
from services.antifraud.domain.hosting import HostingNetworks
from services.antifraud.settings import AntifraudSettings


@pytest.mark.parametrize(("subnet", "held"), [
    ("47.108.12.0/24", True),   # Alibaba Cloud
    ("81.70.3.0/24", True),     # Tencent Cloud
    ("121.37.140.0/24", True),  # Huawei Cloud
    ("180.76.1.0/24", True),    # Baidu AI Cloud
    ("117.136.8.0/24", False),  # a carrier's mobile NAT pool
    ("36.112.4.0/24", False),   # home broadband
    ("2409:8a00:1:2::/64", False),
    (None, False), ("", False), ("unknown", False), ("999.1.1.0/24", False),
])
def test_the_shipped_list_knows_the_large_clouds_and_no_carrier_s_people(subnet: str | None, held: bool) -> None:
    assert hosting.hosted(subnet) is held


def test_an_operator_s_list_replaces_the_shipped_one_and_its_extra_ranges_are_added(tmp_path: Path) -> None:
    listed = tmp_path / "idc.txt"
    listed.write_text("# a provider's IDC ranges\n110.42.0.0/16  # a small host\n\n2001:db8:100::/40\n")
    s = AntifraudSettings(hosting_networks_file=listed, hosting_networks=["203.0.113.0/24"])
    ranges = s.hosting()
    assert ranges.holds("110.42.10.0/24") and ranges.holds("203.0.113.0/24")
    assert ranges.holds("2001:db8:1ff:7::/64") and not ranges.holds("2001:db8:200::/64")
    assert not ranges.holds("47.108.12.0/24")  # the shipped list is replaced, not added to


def test_a_line_that_is_no_network_is_refused_at_start_and_named(tmp_path: Path) -> None:
    listed = tmp_path / "idc.txt"
    listed.write_text("110.42.0.0/16\n110.42.0.0/33\n")
    with pytest.raises(ValidationError, match=r"not a CIDR network: '110\.42\.0\.0/33'"):
        AntifraudSettings(hosting_networks_file=listed)
    with pytest.raises(ValidationError, match="No such file"):
        AntifraudSettings(hosting_networks_file=tmp_path / "missing.txt")


def test_ranges_are_merged_and_a_network_only_partly_inside_one_is_not_held() -> None:
    ranges = HostingNetworks(["10.0.0.0/24", "10.0.1.0/24", "10.0.3.0/25"])
    assert ranges.holds("10.0.1.0/24") and ranges.size == 2
    assert not ranges.holds("10.0.3.0/24")  # half of it a host's, half not: not known to be a data centre's
