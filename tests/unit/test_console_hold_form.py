"""The console's hold form: times in the campaign's zone both ways, a jump still open held up to now, and what is
no time sent as typed for the service to refuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.gateway.routes.holds import from_local, hold_body, local_input, still_open


def test_a_jump_s_times_show_in_the_campaign_s_zone_and_go_back_with_its_offset() -> None:
    assert local_input("2026-12-06T14:00:00Z", "Asia/Shanghai") == "2026-12-06T22:00"
    assert local_input("2026-12-06T14:00:05Z", "Asia/Shanghai") == "2026-12-06T22:00:05"  # seconds kept
    assert from_local("2026-12-06T22:00", "Asia/Shanghai") == "2026-12-06T22:00:00+08:00"
    assert from_local("2026-12-06T14:00:00+00:00", "Asia/Shanghai") == "2026-12-06T14:00:00+00:00"
    # a time a datetime cannot show in the zone, or none at all: an empty field
    assert local_input("9999-12-31T23:59:59Z", "Asia/Shanghai") == "" and local_input("soon", None) == ""


def test_the_form_goes_to_the_service_with_its_offsets_and_an_empty_end_is_now() -> None:
    body = hold_body({"entry_id": " e1 ", "start": "2026-12-06T22:00", "end": "", "identities": "all",
                      "reason": " 截图 "}, "Asia/Shanghai")
    assert body == {"entry_id": "e1", "start": "2026-12-06T22:00:00+08:00", "identities": "all", "reason": "截图"}
    assert hold_body({"start": "yesterday", "end": "later"}, None)["end"] == "later"  # the service says why not


def test_a_window_the_clock_has_not_reached_is_still_open() -> None:
    now = datetime.now(UTC)
    assert still_open((now + timedelta(minutes=5)).isoformat())
    assert not still_open((now - timedelta(minutes=5)).isoformat()) and not still_open(None)
