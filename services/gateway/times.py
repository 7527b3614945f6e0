"""Times on the pages, as the people of the campaign read them: in the campaign's time zone, with the zone said.

The services speak UTC (ISO 8601 strings with an offset, or aware datetimes); a page shows the same instant
in the campaign's own zone (`timezone` in its definition, Asia/Shanghai when it names none) and says which
zone that is: "北京时间 2026-11-28 10:00" on a Chinese page, "2026-11-28 10:00 (UTC+8)" on an English one.
A time without an offset is taken to be UTC, as the services store it. Machine-readable `datetime`
attributes keep the service's own value.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"
# Names of the zone of Beijing time (the tz database's links to Asia/Shanghai).
BEIJING_ZONES = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC"})
# Used only when the machine has no time zone database: China has kept UTC+8 without summer time since 1991.
_BEIJING_FIXED = timezone(timedelta(hours=8), "Asia/Shanghai")

FORMATS = {"datetime": "%Y-%m-%d %H:%M", "date": "%Y-%m-%d", "time": "%H:%M:%S"}


@functools.lru_cache(maxsize=64)
def zone(name: str | None) -> tuple[tzinfo, bool]:
    """The zone a campaign names, and whether it is Beijing time; Beijing time when it names none or an unknown one."""
    if name and name not in BEIJING_ZONES:
        try:
            return ZoneInfo(name), False
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        return ZoneInfo(DEFAULT_ZONE), True
    except ZoneInfoNotFoundError:
        return _BEIJING_FIXED, True


def instant(value: Any) -> datetime | None:
    """An aware datetime from what a service sent (ISO string, datetime, seconds since the epoch); None if none."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def utc_offset(offset: timedelta | None) -> str:
    """`UTC+8`, `UTC+5:30`, `UTC-3:30`, `UTC`."""
    minutes = int((offset or timedelta(0)).total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_label(tz: str | None, lang: str = "zh", at: datetime | None = None) -> str:
    """The zone in words: 北京时间 on a Chinese page; otherwise its offset from UTC at that moment.

    Without a moment, a zone whose offset changes over the year (summer time) is named by its tz name.
    """
    where, beijing = zone(tz)
    if beijing and lang != "en":
        return "北京时间"
    if at is not None:
        return utc_offset(at.astimezone(where).utcoffset())
    year = datetime.now(timezone.utc).year
    winter, summer = (datetime(year, m, 1, tzinfo=timezone.utc).astimezone(where).utcoffset() for m in (1, 7))
    return utc_offset(winter) if winter == summer else str(getattr(where, "key", tz or DEFAULT_ZONE))


def zone_note(tz: str | None, lang: str = "zh") -> str:
    """The zone as a note after a heading: `（北京时间）`, ` (UTC+8)`."""
    label = zone_label(tz, lang)
    return f" ({label})" if lang == "en" else f"（{label}）"


def local_time(value: Any, tz: str | None = None, lang: str = "zh", fmt: str = "datetime",
               with_zone: bool = True) -> str:
    """An instant as the campaign's people read it: `北京时间 2026-11-28 10:00`, `2026-11-28 10:00 (UTC+8)`.

    `fmt` is `datetime` (to the minute), `date` or `time` (to the second); `with_zone=False` leaves the zone to
    a heading that says it once. Nothing for no value; a text that is not a time is shown as it came.
    """
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()  # a calendar day has no zone
    moment = instant(value)
    if moment is None:
        return "" if value is None else str(value)
    where, beijing = zone(tz)
    local = moment.astimezone(where)
    text = local.strftime(FORMATS.get(fmt, FORMATS["datetime"]))
    if not with_zone:
        return text
    if beijing and lang != "en":
        return f"北京时间 {text}"
    label = utc_offset(local.utcoffset())
    return f"{text} ({label})" if lang == "en" else f"{text}（{label}）"
