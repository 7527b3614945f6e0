"""The demo's units have their accounts in the registry: filed and in operation, and one awaiting the office."""

from __future__ import annotations

import pytest
from support import Api

from services.operations.demo import DEMO_PASSWORD, REGISTRY_ACCOUNTS, load_demo

pytestmark = pytest.mark.e2e


def test_the_demo_units_have_filed_accounts_and_the_office_a_request_to_review(system) -> None:
    load_demo(system.gateway_url, lambda _: None)
    api = Api(system.gateway_url)
    for username in ("office", "univ-a", "univ-c"):
        api.login(username, DEMO_PASSWORD)
    mine = {a["platform"]: a for a in api.call("GET", "/api/registry/accounts", "univ-a").json()["accounts"]}
    assert {p: a["status"] for p, a in mine.items()} == {"wechat": "active", "douyin": "filed"}
    assert mine["wechat"]["region"] == "陕西省"
    region = api.call("GET", "/api/registry/accounts", "office").json()["accounts"]
    assert len([a for a in region if a["unit_id"].startswith("univ-")]) == len(REGISTRY_ACCOUNTS)
    queue = api.call("GET", "/api/registry/review", "office").json()["requests"]
    assert [(q["unit_id"], q["account"]["platform"], q["kind"]) for q in queue] == [("univ-c", "wechat", "open")]
