"""What notification makes of the registry's health events: who is told, and what the notice says."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from massline.contracts import (
    AccountFindingClosed,
    AccountFindingEscalated,
    AccountFindingOpened,
    RegistryReportProduced,
)
from services.notification.domain import notices_for
from services.notification.rendering import TemplateCatalog

FINDING = uuid.UUID("7c1e2d3f-0000-4000-8000-000000000001")
ACCOUNT = uuid.uuid4()


@pytest.fixture(scope="module")
def catalog() -> TemplateCatalog:
    return TemplateCatalog.load()


def test_a_finding_goes_to_the_owning_unit_with_its_deadline(catalog: TemplateCatalog) -> None:
    event = AccountFindingOpened(finding_id=FINDING, account_id=ACCOUNT, unit_id="u1", code="idle_no_update",
                                 idle=True, observed_on=date(2026, 12, 1), deadline=date(2026, 12, 8),
                                 message="账号超过14天未更新", message_en="No update for more than 14 days",
                                 followed_by="city-x", verified_name="西安发布")
    [notice] = notices_for(event, "registry")
    assert notice.recipient == "unit:u1"
    zh = catalog.render_notice(notice, "registry", None, "zh")
    en = catalog.render_notice(notice, "registry", None, "en")
    assert "西安发布" in zh.subject and "2026-12-08" in zh.body and "账号超过14天未更新" in zh.body
    assert "No update for more than 14 days" in en.body and "7c1e2d3f" in en.body


def test_an_escalation_tells_the_office_now_following_it_and_the_unit(catalog: TemplateCatalog) -> None:
    event = AccountFindingEscalated(finding_id=FINDING, account_id=ACCOUNT, unit_id="u1", code="no_interaction",
                                    escalated_to="prov", deadline=date(2026, 12, 20), escalations=2,
                                    verified_name="西安发布")
    notices = notices_for(event, "registry")
    assert [n.recipient for n in notices] == ["office:prov", "unit:u1"]
    body = catalog.render_notice(notices[0], "registry", None, "zh").body
    assert "第2次上报" in body and "2026-12-20" in body


def test_a_closing_says_how_it_ended(catalog: TemplateCatalog) -> None:
    for resolution, words in (("fixed", "确认整改完成"), ("withdrawn", "撤销")):
        event = AccountFindingClosed(finding_id=FINDING, account_id=ACCOUNT, unit_id="u1", code="no_interaction",
                                     resolution=resolution, closed_on=date(2026, 12, 9), verified_name="西安发布")
        [notice] = notices_for(event, "registry")
        assert words in catalog.render_notice(notice, "registry", None, "zh").body


def test_a_monthly_report_goes_to_its_office_only() -> None:
    def report(scope: str) -> RegistryReportProduced:
        return RegistryReportProduced(report_id=uuid.uuid4(), month="2026-11", scope=scope, accounts=3,
                                      idle_accounts=1, open_findings=2)

    assert [n.recipient for n in notices_for(report("city-x"), "registry")] == ["office:city-x"]
    assert notices_for(report("all"), "registry") == []
