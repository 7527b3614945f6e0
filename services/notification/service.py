"""The notification service's use cases behind its routes: reading the inbox, what operators see of deliveries
and send again, contact details and reviewers, webhook subscriptions.

Each takes the service's dependencies and answers the route's response model; a refusal is a domain error
(domain.py) the route maps to its API error. Writes run in one unit of work.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from massline.auth import Caller

from . import domain, repository
from .channels import DevelopmentSmsProvider, resolve_host
from .deps import NotificationDeps
from .repository import AttemptRow, DeliveryRow, InboxRow, SubscriptionRow, WebhookDeliveryRow
from .schemas import (
    AttemptLog,
    AttemptView,
    ContactView,
    CreatedSubscription,
    Deactivated,
    Deliveries,
    DeliveryView,
    Inbox,
    InboxNotice,
    ReadReceipt,
    RecordedSmsList,
    RecordedSmsView,
    RedeliveryView,
    ReviewersView,
    Subscriptions,
    SubscriptionView,
    WebhookDeliveries,
    WebhookDeliveryDetail,
    WebhookDeliveryView,
    WebhookSubscriptionRequest,
)


class NotAvailable(LookupError):
    """What exists only outside production (the development SMS record)."""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- the inbox -----------------------------------------------------------------------------

def _inbox_of(caller: Caller, recipient: str) -> str:
    address = domain.parse_recipient(recipient)
    return domain.check_inbox_reader(caller.role, caller.username, caller.organisation_id, address)


async def read_inbox(deps: NotificationDeps, caller: Caller, recipient: str, *, lang: str, unread_only: bool,
                     limit: int | None, before: int | None) -> Inbox:
    """A page of the recipient's notices, newest first, with how many are unread (its reader only)."""
    address = _inbox_of(caller, recipient)
    page = limit or deps.settings.inbox_page_size
    pool = deps.rt.pool
    rows = await repository.inbox(pool, address, before, unread_only, page)
    unread = await repository.unread_count(pool, address)
    return Inbox(
        recipient=address,
        unread=unread,
        notifications=[_notice(r, lang) for r in rows],
        next_before=rows[-1].seq if len(rows) == page else None,
    )


def _notice(row: InboxRow, lang: str) -> InboxNotice:
    return InboxNotice(
        id=str(row.id), template=row.template, subject=row.subject(lang), body=row.body(lang),
        created_at=row.created_at.isoformat(), read=row.read_at is not None, read_at=_iso(row.read_at),
        campaign_id=row.campaign_id, event_type=row.source_event_type, refs=row.refs,
    )


async def mark_read(deps: NotificationDeps, caller: Caller, recipient: str, notification_id: uuid.UUID) -> ReadReceipt:
    """Mark one notice read; marking it again keeps the first reading time."""
    address = _inbox_of(caller, recipient)
    async with deps.rt.unit_of_work() as uow:
        mark = await repository.mark_read(uow.conn, notification_id, address)
    if mark is None:
        raise domain.NotificationNotFound(notification_id)
    return ReadReceipt(id=str(mark.id), read=True, read_at=mark.read_at.isoformat())


# --- deliveries ----------------------------------------------------------------------------

async def list_deliveries(deps: NotificationDeps, source_event_id: uuid.UUID | None, recipient: str | None,
                          limit: int) -> Deliveries:
    """Every delivery with its status, newest first, optionally of one event or one recipient."""
    address = domain.parse_recipient(recipient) if recipient is not None else None
    rows = await repository.deliveries(deps.rt.pool, source_event_id, address, limit)
    return Deliveries(deliveries=[_delivery(r) for r in rows])


def _delivery(r: DeliveryRow) -> DeliveryView:
    return DeliveryView(
        id=str(r.id), source_event_id=str(r.source_event_id), source_event_type=r.source_event_type,
        campaign_id=r.campaign_id, recipient=r.recipient, channel=r.channel, template=r.template, status=r.status,
        attempts=r.attempts, last_error=r.last_error, next_attempt_at=_iso(r.next_attempt_at),
        created_at=r.created_at.isoformat(), delivered_at=_iso(r.delivered_at), read_at=_iso(r.read_at),
    )


