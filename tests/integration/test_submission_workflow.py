"""The submission service on real PostgreSQL: who may do what, quotas under parallel requests, content holds,
the approval chain with returns and corrections, the practice activity, metrics, shortfalls and exports."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook

from massline import audit
from massline.db import create_pool, migrate
from services.operations.demo import demo_definition
from services.submission.app import MIGRATIONS, app_for, build_deps, build_runtime
from services.submission.service.people import ensure_admin
from services.submission.settings import SubmissionSettings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "integration-pass-1"
# The gambling spam injected into a government page, copied from seed 003's own first line.
SEED_003_SPAM = "您现在所在的位置 : 首页 > 要闻 > 太阳城赌城_太阳城娱乐场$官网"

ORGANISATIONS = [
    {"id": "prov", "name": "省委网信办", "kind": "office", "level": "provincial"},
    {"id": "city-x", "name": "甲市网信办", "kind": "office", "level": "city", "parent_id": "prov"},
    {"id": "city-y", "name": "乙市网信办", "kind": "office", "level": "city", "parent_id": "prov"},
    {"id": "u1", "name": "甲市第一单位", "kind": "unit", "level": "unit", "parent_id": "city-x"},
    {"id": "u2", "name": "甲市第二单位", "kind": "unit", "level": "unit", "parent_id": "city-x"},
    {"id": "u3", "name": "乙市单位", "kind": "unit", "level": "unit", "parent_id": "city-y"},
]
USERS = [
    ("prov-office", "office", "prov"), ("x-office", "office", "city-x"), ("y-office", "office", "city-y"),
    ("unit1", "unit", "u1"), ("unit2", "unit", "u2"), ("unit3", "unit", "u3"),
    ("expert1", "expert", None), ("committee1", "committee", None), ("supervisor1", "supervisor", None),
    ("operator1", "operator", None),
]


class Client:
    """The service over HTTP, with one set of fresh campaigns per test (the people are shared by the module).

    `open` is seed 000 with today inside its nomination phase; `late` is seed 000 on its own 2024 calendar,
    so its activity deadline has passed; `henan` is seed 001.
    """

    def __init__(self, http: httpx.AsyncClient, pool: Any) -> None:
        self.http = http
        self.pool = pool
        self.tokens: dict[str, str] = {}
        self.open = self.late = self.henan = ""

    async def login(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        r = await self.http.post("/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        self.tokens[username] = r.json()["access_token"]
        return r.json()

    async def call(self, method: str, path: str, user: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return await self.http.request(method, path, headers={**headers, **kw.pop("headers", {})}, **kw)

    async def nominate(self, user: str, category: str, form: dict[str, Any], campaign: str = "") -> httpx.Response:
        return await self.call("POST", f"/campaigns/{campaign or self.open}/nominations", user,
                               json={"category_id": category, "form": form, "unit_opinion": "同意推荐"})

    async def events(self, event_type: str) -> list[dict[str, Any]]:
        """Payloads of this test's events of one type recorded in the outbox, oldest first."""
        rows = await self.pool.fetch("SELECT body FROM outbox WHERE event_type = $1 ORDER BY id", event_type)
        envelopes = [json.loads(bytes(r["body"])) for r in rows]
        mine = {self.open, self.late, self.henan}
        return [e["payload"] for e in envelopes if e["campaign_id"] in mine]

    async def load_campaigns(self) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.open, self.late, self.henan = f"open-{suffix}", f"late-{suffix}", f"henan-{suffix}"
        seed000 = ROOT / "campaigns" / "shaanxi-2024-accounts.yaml"
        definitions = {
            self.open: demo_definition(seed000).replace("id: shaanxi-2024-accounts", f"id: {self.open}", 1),
            self.late: seed000.read_text(encoding="utf-8").replace("id: shaanxi-2024-accounts", f"id: {self.late}", 1),
            self.henan: (ROOT / "campaigns" / "henan-2021-cases.yaml").read_text(encoding="utf-8").replace(
                "id: henan-2021-cases", f"id: {self.henan}", 1),
        }
        for campaign_id, text in definitions.items():
            r = await self.call("POST", "/campaigns", "admin", json={"definition_yaml": text})
            assert r.status_code == 201, r.text
            r = await self.call("POST", f"/campaigns/{campaign_id}/phase", "admin", json={"phase": "nomination"})
            assert r.status_code == 200, r.text


def account(name: str, account_id: str, **overrides: Any) -> dict[str, Any]:
    form = {"account_name": name, "platform": "wechat", "account_id": account_id,
            "account_url": f"https://mp.weixin.qq.com/s/{account_id}", "operating_entity": f"{name}运营中心",
            "level": "provincial", "followers": 60_000, "posts": 500, "interactions": 20_000,
            "introduction": f"{name}是服务群众的官方账号。", "contact_name": "王联系", "contact_phone": "13712345678"}
    return {**form, **overrides}


