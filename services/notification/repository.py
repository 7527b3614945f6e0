"""Notification storage: campaign names, recipients and their contacts, deliveries (the inbox is the inbox
channel), webhook subscriptions and their deliveries, attempts and reminders.

The only module that runs the named queries of queries.sql. Every function takes a connection (inside a
unit of work or a consumer's transaction) or the pool (for reads), and returns typed rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg

from massline.queries import load_queries

from . import domain

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Q = load_queries(Path(__file__).with_name("queries.sql"))

# Where a function only reads or writes one statement, the pool will do; several belong on one connection.
Db = asyncpg.Connection | asyncpg.Pool
RowT = TypeVar("RowT", bound="DataclassInstance")


def _rows(cls: type[RowT], records: Sequence[asyncpg.Record]) -> list[RowT]:
    return [_row(cls, r) for r in records]


def _row(cls: type[RowT], record: asyncpg.Record) -> RowT:
    return cls(**{f.name: record[f.name] for f in fields(cls)})


# --- rows ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewDelivery:
    """A rendered notice for one recipient on one channel, about to be recorded."""

    id: uuid.UUID
    source_event_id: uuid.UUID
    source_event_type: str
    campaign_id: str
    recipient: str
    channel: str
    template: str
    refs: str
    subject_zh: str
    body_zh: str
    subject_en: str
    body_en: str
    status: str


@dataclass(frozen=True)
class RecordedDelivery:
    """A delivery as a write returns it: enough to announce it."""

    id: uuid.UUID
    source_event_id: uuid.UUID
    campaign_id: str
    recipient: str
    channel: str
    template: str
    status: str


@dataclass(frozen=True)
class InboxRow:
    id: uuid.UUID
    seq: int
    campaign_id: str
    source_event_type: str
    template: str
    refs: dict[str, Any]
    subject_zh: str
    body_zh: str
    subject_en: str
    body_en: str
    created_at: datetime
    read_at: datetime | None

    def subject(self, lang: str) -> str:
        return self.subject_en if lang == "en" else self.subject_zh

    def body(self, lang: str) -> str:
        return self.body_en if lang == "en" else self.body_zh


@dataclass(frozen=True)
class ReadMark:
    id: uuid.UUID
    read_at: datetime


@dataclass(frozen=True)
class DeliveryRow:
    """A delivery without its text, for operators."""

    id: uuid.UUID
    source_event_id: uuid.UUID
    source_event_type: str
    campaign_id: str
    recipient: str
    channel: str
    template: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    read_at: datetime | None


@dataclass(frozen=True)
class ContactSummary:
    """Which channels a recipient has on file; never the details."""

    address: str
    locale: str
    has_email: bool
    has_mobile: bool


@dataclass(frozen=True)
class Contact:
    """The details a message is sent to, and the recipient's language."""

    email: str | None
    mobile: str | None
    locale: str


@dataclass(frozen=True)
class SubscriptionRow:
    id: uuid.UUID
    url: str
    event_types: list[str]
    campaign_id: str | None
    description: str
    active: bool
    created_at: datetime
    retry: domain.RetryPolicy
    contact: str | None


@dataclass(frozen=True)
class NewSubscription:
    """A subscription about to be recorded, its values checked."""

    id: uuid.UUID
    url: str
    event_types: Sequence[str]
    campaign_id: str | None
    secret: str
    description: str
    retry: domain.RetryPolicy
    contact: str | None


@dataclass(frozen=True)
class NewWebhookDelivery:
    id: uuid.UUID
    subscription_id: uuid.UUID
    source_event_id: uuid.UUID
    event_type: str
    campaign_id: str
    body: str


@dataclass(frozen=True)
class WebhookDeliveryRow:
    id: uuid.UUID
    subscription_id: uuid.UUID
    source_event_id: uuid.UUID
    event_type: str
    campaign_id: str
    status: domain.WebhookStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class Redelivery:
    id: uuid.UUID
    status: str


