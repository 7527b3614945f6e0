"""What units and offices read: a nomination with its history, and the nominations they may see."""

from __future__ import annotations

import uuid

from massline.auth import Caller

from .. import repository as repo
from ..deps import SubmissionDeps
from ..views import ActivityView, HistoryView, MetricsView, NominationList, NominationSummary, NominationView
from .access import campaign, nomination_for, units_or_all, visible_units
from .registry import registry_state


async def nomination_view(deps: SubmissionDeps, nomination_id: uuid.UUID, caller: Caller) -> NominationView:
    """A nomination with its form, status and full history (its unit, the offices above it, admins)."""
    async with deps.rt.pool.acquire() as conn:
        record = await nomination_for(conn, nomination_id, caller)
        history = await repo.history(conn, nomination_id)
        metrics = await repo.metrics(conn, nomination_id)
        activity = await repo.get_activity(conn, nomination_id)
        image = await repo.entry_image_version(conn, nomination_id)
        c = await campaign(conn, record.campaign_id)
        registry = await registry_state(conn, c.definition, record.unit_id, record.registry_account_id)
    steps = c.definition.approval_steps
    awaiting = record.status == "submitted" and record.step_index < len(steps)
    return NominationView(
        id=str(record.id),
        campaign_id=record.campaign_id,
        unit_id=record.unit_id,
        unit_name=record.unit_name,
        category_id=record.category_id,
        entry_name=record.entry_name,
        status=record.status,
        current_step=steps[record.step_index].id if awaiting else None,
        revision=record.revision,
        held_reasons=record.held_reasons if record.status == "held_for_review" else [],
        form={**record.public_fields, **record.private_fields},
        history=[HistoryView(action=h.action, step_id=h.step_id, actor=h.actor, reason=h.reason,
                             at=h.at.isoformat()) for h in history],
        metrics={source: MetricsView(followers=m.followers, posts=m.posts, interactions=m.interactions,
                                     snapshot_id=str(m.snapshot_id) if m.snapshot_id else None,
                                     taken_on=m.taken_on.isoformat() if m.taken_on else None)
                 for source, m in metrics.items()},
        registry=registry,
        activity=ActivityView(submitted_at=activity.submitted_at.isoformat(), on_time=activity.on_time,
                              held_on=activity.held_on.isoformat() if activity.held_on else None,
                              held_in_period=activity.held_in_period, links=list(activity.links))
        if activity else None,
        image=image,
    )


async def list_nominations(
    deps: SubmissionDeps, campaign_id: str, caller: Caller, status: str | None
) -> NominationList:
    """Nominations the caller may see: a unit its own, an office those of units under it; `status` filters."""
    async with deps.rt.pool.acquire() as conn:
        await campaign(conn, campaign_id)
        visible = await units_or_all(conn, await visible_units(conn, caller))
        rows = await repo.list_nominations(conn, campaign_id, visible, status)
    return NominationList(nominations=[
        NominationSummary(
            id=str(r.id), campaign_id=r.campaign_id, unit_id=r.unit_id, unit_name=r.unit_name,
            category_id=r.category_id, entry_name=r.entry_name, platform=r.platform, level=r.level,
            status=r.status, step_index=r.step_index, revision=r.revision, held_reasons=r.held_reasons,
            created_at=r.created_at.isoformat(), updated_at=r.updated_at.isoformat())
        for r in rows])