@pytest.fixture(scope="module")
async def service(infrastructure: Any) -> AsyncIterator[Client]:
    database_url = infrastructure.new_database()
    settings = SubmissionSettings(database_url=database_url, env="test")
    rt = build_runtime(settings)
    await migrate(database_url, "submission", MIGRATIONS)
    rt._pool = await create_pool(database_url, "submission", min_size=2, max_size=10)
    deps = build_deps(rt)
    await ensure_admin(deps)
    app = app_for(rt, deps, title="submission under test")
    # No broker: the events stay in the outbox, where the tests read them.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://submission") as http:
        client = Client(http, rt.pool)
        await client.login("admin", "admin-demo-password")
        for org in ORGANISATIONS:
            assert (await client.call("PUT", "/organisations", "admin", json=org)).status_code == 200
        for username, role, org in USERS:
            r = await client.call("PUT", "/users", "admin", json={
                "username": username, "display_name": username, "password": PASSWORD, "role": role,
                "organisation_id": org})
            assert r.status_code == 200, r.text
            await client.login(username)
        try:
            yield client
        finally:
            await rt.pool.close()


@pytest.fixture
async def api(service: Client) -> Client:
    await service.load_campaigns()
    return service


def assert_denied(r: httpx.Response, code: str) -> None:
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["code"] == code
    assert error["message"] and error["message_zh"]


# --- roles ---------------------------------------------------------------------------------


async def test_every_staff_role_signs_in_and_carries_its_role(api: Client) -> None:
    for username, role, org in USERS:
        me = await api.call("GET", "/auth/me", username)
        assert me.json() == {"username": username, "role": role, "organisation_id": org}


async def test_a_unit_may_not_do_an_office_or_admin_job_nor_touch_another_units_nomination(api: Client) -> None:
    other = await api.nominate("unit2", "institutional", account("乙号", "yi_hao"))
    assert other.status_code == 201, other.text
    nid = other.json()["id"]
    assert_denied(await api.call("GET", f"/nominations/{nid}", "unit1"), "not_your_nomination")
    assert_denied(await api.call("PUT", f"/nominations/{nid}", "unit1",
                                 json={"category_id": "institutional", "form": account("改名", "yi_hao")}),
                  "not_your_nomination")
    assert_denied(await api.call("POST", f"/nominations/{nid}/withdraw", "unit1"), "not_your_nomination")
    assert_denied(await api.call("POST", f"/nominations/{nid}/review", "unit1",
                                 json={"decision": "approve", "reason": "自己批"}), "role_not_allowed")
    assert_denied(await api.call("POST", "/campaigns", "unit1", json={"definition_yaml": "id: x"}), "role_not_allowed")
    assert_denied(await api.call("POST", f"/campaigns/{api.open}/phase", "unit1", json={"phase": "voting"}),
                  "role_not_allowed")
    assert_denied(await api.call("GET", f"/campaigns/{api.open}/exports/nominations", "unit1"), "role_not_allowed")
    assert_denied(await api.call("GET", f"/campaigns/{api.open}/shortfalls", "unit1"), "role_not_allowed")
    # nothing the denied calls asked for happened
    view = await api.call("GET", f"/nominations/{nid}", "unit2")
    assert view.json()["status"] == "submitted" and view.json()["entry_name"] == "乙号"
    listed = await api.call("GET", f"/campaigns/{api.open}/nominations", "unit1")
    assert listed.json()["nominations"] == []


async def test_an_office_sees_only_the_units_under_it_and_does_not_nominate_or_administer(api: Client) -> None:
    r = await api.nominate("unit3", "institutional", account("丙号", "bing_hao"))
    nid = r.json()["id"]
    assert_denied(await api.call("GET", f"/nominations/{nid}", "x-office"), "outside_your_jurisdiction")
    assert_denied(await api.call("POST", f"/nominations/{nid}/review", "x-office",
                                 json={"decision": "approve", "reason": "越权"}), "outside_your_jurisdiction")
    assert_denied(await api.nominate("x-office", "institutional", account("办号", "ban_hao")), "role_not_allowed")
    assert_denied(await api.call("PUT", "/users", "x-office", json={
        "username": "intruder", "display_name": "x", "password": PASSWORD, "role": "admin"}), "role_not_allowed")
    assert_denied(await api.call("POST", f"/campaigns/{api.open}/phase", "x-office", json={"phase": "voting"}),
                  "role_not_allowed")
    assert (await api.call("GET", f"/nominations/{nid}", "y-office")).status_code == 200
    assert (await api.call("GET", f"/nominations/{nid}", "prov-office")).status_code == 200  # the province above
    assert (await api.call("GET", f"/campaigns/{api.open}/nominations", "x-office")).json()["nominations"] == []
    assert (await api.call("GET", f"/nominations/{nid}", "y-office")).json()["status"] == "submitted"
    assert (await api.call("POST", "/auth/login", json={"username": "intruder", "password": PASSWORD})
            ).status_code == 401