def _attempts(rows: list[AttemptRow]) -> list[AttemptView]:
    return [
        AttemptView(attempt=a.attempt, started_at=a.started_at.isoformat(), duration_ms=a.duration_ms,
                    outcome=a.outcome, status_code=a.status_code, error=a.error)
        for a in rows
    ]


async def delivery_attempts(deps: NotificationDeps, delivery_id: uuid.UUID) -> AttemptLog:
    """Every attempt at a delivery, oldest first (none for an unknown id)."""
    rows = await repository.attempts_of(deps.rt.pool, delivery_id)
    return AttemptLog(id=str(delivery_id), attempt_log=_attempts(rows))


async def redeliver_message(deps: NotificationDeps, delivery_id: uuid.UUID) -> RedeliveryView:
    """Make a dead or delivered e-mail or SMS due again and wake the dispatcher."""
    async with deps.rt.unit_of_work() as uow:
        again = await repository.redeliver_message(uow.conn, delivery_id)
    if again is None:
        raise domain.DeliveryNotRedeliverable(delivery_id)
    deps.wake_dispatcher()
    return RedeliveryView(id=str(again.id), status=again.status)


def development_sms(deps: NotificationDeps) -> RecordedSmsList:
    """The last 200 messages the development SMS provider recorded; NotAvailable in production."""
    if deps.settings.env == "production" or not isinstance(deps.sms, DevelopmentSmsProvider):
        raise NotAvailable("sms")
    return RecordedSmsList(messages=[RecordedSmsView(mobile=m.mobile, text=m.text) for m in deps.sms.sent[-200:]])


# --- contacts and reviewers ----------------------------------------------------------------

async def set_contact(deps: NotificationDeps, recipient: str, email: str | None, mobile: str | None,
                      locale: str | None) -> ContactView:
    """Store a recipient's e-mail address, mobile number and language; answer which channels are on file."""
    address = domain.parse_recipient(recipient)
    email, mobile = domain.checked_contact(email, mobile)
    async with deps.rt.unit_of_work() as uow:
        await repository.save_contact(uow.conn, address, email, mobile, locale)
        summary = await repository.contact_summary(uow.conn, address)
    assert summary is not None  # the recipient was just ensured
    return _contact(summary)


async def get_contact(deps: NotificationDeps, recipient: str) -> ContactView:
    """Which channels a recipient can be reached on; none, in the default language, for one not known yet."""
    address = domain.parse_recipient(recipient)
    summary = await repository.contact_summary(deps.rt.pool, address)
    if summary is None:
        return ContactView(recipient=address, locale=domain.DEFAULT_LOCALE, email=False, sms=False)
    return _contact(summary)


def _contact(summary: repository.ContactSummary) -> ContactView:
    return ContactView(recipient=summary.address, locale=summary.locale, email=bool(summary.has_email),
                       sms=bool(summary.has_mobile))


async def set_reviewers(deps: NotificationDeps, campaign_id: str, recipients: list[str]) -> ReviewersView:
    """Replace who is told of each new nomination of the campaign."""
    addresses = sorted({domain.parse_recipient(r) for r in recipients})
    async with deps.rt.unit_of_work() as uow:
        await repository.replace_reviewers(uow.conn, campaign_id, addresses)
    return ReviewersView(campaign_id=campaign_id, recipients=addresses)


async def get_reviewers(deps: NotificationDeps, campaign_id: str) -> ReviewersView:
    return ReviewersView(campaign_id=campaign_id,
                         recipients=await repository.campaign_reviewers(deps.rt.pool, campaign_id))


# --- webhooks ------------------------------------------------------------------------------

