"""A request on an account (open, change, suspend, resume, close) and its review at each level.

The chain is the approval-step model nominations use (massline.approval): the unit's own request is its step,
then the city office above it, then the provincial office; a level with no office above the unit is skipped.

    pending ──approve──▶ pending (next office) … ──approve (last office)──▶ approved (the account changes)
       └──return (with reason)──▶ returned ──resubmit──▶ pending (first office) │ ──withdraw──▶ withdrawn
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from massline.approval import ApprovalStep, HistoryEntry, is_last_step, next_index
from massline.contracts.envelope import Event

from .accounts import Account
from .errors import Conflict, Forbidden
from .rules import refusal

RequestKind = Literal["open", "change", "suspend", "resume", "close"]
RequestStatus = Literal["pending", "returned", "approved", "withdrawn"]
KINDS: tuple[RequestKind, ...] = ("open", "change", "suspend", "resume", "close")
# The kinds whose reason the unit must give (an opening or change says what it is; these say why).
NEED_REASON: tuple[RequestKind, ...] = ("suspend", "resume", "close")

_OFFICE_STEPS = {"city": ("city", "市级审核", "City office review"),
                 "provincial": ("provincial", "省级审核", "Provincial office review")}


@dataclass(frozen=True)
class Org:
    """An organisation as the registry learned it from submission's OrganisationSaved events."""

    id: str
    name: str
    kind: str
    level: str
    parent_id: str | None


@dataclass(frozen=True)
class ReviewStep:
    """One step of a request's chain and the office that signs it."""

    step: ApprovalStep
    office_id: str


def chain_for(unit_id: str, orgs: Mapping[str, Org]) -> list[ReviewStep]:
    """The offices above the unit, nearest first: its city office, then its provincial office."""
    steps: list[ReviewStep] = []
    seen = {unit_id}
    parent = orgs[unit_id].parent_id if unit_id in orgs else None
    while parent and parent in orgs and parent not in seen:
        org = orgs[parent]
        seen.add(parent)
        if org.kind == "office" and org.level in _OFFICE_STEPS:
            ident, name, name_en = _OFFICE_STEPS[org.level]
            steps.append(ReviewStep(ApprovalStep(id=ident, name=name, name_en=name_en, role="office"), org.id))
        parent = org.parent_id
    if not steps:
        raise refusal("no_reviewing_office", {"unit_id": unit_id})
    return steps


@dataclass(frozen=True, kw_only=True)
class Request:
    """A unit's request on one of its accounts, awaiting the office at `steps[step_index]`."""

    id: uuid.UUID
    account_id: uuid.UUID
    unit_id: str
    kind: RequestKind
    status: RequestStatus
    step_index: int
    steps: tuple[ReviewStep, ...]
    proposal: Mapping[str, Any]
    reason: str | None
    requested_by: str

    @property
    def awaited(self) -> ReviewStep:
        return self.steps[self.step_index]

    def _check_reviewer(self, office_id: str | None) -> ReviewStep:
        if self.status != "pending":
            raise Conflict("request_not_pending", "该申请不在审核中", "The request is not awaiting review",
                           {"status": self.status})
        awaited = self.awaited
        if office_id != awaited.office_id:
            raise Forbidden("not_your_step", "该申请正等待其他审核部门的意见",
                            "The request awaits another office's opinion",
                            {"step": awaited.step.id, "office_id": awaited.office_id})
        return awaited

    def approve(self, office_id: str | None, *, by: str, reason: str | None) -> tuple[Request, HistoryEntry, bool]:
        """The awaited office approves; after the last office the request is approved (final)."""
        awaited = self._check_reviewer(office_id)
        steps = [s.step for s in self.steps]
        final = is_last_step(steps, self.step_index)
        new = replace(self, status="approved" if final else "pending",
                      step_index=next_index(steps, self.step_index))
        return new, HistoryEntry("approved", awaited.step.id, by, reason), final

    def return_(self, office_id: str | None, *, by: str, reason: str | None) -> tuple[Request, HistoryEntry]:
        """The awaited office returns the request to its unit, saying why."""
        awaited = self._check_reviewer(office_id)
        if not (reason or "").strip():
            raise refusal("reason_required", {"field": "reason"})
        return replace(self, status="returned"), HistoryEntry("returned", awaited.step.id, by, reason)

    def resubmit(self, proposal: Mapping[str, Any] | None, *, by: str,
                 reason: str | None) -> tuple[Request, HistoryEntry]:
        """The unit sends a returned request back to the first office, corrected or with a new reason."""
        self._require_status("returned")
        new = replace(self, status="pending", step_index=0,
                      proposal=dict(proposal) if proposal is not None else self.proposal,
                      reason=reason if reason is not None else self.reason)
        return new, HistoryEntry("resubmitted", None, by, reason)

    def withdraw(self, *, by: str) -> tuple[Request, HistoryEntry]:
        if self.status not in ("pending", "returned"):
            self._require_status("pending")
        return replace(self, status="withdrawn"), HistoryEntry("withdrawn", None, by)

    def _require_status(self, status: RequestStatus) -> None:
        if self.status != status:
            raise Conflict("request_not_" + status, "该申请当前状态不允许此操作",
                           f"The request is not {status}", {"status": self.status})


def settle(account: Account, request: Request) -> tuple[Account, Event]:
    """What a fully approved request does to its account, and the event that says so."""
    reason = request.reason or ""
    if request.kind == "open":
        return account.filed()
    if request.kind == "change":
        return account.changed(dict(request.proposal))
    if request.kind == "suspend":
        return account.suspended(reason)
    if request.kind == "resume":
        return account.activated()
    return account.closed(reason)

