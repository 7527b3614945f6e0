"""The voting page sends a device id the browser keeps, so that identities taking turns on one browser can be told."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js runs the page's script")


def votes_sent(*mode: str) -> list[dict[str, object]]:
    out = subprocess.run([NODE or "node", str(Path(__file__).parent / "js" / "vote_page.js"),
                          str(ROOT / "services/gateway/static/vote.js"), *mode],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    sent: list[dict[str, object]] = json.loads(out)
    return sent


def test_every_vote_from_one_browser_carries_the_same_device_id_whichever_identity_votes() -> None:
    sent = votes_sent()
    assert len(sent) == 3  # two votes in one tab, one from another tab (another identity) of the same browser
    devices = {vote["device"] for vote in sent}
    assert len(devices) == 1
    device = devices.pop()
    assert isinstance(device, str) and device.startswith("web-") and len(device) <= 200
    assert len({vote["idempotency_key"] for vote in sent}) == 3  # each click is its own vote


def test_a_browser_that_keeps_nothing_still_votes_without_a_device_id() -> None:
    sent = votes_sent("no-storage")
    assert len(sent) == 3 and all("device" not in vote for vote in sent)
