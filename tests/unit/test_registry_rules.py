"""Seed 002's filing rules and the review chain of account requests, as the registry applies them."""

from __future__ import annotations

import uuid

import pytest

from massline.contracts import AccountChanged, AccountClosed, AccountFiled, AccountSuspended
from services.registry.domain import rules
from services.registry.domain.accounts import Account
from services.registry.domain.errors import Conflict, Forbidden, Invalid
from services.registry.domain.regions import Gazetteer, short_form
from services.registry.domain.review import Org, Request, chain_for, settle

GAZ = Gazetteer.with_extra(["雁塔区"])
ORGS = {o.id: o for o in (
    Org("prov", "陕西省中心", "office", "provincial", None),
    Org("city", "西安市办", "office", "city", "prov"),
    Org("unit", "西安某大学", "unit", "unit", "city"),
    Org("direct", "省直单位", "unit", "unit", "prov"),
    Org("orphan", "无上级单位", "unit", "unit", None),
)}


@pytest.mark.parametrize(("name", "region"), [
    ("西安发布", "西安市"), ("陕西高校思政", "陕西省"), ("陕西西安交警", "西安市"), ("广西南宁发布", "南宁市"),
    ("雁塔区教育局", "雁塔区"), ("内蒙古教育", "内蒙古自治区"), ("广西壮族自治区大数据发展局", "广西壮族自治区"),
])
def test_a_name_carries_its_most_specific_region(name: str, region: str) -> None:
    assert rules.check_name(name, GAZ) == region


def test_a_name_without_a_region_is_refused_with_its_code() -> None:
    with pytest.raises(Invalid) as refused:
        rules.check_name("示范理工大学", GAZ)
    assert refused.value.code == "name_missing_region" and "行政区域" in refused.value.message_zh
    assert short_form("广西壮族自治区") == "广西" and short_form("西安市") == "西安"


def test_only_approved_platforms_and_no_event_or_personal_accounts() -> None:
    with pytest.raises(Invalid, match="platform_not_approved"):
        rules.check_platform("myspace", ("wechat", "weibo"))
    with pytest.raises(Invalid, match="special_purpose_account"):
        rules.check_purpose("special_event")
    with pytest.raises(Invalid, match="personal_account"):
        rules.check_purpose("personal")
    rules.check_purpose("duties")


HELD = [rules.Holding("a1", "unit", "wechat", "wx1")]


def test_one_account_per_unit_and_platform_unless_a_filed_exception_with_a_reason() -> None:
    with pytest.raises(Conflict) as refused:
        rules.check_unique("unit", "wechat", "wx2", None, HELD)
    assert refused.value.code == "duplicate_platform_account" and refused.value.details["existing"] == "a1"
    with pytest.raises(Conflict, match="duplicate_platform_account"):
        rules.check_unique("unit", "wechat", "wx2", "   ", HELD)
    rules.check_unique("unit", "wechat", "wx2", "招生咨询专用", HELD)
    rules.check_unique("unit", "weibo", "wx2", None, HELD)  # another platform
    rules.check_unique("unit", "wechat", "wx1", None, HELD, itself="a1")  # the account itself


def test_a_platform_id_is_filed_once_whatever_the_unit() -> None:
    with pytest.raises(Conflict, match="platform_account_taken"):
        rules.check_unique("other", "wechat", "wx1", "理由", HELD)


def test_every_rule_code_says_why_in_both_languages() -> None:
    for code, (zh, en) in rules.RULES.items():
        assert code.isidentifier() and zh and en and any("\u4e00" <= ch <= "\u9fff" for ch in zh)


def test_the_chain_is_the_city_then_the_provincial_office_and_skips_a_missing_level() -> None:
    assert [(s.step.id, s.office_id, s.step.role) for s in chain_for("unit", ORGS)] == [
        ("city", "city", "office"), ("provincial", "prov", "office")]
    assert [s.step.id for s in chain_for("direct", ORGS)] == ["provincial"]
    with pytest.raises(Invalid, match="no_reviewing_office"):
        chain_for("orphan", ORGS)


def _account(**over: object) -> Account:
    base = {"id": uuid.uuid4(), "unit_id": "unit", "unit_name": "西安某大学", "platform": "wechat", "level": "unit",
            "platform_account_id": "wx1", "verified_name": "西安某大学", "region": "西安市", "status": "requested"}
    return Account(**{**base, **over})  # type: ignore[arg-type]


def _request(kind: str = "open", **over: object) -> Request:
    base = {"id": uuid.uuid4(), "account_id": uuid.uuid4(), "unit_id": "unit", "kind": kind, "status": "pending",
            "step_index": 0, "steps": tuple(chain_for("unit", ORGS)), "proposal": {}, "reason": "理由",
            "requested_by": "u"}
    return Request(**{**base, **over})  # type: ignore[arg-type]


def test_each_office_approves_in_turn_and_only_the_awaited_one() -> None:
    q = _request()
    with pytest.raises(Forbidden) as refused:
        q.approve("prov", by="p", reason=None)
    assert refused.value.code == "not_your_step" and refused.value.details["step"] == "city"
    q, line, final = q.approve("city", by="c", reason="同意")
    assert (q.status, q.awaited.step.id, final, line.step_id) == ("pending", "provincial", False, "city")
    q, line, final = q.approve("prov", by="p", reason="同意备案")
    assert (q.status, final, line.action, line.step_id) == ("approved", True, "approved", "provincial")
    with pytest.raises(Conflict, match="request_not_pending"):
        q.approve("prov", by="p", reason=None)


def test_a_return_needs_a_reason_and_a_resubmission_starts_again_at_the_city_office() -> None:
    q, _, _ = _request().approve("city", by="c", reason=None)
    with pytest.raises(Invalid, match="reason_required"):
        q.return_("prov", by="p", reason=" ")
    q, line = q.return_("prov", by="p", reason="名称不规范")
    assert (q.status, line.action, line.reason) == ("returned", "returned", "名称不规范")
    q, line = q.resubmit({"verified_name": "西安某大学发布"}, by="u", reason="已改")
    assert (q.status, q.awaited.step.id, q.proposal["verified_name"]) == ("pending", "city", "西安某大学发布")
    q, _ = q.withdraw(by="u")
    assert q.status == "withdrawn"


def test_the_final_approval_decides_the_account_and_its_event() -> None:
    account, event = settle(_account(), _request("open"))
    assert account.status == "filed" and isinstance(event, AccountFiled) and event.account_id == account.id
    changed, event = settle(account, _request("change", proposal={"verified_name": "西安某大学官微",
                                                                  "region": "西安市"}))
    assert isinstance(event, AccountChanged) and event.changed_fields == ["verified_name"]
    suspended, event = settle(changed, _request("suspend", reason="人员调整"))
    assert isinstance(event, AccountSuspended) and event.reason == "人员调整" and event.status == "suspended"
    resumed, event = settle(suspended, _request("resume"))
    assert resumed.status == "active" and isinstance(event, AccountChanged) and event.changed_fields == ["status"]
    closed, event = settle(resumed, _request("close", reason="长期无法保障内容"))
    assert isinstance(event, AccountClosed) and closed.status == "closed"
    with pytest.raises(Conflict, match="account_closed"):
        closed.require_open()


def test_no_account_event_can_carry_the_person_in_charge() -> None:
    for event in (AccountFiled, AccountChanged, AccountSuspended, AccountClosed):
        assert not {"person", "person_in_charge", "contact", "username", "phone"} & set(event.model_fields)