@dataclass(frozen=True)
class AttemptRow:
    attempt: int
    started_at: datetime
    duration_ms: int
    outcome: domain.AttemptOutcome
    status_code: int | None
    error: str | None


@dataclass(frozen=True)
class ClaimedWebhook:
    """A webhook delivery this process now sends, with its subscription's URL and secret."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    source_event_id: uuid.UUID
    event_type: str
    campaign_id: str
    body: str
    attempts: int
    retry_since: datetime
    url: str
    secret: str
    active: bool
    retry: domain.RetryPolicy
    contact: str | None


@dataclass(frozen=True)
class ClaimedMessage:
    """An e-mail or SMS delivery this process now sends, with its text in both locales."""

    id: uuid.UUID
    recipient: str
    channel: str
    template: str
    campaign_id: str
    source_event_id: uuid.UUID
    attempts: int
    subject_zh: str
    body_zh: str
    subject_en: str
    body_en: str

    def text(self, locale: str) -> tuple[str, str]:
        """Subject and body in `locale` (one of domain.LOCALES)."""
        if locale == "en":
            return self.subject_en, self.body_en
        return self.subject_zh, self.body_zh


@dataclass(frozen=True)
class Attempt:
    """One line of a delivery's attempt log, about to be written."""

    delivery_id: uuid.UUID
    channel: str
    started_at: datetime
    duration_ms: int
    outcome: domain.AttemptOutcome
    status_code: int | None
    error: str | None


@dataclass(frozen=True)
class Outstanding:
    messages: int
    webhooks: int


# --- campaigns and reminders ---------------------------------------------------------------

async def upsert_campaign(conn: Db, campaign_id: str, version: int, title: str,
                          categories: dict[str, dict[str, str]], timezone: str) -> None:
    """Keep the newest definition's title, category names and time zone (an older one changes nothing)."""
    await conn.execute(Q.upsert_campaign, campaign_id, version, title, categories)
    await conn.execute(Q.set_campaign_timezone, campaign_id, timezone, version)


async def campaign_names(conn: Db, campaign_ids: Sequence[str]) -> dict[str, domain.CampaignNames]:
    return {
        r["id"]: domain.CampaignNames(r["title"], r["categories"], r["timezone"])
        for r in await conn.fetch(Q.campaign_names, list(campaign_ids))
    }


async def schedule_reminder(conn: Db, reminder: domain.Reminder) -> None:
    """Schedule a reminder once; one for a moved deadline replaces the one not yet sent."""
    if reminder.recipient is None:
        await conn.execute(Q.schedule_reminder, reminder.id, reminder.campaign_id, reminder.template,
                           reminder.deadline, reminder.due_at)
    else:
        await conn.execute(Q.schedule_recipient_reminder, reminder.id, reminder.campaign_id, reminder.template,
                           reminder.deadline, reminder.due_at, reminder.recipient)


async def claim_due_reminders(conn: Db, limit: int) -> list[domain.Reminder]:
    """Reminders due now and not sent, locked for this transaction (others skip them)."""
    return [
        domain.Reminder(r["id"], r["campaign_id"], r["template"], r["deadline"], r["due_at"], r["recipient"])
        for r in await conn.fetch(Q.claim_due_reminders, limit)
    ]


async def reminder_sent(conn: Db, reminder_id: uuid.UUID) -> None:
    await conn.execute(Q.reminder_sent, reminder_id)


async def add_campaign_units(conn: Db, entries: Sequence[tuple[str, str]]) -> None:
    """Remember (campaign, unit) pairs of units with an entry in a campaign."""
    await conn.execute(Q.add_campaign_units, [c for c, _ in entries], [u for _, u in entries])


async def campaign_unit_ids(conn: Db, campaign_id: str) -> list[str]:
    return [r["unit_id"] for r in await conn.fetch(Q.campaign_unit_ids, campaign_id)]


