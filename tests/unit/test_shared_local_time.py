"""Notices and printed lists name times as the pages do: the campaign's zone, the zone said."""

from __future__ import annotations

from datetime import UTC, datetime

from massline.localtime import local_time
from services.gateway import times

LATE_UTC = "2026-11-27T18:30:00+00:00"  # 02:30 on 28 November in Beijing: the next local day


def test_a_utc_time_late_in_the_day_falls_on_the_next_beijing_day_with_the_zone_named() -> None:
    assert local_time(LATE_UTC, "Asia/Shanghai", "zh") == "北京时间 2026-11-28 02:30"
    assert local_time(datetime(2026, 11, 27, 18, 30, tzinfo=UTC), None, "en") == "2026-11-28 02:30 (UTC+8)"
    assert local_time(datetime(2026, 11, 27, 18, 30), "Mars/Olympus_Mons", "zh") == "北京时间 2026-11-28 02:30"


def test_nothing_gives_nothing_and_text_that_is_no_time_is_given_as_it_came() -> None:
    assert local_time(None, "Asia/Shanghai") == ""
    assert local_time("—", "Asia/Shanghai") == "—"


def test_the_pages_use_the_same_function_as_the_notices() -> None:
    # One implementation: a page and a notice cannot come to say one instant differently.
    assert times.local_time is local_time
