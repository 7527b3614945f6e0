"""What e2e tests share: an API client through the gateway, waiting for eventual results, campaign set-up."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from services.operations.demo import demo_definition

PASSWORD = "e2e-password-123"


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


def new_operator(api: Api, username: str, display_name: str = "值班员") -> None:
    """An operator account made by the admin, logged in (its token kept under `username`)."""
    r = api.call("PUT", "/api/submission/users", "admin", json={
        "username": username, "display_name": display_name, "password": PASSWORD, "role": "operator"})
    assert r.status_code == 200, r.text
    api.login(username, PASSWORD)


def put_policy(api: Api, campaign: str, user: str, body: dict[str, Any]) -> httpx.Response:
    """PUT a campaign's anti-fraud policy as an operator would, once anti-fraud has heard of the campaign: it learns
    campaigns from the bus, seconds after the submission service loads one, and answers 404 `campaign_not_found`
    until then."""
    def put() -> httpx.Response | None:
        r = api.call("PUT", f"/api/antifraud/campaigns/{campaign}/policy", user, json=body)
        return None if r.status_code == 404 and r.json()["error"]["code"] == "campaign_not_found" else r

    answer: httpx.Response = wait_for("anti-fraud to know the campaign", put)
    return answer


class Api:
    def __init__(self, base: str) -> None:
        self.base = base
        self.c = httpx.Client(base_url=base, timeout=30)
        self.tokens: dict[str, str] = {}

    def login(self, username: str, password: str) -> None:
        r = self.c.post("/api/submission/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        self.tokens[username] = r.json()["access_token"]

    def call(self, method: str, path: str, as_user: str | None = None, **kw: Any) -> httpx.Response:
        headers = kw.pop("headers", {})
        if as_user:
            headers["Authorization"] = f"Bearer {self.tokens[as_user]}"
        return self.c.request(method, path, headers=headers, **kw)

    def phase(self, campaign: str, phase: str) -> None:
        r = self.call("POST", f"/api/submission/campaigns/{campaign}/phase", "admin", json={"phase": phase})
        assert r.status_code == 200, r.text


def account_form(name: str, account: str, followers: int) -> dict[str, Any]:
    return {"account_name": name, "platform": "wechat", "account_id": account,
            "account_url": f"https://mp.weixin.qq.com/s/{account}", "operating_entity": f"{name}宣传部",
            "level": "provincial", "followers": followers, "posts": 500, "interactions": 20000,
            "introduction": f"{name}的官方账号", "contact_name": "联系人", "contact_phone": "13700001234"}


def open_voting(api: Api, campaign: str, entries: list[str], *, replace: dict[str, str] | None = None) -> list[str]:
    """A seed-000 campaign with one office and a unit per entry, entries approved, voting open: entry ids."""
    if "admin" not in api.tokens:
        api.login("admin", "admin-demo-password")
    office = f"{campaign}-office"
    r = api.call("PUT", "/api/submission/organisations", "admin",
                 json={"id": office, "name": f"{campaign}中心", "kind": "office", "level": "provincial"})
    assert r.status_code == 200, r.text
    r = api.call("PUT", "/api/submission/users", "admin", json={
        "username": office, "display_name": office, "password": PASSWORD, "role": "office", "organisation_id": office})
    assert r.status_code == 200, r.text
    api.login(office, PASSWORD)
    definition = demo_definition().replace("id: shaanxi-2024-accounts", f"id: {campaign}", 1)
    for old, new in (replace or {}).items():
        definition = definition.replace(old, new)
    r = api.call("POST", "/api/submission/campaigns", "admin", json={"definition_yaml": definition})
    assert r.status_code == 201, r.text
    api.phase(campaign, "nomination")
    ids = []
    for i, name in enumerate(entries):
        unit = f"{campaign}-u{i}"
        r = api.call("PUT", "/api/submission/organisations", "admin", json={
            "id": unit, "name": name, "kind": "unit", "level": "unit", "parent_id": office})
        assert r.status_code == 200, r.text
        r = api.call("PUT", "/api/submission/users", "admin", json={
            "username": unit, "display_name": name, "password": PASSWORD, "role": "unit", "organisation_id": unit})
        assert r.status_code == 200, r.text
        api.login(unit, PASSWORD)
        r = api.call("POST", f"/api/submission/campaigns/{campaign}/nominations", unit, json={
            "category_id": "institutional", "form": account_form(name, f"{campaign}-{i}", 50_000 + i)})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        r = api.call("POST", f"/api/submission/nominations/{ids[-1]}/review", office, json={"decision": "approve", "reason": "符合条件"})
        assert r.status_code == 200, r.text
    wait_for("entries to become votable", lambda: len(api.call(
        "GET", f"/api/voting/campaigns/{campaign}/entries").json().get("entries", [])) == len(ids))
    api.phase(campaign, "voting")
    return ids


def voter_ticket(api: Api, campaign: str, phone: str, headers: dict[str, str] | None = None) -> str:
    """A voter's ticket through the SMS code, every request with `headers` (a voter's own address and browser)."""
    headers = headers or {}
    r = api.call("POST", f"/api/voting/campaigns/{campaign}/voters/sms-code", json={"phone": phone},
                 headers=dict(headers))
    assert r.status_code == 202, r.text
    code = api.call("GET", f"/api/voting/dev/sms-codes/{phone}").json()["code"]
    r = api.call("POST", f"/api/voting/campaigns/{campaign}/voters/sms-verify", json={"phone": phone, "code": code},
                 headers=dict(headers))
    assert r.status_code == 200, r.text
    return r.json()["ticket"]


# --- browser journeys: Debian's Chromium driven by Playwright (never a downloaded browser) ---
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE_SIZE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
