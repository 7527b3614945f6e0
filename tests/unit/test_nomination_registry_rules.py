"""A campaign reads the account registry: where its accounts come from, which ones may take part, and the snapshot
whose figures feed the initial assessment."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from services.scoring import domain as scoring
from services.submission.domain.campaign import CampaignDefinition, CampaignDefinitionError, parse_campaign
from services.submission.domain.registry import (
    IdleFinding,
    RegistryAccount,
    Snapshot,
    check_account_source,
    check_registry_account,
    registry_form,
    registry_metrics,
    snapshot_for,
)
from services.submission.domain.rules import ProposedNomination, check_nomination

SHAANXI = Path(__file__).parents[2] / "campaigns" / "shaanxi-2024-accounts.yaml"
OPEN = datetime(2024, 8, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ACCOUNT_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


def shaanxi(**top: Any) -> CampaignDefinition:
    data = yaml.safe_load(SHAANXI.read_text(encoding="utf-8"))
    data.update(top)
    return CampaignDefinition.model_validate(data)


REGISTRY = shaanxi(nomination_accounts="registry",
                   reference_period={"starts_on": "2024-06-01", "ends_on": "2024-07-31"})


def account(**changes: Any) -> RegistryAccount:
    base = dict(account_id=ACCOUNT_ID, unit_id="xjtu", platform="wechat", level="provincial",
                platform_account_id="xjtu1896", verified_name="西安交通大学", region="陕西省西安市", status="active")
    return RegistryAccount(**{**base, **changes})


def snapshot(day: str, followers: int = 25_000, n: int = 1) -> Snapshot:
    return Snapshot(uuid.UUID(int=n), date.fromisoformat(day), followers, 300, 1_200, 800)


def codes(violations: list[Any]) -> list[str]:
    return [str(v.code) for v in violations]


# --- the definition ---------------------------------------------------------------------------


def test_existing_definitions_take_free_text_and_read_the_nomination_days_as_reference_period() -> None:
    d = shaanxi()
    assert d.nomination_accounts == "free_text"
    period = d.reference_days()
    # The nomination phase runs 2024-08-19 00:00 until 2024-08-26 00:00 (excluded): its last day is the 25th.
    assert period is not None and (period.starts_on, period.ends_on) == (date(2024, 8, 19), date(2024, 8, 25))


def test_a_reference_period_given_is_the_one_used() -> None:
    period = REGISTRY.reference_days()
    assert period is not None and (period.starts_on, period.ends_on) == (date(2024, 6, 1), date(2024, 7, 31))


def test_a_reference_period_that_ends_before_it_starts_is_refused() -> None:
    text = SHAANXI.read_text(encoding="utf-8") + "\nreference_period: {starts_on: 2024-08-01, ends_on: 2024-07-01}\n"
    with pytest.raises(CampaignDefinitionError) as caught:
        parse_campaign(text)
    assert [e["field"] for e in caught.value.errors] == ["reference_period"]


def test_an_unknown_account_source_is_refused() -> None:
    with pytest.raises(CampaignDefinitionError) as caught:
        parse_campaign(SHAANXI.read_text(encoding="utf-8") + "\nnomination_accounts: typed\n")
    assert [e["field"] for e in caught.value.errors] == ["nomination_accounts"]


# --- where the account comes from ------------------------------------------------------------------------------


def test_a_registry_campaign_needs_a_registry_account() -> None:
    assert codes(check_account_source(REGISTRY, None)) == ["registry_account_required"]
    assert check_account_source(REGISTRY, ACCOUNT_ID) == []


def test_a_free_text_campaign_refuses_a_registry_account_and_either_takes_both() -> None:
    assert codes(check_account_source(shaanxi(), ACCOUNT_ID)) == ["registry_not_used"]
    either = shaanxi(nomination_accounts="either")
    assert check_account_source(either, ACCOUNT_ID) == [] and check_account_source(either, None) == []


# --- which accounts may take part ------------------------------------------------------------------------------


def test_the_units_own_filed_or_active_account_with_figures_is_taken() -> None:
    for status in ("filed", "active"):
        assert check_registry_account(REGISTRY, account(status=status), "xjtu", (), snapshot("2024-07-01")) == []


@pytest.mark.parametrize(("acc", "code"), [
    (None, "account_not_in_registry"),
    (account(unit_id="nwpu"), "account_not_yours"),
    (account(status="suspended"), "account_not_active"),
    (account(status="closed"), "account_not_active"),
])
def test_an_account_outside_the_units_active_registry_is_refused(acc: RegistryAccount | None, code: str) -> None:
    refused = check_registry_account(REGISTRY, acc, "xjtu", (), snapshot("2024-07-01"))
    assert codes(refused) == [code]
    assert refused[0].field == "registry_account_id" and refused[0].message_zh and refused[0].message_en


@pytest.mark.parametrize(("finding", "idle"), [
    (IdleFinding(uuid.uuid4(), "idle_no_update", date(2024, 7, 31)), True),  # opened on the last day
    (IdleFinding(uuid.uuid4(), "idle_no_update", date(2024, 5, 1), date(2024, 6, 1), "fixed"), True),  # closed on day 1
    (IdleFinding(uuid.uuid4(), "idle_no_update", date(2024, 5, 1)), True),  # still open
    (IdleFinding(uuid.uuid4(), "idle_no_update", date(2024, 5, 1), date(2024, 5, 31), "fixed"), False),  # fixed before
    (IdleFinding(uuid.uuid4(), "idle_no_update", date(2024, 8, 1)), False),  # opened after the period
    (IdleFinding(uuid.uuid4(), "idle_no_update", date(2024, 7, 1), date(2024, 7, 2), "withdrawn"), False),
])
def test_an_account_flagged_idle_during_the_reference_period_is_refused(finding: IdleFinding, idle: bool) -> None:
    refused = check_registry_account(REGISTRY, account(), "xjtu", [finding], snapshot("2024-07-01"))
    assert codes(refused) == (["account_idle"] if idle else [])
    if idle:
        assert "idle_no_update" in refused[0].message_en and "2024-06-01" in refused[0].message_zh


def test_an_account_without_figures_on_or_before_the_reference_date_is_refused() -> None:
    refused = check_registry_account(REGISTRY, account(), "xjtu", (), None)
    assert codes(refused) == ["account_no_snapshot"] and "2024-07-31" in refused[0].message_en


# --- the snapshot and the figures --------------------------------------------------------------------------------


def test_the_snapshot_is_the_latest_on_or_before_the_reference_date() -> None:
    series = [snapshot("2024-06-30", n=1), snapshot("2024-07-31", n=2), snapshot("2024-08-01", n=3)]
    assert snapshot_for(series, date(2024, 7, 31)) == series[1]
    assert snapshot_for(series, date(2024, 7, 30)) == series[0]
    assert snapshot_for(series, date(2024, 6, 29)) is None
    corrected = snapshot("2024-07-31", followers=26_000, n=4)  # recorded later for the same day
    assert snapshot_for([*series, corrected], date(2024, 7, 31)) == corrected


def test_the_registry_fills_the_form_and_its_figures_meet_the_rules() -> None:
    typed = {"account_name": "随便写的", "account_id": "typo", "platform": "weibo", "followers": 1,
             "account_url": "https://mp.weixin.qq.com/s/AbCdEf", "operating_entity": "党委宣传部",
             "introduction": "学校官方微信公众号。", "contact_name": "王老师", "contact_phone": "13812345678"}
    form = registry_form(typed, account(), snapshot("2024-07-01"))
    assert (form["account_name"], form["account_id"], form["platform"], form["level"]) == \
        ("西安交通大学", "xjtu1896", "wechat", "provincial")
    # Interactions are the reposts plus the comments.
    assert (form["followers"], form["posts"], form["interactions"]) == (25_000, 300, 2_000)
    proposal = ProposedNomination(unit_id="xjtu", category="institutional", form=form)
    assert check_nomination(REGISTRY, proposal, at=OPEN) == []
    # A provincial WeChat account needs 20,000 followers: the snapshot's figure is the one judged.
    low = registry_form(typed, account(), snapshot("2024-07-01", followers=19_999))
    assert "below_follower_threshold" in codes(
        check_nomination(REGISTRY, ProposedNomination(unit_id="xjtu", category="institutional", form=low), at=OPEN))


def test_registry_figures_name_their_snapshot_on_the_bus_and_in_the_explanation() -> None:
    s = snapshot("2024-07-31", n=7)
    event = registry_metrics(uuid.uuid4(), "institutional", "wechat", s)
    assert (event.source, event.snapshot_id, event.taken_on, event.interactions) == \
        ("registry", s.snapshot_id, date(2024, 7, 31), 2_000)
    metrics = scoring.AccountMetrics(25_000, 300, 2_000, "registry", str(s.snapshot_id), "2024-07-31")
    entries = [scoring.EntryInputs(entry_id="a", name="A", unit_id="u", metrics=metrics),
               scoring.EntryInputs(entry_id="b", name="B", unit_id="u",
                                   metrics=scoring.AccountMetrics(10_000, 100, 500, "reported"))]
    explained = scoring.initial_scores(entries, {"followers": 1, "posts": 1, "interactions": 1})
    assert explained["a"][1]["source"] == "registry"
    assert explained["a"][1]["snapshot"] == {"id": str(s.snapshot_id), "taken_on": "2024-07-31"}
    assert "snapshot" not in explained["b"][1] and explained["b"][1]["source"] == "reported"
    # Another snapshot is another input: the ranking's digest changes with it.
    other = scoring.EntryInputs(entry_id="a", name="A", unit_id="u",
                                metrics=scoring.AccountMetrics(25_000, 300, 2_000, "registry", "other", "2024-07-31"))
    assert entries[0].canonical() != other.canonical()