async def test_admins_manage_but_do_not_nominate(api: Client) -> None:
    assert_denied(await api.nominate("admin", "institutional", account("管理号", "guanli")), "role_not_allowed")
    r = await api.nominate("unit1", "institutional", account("甲号", "jia_hao"))
    assert_denied(await api.call("POST", f"/nominations/{r.json()['id']}/withdraw", "admin"), "role_not_allowed")
    assert (await api.call("GET", f"/nominations/{r.json()['id']}", "admin")).json()["status"] == "submitted"


@pytest.mark.parametrize("role_user", ["expert1", "committee1", "supervisor1", "operator1"])
async def test_experts_committee_supervisors_and_operators_touch_no_nomination(api: Client, role_user: str) -> None:
    r = await api.nominate("unit1", "institutional", account("甲号", "jia_hao"))
    nid = r.json()["id"]
    assert_denied(await api.nominate(role_user, "institutional", account("他号", "ta_hao")), "role_not_allowed")
    assert_denied(await api.call("POST", f"/nominations/{nid}/review", role_user,
                                 json={"decision": "approve", "reason": "越权"}), "role_not_allowed")
    assert_denied(await api.call("GET", f"/nominations/{nid}", role_user), "outside_your_jurisdiction")
    assert_denied(await api.call("GET", f"/campaigns/{api.open}/nominations", role_user), "role_not_allowed")
    assert_denied(await api.call("POST", "/campaigns", role_user, json={"definition_yaml": "id: x"}),
                  "role_not_allowed")
    assert_denied(await api.call("PUT", "/organisations", role_user,
                                 json={"id": "rogue", "name": "x", "kind": "unit", "level": "unit"}),
                  "role_not_allowed")
    assert_denied(await api.call("PUT", f"/nominations/{nid}/metrics/verified", role_user,
                                 json={"followers": 1, "posts": 1, "interactions": 1}), "role_not_allowed")
    export = await api.call("GET", f"/campaigns/{api.open}/exports/nominations?format=csv", role_user)
    if role_user in ("committee1", "supervisor1"):
        assert export.status_code == 200
        assert "甲号" in export.text and "13712345678" not in export.text and "王联系" not in export.text
    else:
        assert_denied(export, "role_not_allowed")
    assert (await api.call("GET", f"/nominations/{nid}", "unit1")).json()["status"] == "submitted"


# --- quotas under parallel requests ----------------------------------------------------------


async def test_parallel_submissions_never_both_pass_a_quota_of_one(api: Client) -> None:
    # Seed 000: at most one personal account per unit. Eight at once from one unit: exactly one gets in.
    attempts = [api.nominate("unit1", "personal", account(f"个人号{i}", f"person_{i}")) for i in range(8)]
    answers = await asyncio.gather(*attempts)
    assert sorted(r.status_code for r in answers) == [201] + [422] * 7
    assert {r.json()["error"]["code"] for r in answers if r.status_code == 422} == {"quota_personal_exceeded"}
    listed = (await api.call("GET", f"/campaigns/{api.open}/nominations", "unit1")).json()["nominations"]
    assert len(listed) == 1
    assert len(await api.events("NominationSubmitted")) == 1


async def test_parallel_units_never_both_nominate_one_account(api: Client) -> None:
    same = account("共享号", "shared_one")
    answers = await asyncio.gather(api.nominate("unit1", "institutional", same),
                                   api.nominate("unit2", "institutional", {**same, "operating_entity": "另一主体"}),
                                   api.nominate("unit3", "institutional", {**same, "operating_entity": "第三主体"}))
    assert sorted(r.status_code for r in answers) == [201, 422, 422]
    assert {r.json()["error"]["code"] for r in answers if r.status_code == 422} == {"account_already_nominated"}


# --- content check ---------------------------------------------------------------------------


