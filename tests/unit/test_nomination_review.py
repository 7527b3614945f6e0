"""The nomination's review decides on its own: which opinions, corrections and withdrawals each status and phase
allows, what status and step follow, and which events and history lines the decision leaves."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from massline.contracts import (
    ActivitySubmitted,
    MetricsReported,
    NominationApproved,
    NominationRejected,
    NominationReturned,
    NominationSubmitted,
    NominationWithdrawn,
)
from services.submission.domain.campaign import Activity, ApprovalStep, load_campaign_file
from services.submission.domain.campaign_state import change_phase, effective_phase, require_newer_version
from services.submission.domain.content import HoldReason
from services.submission.domain.errors import Invalid, NotNow, Refusal
from services.submission.domain.nomination import (
    ActivityReport,
    HistoryEntry,
    Nomination,
    NominationStatus,
    ReviewDecision,
    Revision,
)

STEPS = [
    ApprovalStep(id="unit", name="单位推荐", role="unit"),
    ApprovalStep(id="city", name="市级审核", role="office"),
    ApprovalStep(id="province", name="省级审核", role="office"),
]
SPAM = HoldReason("blocked_term", "introduction", "含有不宜公开的词语", "contains a blocked term")


SHAANXI = load_campaign_file(Path(__file__).parents[2] / "campaigns" / "shaanxi-2024-accounts.yaml")


def nomination(
    status: NominationStatus = "submitted", step_index: int = 1, held_reasons: tuple[HoldReason, ...] = ()
) -> Nomination:
    return Nomination(id=uuid.UUID(int=7), campaign_id="c", unit_id="u1", unit_name="甲单位",
                      category_id="institutional", entry_name="甲号", platform="wechat", status=status,
                      step_index=step_index, summary="服务群众", held_reasons=held_reasons)


def refusal_code(exc: pytest.ExceptionInfo[Refusal]) -> str:
    return exc.value.code


# --- opinions at an approval step -------------------------------------------------------------

def test_an_approval_before_the_last_step_moves_to_the_next_step_and_announces_it_as_not_final() -> None:
    t = nomination(step_index=1).approve("initial_review", STEPS, by="x-office", reason="同意")
    assert (t.nomination.status, t.nomination.step_index) == ("submitted", 2)
    assert t.history == (HistoryEntry("approved", "city", "x-office", "同意"),)
    (event,) = t.events
    assert isinstance(event, NominationApproved)
    assert (event.step_id, event.final, event.summary) == ("city", False, "服务群众")


def test_the_last_steps_approval_makes_the_nomination_an_entry() -> None:
    t = nomination(step_index=2).approve("nomination", STEPS, by="prov-office", reason=None)
    assert (t.nomination.status, t.nomination.step_index) == ("approved", 2)
    (event,) = t.events
    assert isinstance(event, NominationApproved) and event.final and event.step_id == "province"


def test_a_return_sends_the_nomination_back_to_its_unit_with_the_reason_at_the_same_step() -> None:
    t = nomination().return_("initial_review", STEPS, by="x-office", reason="请补充材料")
    assert (t.nomination.status, t.nomination.step_index) == ("returned", 1)
    assert t.history == (HistoryEntry("returned", "city", "x-office", "请补充材料"),)
    (event,) = t.events
    assert isinstance(event, NominationReturned) and (event.step_id, event.reason) == ("city", "请补充材料")


def test_a_rejection_is_final_and_carries_its_reason() -> None:
    t = nomination().reject("nomination", STEPS, by="x-office", reason="不符合条件")
    assert t.nomination.status == "rejected"
    (event,) = t.events
    assert isinstance(event, NominationRejected) and event.reason == "不符合条件"


@pytest.mark.parametrize("decision", ["return", "reject"])
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_returning_or_rejecting_needs_a_reason_approving_does_not(
    decision: ReviewDecision, reason: str | None
) -> None:
    with pytest.raises(Invalid) as exc:
        Nomination.require_review_reason(decision, reason)
    assert refusal_code(exc) == "reason_required"
    Nomination.require_review_reason("approve", reason)


@pytest.mark.parametrize("status", ["held_for_review", "returned", "approved", "rejected", "withdrawn"])
def test_only_a_submitted_nomination_awaits_an_opinion(status: NominationStatus) -> None:
    with pytest.raises(NotNow) as exc:
        nomination(status).review("approve", "initial_review", STEPS, by="x-office", reason=None)
    assert refusal_code(exc) == "not_awaiting_review"
    assert exc.value.details == {"status": status}


@pytest.mark.parametrize("phase", ["voting", "expert_review", "final_review", "publication", None])
def test_offices_review_only_while_nominating_or_in_the_initial_review(phase: str | None) -> None:
    with pytest.raises(NotNow) as exc:
        nomination().review("approve", phase, STEPS, by="x-office", reason=None)
    assert refusal_code(exc) == "phase_closed"
    assert exc.value.details == {"current_phase": phase, "allowed_phases": ["initial_review", "nomination"]}


# --- content the check held -------------------------------------------------------------------

def test_released_content_goes_on_to_its_approval_step_and_is_announced_then() -> None:
    t = nomination("held_for_review").decide_content("release", "nomination", by="x-office", reason="已核实")
    assert (t.nomination.status, t.nomination.step_index) == ("submitted", 1)
    assert t.history == (HistoryEntry("content_released", None, "x-office", "已核实"),)
    (event,) = t.events
    assert isinstance(event, NominationSubmitted) and not event.resubmission


def test_held_content_returned_or_rejected_is_recorded_at_the_content_check_step_with_markup_removed() -> None:
    returned = nomination("held_for_review").decide_content("return", "nomination", by="o", reason="<b>改</b>")
    assert returned.nomination.status == "returned"
    assert returned.history == (HistoryEntry("returned", "content_check", "o", "改"),)
    rejected = nomination("held_for_review").decide_content("reject", "initial_review", by="o", reason="赌场")
    assert rejected.nomination.status == "rejected"
    (event,) = rejected.events
    assert isinstance(event, NominationRejected) and event.reason == "赌场"


def test_a_content_decision_needs_a_held_nomination() -> None:
    with pytest.raises(NotNow) as exc:
        nomination("submitted").decide_content("release", "nomination", by="o", reason="好")
    assert refusal_code(exc) == "not_held_for_review"


# --- the unit's corrections and withdrawal ----------------------------------------------------

def test_a_correction_goes_back_to_the_first_office_step_as_a_new_submission() -> None:
    returned = nomination("returned", step_index=2)
    t = returned.correct("initial_review", Revision("personal", "乙号", "weibo"), 1, by="unit1", unit_opinion="已改")
    assert (t.nomination.status, t.nomination.step_index) == ("submitted", 1)
    assert (t.nomination.category_id, t.nomination.entry_name, t.nomination.platform) == ("personal", "乙号", "weibo")
    assert t.history == (HistoryEntry("resubmitted", None, "unit1", "已改"),)
    (event,) = t.events
    assert isinstance(event, NominationSubmitted) and event.resubmission and event.category_id == "personal"


def test_a_correction_the_content_check_holds_waits_unannounced() -> None:
    t = nomination("returned").correct("nomination", Revision("institutional", "甲号", "wechat", (SPAM,)), 1,
                                       by="unit1", unit_opinion=None)
    assert t.nomination.status == "held_for_review" and t.nomination.held_reasons == (SPAM,)
    assert t.events == ()
    assert t.history[-1] == HistoryEntry("held_for_review", None, "content-check", "含有不宜公开的词语")


@pytest.mark.parametrize(("status", "phase", "code"), [
    ("approved", "nomination", "not_correctable"),
    ("rejected", "nomination", "not_correctable"),
    ("withdrawn", "nomination", "not_correctable"),
    ("submitted", "initial_review", "phase_closed"),
    ("held_for_review", "initial_review", "phase_closed"),
    ("returned", "voting", "phase_closed"),
])
def test_what_may_not_be_corrected(status: NominationStatus, phase: str, code: str) -> None:
    with pytest.raises(NotNow) as exc:
        nomination(status).require_correctable(phase)
    assert refusal_code(exc) == code


def test_a_returned_nomination_may_still_be_corrected_in_the_initial_review() -> None:
    nomination("returned").require_correctable("initial_review")
    nomination("submitted").require_correctable("nomination")


@pytest.mark.parametrize("status", ["submitted", "held_for_review", "returned", "approved"])
def test_a_unit_withdraws_until_results_are_published(status: NominationStatus) -> None:
    t = nomination(status).withdraw("final_review", by="unit1")
    assert t.nomination.status == "withdrawn"
    assert t.history == (HistoryEntry("withdrawn", None, "unit1"),)
    assert [type(e) for e in t.events] == [NominationWithdrawn]
    with pytest.raises(NotNow) as exc:
        nomination(status).withdraw("publication", by="unit1")
    assert refusal_code(exc) == "phase_closed"


@pytest.mark.parametrize("status", ["withdrawn", "rejected"])
def test_a_withdrawn_or_rejected_nomination_cannot_be_withdrawn(status: NominationStatus) -> None:
    with pytest.raises(NotNow) as exc:
        nomination(status).withdraw("nomination", by="unit1")
    assert refusal_code(exc) == "not_withdrawable"


# --- a new nomination -------------------------------------------------------------------------

def test_a_new_nomination_counts_the_units_own_steps_as_approved_with_its_opinion() -> None:
    t = nomination(step_index=1).submit(STEPS, by="unit1", unit_opinion="同意推荐")
    assert t.nomination.status == "submitted"
    assert t.history == (HistoryEntry("submitted", None, "unit1"),
                         HistoryEntry("approved", "unit", "unit1", "同意推荐"))
    assert [type(e) for e in t.events] == [NominationSubmitted]


def test_a_new_nomination_the_content_check_holds_is_not_announced() -> None:
    t = nomination(step_index=1, held_reasons=(SPAM,)).submit(STEPS, by="unit1", unit_opinion=None)
    assert t.nomination.status == "held_for_review" and t.events == ()
    assert t.history[-1].action == "held_for_review"


# --- metrics and the practice activity --------------------------------------------------------

def test_verified_metrics_leave_the_status_alone_and_are_announced_as_verified() -> None:
    t = nomination("returned").verify_metrics(100, 5, 7, by="x-office")
    assert t.nomination.status == "returned"
    (event,) = t.events
    assert isinstance(event, MetricsReported) and (event.source, event.followers) == ("verified", 100)


SHANGHAI = ZoneInfo("Asia/Shanghai")
EVIDENCE = ("https://mp.weixin.qq.com/s/act",)


def test_an_activity_held_within_its_period_keeps_its_part_and_a_late_summary_is_only_marked_late() -> None:
    # seed 000: forfeited when the activity was not *held* in time; a late summary only marks it late
    deadline = datetime(2024, 9, 21, tzinfo=SHANGHAI)
    activity = Activity(summary_deadline=deadline)
    on_time = nomination().submit_activity(activity, deadline, ActivityReport(date(2024, 9, 10), EVIDENCE, SHANGHAI),
                                           by="unit1")
    (event,) = on_time.events
    assert isinstance(event, ActivitySubmitted)
    assert (event.on_time, event.held_in_period, event.held_on, event.evidence_links) == (
        True, True, date(2024, 9, 10), 1)
    late = nomination().submit_activity(activity, deadline + timedelta(days=3),
                                        ActivityReport(date(2024, 9, 10), EVIDENCE, SHANGHAI), by="unit1")
    (event,) = late.events
    assert isinstance(event, ActivitySubmitted) and (event.on_time, event.held_in_period) == (False, True)


def test_an_activity_held_after_its_period_is_reported_as_such() -> None:
    activity = Activity(summary_deadline=datetime(2024, 9, 21, tzinfo=SHANGHAI),
                        held_from=datetime(2024, 8, 19, tzinfo=SHANGHAI))
    at = datetime(2024, 9, 25, tzinfo=SHANGHAI)
    for day in (date(2024, 9, 21), date(2024, 8, 18)):
        (event,) = nomination().submit_activity(activity, at, ActivityReport(day, EVIDENCE, SHANGHAI),
                                                by="unit1").events
        assert isinstance(event, ActivitySubmitted) and event.held_in_period is False
    (event,) = nomination().submit_activity(activity, at, ActivityReport(date(2024, 9, 20), EVIDENCE, SHANGHAI),
                                            by="unit1").events
    assert isinstance(event, ActivitySubmitted) and event.held_in_period is True


def test_a_campaign_may_refuse_a_late_summary() -> None:
    deadline = datetime(2024, 9, 21, tzinfo=SHANGHAI)
    activity = Activity(summary_deadline=deadline, late_summary="refuse")
    with pytest.raises(NotNow) as exc:
        nomination().submit_activity(activity, deadline + timedelta(minutes=1),
                                     ActivityReport(date(2024, 9, 10), EVIDENCE, SHANGHAI), by="unit1")
    assert refusal_code(exc) == "activity_deadline_passed"


def test_an_activity_report_needs_evidence_and_a_day_already_past() -> None:
    activity = Activity(summary_deadline=datetime(2024, 9, 21, tzinfo=SHANGHAI))
    at = datetime(2024, 9, 15, 12, tzinfo=SHANGHAI)
    cases = [(ActivityReport(date(2024, 9, 10), (), SHANGHAI), "activity_evidence_missing"),
             (ActivityReport(date(2024, 9, 10), ("ftp://x",), SHANGHAI), "activity_link_invalid"),
             (ActivityReport(date(2024, 9, 16), EVIDENCE, SHANGHAI), "activity_not_yet_held")]
    for report, code in cases:
        with pytest.raises(Invalid) as exc:
            nomination().submit_activity(activity, at, report, by="unit1")
        assert refusal_code(exc) == code
    with pytest.raises(NotNow) as not_required:
        nomination().submit_activity(None, at, cases[0][0], by="unit1")
    assert refusal_code(not_required) == "activity_not_required"


# --- the campaign's version and phase ---------------------------------------------------------

def test_a_definition_replaces_the_loaded_one_only_with_a_greater_version() -> None:
    require_newer_version(SHAANXI, None)
    require_newer_version(SHAANXI, SHAANXI.version - 1)
    with pytest.raises(NotNow) as exc:
        require_newer_version(SHAANXI, SHAANXI.version)
    assert refusal_code(exc) == "campaign_version_not_newer"


def test_the_operators_phase_wins_over_the_definitions_dates() -> None:
    inside_nomination = SHAANXI.phases[0].starts_at
    assert effective_phase("voting", SHAANXI, inside_nomination) == "voting"
    assert effective_phase(None, SHAANXI, inside_nomination) == SHAANXI.phases[0].id


def test_a_phase_change_is_announced_once_and_only_to_a_phase_the_campaign_has() -> None:
    event = change_phase(SHAANXI, None, "voting")
    assert event is not None and (event.phase, event.previous_phase) == ("voting", None)
    assert change_phase(SHAANXI, "voting", "voting") is None
    with pytest.raises(Invalid) as exc:
        change_phase(SHAANXI.model_copy(update={"phases": SHAANXI.phases[:1]}), None, "voting")
    assert refusal_code(exc) == "unknown_phase"