# --- recipients, contacts, reviewers -------------------------------------------------------

async def ensure_recipients(conn: Db, addresses: Sequence[str]) -> None:
    await conn.execute(Q.ensure_recipients, list(addresses))


async def contact_channels(conn: Db, addresses: Sequence[str]) -> dict[str, domain.ContactChannels]:
    return {
        r["address"]: domain.ContactChannels(email=r["has_email"], sms=r["has_mobile"])
        for r in await conn.fetch(Q.contact_channels, list(addresses))
    }


async def save_contact(conn: Db, address: str, email: str | None, mobile: str | None, locale: str | None) -> None:
    """Store a recipient's details (None removes one); the locale only when given."""
    await conn.execute(Q.ensure_recipients, [address])
    await conn.execute(Q.upsert_contact, address, email, mobile)
    if locale:
        await conn.execute(Q.set_locale, address, locale)


async def contact_summary(conn: Db, address: str) -> ContactSummary | None:
    row = await conn.fetchrow(Q.contact_summary, address)
    return _row(ContactSummary, row) if row is not None else None


async def contact_of(conn: Db, address: str) -> Contact | None:
    row = await conn.fetchrow(Q.contact_of, address)
    return _row(Contact, row) if row is not None else None


async def replace_reviewers(conn: Db, campaign_id: str, recipients: Sequence[str]) -> None:
    await conn.execute(Q.ensure_recipients, list(recipients))
    await conn.execute(Q.clear_reviewers, campaign_id)
    await conn.execute(Q.add_reviewers, campaign_id, list(recipients))


async def campaign_reviewers(conn: Db, campaign_id: str) -> list[str]:
    return [r["recipient"] for r in await conn.fetch(Q.campaign_reviewers, campaign_id)]


async def reviewers_of(conn: Db, campaign_ids: Sequence[str]) -> dict[str, list[str]]:
    """Each campaign's reviewers, in address order."""
    reviewers: dict[str, list[str]] = {}
    for r in await conn.fetch(Q.reviewers_of, list(campaign_ids)):
        reviewers.setdefault(r["campaign_id"], []).append(r["recipient"])
    return reviewers


# --- deliveries and the inbox --------------------------------------------------------------

_DELIVERY_COLUMNS = tuple(f.name for f in fields(NewDelivery))


async def insert_deliveries(conn: Db, deliveries: Sequence[NewDelivery]) -> list[RecordedDelivery]:
    """Record deliveries; returns only those not recorded before (the rest are neither rewritten nor returned)."""
    columns = [[getattr(d, name) for d in deliveries] for name in _DELIVERY_COLUMNS]
    return _rows(RecordedDelivery, await conn.fetch(Q.insert_deliveries, *columns))


async def inbox(conn: Db, address: str, before: int | None, unread_only: bool, limit: int) -> list[InboxRow]:
    return _rows(InboxRow, await conn.fetch(Q.inbox, address, before, unread_only, limit))


async def unread_count(conn: Db, address: str) -> int:
    count: int = await conn.fetchval(Q.unread_count, address)
    return count


async def mark_read(conn: Db, notification_id: uuid.UUID, address: str) -> ReadMark | None:
    row = await conn.fetchrow(Q.mark_read, notification_id, address)
    return _row(ReadMark, row) if row is not None else None


async def deliveries(conn: Db, source_event_id: uuid.UUID | None, recipient: str | None,
                     limit: int) -> list[DeliveryRow]:
    return _rows(DeliveryRow, await conn.fetch(Q.deliveries, source_event_id, recipient, limit))


async def redeliver_message(conn: Db, delivery_id: uuid.UUID) -> Redelivery | None:
    """Make a dead or delivered e-mail or SMS due again; None when it is neither."""
    row = await conn.fetchrow(Q.redeliver_message, delivery_id)
    return _row(Redelivery, row) if row is not None else None


