"""Which days of a campaign's vote log are sealed now, and which the sealer need not read."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.voting.domain.votelog import LoggedDay, days_due, first_open_day

TZ = "Asia/Shanghai"
GRACE = timedelta(seconds=30)


def day(d: date, votes: int = 5, sealed: int = 0, last: datetime | None = None) -> LoggedDay:
    return LoggedDay(d, votes, last or datetime(d.year, d.month, d.day, 4, tzinfo=UTC), sealed)


@pytest.mark.parametrize("now", [datetime(2024, 9, 2, 15, 59, 50, tzinfo=UTC),   # 23:59:50 in Shanghai
                                 datetime(2024, 9, 2, 16, 0, 10, tzinfo=UTC),    # 00:00:10, within the grace
                                 datetime(2024, 9, 2, 16, 0, 40, tzinfo=UTC),    # 00:00:40, past it
                                 datetime(2024, 9, 3, 3, 0, tzinfo=UTC)])
def test_while_voting_is_open_no_day_from_the_first_open_one_is_ever_due(now: datetime) -> None:
    days = [day(date(2024, 9, 1)), day(date(2024, 9, 2)), day(date(2024, 9, 3))]
    due = days_due(days, now, TZ, True, GRACE)
    first = first_open_day(now, TZ, True)
    assert first is not None and all(d < first for d in due)
    # Leaving those days out changes nothing.
    assert days_due([d for d in days if d.day < first], now, TZ, True, GRACE) == due


def test_yesterday_is_due_once_its_midnight_and_the_grace_have_passed_and_a_closed_vote_makes_today_due() -> None:
    yesterday, today = date(2024, 9, 1), date(2024, 9, 2)
    days = [day(yesterday), day(today, last=datetime(2024, 9, 2, 4, tzinfo=UTC))]
    assert days_due(days, datetime(2024, 9, 1, 16, 0, 10, tzinfo=UTC), TZ, True, GRACE) == []
    assert days_due(days, datetime(2024, 9, 1, 16, 0, 40, tzinfo=UTC), TZ, True, GRACE) == [yesterday]
    closed = datetime(2024, 9, 2, 5, tzinfo=UTC)
    assert first_open_day(closed, TZ, False) is None
    assert days_due(days, closed, TZ, False, GRACE) == [yesterday, today]
    assert days_due([day(yesterday, sealed=5)], closed, TZ, False, GRACE) == []
