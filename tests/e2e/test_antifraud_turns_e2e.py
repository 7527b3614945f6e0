"""Someone at one office PC votes for colleagues in turn (代投), through the whole system: each colleague's number
typed, its code read out, the vote cast, a new private window for the next (no fingerprint). The gateway sees one
address and one browser; the ticket says when each code was sent. Anti-fraud holds the run for review, the public
standings show the held votes, and the voters on their own phones count."""

from __future__ import annotations

from typing import Any

import pytest
from support import Api, new_operator, open_voting, voter_ticket, wait_for

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


def held_case(api: Api, campaign: str, operator: str, reason: str, entry: str, identities: int) -> dict[str, Any]:
    """The case `reason` opened on `entry` once it holds all ten votes of `identities` identities, as the operator
    reads it (flagged: held for review)."""
    def case() -> dict[str, Any] | None:
        cases = api.call("GET", f"/api/antifraud/campaigns/{campaign}/cases", operator).json().get("cases", [])
        mine = [k for k in cases if k["reason_code"] == reason]
        return mine[0] if mine and mine[0]["vote_count"] == identities * 10 else None

    found = wait_for(f"anti-fraud to hold {identities} identities ({reason})", case)
    assert found["status"] == "flagged" and found["entry_id"] == entry
    detail: dict[str, Any] = api.call("GET", f"/api/antifraud/cases/{found['id']}", operator).json()
    return detail


def opened_with_own_voters(api: Api, campaign: str, names: list[str], operator: tuple[str, str], prefix: str,
                           n: int) -> str:
    """A campaign of two entries showing its counts, an operator for it, and `n` people voting for the second entry
    on their own phones from their own addresses. The first entry's id."""
    entry, other = open_voting(api, campaign, names, replace={"show_counts: rank_only": "show_counts: always"})
    new_operator(api, *operator)
    for i in range(n):
        sitting(api, f"{prefix}{i:04d}", other, f"own-{i}", f"36.{i}.9.{i + 1}",
                f"Mozilla/5.0 (Linux; Android 14; Phone{i}) Mobile Safari/537.36", f"own-phone-{i}", campaign)
    return entry


def test_colleagues_voted_for_in_turn_at_one_pc_are_held_for_review(system) -> None:
    api = Api(system.gateway_url)
    entry, other = open_voting(api, CAMPAIGN, ["戊大学", "己大学"],
                               replace={"show_counts: rank_only": "show_counts: always"})
    new_operator(api, "turns-operator")
    people = [(f"1390000{i:04d}", other if i % 3 else entry, f"36.{i}.8.{i % 200 + 1}",
               f"Mozilla/5.0 (Linux; Android 14; Phone{i % 7}) Mobile Safari/537.36") for i in range(6)]
    for i, (phone, e, address, ua) in enumerate(people):
        sitting(api, phone, e, f"own-{i}", address, ua)
    for i in range(14):
        sitting(api, f"1391111{i:04d}", entry, f"turn-{i}", OFFICE, EDGE)

    detail = held_case(api, CAMPAIGN, "turns-operator", "browser_turns", entry, 14)
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
    entry = opened_with_own_voters(api, campaign, ["庚大学", "辛大学"], ("cloud-operator", "值班员乙"), "1370000", 6)
    for i in range(11):
        sitting(api, f"1582222{i:04d}", entry, f"cloud-{i}", "122.228.161.37",
                f"Mozilla/5.0 (Linux; Android 10; Model{i} Build/QP1A.190711.020; wv) Mobile Safari/537.36",
                f"new-phone-{i}", campaign)

    detail = held_case(api, campaign, "cloud-operator", "address_turns", entry, 11)
    assert detail["identities"] == 11
    assert "11 identities voted from one address" in detail["explanation"] and "同一地址" in detail["explanation_zh"]
    assert "1582222" not in str(detail) and "122.228.161.37" not in str(detail)

    def held() -> int | None:
        cats = api.call("GET", f"/api/voting/campaigns/{campaign}/standings").json().get("categories", {})
        return next((e.get("held") for e in cats.get("institutional", []) if e["entry_id"] == entry), None)

    wait_for("the standings to hold the cloud phone's votes", lambda: held() == 110)


def test_a_drawer_of_sim_cards_voted_on_one_office_phone_is_held_from_its_sixth_card(system) -> None:
    # An office phone keeps its page's device id while the cards in it change: each card's code arrives on the phone
    # itself and is read there. Six such sittings in a row on one device are a drawer's, not a shared PC's (whose
    # people read their codes off their own phones), and are held though twelve would be needed without the device.
    api = Api(system.gateway_url)
    campaign = "e2e-sim-drawer"
    entry = opened_with_own_voters(api, campaign, ["壬大学", "癸大学"], ("drawer-operator", "值班员丙"), "1360000", 4)
    phone_ua = ("Mozilla/5.0 (Linux; Android 12; NOH-AN00 Build/HUAWEINOH-AN00; wv) AppleWebKit/537.36 (KHTML, like "
                "Gecko) Version/4.0 Chrome/122.0.6261.120 Mobile Safari/537.36 MicroMessenger/8.0.49.2600")
    for i in range(6):
        sitting(api, f"1389180{i:04d}", entry, f"card-{i}", "202.117.88.41", phone_ua, "office-phone-1", campaign)

    detail = held_case(api, campaign, "drawer-operator", "browser_turns", entry, 6)
    assert detail["identities"] == 6 and "6 identities voted from one browser" in detail["explanation"]
    assert "limit 5 in a row on one device reading its own codes" in detail["explanation"]
    assert "1389180" not in str(detail) and "202.117.88.41" not in str(detail)