async def create_subscription(deps: NotificationDeps, request: WebhookSubscriptionRequest) -> CreatedSubscription:
    """Subscribe a URL to public events; a secret is generated, and shown once, when none is given."""
    event_types = domain.check_event_types(request.event_types)
    s = deps.settings
    retry = domain.check_retry_policy(
        request.max_age_s if request.max_age_s is not None else s.webhook_max_age_s,
        request.max_attempts if request.max_attempts is not None else s.webhook_max_attempts,
        request.retry_cap_s if request.retry_cap_s is not None else max(1, int(s.retry_cap_s)))
    contact = domain.parse_recipient(request.contact) if request.contact is not None else None
    production = s.env == "production"
    domain.check_webhook_url(request.url, production=production, resolve=resolve_host if production else None)
    secret = request.secret or secrets.token_urlsafe(32)
    new = repository.NewSubscription(uuid.uuid4(), request.url, event_types, request.campaign_id, secret,
                                     request.description, retry, contact)
    async with deps.rt.unit_of_work() as uow:
        row = await repository.create_subscription(uow.conn, new)
    answer = _subscription(row).model_dump()
    if request.secret is None:
        answer["secret"] = secret
    # Built from the keys set, so the answer carries `secret` only when it was generated.
    return CreatedSubscription(**answer)


def _subscription(row: SubscriptionRow) -> SubscriptionView:
    return SubscriptionView(id=str(row.id), url=row.url, event_types=row.event_types, campaign_id=row.campaign_id,
                            description=row.description, active=row.active, created_at=row.created_at.isoformat(),
                            max_age_s=row.retry.max_age_s, max_attempts=row.retry.max_attempts,
                            retry_cap_s=row.retry.cap_s, contact=row.contact)


async def list_subscriptions(deps: NotificationDeps) -> Subscriptions:
    return Subscriptions(subscriptions=[_subscription(r) for r in await repository.subscriptions(deps.rt.pool)])


async def deactivate_subscription(deps: NotificationDeps, subscription_id: uuid.UUID) -> Deactivated:
    """Stop a subscription; its deliveries not yet made are dead-lettered at their next attempt."""
    async with deps.rt.unit_of_work() as uow:
        found = await repository.deactivate_subscription(uow.conn, subscription_id)
    if not found:
        raise domain.SubscriptionNotFound(subscription_id)
    return Deactivated(id=str(subscription_id), active=False)


def _webhook_delivery(row: WebhookDeliveryRow) -> WebhookDeliveryView:
    return WebhookDeliveryView(
        id=str(row.id), subscription_id=str(row.subscription_id), source_event_id=str(row.source_event_id),
        event_type=row.event_type, campaign_id=row.campaign_id, status=row.status,
        attempts=row.attempts, next_attempt_at=_iso(row.next_attempt_at) if row.status == "pending" else None,
        last_error=row.last_error, created_at=row.created_at.isoformat(), delivered_at=_iso(row.delivered_at),
    )


async def list_webhook_deliveries(deps: NotificationDeps, subscription_id: uuid.UUID | None, status: str | None,
                                  limit: int) -> WebhookDeliveries:
    rows = await repository.webhook_deliveries(deps.rt.pool, subscription_id, status, limit)
    return WebhookDeliveries(deliveries=[_webhook_delivery(r) for r in rows])


async def webhook_delivery(deps: NotificationDeps, delivery_id: uuid.UUID) -> WebhookDeliveryDetail:
    """One webhook delivery with every attempt at it."""
    row = await repository.webhook_delivery(deps.rt.pool, delivery_id)
    if row is None:
        raise domain.DeliveryNotFound(delivery_id)
    attempts = _attempts(await repository.attempts_of(deps.rt.pool, delivery_id))
    return WebhookDeliveryDetail(**_webhook_delivery(row).model_dump(), attempt_log=attempts)


async def redeliver_webhook(deps: NotificationDeps, delivery_id: uuid.UUID) -> RedeliveryView:
    """Make a dead or delivered webhook delivery due again, same body and event id, and wake the dispatcher."""
    async with deps.rt.unit_of_work() as uow:
        again = await repository.redeliver_webhook(uow.conn, delivery_id)
        if again is None:
            if await repository.webhook_delivery(uow.conn, delivery_id) is None:
                raise domain.DeliveryNotFound(delivery_id)
            raise domain.DeliveryInProgress(delivery_id)
    deps.wake_dispatcher()
    return RedeliveryView(id=str(again.id), status=again.status)
