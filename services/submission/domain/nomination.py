"""A nomination's review: its status and approval step, which decisions are allowed, and the events they cause.

    submitted ──approve──▶ submitted (next step) … ──approve (last step)──▶ approved
        │  └──return──▶ returned ──correct──▶ submitted (first office step) / held_for_review
        └──reject──▶ rejected
    held_for_review ──release──▶ submitted │ ──return──▶ returned │ ──reject──▶ rejected
    any status but withdrawn or rejected ──withdraw──▶ withdrawn (until results are published)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, tzinfo
from typing import Literal

from massline.approval import HistoryEntry, is_last_step
from massline.contracts import (
    ActivitySubmitted,
    MetricsReported,
    NominationApproved,
    NominationRejected,
    NominationReturned,
    NominationSubmitted,
    NominationWithdrawn,
)
from massline.contracts.envelope import Event

from .campaign import Activity, ApprovalStep
from .campaign_state import REVIEW_PHASES, WITHDRAWAL_PHASES, require_phase
from .content import HoldReason, neutralise
from .errors import Invalid, NotNow

NominationStatus = Literal["submitted", "held_for_review", "returned", "approved", "rejected", "withdrawn"]
ReviewDecision = Literal["approve", "return", "reject"]
ContentDecision = Literal["release", "return", "reject"]

# The step id recorded when a person decides on content the automatic check held.
CONTENT_CHECK_STEP = "content_check"
# The actor recorded when the automatic content check holds a nomination.
CONTENT_CHECKER = "content-check"


@dataclass(frozen=True)
class Revision:
    """A corrected form as the nomination carries it: category, public name, platform and content concerns."""

    category_id: str
    entry_name: str
    platform: str | None
    holds: tuple[HoldReason, ...] = ()


@dataclass(frozen=True)
class ActivityReport:
    """What a unit reports of its practice activity: the day it was held (campaign time), its evidence links
    (posts, pages that show it happened) and the summary."""

    held_on: date
    links: tuple[str, ...]
    zone: tzinfo

    @property
    def held_at(self) -> datetime:
        """The start of the day it was held, in the campaign's time zone."""
        return datetime.combine(self.held_on, time(0), self.zone)

    def check(self, at: datetime) -> None:
        """An activity is reported once held, with at least one http(s) link as evidence."""
        if self.held_at > at:
            raise Invalid("activity_not_yet_held", "活动开展日期不能晚于今天",
                          "The activity cannot be reported before the day it is held",
                          {"held_on": self.held_on.isoformat()})
        if not self.links:
            raise Invalid("activity_evidence_missing", "须提供至少一个活动佐证链接",
                          "Give at least one link that shows the activity", {"field": "links"})
        bad = [link for link in self.links if not link.startswith(("https://", "http://"))]
        if bad:
            raise Invalid("activity_link_invalid", "佐证链接须以 http:// 或 https:// 开头",
                          "Evidence links must start with http:// or https://", {"links": bad})


