"""What events and due reminders become: deliveries recorded at most once each, per recipient and channel, and
one webhook delivery per subscription and event. Used by the consumers (handlers.py) and the dispatcher.

Consumer functions run in the consumer's transaction (`conn`), which also records the event as applied.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from massline.consumer import Delivered
from massline.contracts import (
    CampaignLoaded,
    ExpertAssigned,
    NominationApproved,
    NominationSubmitted,
    NotificationFailed,
    NotificationSent,
)
from massline.uow import UnitOfWork

from . import domain, repository
from .deps import NotificationDeps
from .repository import ClaimedWebhook, NewDelivery, NewWebhookDelivery, RecordedDelivery

log = logging.getLogger(__name__)


Source = domain.Source


def _source(item: Delivered) -> Source:
    return Source(item.envelope.event_id, item.envelope.event_type, item.envelope.campaign_id)


def _notices(batch: Sequence[Delivered]) -> list[tuple[Source, domain.Notice]]:
    return [(_source(item), n) for item in batch for n in domain.notices_for(item.event, item.envelope.campaign_id)]


# --- consumers -----------------------------------------------------------------------------

async def learn_campaigns(deps: NotificationDeps, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
    """Learn campaign titles, category names and deadlines, so notices name them and reminders go out."""
    days = deps.settings.reminder_days
    for item in batch:
        e = item.event
        if isinstance(e, CampaignLoaded):
            categories = {c.id: {"zh": c.name, "en": c.name_en or c.name} for c in e.categories}
            await repository.upsert_campaign(conn, e.campaign_id, e.version, e.title, categories,
                                             e.timezone or "Asia/Shanghai")
            # The definition's own deadline when the event carries it; older events fall back to the phases.
            deadline = e.activity_deadline or domain.activity_deadline(e.scoring, e.phases, e.timezone)
            if deadline is not None:
                await repository.schedule_reminder(conn, domain.activity_reminder(e.campaign_id, deadline, days))


async def tell_of_nominations(deps: NotificationDeps, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
    """Tell the nominating unit what became of its nomination, reviewers of new ones, and webhooks."""
    campaign_ids = sorted({item.envelope.campaign_id for item in batch
                           if isinstance(item.event, NominationSubmitted)})
    reviewers = await repository.reviewers_of(conn, campaign_ids) if campaign_ids else {}
    pending = [
        (_source(item), notice)
        for item in batch
        for notice in domain.notices_for(item.event, item.envelope.campaign_id,
                                         reviewers.get(item.envelope.campaign_id, ()))
    ]
    entered = [(item.envelope.campaign_id, item.event.unit_id) for item in batch
               if isinstance(item.event, NominationApproved) and item.event.final]
    if entered:
        await repository.add_campaign_units(conn, entered)
    if pending:
        await record_notices(deps, conn, pending)
    await fan_out_webhooks(conn, batch)


async def tell_of_registry_health(deps: NotificationDeps, conn: asyncpg.Connection,
                                  batch: Sequence[Delivered]) -> None:
    """Tell the owning unit of each account finding and its fate, the office following an escalated one, and an
    office of its monthly registry report."""
    pending = _notices(batch)
    if pending:
        await record_notices(deps, conn, pending)


async def tell_of_rankings(deps: NotificationDeps, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
    """Tell the committee a ranking is ready, at most once a quarter hour (the latest one; the others are held
    and go out once the quarter hour has passed), and webhooks of every ranking computed."""
    pending = _notices(batch)
    if pending:
        await record_coalesced(deps, conn, pending)
    await fan_out_webhooks(conn, batch)


async def record_coalesced(deps: NotificationDeps, conn: asyncpg.Connection,
                           pending: Sequence[tuple[Source, domain.Notice]]) -> None:
    """Record the notices the coalescing rule lets through now; hold back the latest of the rest."""
    keys = sorted({(n.recipient, n.template) for _, n in pending if n.template in domain.COALESCED_TEMPLATES})
    windows = await repository.lock_notice_windows(conn, keys) if keys else {}
    plan = domain.coalesce(pending, windows, datetime.now(UTC))
    if plan.send:
        await record_notices(deps, conn, plan.send)
    for key, window in plan.windows.items():
        await repository.save_notice_window(conn, key, window)
    held = sum(1 for w in plan.windows.values() if w.held)
    if held:
        log.info("notices held back", extra={"held": held, "templates": sorted({t for _, t in plan.windows})})


async def send_held_notices(deps: NotificationDeps, now: datetime | None = None) -> int:
    """Record every held notice whose recipient's window has passed; how many went out."""
    now = now or datetime.now(UTC)
    async with deps.rt.unit_of_work() as uow:
        due = await repository.claim_due_held_notices(uow.conn, now - domain.COALESCE_WINDOW, 50)
        ready = [(key, w) for key, w in due if w.held is not None and w.due(now)]
        if ready:
            await record_notices(deps, uow.conn, [w.held for _, w in ready if w.held is not None])
        for key, _ in ready:
            await repository.save_notice_window(uow.conn, key, domain.NoticeWindow(last_sent_at=now))
    return len(ready)


