"""The whole system through the gateway: experts are assigned and score, a recused expert is refused, the
committee adjusts with a reason, the supervisor approves, the results are published and shown to the public."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import support
from support import wait_for

from services.operations.demo import demo_definition

pytestmark = pytest.mark.e2e

CAMPAIGN = "e2e-scoring"
PASSWORD = "e2e-scoring-password"
CATEGORY = "institutional"


class Api(support.Api):
    def scoring(self, method: str, path: str, as_user: str | None = None, **kw: Any) -> httpx.Response:
        return self.call(method, f"/api/scoring/campaigns/{CAMPAIGN}{path}", as_user, **kw)


def _form(name: str, account: str, followers: int) -> dict[str, Any]:
    return {"account_name": name, "platform": "wechat", "account_id": account,
            "account_url": f"https://mp.weixin.qq.com/s/{account}", "operating_entity": f"{name}宣传部",
            "level": "provincial", "followers": followers, "posts": 400, "interactions": 12000,
            "introduction": f"{name}的官方账号", "contact_name": "联系人", "contact_phone": "13700004321"}


def _vote(api: Api, phone: str, entry_id: str, count: int, key: str) -> httpx.Response:
    r = api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/voters/sms-code", json={"phone": phone})
    assert r.status_code == 202, r.text
    code = api.call("GET", f"/api/voting/dev/sms-codes/{phone}").json()["code"]
    ticket = api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/voters/sms-verify",
                      json={"phone": phone, "code": code}).json()["ticket"]
    return api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/votes", headers={"Authorization": f"Bearer {ticket}"},
                    json={"entry_id": entry_id, "count": count, "idempotency_key": key})


class _Seen(dict):
    """A falsy record of what was last seen, so a timeout says what the ranking looked like."""

    def __bool__(self) -> bool:
        return False


def _ranked(api: Api) -> dict[str, dict[str, Any]]:
    r = api.scoring("GET", f"/rankings/{CATEGORY}")
    return {e["entry_id"]: e for e in r.json()["entries"]} if r.status_code == 200 else {}


def test_experts_score_the_committee_adjusts_the_supervisor_approves_and_results_are_published(system) -> None:
    api = Api(system.gateway_url)
    api.login("admin", "admin-demo-password")

    # --- an office, two units, and the people of the review: three experts, a committee member, a supervisor ---
    for org in ({"id": "sc-office", "name": "评分测试中心", "kind": "office", "level": "provincial"},
                {"id": "sc-unit-a", "name": "丙大学", "kind": "unit", "level": "unit", "parent_id": "sc-office"},
                {"id": "sc-unit-b", "name": "丁大学", "kind": "unit", "level": "unit", "parent_id": "sc-office"}):
        assert api.call("PUT", "/api/submission/organisations", "admin", json=org).status_code == 200
    for user, role, org in (("sc-office", "office", "sc-office"), ("sc-unit-a", "unit", "sc-unit-a"),
                            ("sc-unit-b", "unit", "sc-unit-b"), ("sc-expert-a", "expert", None),
                            ("sc-expert-b", "expert", None), ("sc-expert-c", "expert", None),
                            ("sc-committee", "committee", None), ("sc-supervisor", "supervisor", None)):
        r = api.call("PUT", "/api/submission/users", "admin", json={
            "username": user, "display_name": user, "password": PASSWORD, "role": role, "organisation_id": org})
        assert r.status_code == 200, r.text
        api.login(user, PASSWORD)
    definition = demo_definition().replace("id: shaanxi-2024-accounts", f"id: {CAMPAIGN}", 1)
    assert api.call("POST", "/api/submission/campaigns", "admin", json={"definition_yaml": definition}).status_code \
        == 201
    assert api.call("POST", f"/api/submission/campaigns/{CAMPAIGN}/phase", "admin",
                    json={"phase": "nomination"}).status_code == 200

    # --- two nominations, approved; the public votes; voting closes ---
    ids = []
    for unit, name, followers in (("sc-unit-a", "丙大学", 80_000), ("sc-unit-b", "丁大学", 40_000)):
        r = api.call("POST", f"/api/submission/campaigns/{CAMPAIGN}/nominations", unit,
                     json={"category_id": CATEGORY, "form": _form(name, f"sc_{unit}", followers)})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        r = api.call("POST", f"/api/submission/nominations/{ids[-1]}/review", "sc-office",
                     json={"decision": "approve", "reason": "符合条件"})
        assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    entry_a, entry_b = ids

    # --- the practice activity: A held it today, B before the activity period began (§四.4(3): forfeited) ---
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    for unit, entry, held_on in (("sc-unit-a", entry_a, today), ("sc-unit-b", entry_b, today - timedelta(days=5))):
        r = api.call("POST", f"/api/submission/nominations/{entry}/activity", unit,
                     json={"summary": "开展互动实践活动一期", "held_on": held_on.isoformat(),
                           "links": [f"https://mp.weixin.qq.com/s/{unit}-activity"]})
        assert r.status_code == 200, r.text
    assert r.json()["activity"]["held_in_period"] is False
    wait_for("entries to become votable", lambda: len(
        api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/entries").json().get("entries", [])) == 2)
    assert api.call("POST", f"/api/submission/campaigns/{CAMPAIGN}/phase", "admin",
                    json={"phase": "voting"}).status_code == 200
    wait_for("voting to open", lambda: _vote(api, "13911110000", entry_b, 5, "sc-probe").status_code in (200, 201))
    assert _vote(api, "13911110001", entry_a, 2, "sc-1").status_code == 201
    assert api.call("POST", f"/api/submission/campaigns/{CAMPAIGN}/phase", "admin",
                    json={"phase": "expert_review"}).status_code == 200
    def final_tally_ranked() -> Any:
        r = _ranked(api)
        votes = {e: (x["components"]["vote"], x["explanation"].get("vote")) for e, x in r.items()}
        ok = len(r) == 2 and r[entry_b]["components"]["vote"] == 100 and r[entry_a]["components"]["vote"] == 98
        return True if ok else _Seen(votes)

    wait_for("the final tally in the ranking", final_tally_ranked, timeout=60)
    activity = {e: x["explanation"]["activity"] for e, x in _ranked(api).items()}
    assert (activity[entry_b]["forfeited"], activity[entry_b]["forfeit_reason"]) == (True, "held_outside_period")
    assert (activity[entry_a]["forfeited"], activity[entry_a]["pending"]) == (False, True)

    # --- an admin sets up the panel; expert A belongs to unit A, so is never assigned its entry ---
    r = api.scoring("PUT", "/panels/sc-panel", "admin",
                    json={"name": "机构账号评审组", "category_ids": [CATEGORY], "experts_per_entry": 2})
    assert r.status_code == 200, r.text
    for expert, unit in (("sc-expert-a", "sc-unit-a"), ("sc-expert-b", None), ("sc-expert-c", None)):
        r = api.scoring("PUT", f"/panels/sc-panel/experts/{expert}", "admin",
                        json={"display_name": expert, "unit_id": unit})
        assert r.status_code == 200, r.text
    r = api.scoring("POST", "/panels/sc-panel/assignments", "admin")
    assert r.status_code == 200, r.text
    assigned = {e: v["expert"] for e, v in r.json()["assignments"].items()}
    assert sorted(assigned[entry_a]) == ["sc-expert-b", "sc-expert-c"] and len(assigned[entry_b]) == 2

    # --- each assigned expert is told once, in their inbox, how many entries they have ---
    def expert_notices(expert: str) -> list[dict[str, Any]]:
        r = api.call("GET", f"/api/notification/inbox/expert:{expert}", expert)  # signed in as the expert
        return [n for n in r.json().get("notifications", []) if n["template"] == "expert_assigned"] \
            if r.status_code == 200 else []

    notice = wait_for("the assignment notice", lambda: expert_notices("sc-expert-b"))
    held_by_b = sum("sc-expert-b" in experts for experts in assigned.values())
    assert len(notice) == 1 and f"共{held_by_b}个参评作品" in notice[0]["body"]
    assert len(wait_for("expert A's notice", lambda: expert_notices("sc-expert-a"))) == 1

    # --- expert B sees only their assignments and scores entry A per criterion ---
    mine = api.scoring("GET", "/my-assignments", "sc-expert-b").json()
    assert entry_a in {a["entry_id"] for a in mine["assignments"]}
    assert [c["name"] for c in mine["criteria"]["expert"]] == ["规范性", "传播力", "影响力", "服务性"]
    r = api.scoring("PUT", f"/my-assignments/{entry_a}/expert", "sc-expert-b",
                    json={"criteria": {"standardization": 23, "reach": 22, "influence": 21, "service": 24}})
    assert r.status_code == 200 and r.json()["score"] == 90, r.text
    wait_for("the expert score in the ranking", lambda: _ranked(api)[entry_a]["components"]["expert"] == 90)
    # expert A was never assigned entry A (same unit): refused, nothing changes
    r = api.scoring("PUT", f"/my-assignments/{entry_a}/expert", "sc-expert-a",
                    json={"criteria": {"standardization": 1, "reach": 1, "influence": 1, "service": 1}})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_assigned"

    # --- expert C recuses from entry A with a reason, and is then refused ---
    r = api.scoring("POST", f"/my-assignments/{entry_a}/recusal", "sc-expert-c", json={"reason": "曾在该校兼职"})
    assert r.status_code == 200, r.text
    r = api.scoring("PUT", f"/my-assignments/{entry_a}/expert", "sc-expert-c",
                    json={"criteria": {"standardization": 25, "reach": 25, "influence": 25, "service": 25}})
    assert r.status_code == 409 and r.json()["error"]["code"] == "expert_recused"
    assert _ranked(api)[entry_a]["explanation"]["expert"]["scores"] == [90]

    # --- the committee sees every component and adjusts with a recorded reason ---
    view = api.scoring("GET", "/final-review", "sc-committee").json()
    assert view["rankings"][CATEGORY]["inputs"]["entries"] and view["approval"] is None
    before = _ranked(api)[entry_b]["total"]
    r = api.scoring("POST", "/adjustments", "sc-committee",
                    json={"entry_id": entry_b, "points": -3, "reason": "部分稿件未注明转载来源"})
    assert r.status_code == 201 and r.json()["total"] == round(before - 3, 2), r.text

    # --- publishing before the supervisor's approval is refused ---
    r = api.scoring("POST", "/publication", "sc-committee", json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_approved"
    assert api.scoring("GET", "/results").status_code == 404

    # --- B's forfeited activity part is never pending: not in the review's count, noted apart on the page ---
    review = api.scoring("GET", "/expert-review", "sc-committee").json()
    assert {(p["entry_id"], p["component"]) for p in review["forfeited"]} == {(entry_b, "activity")}
    assert (entry_b, "activity") not in {(p["entry_id"], p["component"]) for p in review["pending"]}
    page = api.call("GET", f"/console/c/{CAMPAIGN}/final-review",
                    cookies={"massline_staff": api.tokens["sc-supervisor"]}).text
    assert review["pending"] and f"待提交的专家评分：{len(review['pending'])} 项" in page
    assert "无需评分的专家评分：2 项" in page  # B's activity, assigned to two experts
    assert 'id="open-cases"' not in page  # no vote is held for review: nothing to warn of

    # --- the supervising unit approves; the committee publishes version 1 ---
    r = api.scoring("POST", "/approval", "sc-supervisor", json={"note": "同意"})
    assert r.status_code == 201, r.text
    assert r.json()["pending_expert_scores"] == len(review["pending"]) and r.json()["open_cases"] == []
    r = api.scoring("POST", "/publication", "sc-committee", json={"winners": {CATEGORY: 1}})
    assert r.status_code == 201 and r.json()["version"] == 1, r.text

    # --- the public results API shows them, without personal data ---
    public = api.scoring("GET", "/results")
    assert public.status_code == 200
    body = public.json()
    entries = body["categories"][CATEGORY]["entries"]
    ranking = _ranked(api)
    assert [e["entry_id"] for e in entries] == sorted(ranking, key=lambda e: ranking[e]["rank"])
    assert {e["entry_id"]: e["total"] for e in entries} == {e: ranking[e]["total"] for e in ranking}
    assert [e["winner"] for e in entries] == [True, False]
    adjusted = next(e for e in entries if e["entry_id"] == entry_b)
    assert adjusted["adjustment"] == -3 and adjusted["explanation"]["adjustments"][0]["reason"] == "部分稿件未注明转载来源"
    assert "13700004321" not in public.text and "13911110001" not in public.text and "sc-expert" not in public.text
    html = api.scoring("GET", "/results/commendation")
    assert html.status_code == 200 and entries[0]["entry_name"] in html.text
