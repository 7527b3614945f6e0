"""Trust anyone can check, through the whole system: votes get receipts, the day's log is sealed at the close, a
receipt and the tally are checked with the CLI from published data alone, and still agree after an invalidation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import support
from playwright.sync_api import expect
from support import wait_for

from massline.votelog import CheckFailed, check_receipt, http_fetch

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = "e2e-seal"


def test_votes_are_sealed_and_receipts_and_the_tally_check_out(system, browser) -> None:
    api = support.Api(system.gateway_url)
    env = {**os.environ, **system.env()}

    def massline(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "services.operations", *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=300)

    entries = support.open_voting(api, CAMPAIGN, ["甲单位", "乙单位"],
                                  replace={"show_counts: rank_only": "show_counts: always"})
    api.login("admin", "admin-demo-password")
    r = api.call("PUT", "/api/submission/users", "admin", json={
        "username": "seal-operator", "display_name": "seal-operator", "password": support.PASSWORD,
        "role": "operator"})
    assert r.status_code == 200, r.text
    api.login("seal-operator", support.PASSWORD)
    r = support.put_policy(api, CAMPAIGN, "seal-operator",
                           {"policy": "flag", "reason": "held for review before any invalidation"})
    assert r.status_code == 200, r.text

    def vote(phone: str, entry: str, count: int, key: str, device: str, address: str | None = None) -> dict:
        forwarded = {"X-Forwarded-For": address} if address else {}  # a farm's phone hopping addresses
        r = api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/votes",
                     headers={"Authorization": f"Bearer {support.voter_ticket(api, CAMPAIGN, phone)}", **forwarded},
                     json={"entry_id": entry, "count": count, "idempotency_key": key, "device": device})
        assert r.status_code == 201, r.text
        return r.json()

    honest = [vote(f"1390000000{i}", entries[i % 2], i + 1, f"h{i}", f"own-phone-{i}") for i in range(3)]
    farm = [vote(f"1391111000{i}", entries[0], 2, f"farm{i}", "one-farm-phone", f"100.{64 + i}.9.{30 + i}")
            for i in range(6)]
    receipt = honest[0]["receipt"]
    assert receipt["vote_id"] == honest[0]["vote_id"] and len(receipt["leaf"]) == 64
    assert api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/vote-log/proof",
                    params={"vote_id": receipt["vote_id"]}).json()["error"]["code"] == "vote_not_sealed"

    def standing(entry: str) -> tuple[int, int, int] | None:
        cats = api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/standings").json().get("categories", {})
        return next(((e.get("votes"), e.get("held"), e.get("invalidated")) for rows in cats.values() for e in rows
                     if e["entry_id"] == entry), None)

    held = 2 * len(farm)
    wait_for("the farm's votes held for review", lambda: (standing(entries[0]) or (0, 0, 0))[1] == held)
    # while the day is open, no vote's decision is published: a farm holding its receipts learns nothing of which
    # identities were caught (the standings give only each entry's held count and why)
    assert api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/vote-log/decisions").json()["votes"] == []

    # --- voting closes; the day is sealed (by the service's own task or by `massline seal`, whichever first) ---
    api.phase(CAMPAIGN, "expert_review")
    wait_for("voting to know voting closed", lambda: api.call(
        "GET", f"/api/voting/campaigns/{CAMPAIGN}/standings").json().get("phase") == "expert_review")

    def sealed() -> dict | None:
        result = massline("seal", "--campaign", CAMPAIGN, "--grace-s", "0")
        assert result.returncode == 0, result.stderr
        body = api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/vote-log/seals").json()
        return body if body["complete"] else None

    log = wait_for("the day's vote log to be sealed", sealed)
    assert sum(s["leaf_count"] for s in log["seals"]) == len(honest) + len(farm)
    assert massline("seal", "--campaign", CAMPAIGN, "--grace-s", "0").stdout == ""  # nothing more to seal

    # --- a voter checks the receipt with the CLI; the check page lists the root ---
    url = system.gateway_url
    result = massline("verify", "receipt", "--campaign", CAMPAIGN, "--vote-id", receipt["vote_id"],
                      "--leaf", receipt["leaf"], "--url", url)
    assert result.returncode == 0, result.stderr
    assert f"sealed as counted: 1 vote(s) for {entries[0]}" in result.stdout
    page = api.call("GET", f"/c/{CAMPAIGN}/vote-log").text
    assert log["seals"][0]["root"] in page and "13900000000" not in page
    # a receipt that is not the sealed vote's fails
    with pytest.raises(CheckFailed, match="not the one on the receipt"):
        check_receipt(http_fetch(url), CAMPAIGN, receipt["vote_id"], honest[1]["receipt"]["leaf"])
    leaves = api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/vote-log/days/{log['seals'][0]['day']}/leaves").json()
    assert "1390000000" not in str(leaves) and {leaf["status"] for leaf in leaves["leaves"]} == {"counted", "held"}

    # --- the tally from the sealed leaves agrees with the standings ---
    result = massline("verify", "tally", "--campaign", CAMPAIGN, "--url", url)
    assert result.returncode == 0, result.stdout + result.stderr

    # --- the operator confirms the farm case after the seal: published as decisions, the tally still agrees ---
    [case] = api.call("GET", f"/api/antifraud/campaigns/{CAMPAIGN}/cases", "seal-operator").json()["cases"]
    r = api.call("POST", f"/api/antifraud/cases/{case['id']}/decision", "seal-operator",
                 json={"decision": "confirm", "reason": "同一设备批量注册身份投票，确认剔除"})
    assert r.status_code == 200, r.text
    wait_for("the farm's votes invalidated", lambda: (standing(entries[0]) or (0, 0, 0))[2] == held)
    decisions = api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/vote-log/decisions").json()["votes"]
    assert {d["vote_id"] for d in decisions} == {v["vote_id"] for v in farm}
    assert {d["state"] for d in decisions} == {"invalidated"}
    result = massline("verify", "tally", "--campaign", CAMPAIGN, "--url", url)
    assert result.returncode == 0, result.stdout + result.stderr

    # --- the vote-log page checks the receipt in the browser (SubtleCrypto), from the link the voting page gives ---
    page = browser.new_page()
    try:
        page.goto(f"{url}/c/{CAMPAIGN}/vote-log?vote_id={receipt['vote_id']}")
        # Polled through selectors, not page-side functions: the page's policy refuses string evaluation.
        result_line = page.locator("#receipt-result")
        expect(result_line).to_contain_text("核验通过")
        expect(result_line).to_contain_text("封存时状态：已计入")  # in words, not the leaf's code
        page.fill("#receipt-vote-id", "01a23e69-0000-7000-8000-000000000000")
        page.click("#receipt-form button")
        expect(result_line).to_contain_text("无法核验")
    finally:
        page.close()
