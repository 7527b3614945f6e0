"""The health checks' rules (idle, too few posts, no interaction, unanswered questions after one working day) and
a finding's follow-up, without I/O."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from services.registry.domain.errors import Conflict, Forbidden
from services.registry.domain.health import (
    Finding,
    HealthRules,
    Snapshot,
    check_account,
    next_working_day,
    question_overdue,
)

ACCOUNT = uuid.UUID("00000000-0000-0000-0000-0000000000a1")
RULES = HealthRules(stale_days=14, period_days=14, min_posts=2, deadline_days=7)
MONDAY = date(2026, 11, 30)


def snap(taken_on: date, posts: int = 5, reposts: int = 1, comments: int = 1, last: date | None = None,
         questions: int = 0, oldest: date | None = None) -> Snapshot:
    return Snapshot(account_id=ACCOUNT, unit_id="u1", taken_on=taken_on, followers=100, posts=posts, reposts=reposts,
                    comments=comments, last_update_on=last or taken_on, open_questions=questions,
                    oldest_question_on=oldest)


def codes(snapshots: list[Snapshot], today: date, since: date | None = None) -> list[str]:
    return [o.code for o in check_account(snapshots, today, RULES, since)]


def test_a_lively_account_passes() -> None:
    assert codes([snap(MONDAY - timedelta(days=3))], MONDAY) == []


def test_no_update_for_more_than_two_weeks_is_idle() -> None:
    last = MONDAY - timedelta(days=15)
    found = check_account([snap(MONDAY - timedelta(days=1), last=last)], MONDAY, RULES)
    assert [o.code for o in found] == ["idle_no_update"]
    assert found[0].idle and last.isoformat() in found[0].message and "14" in found[0].message_en


def test_an_update_exactly_two_weeks_ago_is_not_yet_idle() -> None:
    assert "idle_no_update" not in codes([snap(MONDAY, last=MONDAY - timedelta(days=14))], MONDAY)


def test_no_figures_at_all_is_idle_once_the_account_has_served_two_weeks() -> None:
    assert codes([], MONDAY, since=MONDAY - timedelta(days=10)) == []
    assert codes([], MONDAY, since=MONDAY - timedelta(days=20)) == ["idle_no_update"]


def test_too_few_posts_in_the_period() -> None:
    old = snap(MONDAY - timedelta(days=20), posts=50)  # outside the period: does not count
    found = codes([old, snap(MONDAY - timedelta(days=2), posts=1)], MONDAY)
    assert found == ["too_few_posts"]


def test_posts_without_any_repost_or_comment_is_no_interaction() -> None:
    found = check_account([snap(MONDAY - timedelta(days=2), posts=9, reposts=0, comments=0)], MONDAY, RULES)
    assert [o.code for o in found] == ["no_interaction"] and found[0].idle


def test_snapshots_after_the_day_checked_are_not_seen() -> None:
    assert codes([snap(MONDAY + timedelta(days=1), posts=0)], MONDAY, since=MONDAY) == []


@pytest.mark.parametrize(("asked", "expected_next"), [
    (date(2026, 12, 4), date(2026, 12, 7)),   # Friday -> Monday
    (date(2026, 12, 5), date(2026, 12, 7)),   # Saturday -> Monday
    (date(2026, 11, 30), date(2026, 12, 1)),  # Monday -> Tuesday
])
def test_next_working_day_skips_the_weekend(asked: date, expected_next: date) -> None:
    assert next_working_day(asked) == expected_next


def test_a_question_asked_on_friday_is_overdue_only_on_tuesday() -> None:
    friday = date(2026, 12, 4)
    assert not question_overdue(friday, date(2026, 12, 6))  # Sunday
    assert not question_overdue(friday, date(2026, 12, 7))  # Monday: still its one working day
    assert question_overdue(friday, date(2026, 12, 8))      # Tuesday


def test_a_listed_holiday_is_not_a_working_day() -> None:
    friday, monday = date(2026, 12, 4), date(2026, 12, 7)
    assert not question_overdue(friday, date(2026, 12, 8), holidays=[monday])
    assert question_overdue(friday, date(2026, 12, 9), holidays=[monday])


def test_unanswered_questions_after_one_working_day_are_a_finding() -> None:
    tuesday = date(2026, 12, 8)
    friday = date(2026, 12, 4)
    found = check_account([snap(tuesday, questions=3, oldest=friday)], tuesday, RULES)
    assert [o.code for o in found] == ["questions_unanswered"]
    assert "3" in found[0].message and friday.isoformat() in found[0].message_en
    assert codes([snap(date(2026, 12, 7), questions=3, oldest=friday)], date(2026, 12, 7)) == []


def _finding() -> Finding:
    seen = check_account([], MONDAY, RULES)[0]
    finding, event = Finding.open(ACCOUNT, "u1", seen, MONDAY, RULES, "city-1", "西安发布")
    assert event.deadline == MONDAY + timedelta(days=7) and event.followed_by == "city-1" and event.idle
    return finding


def test_a_finding_is_fixed_by_its_unit_and_accepted_by_an_office() -> None:
    fixed = _finding().report_fixed("u1", MONDAY + timedelta(days=2))
    closed, event = fixed.accept(MONDAY + timedelta(days=3))
    assert closed.status == "closed" and event.resolution == "fixed" and event.closed_on == MONDAY + timedelta(days=3)


def test_only_the_owning_unit_reports_a_fix_and_a_rejected_fix_reopens() -> None:
    f = _finding()
    with pytest.raises(Forbidden):
        f.report_fixed("u2", MONDAY)
    with pytest.raises(Conflict):
        f.accept(MONDAY)
    assert f.report_fixed("u1", MONDAY).reject().status == "open"


def test_an_overdue_finding_escalates_with_a_new_deadline() -> None:
    f = _finding()
    assert not f.overdue(f.deadline) and f.overdue(f.deadline + timedelta(days=1))
    up, event = f.escalate("province", f.deadline + timedelta(days=1), RULES)
    assert up.followed_by == "province" and up.escalations == 1
    assert event.escalated_to == "province" and event.deadline == f.deadline + timedelta(days=8)


def test_every_check_has_a_title_in_words_on_the_findings_board() -> None:
    from services.gateway import texts
    from services.registry.domain.health import CHECKS

    for code in CHECKS:
        zh, en = texts.UI[f"finding_{code}"]
        assert zh and en and code not in zh