async def attempts_of(conn: Db, delivery_id: uuid.UUID) -> list[AttemptRow]:
    return _rows(AttemptRow, await conn.fetch(Q.attempts_of, delivery_id))


async def record_attempt(conn: Db, attempt: Attempt) -> None:
    await conn.execute(Q.record_attempt, attempt.delivery_id, attempt.channel, attempt.started_at,
                       attempt.duration_ms, attempt.outcome, attempt.status_code, attempt.error)


async def outstanding(conn: Db) -> Outstanding:
    """How many e-mail/SMS and webhook deliveries are still to be made."""
    row = await conn.fetchrow(Q.outstanding)
    assert row is not None  # an aggregate always answers one row
    return _row(Outstanding, row)


# --- sending e-mail and SMS ----------------------------------------------------------------

async def claim_due_messages(conn: Db, limit: int, lease_s: float) -> list[ClaimedMessage]:
    return _rows(ClaimedMessage, await conn.fetch(Q.claim_due_messages, limit, lease_s))


async def recent_sends(conn: Db, recipient: str, channel: str, delivery_id: uuid.UUID, window_s: float) -> list[float]:
    """Epoch seconds of what counts against the recipient's rate limit on the channel."""
    return [r["at"] for r in await conn.fetch(Q.recent_sends, recipient, channel, delivery_id, window_s)]


async def message_done(conn: Db, delivery_id: uuid.UUID, status: str, attempts_add: int,
                       next_attempt_at: datetime | None, error: str | None) -> bool:
    """Record how a send ended; False when the delivery was no longer this sender's (nothing written)."""
    row = await conn.fetchrow(Q.message_done, delivery_id, status, attempts_add, next_attempt_at, error)
    return row is not None


# --- webhooks ------------------------------------------------------------------------------

async def create_subscription(conn: Db, new: NewSubscription) -> SubscriptionRow:
    row = await conn.fetchrow(Q.create_subscription, new.id, new.url, list(new.event_types), new.campaign_id,
                              new.secret, new.description, new.retry.max_age_s, new.retry.max_attempts,
                              new.retry.cap_s, new.contact)
    assert row is not None  # an insert with RETURNING answers the row it wrote
    return _subscription(row)


async def subscriptions(conn: Db) -> list[SubscriptionRow]:
    return [_subscription(r) for r in await conn.fetch(Q.subscriptions)]


def _subscription(row: asyncpg.Record) -> SubscriptionRow:
    return SubscriptionRow(row["id"], row["url"], list(row["event_types"]), row["campaign_id"], row["description"],
                           row["active"], row["created_at"], _retry(row), row["contact"])


def _retry(row: asyncpg.Record) -> domain.RetryPolicy:
    return domain.RetryPolicy(row["max_age_s"], row["max_attempts"], row["retry_cap_s"])


async def subscription_description(conn: Db, subscription_id: uuid.UUID) -> str:
    return str(await conn.fetchval(Q.subscription_description, subscription_id) or "")


async def deactivate_subscription(conn: Db, subscription_id: uuid.UUID) -> bool:
    """False when there is no such subscription."""
    return await conn.fetchrow(Q.deactivate_subscription, subscription_id) is not None


async def matching_subscriptions(conn: Db, event_types: Sequence[str]) -> list[domain.WebhookSubscriber]:
    """Active subscriptions to any of `event_types`."""
    return [
        domain.WebhookSubscriber(r["id"], list(r["event_types"]), r["campaign_id"])
        for r in await conn.fetch(Q.matching_subscriptions, list(event_types))
    ]


async def insert_webhook_deliveries(conn: Db, deliveries: Sequence[NewWebhookDelivery]) -> None:
    """Record webhook deliveries, at most one per (subscription, event)."""
    columns = [[getattr(d, f.name) for d in deliveries] for f in fields(NewWebhookDelivery)]
    await conn.fetch(Q.insert_webhook_deliveries, *columns)


