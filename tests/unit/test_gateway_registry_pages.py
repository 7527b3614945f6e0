"""The unit's nomination form in a registry campaign offers the unit's registry accounts to pick from, and the
office's review page shows the picked account's registry status and the snapshot its figures came from."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import jwt
import yaml
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.gateway.visitor import STAFF_COOKIE
from services.submission.domain.campaign import CampaignDefinition
from services.submission.service.campaigns import _PUBLIC_PARTS

SERVICES = ("submission", "voting", "antifraud", "scoring", "notification")
NOMINATION = "11111111-1111-1111-1111-111111111111"
GOOD, SUSPENDED = "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"
SNAPSHOT = "bbbbbbbb-0000-4000-8000-000000000003"


def campaign(mode: str) -> dict[str, Any]:
    data = yaml.safe_load((Path(__file__).parents[2] / "campaigns" / "shaanxi-2024-accounts.yaml").read_text("utf-8"))
    data.update(id="c1", nomination_accounts=mode, reference_period={"starts_on": "2024-06-01", "ends_on": "2024-07-31"})
    public = CampaignDefinition.model_validate(data).model_dump(mode="json", include=_PUBLIC_PARTS)
    return {**public, "current_phase": "nomination"}


def snapshot() -> dict[str, Any]:
    return {"snapshot_id": SNAPSHOT, "taken_on": "2024-07-31", "followers": 42000, "posts": 400, "reposts": 3000,
            "comments": 2000, "interactions": 5000}


ACCOUNTS = {"nomination_accounts": "registry", "reference_from": "2024-06-01", "reference_date": "2024-07-31",
            "accounts": [
                {"account_id": GOOD, "platform": "wechat", "level": "provincial", "platform_account_id": "gh_good",
                 "verified_name": "陕西发布", "region": "陕西省", "status": "active", "eligible": True,
                 "refusal": None, "snapshot": snapshot()},
                {"account_id": SUSPENDED, "platform": "weibo", "level": "provincial", "platform_account_id": "wb_x",
                 "verified_name": "西安发布", "region": "陕西省西安市", "status": "suspended", "eligible": False,
                 "refusal": {"code": "account_not_active", "field": "registry_account_id",
                             "message_zh": "该账号已暂停，已暂停或注销的账号不得参评",
                             "message_en": "the account is suspended; suspended and closed accounts may not take part"},
                 "snapshot": None}]}


def site(mode: str, role: str, calls: list[tuple[str, str, Any]]) -> TestClient:
    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        calls.append((request.method, request.url.path, body))
        path = request.url.path
        if path == "/campaigns/c1":
            return httpx.Response(200, json=campaign(mode))
        if path == "/campaigns/c1/registry-accounts":
            return httpx.Response(200, json=ACCOUNTS)
        if path == "/campaigns/c1/nominations" and request.method == "POST":
            return httpx.Response(201, json={"id": NOMINATION})
        if path == f"/nominations/{NOMINATION}":
            return httpx.Response(200, json=nomination())
        return httpx.Response(404, json={"error": {"code": "not_found"}})

    settings = GatewaySettings(**{f"{s}_url": f"http://{s}" for s in SERVICES})
    client = TestClient(create_app(settings, client=httpx.AsyncClient(transport=httpx.MockTransport(answer))),
                        follow_redirects=False)
    client.cookies.set(STAFF_COOKIE, jwt.encode({"sub": role, "role": role, "org": "u1"}, "k" * 32, algorithm="HS256"))
    return client


def nomination() -> dict[str, Any]:
    return {"id": NOMINATION, "campaign_id": "c1", "unit_id": "u1", "unit_name": "甲单位", "category_id": "institutional",
            "entry_name": "陕西发布", "status": "submitted", "current_step": "center", "revision": 1,
            "held_reasons": [], "form": {"account_name": "陕西发布", "platform": "wechat"}, "history": [],
            "metrics": {"registry": {"followers": 42000, "posts": 400, "interactions": 5000, "snapshot_id": SNAPSHOT,
                                     "taken_on": "2024-07-31"}},
            "activity": None, "image": None,
            "registry": {**ACCOUNTS["accounts"][0]}}  # type: ignore[index]


def test_a_registry_campaigns_form_offers_the_units_accounts_and_sends_the_one_picked() -> None:
    calls: list[tuple[str, str, Any]] = []
    page = site("registry", "unit", calls)
    html = page.get("/console/c/c1/nominations/new").text
    assert ("GET", "/campaigns/c1/registry-accounts", None) in calls
    picker = html[html.index('id="f_registry_account_id"'):html.index("</fieldset>")]
    assert "陕西发布" in picker and "gh_good" in picker and "42000" in picker and "2024-07-31" in picker
    # The suspended account is shown, cannot be picked, and says why.
    suspended = re.search(rf'<label[^>]*data-account="{SUSPENDED}".*?</label>', picker, re.S)
    assert suspended and "disabled" in suspended.group(0) and "已暂停或注销的账号不得参评" in suspended.group(0)
    # The registry fills name, id, platform, level and figures: the form does not ask for them.
    assert 'name="f_account_name"' not in html and 'name="f_followers"' not in html
    assert 'name="f_account_url"' in html

    r = page.post("/console/c/c1/nominations/new", data={
        "campaign_id": "c1", "category_id": "institutional", "registry_account_id": GOOD,
        "f_account_url": "https://mp.weixin.qq.com/s/x"})
    assert r.status_code == 303
    (posted,) = [b for m, p, b in calls if m == "POST"]
    assert posted["registry_account_id"] == GOOD and posted["form"] == {"account_url": "https://mp.weixin.qq.com/s/x"}


def test_a_free_text_campaign_asks_for_the_account_and_offers_no_picker() -> None:
    calls: list[tuple[str, str, Any]] = []
    html = site("free_text", "unit", calls).get("/console/c/c1/nominations/new").text
    assert 'id="f_registry_account_id"' not in html and 'name="f_account_name"' in html
    assert all(p != "/campaigns/c1/registry-accounts" for _, p, _ in calls)


def test_the_review_page_shows_the_registry_status_and_the_snapshot_used() -> None:
    html = site("registry", "office", []).get(f"/console/nominations/{NOMINATION}").text
    section = html[html.index('id="registry-account"'):]
    section = section[:section.index("</section>")]
    assert "正常" in section and "gh_good" in section and SNAPSHOT in section and "2024-07-31" in section
