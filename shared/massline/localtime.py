"""Times in texts people read (notices, e-mail, printed lists): in the campaign's time zone, with the zone said.

The services keep UTC; a text shows the same instant in the campaign's own zone (`timezone` in its
definition, Asia/Shanghai when it names none or an unknown one) and says which zone that is:
"北京时间 2026-11-28 10:00" in Chinese, "2026-11-28 10:00 (UTC+8)" in English, and for any other zone
its offset at that moment, "2026-01-15 10:00（UTC+1）" / "2026-01-15 10:00 (UTC+1)". The pages say it
the same way (services/gateway/times.py uses this module). A time without an offset is taken to be UTC.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"
# Names of the zone of Beijing time (the tz database's links to Asia/Shanghai).
BEIJING_ZONES = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC"})
# Used only when the machine has no time zone database: China has kept UTC+8 without summer time since 1991.
_BEIJING_FIXED = timezone(timedelta(hours=8), "Asia/Shanghai")


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
        return datetime.fromtimestamp(value, UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def utc_offset(offset: timedelta | None) -> str:
    """`UTC+8`, `UTC+5:30`, `UTC-3:30`, `UTC`."""
    minutes = int((offset or timedelta(0)).total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


FORMATS = {"datetime": "%Y-%m-%d %H:%M", "date": "%Y-%m-%d", "time": "%H:%M:%S", "moment": "%m-%d %H:%M:%S"}


def local_time(value: Any, tz: str | None = None, lang: str = "zh", fmt: str = "datetime",
               with_zone: bool = True) -> str:
    """An instant as the campaign's people read it: `北京时间 2026-11-28 10:00`, `2026-11-28 10:00 (UTC+8)`.

    `fmt` is `datetime` (to the minute), `date`, `time` or `moment` (month and day, to the second);
    `with_zone=False` leaves the zone to a heading that says it once. Nothing for no value; a text that is not a
    time is given as it came.
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
