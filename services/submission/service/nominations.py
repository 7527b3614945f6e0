"""Nominations: a unit submits, corrects, withdraws and reports; offices review, decide on held content, verify."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from massline import audit
from massline.auth import Caller
from massline.contracts import ActivitySubmitted, MetricsReported
from massline.uow import UnitOfWork

from .. import repository as repo
from ..deps import SubmissionDeps
from ..domain.campaign import CampaignDefinition
from ..domain.campaign_state import require_nominating
from ..domain.content import HoldReason, neutralise, neutralise_form, split_holds
from ..domain.errors import Forbidden, Invalid
from ..domain.form import (
    account_key,
    entry_name,
    first_office_step,
    instant_inside_nomination,
    operating_entity_key,
    reported_metrics,
    split_fields,
)
from ..domain.nomination import ActivityReport, ContentDecision, Nomination, ReviewDecision, Revision, Transition
from ..domain.registry import check_account_source, registry_form, registry_metrics
from ..domain.rules import ProposedNomination, RuleViolation, check_nomination
from ..repository import ActivityRow, Db, Metrics, NominationForm
from ..views import NominationView
from . import registry
from .access import campaign, nomination_for, now, phase_of
from .reads import nomination_view
from .registry import Picked


@dataclass(frozen=True)
class FormSubmission:
    """What a unit sends to register or correct a nomination."""

    category_id: str
    form: Mapping[str, Any]
    self_nomination: bool = False
    unit_opinion: str | None = None
    # The account picked from the unit's registry, in campaigns that take registry accounts.
    registry_account_id: uuid.UUID | None = None

    def neutralised(self) -> FormSubmission:
        """Markup and scripts taken out of every text, before any rule or storage sees it."""
        return replace(self, form=neutralise_form(self.form),
                       unit_opinion=neutralise(self.unit_opinion) if self.unit_opinion else self.unit_opinion)


def _violations(violations: list[RuleViolation]) -> Invalid:
    first = violations[0]
    return Invalid(str(first.code), first.message_zh, first.message_en,
                   [{"code": str(v.code), "field": v.field, "message": v.message_en, "message_zh": v.message_zh}
                    for v in violations])


async def _account_form(
    db: Db, d: CampaignDefinition, unit_id: str, sub: FormSubmission
) -> tuple[dict[str, Any], Picked | None]:
    """The form with the picked registry account's verified values and figures in place of typed ones; refuses an
    account the campaign does not take (wrong source, not the unit's, suspended or closed, idle, no figures)."""
    refused = check_account_source(d, sub.registry_account_id)
    picked = None
    if not refused and sub.registry_account_id is not None:
        picked, refused = await registry.pick(db, d, unit_id, sub.registry_account_id)
    if refused:
        raise _violations(refused)
    if picked is None:
        return dict(sub.form), None
    return registry_form(sub.form, picked.account, picked.snapshot), picked


async def _checked_form(
    db: Db, d: CampaignDefinition, unit_id: str, sub: FormSubmission, nomination_id: uuid.UUID | None
) -> tuple[NominationForm, list[HoldReason], Picked | None]:
    """Refuses a form that breaks a rule; returns it as stored, with the content concerns that hold it and the
    registry account it picked."""
    values, picked = await _account_form(db, d, unit_id, sub)
    existing = await repo.active_nominations(db, d.id)
    proposal = ProposedNomination(
        id=str(nomination_id) if nomination_id else None, unit_id=unit_id, category=sub.category_id,
        form={**values, "category": sub.category_id}, is_self_nomination=sub.self_nomination,
    )
    # The phase is the operator's (or the dates'), checked before; the rule set checks the rest.
    violations = [v for v in check_nomination(d, proposal, existing, at=instant_inside_nomination(d, now()))
                  if str(v.code) != "phase_closed"]
    refused, holds = split_holds(violations)
    if refused:
        raise _violations(refused)
    public, private = split_fields(d, values)
    form = NominationForm(
        category_id=sub.category_id, entry_name=entry_name(values), platform=values.get("platform"),
        account_key=account_key(values), operating_entity_key=operating_entity_key(values),
        level=values.get("level"), public_fields=public, private_fields=private,
        registry_account_id=picked.account.account_id if picked else None)
    return form, holds, picked


async def _registry_figures(db: Db, n: Nomination, picked: Picked | None, by: str) -> list[MetricsReported]:
    """The picked account's snapshot becomes the nomination's registry figures, announced to scoring."""
    if not await registry.save_picked_figures(db, n.id, picked, by) or picked is None or picked.snapshot is None:
        return []
    return [registry_metrics(n.id, n.category_id, picked.account.platform, picked.snapshot)]


async def _apply(uow: UnitOfWork, t: Transition, *, state_changed: bool = True) -> None:
    """Stores a decision: the nomination's new status and step, its history lines, its events."""
    if state_changed:
        await repo.save_state(uow.conn, t.nomination)
    await repo.add_history(uow.conn, t.nomination.id, t.history)
    for event in t.events:
        await uow.record(event, campaign_id=t.nomination.campaign_id)


async def _audit(uow: UnitOfWork, t: Transition, action: str, caller: Caller) -> None:
    """Chains an office's decision on a nomination into the campaign's audit trail (same transaction)."""
    n, line = t.nomination, t.history[0]
    details = {"step": line.step_id, "status": n.status, "category_id": n.category_id, "reason": line.reason}
    await audit.append(uow.conn, [audit.Entry(n.campaign_id, action, f"nomination:{n.id}", details,
                                              audit.staff(caller.role, caller.username))])


async def submit(deps: SubmissionDeps, campaign_id: str, sub: FormSubmission, caller: Caller) -> NominationView:
    """A nominating unit registers a nomination; every rule of the campaign is checked first."""
    unit_id = caller.organisation_id
    if unit_id is None:
        raise Forbidden("no_organisation", "账号未关联推荐单位", "Your account belongs to no nominating unit")
    sub = sub.neutralised()
    nomination_id = uuid.uuid4()
    async with deps.rt.unit_of_work() as uow:
        await repo.lock_campaign(uow.conn, campaign_id)
        c = await campaign(uow.conn, campaign_id)
        require_nominating(phase_of(c))
        d = c.definition
        form, holds, picked = await _checked_form(uow.conn, d, unit_id, sub, None)
        unit = await repo.get_organisation(uow.conn, unit_id)
        proposed = Nomination(
            id=nomination_id, campaign_id=campaign_id, unit_id=unit_id, unit_name=unit.name if unit else unit_id,
            category_id=sub.category_id, entry_name=form.entry_name, platform=form.platform, status="submitted",
            step_index=first_office_step(d), held_reasons=tuple(holds))
        t = proposed.submit(d.approval_steps, by=caller.username, unit_opinion=sub.unit_opinion)
        await repo.insert_nomination(uow.conn, t.nomination, form, self_nomination=sub.self_nomination)
        await repo.add_history(uow.conn, nomination_id, t.history)
        events = list(t.events)
        metrics = reported_metrics(sub.form) if picked is None else None
        if metrics:
            await repo.save_metrics(uow.conn, nomination_id, "reported", Metrics(*metrics), caller.username)
            events.append(t.nomination.reported_metrics(*metrics))
        events.extend(await _registry_figures(uow.conn, t.nomination, picked, caller.username))
        if events:
            await uow.record_many([(e, campaign_id) for e in events])
    return await nomination_view(deps, nomination_id, caller)


async def review(
    deps: SubmissionDeps, nomination_id: uuid.UUID, decision: ReviewDecision, reason: str | None, caller: Caller
) -> NominationView:
    """An office's opinion at the current approval step: approve, return with reason, or reject."""
    Nomination.require_review_reason(decision, reason)
    async with deps.rt.unit_of_work() as uow:
        record = await nomination_for(uow.conn, nomination_id, caller, lock=True)
        c = await campaign(uow.conn, record.campaign_id)
        t = record.nomination().review(decision, phase_of(c), c.definition.approval_steps, by=caller.username,
                                       reason=reason)
        await _apply(uow, t)
        await _audit(uow, t, f"nomination.{decision}", caller)
    return await nomination_view(deps, nomination_id, caller)


async def correct(
    deps: SubmissionDeps, nomination_id: uuid.UUID, sub: FormSubmission, caller: Caller
) -> NominationView:
    """The unit corrects a returned (or still awaited) nomination and resubmits it to the first office step."""
    sub = sub.neutralised()
    async with deps.rt.unit_of_work() as uow:
        record = await nomination_for(uow.conn, nomination_id, caller, lock=True)
        await repo.lock_campaign(uow.conn, record.campaign_id)
        c = await campaign(uow.conn, record.campaign_id)
        nomination, phase = record.nomination(), phase_of(c)
        nomination.require_correctable(phase)
        d = c.definition
        form, holds, picked = await _checked_form(uow.conn, d, record.unit_id, sub, nomination_id)
        await repo.update_form(uow.conn, nomination_id, form)
        t = nomination.correct(phase, Revision(sub.category_id, form.entry_name, form.platform, tuple(holds)),
                               first_office_step(d), by=caller.username, unit_opinion=sub.unit_opinion)
        await repo.save_state(uow.conn, t.nomination)
        await repo.save_held_reasons(uow.conn, t.nomination)
        await _apply(uow, t, state_changed=False)
        for event in await _registry_figures(uow.conn, t.nomination, picked, caller.username):
            await uow.record(event, campaign_id=record.campaign_id)
    return await nomination_view(deps, nomination_id, caller)


async def withdraw(deps: SubmissionDeps, nomination_id: uuid.UUID, caller: Caller) -> NominationView:
    """The unit withdraws its nomination (before results are published)."""
    async with deps.rt.unit_of_work() as uow:
        record = await nomination_for(uow.conn, nomination_id, caller, lock=True)
        c = await campaign(uow.conn, record.campaign_id)
        await _apply(uow, record.nomination().withdraw(phase_of(c), by=caller.username))
    return await nomination_view(deps, nomination_id, caller)


async def decide_content(
    deps: SubmissionDeps, nomination_id: uuid.UUID, decision: ContentDecision, reason: str, caller: Caller
) -> NominationView:
    """An office decides on a nomination the content check held (spam, links outside the campaign's sites)."""
    Nomination.require_content_reason(reason)
    async with deps.rt.unit_of_work() as uow:
        record = await nomination_for(uow.conn, nomination_id, caller, lock=True)
        c = await campaign(uow.conn, record.campaign_id)
        t = record.nomination().decide_content(decision, phase_of(c), by=caller.username, reason=reason)
        await _apply(uow, t)
        await _audit(uow, t, f"nomination.content_{decision}", caller)
    return await nomination_view(deps, nomination_id, caller)


async def verify_metrics(
    deps: SubmissionDeps, nomination_id: uuid.UUID, metrics: Metrics, caller: Caller
) -> NominationView:
    """The office records the account metrics it verified (核实); scoring prefers them to reported ones."""
    async with deps.rt.unit_of_work() as uow:
        record = await nomination_for(uow.conn, nomination_id, caller, lock=True)
        await repo.save_metrics(uow.conn, nomination_id, "verified", metrics, caller.username)
        t = record.nomination().verify_metrics(metrics.followers, metrics.posts, metrics.interactions,
                                               by=caller.username)
        await _apply(uow, t, state_changed=False)
    return await nomination_view(deps, nomination_id, caller)


async def submit_activity(
    deps: SubmissionDeps, nomination_id: uuid.UUID, summary: str, links: list[str], held_on: date, caller: Caller
) -> NominationView:
    """The unit's practice activity: when it was held, its evidence and the summary (late is marked late, or
    refused where the campaign says so)."""
    at = now()
    async with deps.rt.unit_of_work() as uow:
        record = await nomination_for(uow.conn, nomination_id, caller, lock=True)
        c = await campaign(uow.conn, record.campaign_id)
        report = ActivityReport(held_on, tuple(links), c.definition.zone)
        t = record.nomination().submit_activity(c.definition.activity, at, report, by=caller.username)
        (event,) = t.events
        assert isinstance(event, ActivitySubmitted)
        await repo.save_activity(uow.conn, nomination_id,
                                 ActivityRow(summary, links, at, event.on_time, held_on, event.held_in_period))
        await _apply(uow, t, state_changed=False)
    return await nomination_view(deps, nomination_id, caller)
