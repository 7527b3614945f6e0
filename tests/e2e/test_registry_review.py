"""Account filing through the real system: a unit files an account, its city office and then its provincial office
approve, and AccountFiled reaches massline.registry.v1 without the person in charge; a second account on the same
platform is refused with its code unless filed as an exception with a reason."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from support import PASSWORD, Api, wait_for

from massline.contracts import (
    AccountChanged,
    AccountClosed,
    AccountFiled,
    AccountSuspended,
    EventParseError,
    parse_envelope,
    topics,
)

pytestmark = pytest.mark.e2e

PROVINCE = "reg-province"
CITY = "reg-city"
UNIT = "reg-unit"
PERSON = {"username": "reg-unit-staff", "contact": "13912345678"}

_LIFECYCLE = {c.event_type for c in (AccountFiled, AccountChanged, AccountSuspended, AccountClosed)}


async def _registry_events(bootstrap: str) -> list[tuple[dict[str, Any], bytes]]:
    """Every event on the registry topic as its payload and raw bytes."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topics.REGISTRY) or set()
        tps = [TopicPartition(topics.REGISTRY, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        found: list[tuple[dict[str, Any], bytes]] = []
        while any([await consumer.position(tp) < end[tp] for tp in tps]):
            for msgs in (await consumer.getmany(timeout_ms=500)).values():
                for msg in msgs:
                    try:
                        _, event = parse_envelope(msg.value)
                    except EventParseError:
                        continue  # a malformed event another test put on the shared topic (its dead-letter path)
                    found.append(({"type": event.event_type, **event.model_dump(mode="json")}, msg.value))
        return found
    finally:
        await consumer.stop()


def _set_up(api: Api) -> None:
    api.login("admin", "admin-demo-password")
    orgs = [{"id": PROVINCE, "name": "陕西省测试中心", "kind": "office", "level": "provincial"},
            {"id": CITY, "name": "西安市测试办", "kind": "office", "level": "city", "parent_id": PROVINCE},
            {"id": UNIT, "name": "西安测试大学", "kind": "unit", "level": "unit", "parent_id": CITY}]
    for org in orgs:
        assert api.call("PUT", "/api/submission/organisations", "admin", json=org).status_code == 200
    for username, role, org in (("reg-prov", "office", PROVINCE), ("reg-city", "office", CITY),
                                ("reg-unit", "unit", UNIT)):
        r = api.call("PUT", "/api/submission/users", "admin", json={
            "username": username, "display_name": username, "password": PASSWORD, "role": role,
            "organisation_id": org})
        assert r.status_code == 200, r.text
        api.login(username, PASSWORD)


def _filing(**over: Any) -> dict[str, Any]:
    return {"platform": "wechat", "level": "unit", "platform_account_id": "xa_test_univ",
            "verified_name": "西安测试大学", "person_in_charge": PERSON, "reason": "学校官方公众号", **over}


def test_an_account_is_filed_after_the_city_and_the_provincial_office_approve(system) -> None:
    api = Api(system.gateway_url)
    _set_up(api)
    # The registry learns the unit from submission's OrganisationSaved event; until then it says so.
    filed = wait_for("the registry to know the unit", lambda: (
        r if (r := api.call("POST", "/api/registry/accounts", "reg-unit", json=_filing())).status_code == 201
        else None if r.json()["error"]["code"] == "unit_unknown" else pytest.fail(r.text)))
    request = filed.json()
    assert request["kind"] == "open" and request["status"] == "pending"
    assert (request["step"], request["office_id"]) == ("city", CITY)

    # seed 002's rules, each refused with its code
    r = api.call("POST", "/api/registry/accounts", "reg-unit",
                 json=_filing(platform_account_id="xa_second", verified_name="西安测试大学招生"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_platform_account"
    r = api.call("POST", "/api/registry/accounts", "reg-unit",
                 json=_filing(platform="weibo", verified_name="测试大学"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "name_missing_region"
    assert "行政区域" in r.json()["error"]["message_zh"]

    # the provincial office cannot go first; the city office returns without a reason: refused
    decide = f"/api/registry/requests/{request['id']}/decision"
    r = api.call("POST", decide, "reg-prov", json={"decision": "approve"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_your_step"
    r = api.call("POST", decide, "reg-city", json={"decision": "return"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "reason_required"
    r = api.call("POST", decide, "reg-city", json={"decision": "return", "reason": "请补充说明"})
    assert r.json()["status"] == "returned"
    r = api.call("POST", f"/api/registry/requests/{request['id']}/resubmit", "reg-unit", json={"reason": "已补充"})
    assert r.json()["status"] == "pending" and r.json()["step"] == "city"

    queue = api.call("GET", "/api/registry/review", "reg-city").json()["requests"]
    assert [q["id"] for q in queue] == [request["id"]] and queue[0]["account"]["verified_name"] == "西安测试大学"
    r = api.call("POST", decide, "reg-city", json={"decision": "approve", "reason": "同意"})
    assert r.json()["status"] == "pending" and r.json()["step"] == "provincial"
    r = api.call("POST", decide, "reg-prov", json={"decision": "approve", "reason": "同意备案"})
    assert r.json()["status"] == "approved"

    account_id = request["account_id"]
    detail = api.call("GET", f"/api/registry/accounts/{account_id}", "reg-unit").json()
    assert detail["status"] == "filed" and detail["region"] == "西安市"
    assert detail["person_in_charge"] == PERSON
    assert [h["action"] for h in detail["history"]] == ["submitted", "returned", "resubmitted", "approved", "approved"]
    assert [h["step_id"] for h in detail["history"][3:]] == ["city", "provincial"]
    # the city office sees the account in its region; the list carries no person in charge
    listed = api.call("GET", "/api/registry/accounts", "reg-city").json()["accounts"]
    assert [a["id"] for a in listed] == [account_id] and "person_in_charge" not in listed[0]

    def filed_event() -> list[tuple[dict[str, Any], bytes]]:
        return [(e, raw) for e, raw in asyncio.run(_registry_events(system.kafka_bootstrap))
                if e["type"] == AccountFiled.event_type and e.get("account_id") == account_id]

    [(event, raw)] = wait_for("AccountFiled on the registry topic", filed_event)
    assert event["status"] == "filed" and event["unit_id"] == UNIT and event["region"] == "西安市"
    assert PERSON["username"].encode() not in raw and PERSON["contact"].encode() not in raw

    # a second account on the platform, as a filed exception with its reason, is taken for review
    r = api.call("POST", "/api/registry/accounts", "reg-unit",
                 json=_filing(platform_account_id="xa_second", verified_name="西安测试大学招生",
                              exception_reason="招生咨询专用，经主管部门同意"))
    assert r.status_code == 201, r.text
    # and a platform id already filed is refused whatever the unit
    r = api.call("POST", "/api/registry/accounts", "reg-unit",
                 json=_filing(platform_account_id="xa_test_univ", exception_reason="x"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "platform_account_taken"


def _through_both_offices(api: Api, request: dict[str, Any]) -> dict[str, Any]:
    decide = f"/api/registry/requests/{request['id']}/decision"
    assert api.call("POST", decide, "reg-city", json={"decision": "approve"}).json()["step"] == "provincial"
    answer = api.call("POST", decide, "reg-prov", json={"decision": "approve", "reason": "同意"}).json()
    assert answer["status"] == "approved", answer
    return answer


def test_change_suspension_and_closing_each_pass_both_offices_and_a_closed_account_stays_closed(system) -> None:
    api = Api(system.gateway_url)
    _set_up(api)
    opened = wait_for("the registry to know the unit", lambda: (
        r.json() if (r := api.call("POST", "/api/registry/accounts", "reg-unit", json=_filing(
            platform="douyin", platform_account_id="xa_douyin", verified_name="西安测试大学"))).status_code == 201
        else None if r.json()["error"]["code"] == "unit_unknown" else pytest.fail(r.text)))
    account_id = opened["account_id"]
    _through_both_offices(api, opened)
    base = f"/api/registry/accounts/{account_id}"
    assert api.call("POST", f"{base}/activate", "reg-unit").json()["status"] == "active"

    r = api.call("POST", f"{base}/change", "reg-unit", json={"verified_name": "陕西西安测试大学", "reason": "更名"})
    assert r.status_code == 201 and r.json()["proposal"] == {"verified_name": "陕西西安测试大学", "region": "西安市"}
    # one request at a time; a suspension needs its reason
    again = api.call("POST", f"{base}/suspend", "reg-unit", json={"reason": "x"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "request_pending"
    _through_both_offices(api, r.json())
    r = api.call("POST", f"{base}/suspend", "reg-unit", json={"reason": ""})
    assert r.status_code == 422
    _through_both_offices(api, api.call("POST", f"{base}/suspend", "reg-unit", json={"reason": "人员调整"}).json())
    _through_both_offices(api, api.call("POST", f"{base}/close", "reg-unit", json={"reason": "长期无法保障内容"}).json())

    detail = api.call("GET", base, "reg-unit").json()
    assert (detail["status"], detail["verified_name"]) == ("closed", "陕西西安测试大学")
    r = api.call("POST", f"{base}/change", "reg-unit", json={"verified_name": "西安测试大学抖音"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "account_closed"

    def lifecycle() -> list[dict[str, Any]] | None:
        mine = [e for e, _ in asyncio.run(_registry_events(system.kafka_bootstrap))
                if e["type"] in _LIFECYCLE and e.get("account_id") == account_id]
        return mine if len(mine) == 5 else None

    events = wait_for("the account's five events on the topic", lifecycle)
    assert [(e["type"], e["status"]) for e in events] == [
        ("AccountFiled", "filed"), ("AccountChanged", "active"), ("AccountChanged", "active"),
        ("AccountSuspended", "suspended"), ("AccountClosed", "closed")]
    assert events[1]["changed_fields"] == ["status"] and events[2]["changed_fields"] == ["verified_name"]
    assert events[3]["reason"] == "人员调整" and events[4]["reason"] == "长期无法保障内容"