async def tell_of_review(deps: NotificationDeps, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
    """Tell each expert of new assignments and of scores the committee reopened; remind them before the deadline."""
    pending = _notices(batch)
    if pending:
        await record_notices(deps, conn, pending)
    days = deps.settings.reminder_days
    for item in batch:
        e = item.event
        if isinstance(e, ExpertAssigned) and e.deadline is not None:
            reminder = domain.expert_reminder(item.envelope.campaign_id, e.expert_id, e.deadline, days)
            await repository.schedule_reminder(conn, reminder)


async def tell_of_results(deps: NotificationDeps, conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
    """Tell every unit with an entry where it placed, and webhooks that results are out."""
    pending = _notices(batch)
    if pending:
        await record_notices(deps, conn, pending)
    await fan_out_webhooks(conn, batch)


# --- reminders -----------------------------------------------------------------------------

async def send_due_reminders(deps: NotificationDeps) -> int:
    """Tell the reminder's recipient (or every unit with an entry) that a deadline is near, once."""
    sent = 0
    async with deps.rt.unit_of_work() as uow:
        for reminder in await repository.claim_due_reminders(uow.conn, 20):
            units = [] if reminder.recipient else await repository.campaign_unit_ids(uow.conn, reminder.campaign_id)
            notices = domain.reminder_notices(reminder, units, datetime.now(UTC))
            source = Source(reminder.id, "ReminderDue", reminder.campaign_id)
            if notices:
                await record_notices(deps, uow.conn, [(source, n) for n in notices])
            await repository.reminder_sent(uow.conn, reminder.id)
            sent += 1
    return sent


# --- webhooks given up ---------------------------------------------------------------------

async def tell_of_dead_webhook(deps: NotificationDeps, uow: UnitOfWork, hook: ClaimedWebhook, reason: str) -> None:
    """A webhook delivery is dead: announce NotificationFailed, and tell the subscription's contact (inbox, and
    e-mail when on file) once per delivery. Ids, event type and error only: never the URL, which may carry a
    token."""
    recipient = hook.contact or f"webhook:{hook.subscription_id}"
    await uow.record(NotificationFailed(notification_id=hook.id, source_event_id=hook.source_event_id,
                                        recipient=recipient, channel=domain.WEBHOOK, reason=reason),
                     campaign_id=hook.campaign_id)
    if hook.contact is None:
        return
    description = await repository.subscription_description(uow.conn, hook.subscription_id)
    notice = domain.Notice("webhook_dead", hook.contact, {
        "event_type": hook.event_type, "delivery_ref": str(hook.id),
        "subscription": description or str(hook.subscription_id), "attempts": hook.attempts + 1, "reason": reason,
    }, {"delivery_id": str(hook.id), "subscription_id": str(hook.subscription_id)})
    # The delivery's own id is the notice's source: a delivery redelivered and given up again is told once.
    await record_notices(deps, uow.conn, [(Source(hook.id, "WebhookDead", hook.campaign_id), notice)])


# --- recording -----------------------------------------------------------------------------

async def fan_out_webhooks(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
    """One webhook delivery per (subscription, event), with the event's envelope as the body."""
    types = sorted({item.envelope.event_type for item in batch} & set(domain.WEBHOOK_EVENTS))
    if not types:
        return
    subscribers = await repository.matching_subscriptions(conn, types)
    if not subscribers:
        return
    deliveries = [
        NewWebhookDelivery(sub.delivery_id(env.event_id), sub.id, env.event_id, env.event_type, env.campaign_id,
                           env.model_dump_json())
        for env in (item.envelope for item in batch)
        for sub in subscribers
        if sub.wants(env.event_type, env.campaign_id)
    ]
    if deliveries:
        await repository.insert_webhook_deliveries(conn, deliveries)


async def record_notices(
    deps: NotificationDeps, conn: asyncpg.Connection, pending: Sequence[tuple[Source, domain.Notice]]
) -> None:
    """Render each notice once and record a delivery per channel the recipient has, at most once each.

    The inbox is delivered on insert and announced at once; e-mail and SMS start pending and are
    announced when the dispatcher has sent them.
    """
    campaigns = await repository.campaign_names(conn, sorted({source.campaign_id for source, _ in pending}))
    recipients = sorted({notice.recipient for _, notice in pending})
    contacts = await repository.contact_channels(conn, recipients)
    rows = [
        row
        for source, notice in pending
        for row in _rendered(deps, source, notice, campaigns.get(source.campaign_id), contacts.get(notice.recipient))
    ]
    await repository.ensure_recipients(conn, recipients)
    inserted = await repository.insert_deliveries(conn, rows)
    delivered = [r for r in inserted if r.status == "delivered"]
    await deps.rt.outbox.record_many(conn, [(_sent(r), r.campaign_id) for r in delivered])
    for r in delivered:
        deps.metrics.sent.labels(r.channel).inc()
    if len(delivered) < len(inserted):
        deps.wake_dispatcher()
    # Ids and template names only: the text may name people and stays out of the logs.
    log.info(
        "notifications recorded",
        extra={"recorded": len(inserted), "already_recorded": len(rows) - len(inserted),
               "templates": sorted({r.template for r in inserted})},
    )


def _rendered(deps: NotificationDeps, source: Source, notice: domain.Notice, campaign: domain.CampaignNames | None,
              contact: domain.ContactChannels | None) -> list[NewDelivery]:
    """One delivery per channel for a notice, its text rendered in both locales."""
    zh = deps.templates.render_notice(notice, source.campaign_id, campaign, "zh")
    en = deps.templates.render_notice(notice, source.campaign_id, campaign, "en")
    return [
        NewDelivery(
            id=domain.delivery_id(source.event_id, notice.recipient, channel),
            source_event_id=source.event_id,
            source_event_type=source.event_type,
            campaign_id=source.campaign_id,
            recipient=notice.recipient,
            channel=channel,
            template=notice.template,
            refs=json.dumps(dict(notice.refs)),
            subject_zh=zh.subject,
            body_zh=zh.body,
            subject_en=en.subject,
            body_en=en.body,
            status=domain.initial_status(channel),
        )
        for channel in domain.channels_for(notice.template, contact)
    ]


def _sent(delivery: RecordedDelivery) -> NotificationSent:
    return NotificationSent(notification_id=delivery.id, source_event_id=delivery.source_event_id,
                            recipient=delivery.recipient, channel=delivery.channel, template=delivery.template)