@dataclass(frozen=True)
class Transition:
    """The outcome of a decision: the nomination's new state, the history lines and the events to record."""

    nomination: Nomination
    history: tuple[HistoryEntry, ...]
    events: tuple[Event, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Nomination:
    """A nomination as its review sees it. Methods decide; they never store anything."""

    id: uuid.UUID
    campaign_id: str
    unit_id: str
    unit_name: str
    category_id: str
    entry_name: str
    platform: str | None
    status: NominationStatus
    # Index into the campaign's approval steps of the step whose opinion is awaited.
    step_index: int
    # The public summary an approval announces (introduction or main deeds).
    summary: str = ""
    held_reasons: tuple[HoldReason, ...] = ()

    def submit(self, steps: Sequence[ApprovalStep], *, by: str, unit_opinion: str | None) -> Transition:
        """Registers this new nomination, whose step is the first office step: the unit's own steps count as
        approved with its opinion; content the check held waits for an office, anything else is announced."""
        first_step = self.step_index
        held = bool(self.held_reasons)
        new = replace(self, status="held_for_review" if held else "submitted")
        history = [HistoryEntry("submitted", None, by)]
        history += [HistoryEntry("approved", step.id, by, unit_opinion) for step in steps[:first_step]]
        if held:
            history.append(HistoryEntry("held_for_review", None, CONTENT_CHECKER, new.hold_summary()))
            # A held nomination is announced only once a person has released it: nothing unchecked leaves.
            return Transition(new, tuple(history))
        return Transition(new, tuple(history), (new._submitted(),))

    def hold_summary(self) -> str:
        return "；".join(h.message_zh for h in self.held_reasons)[:1000]

    def reported_metrics(self, followers: int, posts: int, interactions: int) -> MetricsReported:
        """The account metrics the unit reported with its form."""
        return MetricsReported(nomination_id=self.id, category_id=self.category_id, platform=self.platform,
                               followers=followers, posts=posts, interactions=interactions, source="reported")

    # --- the office's opinion at an approval step ---------------------------------------------

    @staticmethod
    def require_review_reason(decision: ReviewDecision, reason: str | None) -> None:
        """Returning or rejecting records why; approving may."""
        if decision != "approve" and not (reason or "").strip():
            raise Invalid("reason_required", "退回或不通过须说明理由", "A reason is required to return or reject")

    def review(
        self, decision: ReviewDecision, phase: str | None, steps: Sequence[ApprovalStep], *, by: str,
        reason: str | None,
    ) -> Transition:
        if decision == "approve":
            return self.approve(phase, steps, by=by, reason=reason)
        if decision == "return":
            return self.return_(phase, steps, by=by, reason=reason)
        return self.reject(phase, steps, by=by, reason=reason)

    def approve(self, phase: str | None, steps: Sequence[ApprovalStep], *, by: str, reason: str | None) -> Transition:
        """The current step approves; after the last step the nomination is an entry of the campaign."""
        step = self._awaited_step(phase, steps)
        final = is_last_step(steps, self.step_index)
        new = replace(self, status="approved" if final else "submitted",
                      step_index=self.step_index + (0 if final else 1))
        event = NominationApproved(
            nomination_id=self.id, unit_id=self.unit_id, category_id=self.category_id, entry_name=self.entry_name,
            unit_name=self.unit_name, platform=self.platform, summary=self.summary[:1000], step_id=step.id,
            final=final)
        return Transition(new, (HistoryEntry("approved", step.id, by, reason),), (event,))

    def return_(self, phase: str | None, steps: Sequence[ApprovalStep], *, by: str, reason: str | None) -> Transition:
        """The current step returns the nomination to its unit for correction."""
        Nomination.require_review_reason("return", reason)
        step = self._awaited_step(phase, steps)
        return self._returned(step.id, by, reason)

    def reject(self, phase: str | None, steps: Sequence[ApprovalStep], *, by: str, reason: str | None) -> Transition:
        """The current step refuses the nomination for good."""
        Nomination.require_review_reason("reject", reason)
        step = self._awaited_step(phase, steps)
        return self._rejected(step.id, by, reason)

    def _awaited_step(self, phase: str | None, steps: Sequence[ApprovalStep]) -> ApprovalStep:
        require_phase(phase, REVIEW_PHASES, "审核", "Reviewing")
        if self.status != "submitted":
            raise NotNow("not_awaiting_review", "该推荐当前不在待审状态", "This nomination is not awaiting review",
                         {"status": self.status})
        return steps[self.step_index]

    # --- content the automatic check held -----------------------------------------------------

    @staticmethod
    def require_content_reason(reason: str) -> None:
        """Every decision on held content records why."""
        if not reason.strip():
            raise Invalid("reason_required", "审核意见须说明理由", "Every review decision records its reason")

    def decide_content(self, decision: ContentDecision, phase: str | None, *, by: str, reason: str) -> Transition:
        """An office's decision on held content: release it to its approval step, return it, or reject it.
        The reason is shown to the unit, so markup is taken out of it."""
        Nomination.require_content_reason(reason)
        reason = neutralise(reason)
        require_phase(phase, REVIEW_PHASES, "审核", "Reviewing")
        if self.status != "held_for_review":
            raise NotNow("not_held_for_review", "该推荐未因内容问题待审", "This nomination is not held for review",
                         {"status": self.status})
        if decision == "release":
            new = replace(self, status="submitted")
            return Transition(new, (HistoryEntry("content_released", None, by, reason),), (new._submitted(),))
        if decision == "return":
            return self._returned(CONTENT_CHECK_STEP, by, reason)
        return self._rejected(CONTENT_CHECK_STEP, by, reason)

    # --- the unit's own actions ---------------------------------------------------------------

    def require_correctable(self, phase: str | None) -> None:
        """A returned nomination is corrected while nominating or in the initial review; one awaiting review (or
        held) only while nominating; an approved, rejected or withdrawn one never."""
        allowed = {"nomination", "initial_review"} if self.status == "returned" else {"nomination"}
        require_phase(phase, allowed, "修改推荐", "Correcting a nomination")
        if self.status not in ("returned", "submitted", "held_for_review"):
            raise NotNow("not_correctable", "该推荐当前不能修改", "This nomination cannot be corrected now",
                         {"status": self.status})

    def correct(
        self, phase: str | None, revision: Revision, first_office_step: int, *, by: str, unit_opinion: str | None
    ) -> Transition:
        """The unit's corrected form goes back to the first office step, or waits if the content check holds it."""
        self.require_correctable(phase)
        held = bool(revision.holds)
        new = replace(self, category_id=revision.category_id, entry_name=revision.entry_name,
                      platform=revision.platform, status="held_for_review" if held else "submitted",
                      step_index=first_office_step, held_reasons=revision.holds)
        history = [HistoryEntry("resubmitted", None, by, unit_opinion)]
        if held:
            history.append(HistoryEntry("held_for_review", None, CONTENT_CHECKER, new.hold_summary()))
            return Transition(new, tuple(history))
        return Transition(new, tuple(history), (new._submitted(resubmission=True),))

    def withdraw(self, phase: str | None, *, by: str) -> Transition:
        """The unit withdraws its nomination, which gives its quota place back; not once results are published."""
        require_phase(phase, WITHDRAWAL_PHASES, "撤回推荐", "Withdrawing")
        if self.status in ("withdrawn", "rejected"):
            raise NotNow("not_withdrawable", "该推荐已撤回或未通过", "Already withdrawn or rejected",
                         {"status": self.status})
        event = NominationWithdrawn(nomination_id=self.id, unit_id=self.unit_id, category_id=self.category_id)
        return Transition(replace(self, status="withdrawn"), (HistoryEntry("withdrawn", None, by),), (event,))

    def verify_metrics(self, followers: int, posts: int, interactions: int, *, by: str) -> Transition:
        """An office records the account metrics it verified (核实); scoring prefers them to reported ones."""
        event = MetricsReported(nomination_id=self.id, category_id=self.category_id, platform=self.platform,
                                followers=followers, posts=posts, interactions=interactions, source="verified")
        return Transition(self, (HistoryEntry("metrics_verified", None, by),), (event,))

    def submit_activity(self, activity: Activity | None, at: datetime, report: ActivityReport, *,
                        by: str) -> Transition:
        """The unit reports its practice activity: the day it was held, with evidence links, and the summary.

        Whether the activity was held within the campaign's period decides the activity part (scoring);
        the summary's own deadline marks a later summary late, or refuses it where the campaign says so.
        """
        if activity is None:
            raise NotNow("activity_not_required", "本活动不需要提交实践活动总结",
                         "This campaign has no practice activity")
        report.check(at)
        deadline = activity.summary_deadline
        on_time = deadline is None or at <= deadline
        if not on_time and activity.late_summary == "refuse":
            raise NotNow("activity_deadline_passed", "已过实践活动总结提交截止时间",
                         "The deadline for the activity summary has passed",
                         {"deadline": deadline.isoformat() if deadline else None})
        event = ActivitySubmitted(
            nomination_id=self.id, category_id=self.category_id, submitted_at=at, on_time=on_time,
            held_on=report.held_on, held_in_period=activity.held_in_period(report.held_at),
            evidence_links=len(report.links))
        return Transition(self, (HistoryEntry("activity_submitted", None, by),), (event,))

    # --- shared outcomes ----------------------------------------------------------------------

    def _returned(self, step_id: str, by: str, reason: str | None) -> Transition:
        event = NominationReturned(nomination_id=self.id, unit_id=self.unit_id, category_id=self.category_id,
                                   entry_name=self.entry_name, step_id=step_id, reason=reason or "")
        return Transition(replace(self, status="returned"), (HistoryEntry("returned", step_id, by, reason),),
                          (event,))

    def _rejected(self, step_id: str, by: str, reason: str | None) -> Transition:
        event = NominationRejected(nomination_id=self.id, unit_id=self.unit_id, category_id=self.category_id,
                                   entry_name=self.entry_name, reason=reason or "")
        return Transition(replace(self, status="rejected"), (HistoryEntry("rejected", step_id, by, reason),),
                          (event,))

    def _submitted(self, *, resubmission: bool = False) -> NominationSubmitted:
        return NominationSubmitted(nomination_id=self.id, unit_id=self.unit_id, unit_name=self.unit_name,
                                   category_id=self.category_id, entry_name=self.entry_name, platform=self.platform,
                                   resubmission=resubmission)
