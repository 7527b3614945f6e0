"""An operator holds by hand the votes a crowd of new identities brought an entry (a paid task no rule tells from
people), through the whole system: the console's form previews what it would hold and the ranks if it stopped
counting, the hold opens a case, and the public standings hold the crowd's votes while the entry's earlier supporters
keep theirs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from support import PASSWORD, Api, new_operator, open_voting, voter_ticket, wait_for

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")

CAMPAIGN = "e2e-hold"


def ticket(api: Api, phone: str, i: int) -> dict[str, str]:
    """A person on their own phone and network: the headers of their votes."""
    headers = {"X-Forwarded-For": f"36.{i}.9.{i + 1}",
               "User-Agent": f"Mozilla/5.0 (Linux; Android 14; Phone{i}) Mobile Safari/537.36"}
    return {**headers, "Authorization": f"Bearer {voter_ticket(api, CAMPAIGN, phone, headers)}"}


def cast(api: Api, headers: dict[str, str], entry: str, count: int, key: str) -> None:
    r = api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/votes", headers=headers,
                 json={"entry_id": entry, "count": count, "idempotency_key": key})
    assert r.status_code == 201, r.text


def test_an_operator_holds_a_crowd_of_new_identities_from_the_console(system, browser) -> None:
    api = Api(system.gateway_url)
    entry, rival = open_voting(api, CAMPAIGN, ["庚县发布", "辛县发布"],
                               replace={"show_counts: rank_only": "show_counts: always"})
    new_operator(api, "hold-operator")
    supporters = [ticket(api, f"1380000{i:04d}", i) for i in range(3)]
    for i, headers in enumerate(supporters):
        cast(api, headers, entry, 5, f"early-{i}")
    for i in range(4):
        cast(api, ticket(api, f"1381111{i:04d}", 10 + i), rival, 10, f"rival-{i}")
    time.sleep(1.1)
    start = datetime.now(UTC).replace(microsecond=0)
    time.sleep(1.1)
    for i, headers in enumerate(supporters):  # the entry's own supporters come back in the window
        cast(api, headers, entry, 5, f"again-{i}")
    for i in range(5):  # the crowd: new identities, each on its own phone and network
        cast(api, ticket(api, f"1382222{i:04d}", 20 + i), entry, 10, f"crowd-{i}")

    def standing(e: str) -> tuple[int, int] | None:
        cats = api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/standings").json().get("categories", {})
        return next(((x.get("votes"), x.get("held")) for x in cats.get("institutional", []) if x["entry_id"] == e),
                    None)

    wait_for("the standings to count every vote", lambda: standing(entry) == (80, 0) and standing(rival) == (40, 0))
    wait_for("anti-fraud to have scored them", lambda: api.call(
        "POST", f"/api/antifraud/campaigns/{CAMPAIGN}/holds", "hold-operator", json={
            "entry_id": entry, "start": start.isoformat(), "reason": "预览", "preview": True}).json().get("votes") == 50)

    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(system.gateway_url + "/login")
    page.get_by_label("用户名").fill("hold-operator")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    # As a jump of the last ten minutes links it: the window has not ended yet, so it is held up to now.
    page.goto(f"{system.gateway_url}/console/c/{CAMPAIGN}/holds/new?"
              + urlencode({"entry_id": entry, "start": start.isoformat(),
                           "end": (datetime.now(UTC) + timedelta(minutes=8)).isoformat()}))
    expect = playwright.expect
    expect(page.locator("#hold-end")).to_have_value("")
    expect(page.locator("#hold-form")).to_contain_text("庚县发布")
    expect(page.locator("#hold-would")).to_contain_text("将暂缓 50 票（5 次投票，5 个身份）")
    expect(page.locator("#hold-preview")).to_contain_text("会改变名次")
    expect(page.locator(f'#hold-preview tr[data-entry="{entry}"] td[data-scenario="held"]')).to_contain_text("第 2 名")
    page.get_by_label("理由").fill("众包平台派单截图，任务要求为庚县发布投票")
    page.get_by_role("button", name="暂缓计入", exact=True).click()
    expect(page.locator(".notice.ok")).to_contain_text("已暂缓计入")
    expect(page.locator("#case-status")).to_have_text("待核查")
    expect(page.locator("#case-explanation")).to_contain_text("hold-operator")
    expect(page.locator("ol.history")).to_contain_text("人工暂缓计入 · hold-operator")
    expect(page.locator("main")).not_to_contain_text("可能性为常人的")  # no odds: a person's judgement

    wait_for("the public standings to hold the crowd's votes",
             lambda: standing(entry) == (30, 50) and standing(rival) == (40, 0))
    cases: list[dict[str, Any]] = api.call("GET", f"/api/antifraud/campaigns/{CAMPAIGN}/cases", "hold-operator",
                                           params={"reason": "manual_hold"}).json()["cases"]
    assert [(k["status"], k["vote_count"]) for k in cases] == [("flagged", 50)]
