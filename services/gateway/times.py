"""Times on the pages, as the people of the campaign read them: in the campaign's time zone, with the zone said.

The services speak UTC (ISO 8601 strings with an offset, or aware datetimes); a page shows the same instant
in the campaign's own zone (`timezone` in its definition, Asia/Shanghai when it names none) and says which
zone that is: "北京时间 2026-11-28 10:00" on a Chinese page, "2026-11-28 10:00 (UTC+8)" on an English one.
A time without an offset is taken to be UTC, as the services store it. Machine-readable `datetime`
attributes keep the service's own value.
"""

from __future__ import annotations

from datetime import UTC, datetime

from massline.localtime import DEFAULT_ZONE, FORMATS, instant, local_time, utc_offset, zone

__all__ = ["DEFAULT_ZONE", "FORMATS", "instant", "local_time", "utc_offset", "zone", "zone_label", "zone_note"]


def zone_label(tz: str | None, lang: str = "zh", at: datetime | None = None) -> str:
    """The zone in words: 北京时间 on a Chinese page; otherwise its offset from UTC at that moment.

    Without a moment, a zone whose offset changes over the year (summer time) is named by its tz name.
    """
    where, beijing = zone(tz)
    if beijing and lang != "en":
        return "北京时间"
    if at is not None:
        return utc_offset(at.astimezone(where).utcoffset())
    year = datetime.now(UTC).year
    winter, summer = (datetime(year, m, 1, tzinfo=UTC).astimezone(where).utcoffset() for m in (1, 7))
    return utc_offset(winter) if winter == summer else str(getattr(where, "key", tz or DEFAULT_ZONE))


def zone_note(tz: str | None, lang: str = "zh") -> str:
    """The zone as a note after a heading: `（北京时间）`, ` (UTC+8)`."""
    label = zone_label(tz, lang)
    return f" ({label})" if lang == "en" else f"（{label}）"
