"""Times on the pages are read in the campaign's own time zone, with the zone said, not as the services' UTC."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
import jwt

from massline import localtime
from services.gateway import times
from services.gateway.app import create_app
from services.gateway.visitor import STAFF_COOKIE

LATE_UTC = "2026-11-27T18:30:00+00:00"  # 02:30 on 28 November in Beijing: the next local day


def test_a_utc_time_late_in_the_day_is_shown_on_the_next_local_day_with_the_zone() -> None:
    assert times.local_time(LATE_UTC, "Asia/Shanghai", "zh") == "北京时间 2026-11-28 02:30"
    assert times.local_time(LATE_UTC, "Asia/Shanghai", "en") == "2026-11-28 02:30 (UTC+8)"
    assert times.local_time(LATE_UTC, "Asia/Shanghai", "zh", fmt="date") == "北京时间 2026-11-28"
    assert times.local_time(LATE_UTC, "Asia/Shanghai", "zh", fmt="time", with_zone=False) == "02:30:00"


def test_aware_naive_and_iso_inputs_name_the_same_instant() -> None:
    aware = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    naive = datetime(2026, 11, 28, 2, 0)  # the services store UTC
    beijing = datetime(2026, 11, 28, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    shown = {times.local_time(v, "Asia/Shanghai", "zh")
             for v in (aware, naive, beijing, "2026-11-28T02:00:00Z", "2026-11-28T02:00:00.123456+00:00",
                       "2026-11-28T02:00:00", "2026-11-28T10:00:00+08:00")}
    assert shown == {"北京时间 2026-11-28 10:00"}


def test_nothing_shows_nothing_and_text_that_is_no_time_is_shown_as_it_came() -> None:
    assert times.local_time(None, "Asia/Shanghai", "zh") == ""
    assert times.local_time("", "Asia/Shanghai", "en") == ""
    assert times.local_time("soon", "Asia/Shanghai", "zh") == "soon"
    assert times.local_time(date(2026, 11, 28), "Asia/Shanghai", "zh") == "2026-11-28"


def test_a_campaign_without_a_zone_or_with_an_unknown_one_is_read_in_beijing_time() -> None:
    for tz in (None, "", "Mars/Olympus_Mons", "Asia/Chongqing"):
        assert times.local_time(LATE_UTC, tz, "zh") == "北京时间 2026-11-28 02:30"
        assert times.local_time(LATE_UTC, tz, "en") == "2026-11-28 02:30 (UTC+8)"


def test_another_zone_is_named_by_its_offset_at_that_moment() -> None:
    assert times.local_time("2026-07-01T09:00:00Z", "Europe/Berlin", "en") == "2026-07-01 11:00 (UTC+2)"
    assert times.local_time("2026-01-15T09:00:00Z", "Europe/Berlin", "zh") == "2026-01-15 10:00（UTC+1）"
    assert times.local_time("2026-01-15T09:00:00Z", "Asia/Kolkata", "en") == "2026-01-15 14:30 (UTC+5:30)"
    assert times.local_time("2026-01-15T09:00:00Z", "UTC", "en") == "2026-01-15 09:00 (UTC)"
    assert times.zone_note("Asia/Shanghai", "zh") == "（北京时间）"
    assert times.zone_note("Asia/Shanghai", "en") == " (UTC+8)"
    assert times.zone_note("Europe/Berlin", "en") == " (Europe/Berlin)"  # summer time: no one offset


def test_without_a_time_zone_database_beijing_time_is_still_shown(monkeypatch) -> None:
    def missing(key: str) -> Any:
        raise localtime.ZoneInfoNotFoundError(key)

    monkeypatch.setattr(localtime, "ZoneInfo", missing)
    times.zone.cache_clear()
    try:
        assert times.local_time(LATE_UTC, "Asia/Shanghai", "zh") == "北京时间 2026-11-28 02:30"
        assert times.local_time(LATE_UTC, "Europe/Berlin", "en") == "2026-11-28 02:30 (UTC+8)"
    finally:
        times.zone.cache_clear()


# --- on the pages: the filter in the gateway's templates ----------------------------------------------

CAMPAIGN = {"id": "tz-demo", "title": "时区演示", "title_en": "Time zone demo", "organizer": "主办方",
            "timezone": "Asia/Shanghai", "current_phase": "expert_review", "categories": [], "voting": None,
            "phases": [{"id": "voting", "name": "投票", "name_en": "Voting",
                        "starts_at": "2026-11-20T00:00:00+08:00", "ends_at": "2026-11-27T16:00:00+00:00"}]}


def _upstream(campaign: dict[str, Any]) -> httpx.AsyncClient:
    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == f"/campaigns/{campaign['id']}":
            return httpx.Response(200, json=campaign)
        if path.endswith("/results"):
            return httpx.Response(200, json={"published_at": LATE_UTC, "version": 1, "categories": {}})
        if path.endswith("/my-assignments"):
            return httpx.Response(200, json={"deadline": "2026-11-30T15:59:00+00:00", "criteria": {"expert": []},
                                             "assignments": [{
                "entry_id": "e1", "component": "expert", "entry_name": "甲大学", "unit_name": "甲", "category_id": "x",
                "status": "draft", "score": None, "locked": False, "reopened": True,
                "reopenings": [{"reopened_by": "committee-1", "reopened_at": LATE_UTC, "reason": "录入有误"}]}]})
        return httpx.Response(404, json={"error": {"code": "not_found"}})

    return httpx.AsyncClient(transport=httpx.MockTransport(answer))


async def _page(path: str, campaign: dict[str, Any] = CAMPAIGN, staff: bool = False) -> str:
    upstream = _upstream(campaign)
    app = create_app(client=upstream)
    cookies = {}
    if staff:
        cookies[STAFF_COOKIE] = jwt.encode({"sub": "expert-1", "role": "expert", "exp": int(time.time()) + 600},
                                           "test-secret-not-checked-by-the-gateway", algorithm="HS256")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pages",
                                 cookies=cookies) as client:
        r = await client.get(path)
    await upstream.aclose()
    assert r.status_code == 200, r.text
    return r.text


async def test_the_public_results_and_schedule_show_beijing_time_with_the_zone() -> None:
    page = await _page("/c/tz-demo/results")
    assert f'<time datetime="{LATE_UTC}">北京时间 2026-11-28 02:30</time>' in page
    page = await _page("/c/tz-demo/results?lang=en")
    assert f'<time datetime="{LATE_UTC}">2026-11-28 02:30 (UTC+8)</time>' in page
    page = await _page("/c/tz-demo")
    assert "活动安排（北京时间）" in page
    assert ">2026-11-20 00:00</time> – <time datetime=\"2026-11-27T16:00:00+00:00\">2026-11-28 00:00</time>" in page


async def test_a_campaign_in_another_zone_is_shown_in_its_own() -> None:
    page = await _page("/c/tz-demo/results?lang=en", {**CAMPAIGN, "timezone": "Europe/Berlin"})
    assert "2026-11-27 19:30 (UTC+1)" in page


async def test_the_expert_reads_when_a_score_was_reopened_and_the_deadline_in_beijing_time() -> None:
    page = await _page("/console/c/tz-demo/scoring", staff=True)
    assert "重新开放：committee-1，北京时间 2026-11-28 02:30" in page
    assert '<time datetime="2026-11-30T15:59:00+00:00">北京时间 2026-11-30 23:59</time>' in page
    assert "2026-11-27 18:30" not in page  # the UTC reading is nowhere
    page = await _page("/console/c/tz-demo/scoring?lang=en", staff=True)
    assert "Reopened by committee-1 at 2026-11-28 02:30 (UTC+8)" in page