async def webhook_deliveries(conn: Db, subscription_id: uuid.UUID | None, status: str | None,
                             limit: int) -> list[WebhookDeliveryRow]:
    return _rows(WebhookDeliveryRow, await conn.fetch(Q.webhook_deliveries, subscription_id, status, limit))


async def webhook_delivery(conn: Db, delivery_id: uuid.UUID) -> WebhookDeliveryRow | None:
    row = await conn.fetchrow(Q.webhook_delivery, delivery_id)
    return _row(WebhookDeliveryRow, row) if row is not None else None


async def redeliver_webhook(conn: Db, delivery_id: uuid.UUID) -> Redelivery | None:
    """Make a dead or delivered webhook delivery due again; None when it is neither."""
    row = await conn.fetchrow(Q.redeliver_webhook, delivery_id)
    return _row(Redelivery, row) if row is not None else None


async def claim_due_webhooks(conn: Db, limit: int, in_flight: dict[uuid.UUID, int], per_endpoint: int,
                             lease_s: float, now: datetime) -> list[ClaimedWebhook]:
    """Webhook deliveries due at `now`, at most `per_endpoint` in flight per subscription counting `in_flight`."""
    records = await conn.fetch(Q.claim_due_webhooks, limit, list(in_flight), list(in_flight.values()),
                               per_endpoint, lease_s, now)
    return [ClaimedWebhook(**{f.name: r[f.name] for f in fields(ClaimedWebhook) if f.name != "retry"},
                           retry=_retry(r)) for r in records]


async def webhook_done(conn: Db, delivery_id: uuid.UUID, status: str, next_attempt_at: datetime | None,
                       error: str | None, now: datetime) -> bool:
    """Record how a post ended; False when the delivery was no longer this sender's (nothing written)."""
    return await conn.fetchrow(Q.webhook_done, delivery_id, status, next_attempt_at, error, now) is not None



# --- coalesced notices --------------------------------------------------------------------------------------

Window = domain.NoticeWindow[domain.Source]


def _held_json(window: Window) -> dict[str, Any] | None:
    if window.held is None:
        return None
    source, notice = window.held
    return {"source": {"event_id": str(source.event_id), "event_type": source.event_type,
                       "campaign_id": source.campaign_id},
            "notice": {"template": notice.template, "recipient": notice.recipient, "facts": dict(notice.facts),
                       "refs": dict(notice.refs)}}


def _window(row: Any) -> Window:
    held = row["held"]
    if held is None:
        return domain.NoticeWindow(last_sent_at=row["last_sent_at"])
    s, n = held["source"], held["notice"]
    source = domain.Source(uuid.UUID(s["event_id"]), s["event_type"], s["campaign_id"])
    notice = domain.Notice(n["template"], n["recipient"], n["facts"], n["refs"])
    return domain.NoticeWindow(last_sent_at=row["last_sent_at"], held=(source, notice))


async def lock_notice_windows(conn: Db, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Window]:
    """The (recipient, template) windows, created if missing and locked for this transaction."""
    recipients, templates = [r for r, _ in keys], [t for _, t in keys]
    await conn.execute(Q.create_notice_windows, recipients, templates)
    return {(r["recipient"], r["template"]): _window(r)
            for r in await conn.fetch(Q.notice_windows_for_update, recipients, templates)}


async def save_notice_window(conn: Db, key: tuple[str, str], window: Window) -> None:
    await conn.execute(Q.save_notice_window, key[0], key[1], window.last_sent_at, _held_json(window))


async def claim_due_held_notices(conn: Db, sent_before: datetime, limit: int) -> list[tuple[tuple[str, str], Window]]:
    """Windows with a held notice whose last notice went out before `sent_before`, locked (others skip them)."""
    return [((r["recipient"], r["template"]), _window(r))
            for r in await conn.fetch(Q.claim_due_held_notices, sent_before, limit)]
