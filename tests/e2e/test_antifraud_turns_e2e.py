"""Someone at one office PC votes for colleagues in turn (代投), through the whole system: each colleague's number
typed, its code read out, the vote cast, a new private window for the next (no fingerprint). The gateway sees one
address and one browser; the ticket says when each code was sent. Anti-fraud holds the run for review, the public
standings show the held votes, and the voters on their own phones count."""

from __future__ import annotations

from typing import Any

import pytest
from support import PASSWORD, Api, open_voting, voter_ticket, wait_for

pytestmark = pytest.mark.e2e

CAMPAIGN = "e2e-turns"
OFFICE = "1.85.60.130"  # the office's NAT address, as the trusted proxy reports it
EDGE = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 "
        "Safari/537.36 Edg/109.0.1518.78")


def sitting(api: Api, phone: str, entry: str, key: str, address: str, ua: str, device: str | None = None,
            campaign: str = CAMPAIGN) -> None:
    """One identity from asking for its code to its vote, all from one browser."""
    headers = {"X-Forwarded-For": address, "User-Agent": ua}
    ticket = voter_ticket(api, campaign, phone, headers)
    r = api.call("POST", f"/api/voting/campaigns/{campaign}/votes",
                 headers={**headers, "Authorization": f"Bearer {ticket}"},
                 json={"entry_id": entry, "count": 10, "idempotency_key": key, "device": device})
    assert r.status_code == 201, r.text


def test_colleagues_voted_for_in_turn_at_one_pc_are_held_for_review(system) -> None:
    api = Api(system.gateway_url)
    entry, other = open_voting(api, CAMPAIGN, ["戊大学", "己大学"],
                               replace={"show_counts: rank_only": "show_counts: always"})
    r = api.call("PUT", "/api/submission/users", "admin", json={
        "username": "turns-operator", "display_name": "值班员", "password": PASSWORD, "role": "operator"})
    assert r.status_code == 200, r.text
    api.login("turns-operator", PASSWORD)
    people = [(f"1390000{i:04d}", other if i % 3 else entry, f"36.{i}.8.{i % 200 + 1}",
               f"Mozilla/5.0 (Linux; Android 14; Phone{i % 7}) Mobile Safari/537.36") for i in range(6)]
    for i, (phone, e, address, ua) in enumerate(people):
        sitting(api, phone, e, f"own-{i}", address, ua)
    for i in range(14):
        sitting(api, f"1391111{i:04d}", entry, f"turn-{i}", OFFICE, EDGE)

    def case() -> dict[str, Any] | None:
        cases = api.call("GET", f"/api/antifraud/campaigns/{CAMPAIGN}/cases", "turns-operator").json().get("cases", [])
        turns = [k for k in cases if k["reason_code"] == "browser_turns"]
        return turns[0] if turns and turns[0]["vote_count"] == 14 * 10 else None

    found = wait_for("anti-fraud to hold the colleagues' run", case)
    assert found["status"] == "flagged" and found["entry_id"] == entry
    detail = api.call("GET", f"/api/antifraud/cases/{found['id']}", "turns-operator").json()
    assert detail["identities"] == 14
    assert "14 identities voted from one browser" in detail["explanation"]
    assert "1391111" not in str(detail)  # pseudonymous identities only

    def standing() -> tuple[int, int] | None:
        cats = api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/standings").json().get("categories", {})
        return next(((e.get("votes"), e.get("held")) for e in cats.get("institutional", [])
                     if e["entry_id"] == entry), None)

    own = sum(10 for _, e, _, _ in people if e == entry)
    wait_for("the standings to hold the run's votes", lambda: standing() == (own, 140))


def test_a_cloud_phone_running_numbers_one_after_another_as_a_new_phone_each_is_held_for_review(system) -> None:
    # A rented cloud phone on an address of its own in a data centre: for each number a new phone (a new model
    # string, its browser's storage wiped: a new device id), the code, the vote, the next number. No browser repeats;
    # the address takes the identities one at a time.
    api = Api(system.gateway_url)
    campaign = "e2e-cloud-phone"
    entry, other = open_voting(api, campaign, ["庚大学", "辛大学"],
                               replace={"show_counts: rank_only": "show_counts: always"})
    r = api.call("PUT", "/api/submission/users", "admin", json={
        "username": "cloud-operator", "display_name": "值班员乙", "password": PASSWORD, "role": "operator"})
    assert r.status_code == 200, r.text
    api.login("cloud-operator", PASSWORD)
    for i in range(6):
        sitting(api, f"1370000{i:04d}", other, f"own-{i}", f"36.{i}.9.{i + 1}",
                f"Mozilla/5.0 (Linux; Android 14; Phone{i}) Mobile Safari/537.36", f"own-phone-{i}", campaign)
    for i in range(11):
        sitting(api, f"1582222{i:04d}", entry, f"cloud-{i}", "122.228.161.37",
                f"Mozilla/5.0 (Linux; Android 10; Model{i} Build/QP1A.190711.020; wv) Mobile Safari/537.36",
                f"new-phone-{i}", campaign)

    def case() -> dict[str, Any] | None:
        cases = api.call("GET", f"/api/antifraud/campaigns/{campaign}/cases", "cloud-operator").json().get("cases", [])
        turns = [k for k in cases if k["reason_code"] == "address_turns"]
        return turns[0] if turns and turns[0]["vote_count"] == 11 * 10 else None

    found = wait_for("anti-fraud to hold the cloud phone's numbers", case)
    assert found["status"] == "flagged" and found["entry_id"] == entry
    detail = api.call("GET", f"/api/antifraud/cases/{found['id']}", "cloud-operator").json()
    assert detail["identities"] == 11
    assert "11 identities voted from one address" in detail["explanation"] and "同一地址" in detail["explanation_zh"]
    assert "1582222" not in str(detail) and "122.228.161.37" not in str(detail)

    def held() -> int | None:
        cats = api.call("GET", f"/api/voting/campaigns/{campaign}/standings").json().get("categories", {})
        return next((e.get("held") for e in cats.get("institutional", []) if e["entry_id"] == entry), None)

    wait_for("the standings to hold the cloud phone's votes", lambda: held() == 110)