async def test_seed_003_gambling_spam_holds_the_nomination_for_the_office(api: Client) -> None:
    r = await api.nominate("unit1", "institutional", account("甲号", "jia_hao", introduction=SEED_003_SPAM))
    assert r.status_code == 201, r.text
    held = r.json()
    assert held["status"] == "held_for_review"
    assert {h["code"] for h in held["held_reasons"]} == {"blocked_term"}
    assert "赌城" in held["held_reasons"][0]["message_zh"]
    nid = held["id"]
    # nothing is announced downstream while it is held
    assert await api.events("NominationSubmitted") == []
    queue = (await api.call("GET", f"/campaigns/{api.open}/nominations?status=held_for_review", "x-office")).json()
    assert [n["id"] for n in queue["nominations"]] == [nid]
    assert queue["nominations"][0]["held_reasons"][0]["code"] == "blocked_term"
    # the ordinary approval cannot skip the hold
    r = await api.call("POST", f"/nominations/{nid}/review", "x-office", json={"decision": "approve", "reason": "好"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_awaiting_review"
    r = await api.call("POST", f"/nominations/{nid}/content-review", "x-office",
                       json={"decision": "return", "reason": "简介含赌博广告，请删除"})
    assert r.json()["status"] == "returned"
    fixed = await api.call("PUT", f"/nominations/{nid}", "unit1",
                           json={"category_id": "institutional", "form": account("甲号", "jia_hao")})
    assert fixed.json()["status"] == "submitted" and fixed.json()["held_reasons"] == []
    assert len(await api.events("NominationSubmitted")) == 1


async def test_link_to_a_site_the_campaign_does_not_allow_is_held_and_can_be_released(api: Client) -> None:
    intro = "详情请见 https://casino.example.com/promo 活动页面"
    r = await api.nominate("unit1", "institutional", account("甲号", "jia_hao", introduction=intro))
    assert r.json()["status"] == "held_for_review"
    assert [h["code"] for h in r.json()["held_reasons"]] == ["link_domain_not_allowed"]
    nid = r.json()["id"]
    r = await api.call("POST", f"/nominations/{nid}/content-review", "x-office", json={"decision": "release",
                                                                                        "reason": "经核实链接无害"})
    assert r.json()["status"] == "submitted" and r.json()["current_step"] == "center"
    r = await api.call("POST", f"/nominations/{nid}/review", "x-office", json={"decision": "approve",
                                                                                "reason": "材料属实"})
    assert r.json()["status"] == "approved"
    actions = [h["action"] for h in r.json()["history"]]
    assert actions == ["submitted", "approved", "held_for_review", "content_released", "approved"]


async def test_markup_and_scripts_never_reach_the_public_entry(api: Client) -> None:
    form = account("<script>alert('x')</script>示范号", "shifan",
                   introduction='<img src=x onerror="alert(1)"><b>服务</b>群众 <a href="javascript:steal()">点我</a>')
    r = await api.nominate("unit1", "institutional", form)
    assert r.status_code == 201, r.text
    nid = r.json()["id"]
    assert r.json()["entry_name"] == "示范号"
    await api.call("POST", f"/nominations/{nid}/review", "x-office", json={"decision": "approve", "reason": "符合"})
    public = (await api.call("GET", f"/public/campaigns/{api.open}/entries")).text
    assert "示范号" in public and "服务群众" in public
    for dangerous in ("<script", "<img", "onerror=", "javascript:", "<b>"):
        assert dangerous not in public
    approved = await api.events("NominationApproved")
    assert "<" not in approved[0]["summary"] and "<" not in approved[0]["entry_name"]


# --- approval chain ---------------------------------------------------------------------------


async def test_return_correct_resubmit_approve_keeps_every_step_and_reason(api: Client) -> None:
    r = await api.nominate("unit1", "institutional", account("甲号", "jia_hao", followers=20_000))
    nid = r.json()["id"]
    assert r.json()["current_step"] == "center"  # the university's own opinion is the first step, given at once
    no_reason = await api.call("POST", f"/nominations/{nid}/review", "x-office", json={"decision": "return"})
    assert no_reason.status_code == 422 and no_reason.json()["error"]["code"] == "reason_required"
    assert (await api.call("GET", f"/nominations/{nid}", "x-office")).json()["status"] == "submitted"
    r = await api.call("POST", f"/nominations/{nid}/review", "x-office",
                       json={"decision": "return", "reason": "粉丝量与截图不符，请核实"})
    assert r.json()["status"] == "returned"
    # the office cannot approve a nomination waiting for its unit
    again = await api.call("POST", f"/nominations/{nid}/review", "x-office",
                           json={"decision": "approve", "reason": "好"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_awaiting_review"
    # the campaign moves on to the initial review; a returned nomination can still be corrected
    await api.call("POST", f"/campaigns/{api.open}/phase", "admin", json={"phase": "initial_review"})
    r = await api.call("PUT", f"/nominations/{nid}", "unit1",
                       json={"category_id": "institutional", "form": account("甲号", "jia_hao", followers=25_000),
                             "unit_opinion": "已按意见核实修改"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "submitted" and r.json()["revision"] == 2
    assert r.json()["form"]["followers"] == 25_000
    r = await api.call("POST", f"/nominations/{nid}/review", "x-office",
                       json={"decision": "approve", "reason": "核实甄选：数据属实"})
    assert r.json()["status"] == "approved"
    history = [(h["action"], h["step_id"], h["actor"], h["reason"]) for h in r.json()["history"]]
    assert history == [
        ("submitted", None, "unit1", None),
        ("approved", "university", "unit1", "同意推荐"),
        ("returned", "center", "x-office", "粉丝量与截图不符，请核实"),
        ("resubmitted", None, "unit1", "已按意见核实修改"),
        ("approved", "center", "x-office", "核实甄选：数据属实"),
    ]
    assert [e["resubmission"] for e in await api.events("NominationSubmitted")] == [False, True]
    assert [e["reason"] for e in await api.events("NominationReturned")] == ["粉丝量与截图不符，请核实"]
    # The office's two decisions are chained in the campaign's audit trail, with their steps and reasons.
    async with api.pool.acquire() as conn:
        rows = [r for r in await audit.rows(conn, api.open) if r.subject == f"nomination:{nid}"]
        assert (await audit.verify_campaign(conn, "submission", api.open)).broken is None
    assert [(r.action, r.actor, json.loads(r.details)["step"], json.loads(r.details)["reason"]) for r in rows] == [
        ("nomination.return", "office:x-office", "center", "粉丝量与截图不符，请核实"),
        ("nomination.approve", "office:x-office", "center", "核实甄选：数据属实")]


async def test_a_withdrawn_nomination_gives_its_quota_place_back(api: Client) -> None:
    first = await api.nominate("unit1", "personal", account("个人号", "person_a"))
    blocked = await api.nominate("unit1", "personal", account("个人号二", "person_b"))
    assert blocked.json()["error"]["code"] == "quota_personal_exceeded"
    r = await api.call("POST", f"/nominations/{first.json()['id']}/withdraw", "unit1")
    assert r.json()["status"] == "withdrawn"
    assert r.json()["history"][-1]["action"] == "withdrawn"
    twice = await api.call("POST", f"/nominations/{first.json()['id']}/withdraw", "unit1")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "not_withdrawable"
    assert (await api.nominate("unit1", "personal", account("个人号二", "person_b"))).status_code == 201
    assert len(await api.events("NominationWithdrawn")) == 1


async def test_a_rejected_nomination_cannot_be_corrected(api: Client) -> None:
    r = await api.nominate("unit1", "institutional", account("甲号", "jia_hao"))
    nid = r.json()["id"]
    await api.call("POST", f"/nominations/{nid}/review", "x-office", json={"decision": "reject", "reason": "不符合"})
    r = await api.call("PUT", f"/nominations/{nid}", "unit1",
                       json={"category_id": "institutional", "form": account("甲号", "jia_hao")})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_correctable"


# --- practice activity and metrics -----------------------------------------------------------


def _today_in_shaanxi() -> str:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


async def test_an_activity_held_in_its_period_is_taken_with_its_evidence_and_announced(api: Client) -> None:
    nid = (await api.nominate("unit1", "institutional", account("甲号", "jia_hao"))).json()["id"]
    r = await api.call("POST", f"/nominations/{nid}/activity", "unit1",
                       json={"summary": "开展“网上群众路线”主题互动活动一期", "held_on": _today_in_shaanxi(),
                             "links": ["https://mp.weixin.qq.com/s/act"]})
    assert r.status_code == 200, r.text
    activity = r.json()["activity"]
    assert (activity["on_time"], activity["held_in_period"], activity["held_on"]) == (True, True, _today_in_shaanxi())
    assert activity["links"] == ["https://mp.weixin.qq.com/s/act"]
    [event] = await api.events("ActivitySubmitted")
    assert event["nomination_id"] == nid and event["on_time"] is True
    assert (event["held_in_period"], event["evidence_links"]) == (True, 1)


async def test_a_late_summary_is_taken_and_marked_late_and_the_day_held_decides_the_part(api: Client) -> None:
    # seed 000 names no consequence for a late summary (9月20日前报送): it is marked late, not refused
    nid = (await api.nominate("unit1", "institutional", account("甲号", "jia_hao"), campaign=api.late)).json()["id"]
    r = await api.call("POST", f"/nominations/{nid}/activity", "unit1",
                       json={"summary": "迟交的总结", "held_on": "2024-09-10", "links": ["https://weibo.com/a/1"]})
    assert r.status_code == 200, r.text
    assert (r.json()["activity"]["on_time"], r.json()["activity"]["held_in_period"]) == (False, True)
    # held after the end of 20 September: outside the period (未在规定期限内开展), which forfeits the part
    r = await api.call("POST", f"/nominations/{nid}/activity", "unit1",
                       json={"summary": "迟交的总结", "held_on": "2024-09-21", "links": ["https://weibo.com/a/1"]})
    assert r.json()["activity"]["held_in_period"] is False
    events = await api.events("ActivitySubmitted")
    assert [(e["on_time"], e["held_in_period"]) for e in events] == [(False, True), (False, False)]


async def test_an_activity_report_without_evidence_or_for_a_day_to_come_is_refused(api: Client) -> None:
    nid = (await api.nominate("unit1", "institutional", account("甲号", "jia_hao"))).json()["id"]
    today = _today_in_shaanxi()
    r = await api.call("POST", f"/nominations/{nid}/activity", "unit1",
                       json={"summary": "总结", "held_on": today, "links": []})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"
    r = await api.call("POST", f"/nominations/{nid}/activity", "unit1",
                       json={"summary": "总结", "held_on": today, "links": ["javascript:alert(1)"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "activity_link_invalid"
    r = await api.call("POST", f"/nominations/{nid}/activity", "unit1",
                       json={"summary": "总结", "held_on": "2099-01-01", "links": ["https://weibo.com/a/1"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "activity_not_yet_held"
    assert (await api.call("GET", f"/nominations/{nid}", "unit1")).json()["activity"] is None
    assert await api.events("ActivitySubmitted") == []


async def test_reported_and_verified_metrics_are_kept_apart_and_sent_to_scoring(api: Client) -> None:
    nid = (await api.nominate("unit1", "institutional", account("甲号", "jia_hao"))).json()["id"]
    r = await api.call("PUT", f"/nominations/{nid}/metrics/verified", "x-office",
                       json={"followers": 55_000, "posts": 480, "interactions": 19_000})
    # Figures typed or verified name no registry snapshot.
    no_snapshot = {"snapshot_id": None, "taken_on": None}
    assert r.json()["metrics"] == {
        "reported": {"followers": 60_000, "posts": 500, "interactions": 20_000, **no_snapshot},
        "verified": {"followers": 55_000, "posts": 480, "interactions": 19_000, **no_snapshot}}
    events = await api.events("MetricsReported")
    assert [(e["source"], e["followers"]) for e in events] == [("reported", 60_000), ("verified", 55_000)]
    bad = await api.call("PUT", f"/nominations/{nid}/metrics/verified", "x-office",
                         json={"followers": -1, "posts": 480, "interactions": 19_000})
    assert bad.status_code == 422


# --- shortfalls and exports -------------------------------------------------------------------


def henan_case(name: str, category: str = "institutional") -> dict[str, Any]:
    return {"submitter_name": "李报送", "ethnicity": "汉族", "birth_month": "1985-06", "political_status": "中共党员",
            "gender": "男", "mobile": "13912345678", "unit_position": "甲市网信办 科长", "case_name": name,
            "case_month": "2021-05", "main_deeds": f"{name}：用数据说话，办结群众留言1200件。",
            "links": ["https://weibo.com/u/1"]}


async def test_office_sees_the_shortfall_of_each_unit_under_it(api: Client) -> None:
    for i in range(2):
        r = await api.nominate("unit1", "institutional", henan_case(f"机构案例{i}"), campaign=api.henan)
        assert r.status_code == 201, r.text
    r = await api.call("GET", f"/campaigns/{api.henan}/shortfalls", "x-office")
    assert r.status_code == 200
    short = {(s["unit_id"], s["category_id"]): s["missing"] for s in r.json()["shortfalls"]}
    assert short == {("u1", "personal"): 2, ("u1", "creative"): 2, ("u2", "institutional"): 2,
                     ("u2", "personal"): 2, ("u2", "creative"): 2}
    assert all(s["message_zh"] for s in r.json()["shortfalls"])
    assert (await api.call("GET", f"/campaigns/{api.open}/shortfalls", "x-office")).json()["shortfalls"] == []


async def test_statistics_sheet_and_nomination_list_export_for_the_office_subtree(api: Client) -> None:
    await api.nominate("unit1", "institutional", henan_case("甲案例"), campaign=api.henan)
    await api.nominate("unit2", "personal", henan_case("乙案例"), campaign=api.henan)
    await api.nominate("unit3", "creative", henan_case("丙案例"), campaign=api.henan)

    r = await api.call("GET", f"/campaigns/{api.henan}/exports/statistics?format=csv", "x-office")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert "征集统计表" in rows[0][0] and rows[1] == ["填报单位：", "甲市网信办"]
    header = rows[4]
    body = {row[0]: dict(zip(header, row, strict=False)) for row in rows[5:]}
    assert set(body) == {"甲市第一单位", "甲市第二单位", "合计 Total"}  # not the unit of the other city
    assert body["甲市第一单位"]["优秀机构案例 institutional"] == "1"
    assert body["合计 Total"]["合计 Total"] == "2"

    r = await api.call("GET", f"/campaigns/{api.henan}/exports/nominations?format=xlsx", "prov-office")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    names = {row[4] for row in cells[1:]}
    assert names == {"甲案例", "乙案例", "丙案例"}
    assert any("13912345678" in str(v) for row in cells for v in row)  # offices read the whole form

    committee = await api.call("GET", f"/campaigns/{api.henan}/exports/nominations?format=xlsx", "committee1")
    values = {str(c.value) for row in load_workbook(io.BytesIO(committee.content)).active.iter_rows() for c in row}
    assert "甲案例" in values
    assert not {"13912345678", "李报送", "1985-06", "汉族", "中共党员"} & values


async def test_export_cells_are_never_spreadsheet_formulas(api: Client) -> None:
    await api.nominate("unit1", "institutional", account("=HYPERLINK(\"x\")", "formula_hao"))
    r = await api.call("GET", f"/campaigns/{api.open}/exports/nominations?format=csv", "admin")
    assert "'=HYPERLINK" in r.content.decode("utf-8-sig")


async def test_an_empty_parent_or_organisation_is_a_clear_refusal_and_writes_nothing(api: Client) -> None:
    r = await api.call("PUT", "/organisations", "admin",
                       json={"id": "empty-parent", "name": "空上级", "kind": "unit", "level": "unit", "parent_id": ""})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "parent_id"
    r = await api.call("PUT", "/users", "admin", json={"username": "empty-org", "display_name": "x",
                                                       "password": "a-long-password", "role": "expert",
                                                       "organisation_id": ""})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "organisation_id"
    r = await api.call("PUT", "/users", "admin", json={"username": "no-org", "display_name": "x",
                                                       "password": "a-long-password", "role": "expert"})
    assert r.status_code == 200


async def test_wrong_passwords_lock_the_name_for_a_while_even_for_the_right_one(api: Client) -> None:
    async def sign_in(username: str, password: str, address: str = "203.0.113.7") -> httpx.Response:
        return await api.call("POST", "/auth/login", json={"username": username, "password": password},
                              headers={"X-Real-IP": address})

    for _ in range(5):
        assert (await sign_in("unit3", "not-the-password")).json()["error"]["code"] == "invalid_credentials"
    locked = await sign_in("unit3", PASSWORD)
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "too_many_sign_ins"
    assert 1 <= int(locked.headers["retry-after"]) <= 15 * 60
    assert locked.json()["error"]["details"]["retry_after_s"] == int(locked.headers["retry-after"])
    # Another user, from another address, is not held up; a name that does not exist locks the same way.
    assert (await sign_in("unit2", PASSWORD, "198.51.100.9")).status_code == 200
    for _ in range(5):
        assert (await sign_in("nobody-here", "guess", "198.51.100.10")).status_code == 401
    assert (await sign_in("nobody-here", "guess", "198.51.100.10")).status_code == 429
    # Once the lock has passed (aged here), the right password signs in and the count starts again.
    await api.pool.execute("UPDATE sign_in_attempts SET locked_until = now() - interval '1 second', "
                           "window_start = now() - interval '1 hour' WHERE key = 'user:unit3'")
    assert (await sign_in("unit3", PASSWORD)).status_code == 200
    assert await api.pool.fetchval("SELECT count(*) FROM sign_in_attempts WHERE key = 'user:unit3'") == 0


async def test_an_admin_lifts_a_sign_in_lock_and_each_further_lock_lasts_longer(api: Client) -> None:
    async def sign_in(password: str, address: str = "203.0.113.50") -> httpx.Response:
        return await api.call("POST", "/auth/login", json={"username": "unit1", "password": password},
                              headers={"X-Real-IP": address})

    for _ in range(5):
        assert (await sign_in("not-the-password")).status_code == 401
    first = await sign_in(PASSWORD)
    assert first.status_code == 429 and 14 * 60 < int(first.headers["retry-after"]) <= 15 * 60
    # The lock passes (aged here); five more wrong passwords lock the name twice as long.
    await api.pool.execute("UPDATE sign_in_attempts SET locked_until = now() - interval '1 second', "
                           "window_start = now() - interval '1 second' WHERE key = 'user:unit1'")
    for _ in range(5):
        assert (await sign_in("not-the-password")).status_code == 401
    second = await sign_in(PASSWORD)
    assert second.status_code == 429 and 29 * 60 < int(second.headers["retry-after"]) <= 30 * 60
    # Only an admin lifts it; a refused request changes nothing.
    assert_denied(await api.call("DELETE", "/users/unit1/sign-in-lock", "x-office"), "role_not_allowed")
    assert (await api.call("DELETE", "/users/unit1/sign-in-lock")).status_code == 401
    assert (await sign_in(PASSWORD)).status_code == 429
    missing = await api.call("DELETE", "/users/no-such-user/sign-in-lock", "admin")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "user_not_found"
    lifted = await api.call("DELETE", "/users/unit1/sign-in-lock", "admin")
    assert lifted.status_code == 204 and lifted.content == b""
    assert await api.pool.fetchval("SELECT count(*) FROM sign_in_attempts WHERE key = 'user:unit1'") == 0
    assert (await sign_in(PASSWORD)).status_code == 200
    # Lifting when nothing is locked is no error.
    assert (await api.call("DELETE", "/users/unit1/sign-in-lock", "admin")).status_code == 204


async def test_the_last_admin_keeps_the_admin_role(api: Client) -> None:
    def user(username: str, role: str) -> dict[str, Any]:
        return {"username": username, "display_name": username, "password": PASSWORD, "role": role}

    refused = await api.call("PUT", "/users", "admin", json=user("admin", "committee"))
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "last_admin" and refused.json()["error"]["message_zh"]
    assert await api.pool.fetchval("SELECT role FROM users WHERE username = 'admin'") == "admin"
    # With a second admin, either may step down; then the other is the last again.
    assert (await api.call("PUT", "/users", "admin", json=user("admin-two", "admin"))).status_code == 200
    assert (await api.call("PUT", "/users", "admin", json=user("admin-two", "operator"))).status_code == 200
    again = await api.call("PUT", "/users", "admin", json=user("admin", "operator"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "last_admin"
    # The last admin may still change their own password or name.
    changed = await api.call("PUT", "/users", "admin", json={**user("admin", "admin"), "display_name": "管理员",
                                                             "password": "admin-demo-password"})
    assert changed.status_code == 200
    assert await api.pool.fetchval("SELECT display_name FROM users WHERE username = 'admin'") == "管理员"


async def test_many_wrong_passwords_from_one_address_lock_that_address(api: Client) -> None:
    for i in range(30):
        r = await api.call("POST", "/auth/login", json={"username": f"spray-{i}", "password": "x"},
                           headers={"X-Real-IP": "192.0.2.99"})
        assert r.status_code == 401
    r = await api.call("POST", "/auth/login", json={"username": "unit1", "password": PASSWORD},
                       headers={"X-Real-IP": "192.0.2.99"})
    assert r.status_code == 429
    r = await api.call("POST", "/auth/login", json={"username": "unit1", "password": PASSWORD},
                       headers={"X-Real-IP": "192.0.2.100"})
    assert r.status_code == 200


# --- hostile input ------------------------------------------------------------------------------


async def nomination_count(api: Client) -> int:
    r = await api.call("GET", f"/campaigns/{api.open}/nominations", "admin")
    assert r.status_code == 200
    return len(r.json()["nominations"])


@pytest.mark.parametrize("overrides, field", [
    ({"followers": 2**63}, "followers"),        # past PostgreSQL's bigint: once a 500
    ({"posts": "9" * 5000}, "posts"),           # more digits than int() reads: once a 500
    ({"platform": {"name": "wechat"}}, "platform"),  # not text: once a 500 (unhashable)
])
async def test_a_form_value_no_column_can_hold_is_refused_and_nothing_is_written(
        api: Client, overrides: dict[str, Any], field: str) -> None:
    before = await nomination_count(api)
    r = await api.nominate("unit1", "institutional", account("异常号", "odd_value", **overrides))
    assert r.status_code == 422, r.text
    assert field in {d["field"] for d in r.json()["error"]["details"]}
    assert await nomination_count(api) == before
    assert await api.pool.fetchval("SELECT count(*) FROM outbox WHERE convert_from(body, 'UTF8') LIKE '%异常号%'") == 0


async def test_a_unit_named_with_a_control_character_does_not_break_the_xlsx_sheets(api: Client) -> None:
    r = await api.call("PUT", "/organisations", "admin", json={"id": "ctl-city", "name": "控制字符市", "kind": "office",
                                                               "level": "city", "parent_id": "prov"})
    assert r.status_code == 200, r.text
    # A control character is refused at the door now; a name stored before that rule still exports.
    r = await api.call("PUT", "/organisations", "admin", json={"id": "ctl-unit", "name": "控制\x1f字符单位",
                                                               "kind": "unit", "level": "unit",
                                                               "parent_id": "ctl-city"})
    assert r.status_code == 422, r.text
    await api.pool.execute("INSERT INTO organisations (id, name, kind, level, parent_id) "
                           "VALUES ('ctl-unit', $1, 'unit', 'unit', 'ctl-city')", "控制\x1f字符单位")
    for sheet in ("statistics", "nominations"):
        r = await api.call("GET", f"/campaigns/{api.henan}/exports/{sheet}?format=xlsx", "admin")
        assert r.status_code == 200, r.text
    r = await api.call("GET", f"/campaigns/{api.henan}/exports/statistics?format=xlsx", "admin")
    values = {str(c.value) for row in load_workbook(io.BytesIO(r.content)).active.iter_rows() for c in row}
    assert "控制字符单位" in values
