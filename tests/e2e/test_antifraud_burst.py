"""A vote farm on one phone, through the whole system: invalidated as it happens, visible per entry, and reinstated.

An operator sets the campaign's policy to invalidate; six identities vote from one device, hopping addresses
between them, while honest voters vote from their own phones. The standings drop by exactly the farm's votes, the unit
that owns the entry and the operator both see how many and why, and when the operator overturns the
case the votes count again.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import support
from support import wait_for

from services.operations.demo import demo_definition

pytestmark = pytest.mark.e2e

CAMPAIGN = "e2e-antifraud"
PASSWORD = "af-password-123"


class Api(support.Api):
    def __init__(self, base: str) -> None:
        super().__init__(base)
        self.tickets: dict[str, str] = {}

    def ticket(self, phone: str) -> str:
        if phone not in self.tickets:
            r = self.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/voters/sms-code", json={"phone": phone})
            assert r.status_code == 202, r.text
            code = self.call("GET", f"/api/voting/dev/sms-codes/{phone}").json()["code"]
            r = self.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/voters/sms-verify",
                          json={"phone": phone, "code": code})
            assert r.status_code == 200, r.text
            self.tickets[phone] = r.json()["ticket"]
        return self.tickets[phone]

    def vote(self, phone: str, entry: str, count: int, key: str, device: str,
             address: str | None = None) -> httpx.Response:
        # The honest voters' requests reach the gateway from this machine; the farm's phone hops addresses between
        # its identities (airplane mode, proxies), as a local proxy the gateway trusts reports them.
        forwarded = {"X-Forwarded-For": address} if address else {}
        return self.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/votes",
                         headers={"Authorization": f"Bearer {self.ticket(phone)}", **forwarded},
                         json={"entry_id": entry, "count": count, "idempotency_key": key, "device": device})


def test_a_vote_farm_on_one_device_is_invalidated_and_an_operator_reinstates_it(system) -> None:
    api = Api(system.gateway_url)
    api.login("admin", "admin-demo-password")
    for org in ({"id": "af-office", "name": "反作弊测试中心", "kind": "office", "level": "provincial"},
                {"id": "af-unit", "name": "丙大学", "kind": "unit", "level": "unit", "parent_id": "af-office"},
                {"id": "af-unit-2", "name": "丁大学", "kind": "unit", "level": "unit", "parent_id": "af-office"}):
        assert api.call("PUT", "/api/submission/organisations", "admin", json=org).status_code == 200
    for user, role, org in (("af-office", "office", "af-office"), ("af-unit", "unit", "af-unit"),
                            ("af-unit-2", "unit", "af-unit-2"), ("af-operator", "operator", None)):
        body = {"username": user, "display_name": user, "password": PASSWORD, "role": role}
        if org:
            body["organisation_id"] = org
        r = api.call("PUT", "/api/submission/users", "admin", json=body)
        assert r.status_code == 200, r.text
        api.login(user, PASSWORD)
    definition = (demo_definition().replace("id: shaanxi-2024-accounts", f"id: {CAMPAIGN}", 1)
                  .replace("show_counts: rank_only", "show_counts: always", 1))
    r = api.call("POST", "/api/submission/campaigns", "admin", json={"definition_yaml": definition})
    assert r.status_code == 201, r.text
    assert api.call("POST", f"/api/submission/campaigns/{CAMPAIGN}/phase", "admin",
                    json={"phase": "nomination"}).status_code == 200
    form = {"account_name": "丙大学", "platform": "wechat", "account_id": "bing_univ",
            "account_url": "https://mp.weixin.qq.com/s/bing_univ", "operating_entity": "丙大学宣传部",
            "level": "provincial", "followers": 50_000, "posts": 300, "interactions": 9000,
            "introduction": "丙大学的官方账号", "contact_name": "联系人", "contact_phone": "13700005678"}
    r = api.call("POST", f"/api/submission/campaigns/{CAMPAIGN}/nominations", "af-unit",
                 json={"category_id": "institutional", "form": form})
    assert r.status_code == 201, r.text
    entry = r.json()["id"]
    r = api.call("POST", f"/api/submission/nominations/{entry}/review", "af-office",
                 json={"decision": "approve", "reason": "符合条件"})
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    wait_for("the entry to become votable", lambda: len(
        api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/entries").json().get("entries", [])) == 1)

    # --- the operator tells anti-fraud to invalidate at once in this campaign (audited: who and why) ---
    assert api.call("PUT", f"/api/antifraud/campaigns/{CAMPAIGN}/policy", "af-unit",
                    json={"policy": "invalidate", "reason": "x" * 5}).status_code == 403
    r = support.put_policy(api, CAMPAIGN, "af-operator",
                           {"policy": "invalidate", "reason": "省网信办要求发现刷票立即剔除"})
    assert r.status_code == 200 and r.json()["set_by"] == "af-operator", r.text

    assert api.call("POST", f"/api/submission/campaigns/{CAMPAIGN}/phase", "admin",
                    json={"phase": "voting"}).status_code == 200
    wait_for("voting to open",
             lambda: api.vote("13800000001", entry, 3, "h1", "honest-phone-1").status_code in (200, 201))
    honest = 3
    for i, count in ((2, 4), (3, 2)):
        r = api.vote(f"1380000000{i}", entry, count, f"h{i}", f"honest-phone-{i}")
        assert r.status_code == 201, r.text
        honest += count

    def votes() -> tuple[int, int] | None:
        """(votes counted, votes invalidated) of the entry in the public standings."""
        cats = api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/standings").json().get("categories", {})
        return next(((e.get("votes"), e.get("invalidated")) for e in cats.get("institutional", [])
                     if e["entry_id"] == entry), None)

    wait_for("the honest votes in the standings", lambda: votes() == (honest, 0))

    # --- six identities on one phone: a farm ---
    farm = 0
    for i in range(6):
        r = api.vote(f"1381111000{i}", entry, 2, f"farm{i}", "farm-phone-7", f"100.{64 + i}.3.{20 + i}")
        assert r.status_code == 201, r.text
        farm += 2

    def invalidations(as_user: str, path: str) -> Any:
        r = api.call("GET", path, as_user)
        assert r.status_code == 200, r.text
        return r.json()

    def operator_view() -> Any:
        entries = invalidations("af-operator", f"/api/antifraud/campaigns/{CAMPAIGN}/invalidations")["entries"]
        return entries if entries and entries[0]["invalidated_votes"] == farm else None

    [seen] = wait_for("anti-fraud to invalidate the farm's votes", operator_view)
    assert seen["entry_id"] == entry and seen["unit_id"] == "af-unit"
    assert [(x["state"], x["reason_code"], x["votes"]) for x in seen["reasons"]] == [
        ("invalidated", "device_shared", farm)]
    # the standings drop by exactly those votes: the honest ones stay
    wait_for("the standings to drop by the farm's votes", lambda: votes() == (honest, farm))

    # --- the unit that owns the entry sees how many and why; another unit does not ---
    mine = invalidations("af-unit", f"/api/antifraud/units/me/invalidations?campaign_id={CAMPAIGN}")
    [own] = mine["campaigns"][CAMPAIGN]
    assert own["invalidated_votes"] == farm and own["reasons"][0]["reason"] == "many identities voting from one device"
    assert invalidations("af-unit-2", f"/api/antifraud/units/me/invalidations?campaign_id={CAMPAIGN}")[
        "campaigns"][CAMPAIGN] == []
    assert api.call("GET", f"/api/antifraud/campaigns/{CAMPAIGN}/cases", "af-unit").status_code == 403

    # --- the operator reviews the case and overturns it; the votes count again ---
    [case] = invalidations("af-operator", f"/api/antifraud/campaigns/{CAMPAIGN}/cases")["cases"]
    assert (case["reason_code"], case["status"], case["vote_count"]) == ("device_shared", "invalidated", farm)
    detail = invalidations("af-operator", f"/api/antifraud/cases/{case['id']}")
    assert "6 different identities voted from one device" in detail["explanation"]
    assert "1381111" not in str(detail)  # pseudonymous identities only, never a phone number
    r = api.call("POST", f"/api/antifraud/cases/{case['id']}/decision", "af-operator",
                 json={"decision": "overturn", "reason": "核实为同一手机店的演示机，已联系到真实投票人"})
    assert r.status_code == 200 and r.json()["votes_changed"] == 6, r.text
    wait_for("the reinstated votes back in the standings", lambda: votes() == (honest + farm, 0))
    assert invalidations("af-operator", f"/api/antifraud/campaigns/{CAMPAIGN}/invalidations")["entries"] == []
    trail = invalidations("af-operator", f"/api/antifraud/cases/{case['id']}")["decisions"]
    assert (trail[-1]["action"], trail[-1]["actor"], trail[-1]["actor_role"]) == ("overturn", "af-operator",
                                                                                  "operator")
    metrics = httpx.get(f"{system.service_url('antifraud')}/metrics").text
    assert 'massline_fraud_votes_changed_total{action="reinstated"}' in metrics
