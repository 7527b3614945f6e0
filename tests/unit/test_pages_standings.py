"""The public standings page: where the campaign shows counts, each entry says how many votes are held for review
and invalidated, and why; a sentence says held votes do not count until reviewed. Never a voter."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app

A, B = str(uuid.uuid4()), str(uuid.uuid4())


def _campaign(show_counts: str, phase: str) -> dict[str, Any]:
    return {"id": "c1", "title": "推选活动", "title_en": "The selection", "organizer": "o", "timezone": "Asia/Shanghai",
            "current_phase": phase, "phases": [], "voting": {"show_counts": show_counts, "votes_per_day": 10},
            "categories": [{"id": "gov", "name": "政务账号", "name_en": "Government accounts"}]}


def _standings(counts: bool, ranks: bool = False) -> dict[str, Any]:
    a: dict[str, Any] = {"entry_id": A, "name": "甲号", "unit_name": "甲单位", "rank": 1}
    b: dict[str, Any] = {"entry_id": B, "name": "乙号", "unit_name": "乙单位", "rank": 2}
    if counts:
        a.update(votes=96, held=4, invalidated=6, reasons={
            "held": [{"reason_code": "device_shared", "votes": 4, "reason": "many identities voting from one device",
                      "reason_zh": "多个身份使用同一设备投票"}],
            "invalidated": [{"reason_code": "coordinated_cohort", "votes": 6,
                             "reason": "identities backing one entry that share traits of a script",
                             "reason_zh": "为同一作品投票的一批身份在多项特征上高度一致"}]})
        b.update(votes=50, held=0, invalidated=0, reasons={"held": [], "invalidated": []})
    if ranks:  # as the voting service answers where ranks show: whether, and why, never how many
        a.update(has_held=True, has_invalidated=False, reasons={
            "held": [{"reason_code": "device_shared", "reason": "many identities voting from one device",
                      "reason_zh": "多个身份使用同一设备投票"}], "invalidated": []})
        b.update(has_held=False, has_invalidated=False, reasons={"held": [], "invalidated": []})
    return {"campaign_id": "c1", "phase": "voting", "counts_shown": counts, "categories": {"gov": [a, b]}}


def _site(show_counts: str, phase: str = "voting") -> TestClient:
    counts = show_counts == "always" or phase != "voting"

    def upstream(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/campaigns/c1/standings":
            return httpx.Response(200, json=_standings(counts, ranks=show_counts == "rank_only"))
        if request.url.path == "/campaigns/c1":
            return httpx.Response(200, json=_campaign(show_counts, phase))
        return httpx.Response(404, json={"error": {"code": "not_found"}})

    client = httpx.AsyncClient(transport=httpx.MockTransport(upstream))
    return TestClient(create_app(client=client))


def test_the_standings_page_shows_held_and_invalidated_votes_with_their_reasons_in_chinese() -> None:
    page = _site("always").get("/c/c1/standings").text
    assert "待核查 4 票 / 已作废 6 票" in page
    assert "待核查：多个身份使用同一设备投票（4 票）" in page
    # The rule's label as the anti-fraud service put it on its decisions: the gateway keeps no copy of its own.
    assert "已作废：为同一作品投票的一批身份在多项特征上高度一致（6 票）" in page
    assert "核查完成前不计入票数" in page
    assert page.count('class="vote-states"') == 1  # an entry without held or invalidated votes says nothing


def test_the_standings_page_says_the_same_in_english() -> None:
    page = _site("always").get("/c/c1/standings?lang=en").text
    assert "4 held for review / 6 invalidated" in page
    assert "Held: many identities voting from one device (4)" in page
    assert "Invalidated: identities backing one entry that share traits of a script (6)" in page
    assert "held for review and do not count until they are reviewed" in page


@pytest.mark.parametrize("show", ["rank_only", "hidden"])
def test_no_counts_of_held_votes_while_the_campaign_hides_counts(show: str) -> None:
    page = _site(show).get("/c/c1/standings").text
    assert "待核查 4 票" not in page and "（4 票）" not in page and "核查完成前不计入票数" not in page


def test_where_only_ranks_show_an_entry_says_it_has_votes_held_and_why_without_a_number() -> None:
    """Ranks move when votes are held: the entry whose votes are held says so, and why, in both languages; the other
    says nothing, and no count shows."""
    page = _site("rank_only").get("/c/c1/standings").text
    assert "部分选票待核查" in page and "待核查：多个身份使用同一设备投票" in page and "已作废" not in page.split("甲号")[1]
    assert page.count('class="vote-states"') == 1 and "（4 票）" not in page
    page = _site("rank_only").get("/c/c1/standings?lang=en").text
    assert "Some votes held for review" in page and "Held: many identities voting from one device" in page
    assert "(4)" not in page
