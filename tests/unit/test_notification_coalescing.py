"""'Ranking ready' notices are coalesced: at most one per recipient per quarter hour, the latest standing for all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notification import domain
from services.notification.domain import COALESCE_WINDOW, Notice, NoticeWindow, coalesce

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
COMMITTEE = "committee:shaanxi"


def ranking(category: str, digest: str, recipient: str = COMMITTEE) -> Notice:
    return Notice("ranking_ready", recipient, {"category_id": category, "entries_count": 3, "rule_version": "r@1"},
                  {"category_id": category, "inputs_digest": digest})


def test_the_first_goes_out_and_the_rest_of_the_quarter_hour_are_held_as_the_latest() -> None:
    pending = [(i, ranking("institutional", f"d{i}")) for i in range(84)]
    plan = coalesce(pending, {}, T0)
    assert [source for source, _ in plan.send] == [0]
    window = plan.windows[(COMMITTEE, "ranking_ready")]
    assert window.last_sent_at == T0
    assert window.held is not None and window.held[0] == 83 and window.held[1].refs["inputs_digest"] == "d83"
    assert not window.due(T0 + timedelta(minutes=14, seconds=59))
    assert window.due(T0 + COALESCE_WINDOW)


def test_within_the_window_everything_is_held_and_after_it_the_next_goes_out_at_once() -> None:
    stored = {(COMMITTEE, "ranking_ready"): NoticeWindow[int](last_sent_at=T0)}
    held = coalesce([(1, ranking("institutional", "a"))], stored, T0 + timedelta(minutes=5))
    assert held.send == [] and held.windows[(COMMITTEE, "ranking_ready")].held is not None
    later = coalesce([(2, ranking("institutional", "b"))], held.windows, T0 + timedelta(minutes=15))
    assert [(s, n.refs["inputs_digest"]) for s, n in later.send] == [(2, "b")]
    assert later.windows[(COMMITTEE, "ranking_ready")] == NoticeWindow(last_sent_at=T0 + timedelta(minutes=15))


def test_the_notice_that_stands_for_several_lists_every_category_it_covers() -> None:
    stored = {(COMMITTEE, "ranking_ready"): NoticeWindow[int](last_sent_at=T0)}
    plan = coalesce([(1, ranking("institutional", "a")), (2, ranking("personal", "b"))], stored,
                    T0 + timedelta(minutes=1))
    window = plan.windows[(COMMITTEE, "ranking_ready")]
    assert window.held is not None
    source, notice = window.held
    assert source == 2 and notice.facts["category_id"] == "personal"
    assert notice.refs["categories"] == "institutional,personal"
    # The held one goes out with the next, after the window, still listing both.
    [(_, sent)] = coalesce([(3, ranking("personal", "c"))], plan.windows, T0 + timedelta(minutes=16)).send
    assert sent.refs["categories"] == "institutional,personal" and sent.refs["inputs_digest"] == "c"


def test_each_recipient_has_its_own_window_and_other_notices_are_never_held() -> None:
    other = "committee:henan"
    nomination = Notice("nomination_received", "unit:u1", {}, {})
    plan = coalesce([(1, ranking("a", "1")), (2, ranking("a", "1", other)), (3, nomination), (4, nomination),
                     (5, ranking("a", "2"))], {}, T0)
    assert [s for s, _ in plan.send] == [1, 2, 3, 4]
    assert set(plan.windows) == {(COMMITTEE, "ranking_ready"), (other, "ranking_ready")}
    assert domain.COALESCED_TEMPLATES == {"ranking_ready"}


def test_a_window_with_nothing_held_is_never_due() -> None:
    assert not NoticeWindow[int](last_sent_at=T0).due(T0 + timedelta(days=1))
    assert NoticeWindow[int](held=(1, ranking("a", "1"))).due(T0)
