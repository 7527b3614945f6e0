"""Notification HTTP routes and event subscribers (thin: rules live in domain.py, SQL in queries.sql)."""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, Sequence

import asyncpg
from fastapi import APIRouter, Query
from pydantic import Field
from prometheus_client import Counter

from massline.auth import CallerDep, require_role
from massline.consumer import Delivered
from massline.contracts import (
    CampaignLoaded,
    NominationApproved,
    NominationRejected,
    NominationReturned,
    NominationSubmitted,
    NominationWithdrawn,
    NotificationSent,
    ExpertAssigned,
    ExpertScoreReopened,
    RankingComputed,
    ResultsPublished,
    topics,
)
from massline.errors import ApiError, RequestBody
from massline.service import Runtime, ServiceRuntime

from . import domain
from .rendering import TemplateCatalog
from .repository import Q
from .settings import NotificationSettings

log = logging.getLogger(__name__)
router = APIRouter(tags=["notification"])


# --- errors --------------------------------------------------------------------------------

def recipient_invalid(address: str) -> ApiError:
    return ApiError(
        422, "recipient_invalid", "收件人地址无效，应为“类型:编号”，如 unit:123",
        "Not a recipient address; expected <kind>:<id>, e.g. unit:123",
        {"recipient": address[:200], "kinds": list(domain.RECIPIENT_KINDS)},
    )


def notification_not_found() -> ApiError:
    return ApiError(404, "notification_not_found", "该收件人没有这条消息", "This recipient has no such notification")


class Metrics:
    def __init__(self, rt: ServiceRuntime) -> None:
        # Counted in the transaction that records the deliveries: a batch that is rolled back and
        # retried one event at a time counts twice. The deliveries table holds the exact number.
        self.sent = Counter(
            "massline_notifications_sent", "Notifications recorded as sent", ["channel"], registry=rt.registry
        )
        self.webhooks = Counter(
            "massline_webhook_attempts", "Webhook delivery attempts by outcome", ["outcome"], registry=rt.registry
        )




def _settings(rt: ServiceRuntime) -> NotificationSettings:
    return rt.settings  # type: ignore[return-value]


def _recipient(address: str) -> str:
    try:
        return domain.parse_recipient(address)
    except domain.RecipientInvalid:
        raise recipient_invalid(address) from None


# --- inbox ---------------------------------------------------------------------------------

def _own_inbox(recipient: str, caller: Any) -> str:
    address = _recipient(recipient)
    if not domain.may_read_inbox(caller.role, caller.username, caller.organisation_id, address):
        raise ApiError(403, "not_your_inbox", "只能查看本人或本单位的消息", "You may read only your own inbox")
    return address


@router.get("/inbox/{recipient}")
async def inbox(
    recipient: str,
    rt: Runtime,
    caller: CallerDep,
    lang: Annotated[Literal["zh", "en"], Query(description="Language of subject and body.")] = "zh",
    unread_only: bool = False,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    before: Annotated[int | None, Query(ge=1, description="`next_before` of the previous page.")] = None,
) -> dict[str, Any]:
    """A recipient's notices, newest first, with how many are unread.

    `subject` and `body` are plain text with HTML special characters escaped: insert them into a
    page as they are (with `white-space: pre-line` for the line breaks), never escape them again
    and never unescape them.

    Signed in: a unit or office reads only its own inbox, an expert theirs, the committee the
    committee's (403 `not_your_inbox` otherwise).
    """
    address = _own_inbox(recipient, caller)
    page = limit or _settings(rt).inbox_page_size
    rows = await rt.pool.fetch(Q.inbox, address, before, unread_only, page)
    unread = await rt.pool.fetchval(Q.unread_count, address)
    return {
        "recipient": address,
        "unread": unread,
        "notifications": [
            {
                "id": str(r["id"]),
                "template": r["template"],
                "subject": r[f"subject_{lang}"],
                "body": r[f"body_{lang}"],
                "created_at": r["created_at"].isoformat(),
                "read": r["read_at"] is not None,
                "read_at": _iso(r["read_at"]),
                "campaign_id": r["campaign_id"],
                "event_type": r["source_event_type"],
                "refs": r["refs"],
            }
            for r in rows
        ],
        "next_before": rows[-1]["seq"] if len(rows) == page else None,
    }


@router.post("/inbox/{recipient}/{notification_id}/read")
async def mark_read(recipient: str, notification_id: uuid.UUID, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Mark one notice read (its recipient only). Repeating it changes nothing and keeps the first reading time."""
    address = _own_inbox(recipient, caller)
    row = await rt.pool.fetchrow(Q.mark_read, notification_id, address)
    if row is None:
        raise notification_not_found()
    return {"id": str(row["id"]), "read": True, "read_at": row["read_at"].isoformat()}


# --- operators -----------------------------------------------------------------------------

@router.get("/deliveries")
async def deliveries(
    rt: Runtime,
    caller: CallerDep,
    source_event_id: uuid.UUID | None = None,
    recipient: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Every delivery with its status, newest first: what was told to whom about which event.

    For operators and administrators; the notice text is left out.
    """
    require_role(caller, "operator", "admin")
    address = _recipient(recipient) if recipient is not None else None
    rows = await rt.pool.fetch(Q.deliveries, source_event_id, address, limit)
    return {
        "deliveries": [
            {
                "id": str(r["id"]),
                "source_event_id": str(r["source_event_id"]),
                "source_event_type": r["source_event_type"],
                "campaign_id": r["campaign_id"],
                "recipient": r["recipient"],
                "channel": r["channel"],
                "template": r["template"],
                "status": r["status"],
                "attempts": r["attempts"],
                "last_error": r["last_error"],
                "next_attempt_at": _iso(r["next_attempt_at"]),
                "created_at": r["created_at"].isoformat(),
                "delivered_at": _iso(r["delivered_at"]),
                "read_at": _iso(r["read_at"]),
            }
            for r in rows
        ]
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- administration: contact details, reviewers --------------------------------------------

def _admin(caller: Any) -> None:
    require_role(caller, "admin", "operator")


class ContactDetails(RequestBody):
    email: str | None = Field(None, max_length=254, description="Where e-mail notices go; null removes it.")
    mobile: str | None = Field(None, max_length=20, description="Where SMS notices go; null removes it.")
    locale: Literal["zh", "en"] | None = Field(None, description="Language of e-mail and SMS notices.")


def contact_invalid(field_name: str) -> ApiError:
    zh = {"email": "电子邮箱格式不正确", "mobile": "手机号码格式不正确"}[field_name]
    return ApiError(422, f"{field_name}_invalid", zh, f"The {field_name} is not valid", {"field": field_name})


@router.put("/contacts/{recipient}")
async def set_contact(recipient: str, body: ContactDetails, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Set a recipient's e-mail address and mobile number (administrators).

    The answer says only which channels are on file: the details are never shown, logged or published.
    """
    _admin(caller)
    address = _recipient(recipient)
    if body.email is not None and not domain.valid_email(body.email):
        raise contact_invalid("email")
    if body.mobile is not None and not domain.valid_mobile(body.mobile.replace(" ", "").replace("-", "")):
        raise contact_invalid("mobile")
    mobile = body.mobile.replace(" ", "").replace("-", "") if body.mobile else None
    async with rt.pool.acquire() as conn, conn.transaction():
        await conn.execute(Q.ensure_recipients, [address])
        await conn.execute(Q.upsert_contact, address, body.email, mobile)
        if body.locale:
            await conn.execute(Q.set_locale, address, body.locale)
        row = await conn.fetchrow(Q.contact_summary, address)
    return _contact(row)


@router.get("/contacts/{recipient}")
async def get_contact(recipient: str, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Which channels a recipient can be reached on (administrators); never the details themselves."""
    _admin(caller)
    address = _recipient(recipient)
    row = await rt.pool.fetchrow(Q.contact_summary, address)
    if row is None:
        return {"recipient": address, "locale": domain.DEFAULT_LOCALE, "email": False, "sms": False}
    return _contact(row)


def _contact(row: asyncpg.Record) -> dict[str, Any]:
    return {"recipient": row["address"], "locale": row["locale"], "email": bool(row["has_email"]),
            "sms": bool(row["has_mobile"])}


class Reviewers(RequestBody):
    recipients: list[str] = Field(max_length=100, description="Who is told of new nominations, e.g. office:xian.")


@router.put("/campaigns/{campaign_id}/reviewers")
async def set_reviewers(campaign_id: str, body: Reviewers, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Name who is told of each new nomination of a campaign (administrators); replaces the list."""
    _admin(caller)
    recipients = sorted({_recipient(r) for r in body.recipients})
    async with rt.pool.acquire() as conn, conn.transaction():
        await conn.execute(Q.ensure_recipients, recipients)
        await conn.execute(Q.clear_reviewers, campaign_id)
        await conn.execute(Q.add_reviewers, campaign_id, recipients)
    return {"campaign_id": campaign_id, "recipients": recipients}


@router.get("/campaigns/{campaign_id}/reviewers")
async def get_reviewers(campaign_id: str, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    _admin(caller)
    rows = await rt.pool.fetch(Q.campaign_reviewers, campaign_id)
    return {"campaign_id": campaign_id, "recipients": [r["recipient"] for r in rows]}


# --- webhooks ------------------------------------------------------------------------------

class WebhookSubscriptionRequest(RequestBody):
    url: str = Field(max_length=2000, examples=["https://results.example.org/massline"])
    event_types: list[str] = Field(min_length=1, max_length=20, examples=[["ResultsPublished", "RankingComputed"]])
    campaign_id: str | None = Field(None, max_length=128, description="Only this campaign's events; all when unset.")
    secret: str | None = Field(
        None, min_length=16, max_length=200,
        description="Signs every payload; generated and returned once when unset. Never shown again.",
    )
    description: str = Field("", max_length=500)


def _subscription(row: asyncpg.Record) -> dict[str, Any]:
    return {"id": str(row["id"]), "url": row["url"], "event_types": list(row["event_types"]),
            "campaign_id": row["campaign_id"], "description": row["description"], "active": row["active"],
            "created_at": row["created_at"].isoformat()}


def subscription_not_found() -> ApiError:
    return ApiError(404, "subscription_not_found", "没有这个 Webhook 订阅", "No such webhook subscription")


@router.post("/webhooks", status_code=201)
async def create_subscription(body: WebhookSubscriptionRequest, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Subscribe a downstream system's URL to public events (administrators). See docs/integration.md."""
    _admin(caller)
    unknown = sorted(set(body.event_types) - set(domain.WEBHOOK_EVENTS))
    if unknown:
        raise ApiError(422, "event_type_unknown", "不能订阅这些事件类型", "These event types cannot be subscribed to",
                       {"unknown": unknown, "allowed": sorted(domain.WEBHOOK_EVENTS)})
    production = _settings(rt).env == "production"
    try:
        domain.check_webhook_url(body.url, production=production, resolve=_resolve if production else None)
    except domain.WebhookUrlRefused as exc:
        raise ApiError(422, exc.code, exc.zh, exc.en, {"url": body.url[:200]}) from None
    secret = body.secret or secrets.token_urlsafe(32)
    row = await rt.pool.fetchrow(Q.create_subscription, uuid.uuid4(), body.url, sorted(set(body.event_types)),
                                 body.campaign_id, secret, body.description)
    answer = _subscription(row)
    if body.secret is None:
        answer["secret"] = secret
    return answer


def _resolve(host: str) -> list[str]:
    import socket

    return sorted({info[4][0] for info in socket.getaddrinfo(host, None)})


@router.get("/webhooks")
async def list_subscriptions(rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    _admin(caller)
    return {"subscriptions": [_subscription(r) for r in await rt.pool.fetch(Q.subscriptions)]}


@router.delete("/webhooks/{subscription_id}")
async def deactivate_subscription(subscription_id: uuid.UUID, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Stop a subscription; deliveries not yet made are dead-lettered at their next attempt."""
    _admin(caller)
    if await rt.pool.fetchrow(Q.deactivate_subscription, subscription_id) is None:
        raise subscription_not_found()
    return {"id": str(subscription_id), "active": False}


def _webhook_delivery(row: asyncpg.Record) -> dict[str, Any]:
    return {"id": str(row["id"]), "subscription_id": str(row["subscription_id"]),
            "source_event_id": str(row["source_event_id"]), "event_type": row["event_type"],
            "campaign_id": row["campaign_id"], "status": row["status"], "attempts": row["attempts"],
            "next_attempt_at": _iso(row["next_attempt_at"]) if row["status"] == "pending" else None,
            "last_error": row["last_error"], "created_at": row["created_at"].isoformat(),
            "delivered_at": _iso(row["delivered_at"])}


@router.get("/webhooks/deliveries")
async def webhook_deliveries(
    rt: Runtime,
    caller: CallerDep,
    subscription_id: uuid.UUID | None = None,
    status: Literal["pending", "sending", "delivered", "dead"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """The delivery log, newest first: status, attempts and last error of each webhook delivery."""
    _admin(caller)
    rows = await rt.pool.fetch(Q.webhook_deliveries, subscription_id, status, limit)
    return {"deliveries": [_webhook_delivery(r) for r in rows]}


@router.get("/webhooks/deliveries/{delivery_id}")
async def webhook_delivery(delivery_id: uuid.UUID, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """One webhook delivery with every attempt: when, how long, the answer's status code, the error."""
    _admin(caller)
    row = await rt.pool.fetchrow(Q.webhook_delivery, delivery_id)
    if row is None:
        raise delivery_not_found()
    return {**_webhook_delivery(row), "attempt_log": await _attempts(rt, delivery_id)}


async def _attempts(rt: ServiceRuntime, delivery_id: uuid.UUID) -> list[dict[str, Any]]:
    return [
        {"attempt": a["attempt"], "started_at": a["started_at"].isoformat(), "duration_ms": a["duration_ms"],
         "outcome": a["outcome"], "status_code": a["status_code"], "error": a["error"]}
        for a in await rt.pool.fetch(Q.attempts_of, delivery_id)
    ]


def delivery_not_found() -> ApiError:
    return ApiError(404, "delivery_not_found", "没有这条投递记录", "No such delivery")


@router.post("/webhooks/deliveries/{delivery_id}/redeliver", status_code=202)
async def redeliver_webhook(delivery_id: uuid.UUID, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Send a dead-lettered (or delivered) webhook again with the same body and event id."""
    _admin(caller)
    row = await rt.pool.fetchrow(Q.redeliver_webhook, delivery_id)
    if row is None:
        if await rt.pool.fetchrow(Q.webhook_delivery, delivery_id) is None:
            raise delivery_not_found()
        raise ApiError(409, "delivery_in_progress", "该投递仍在进行中，无需重新投递",
                       "This delivery is still being attempted; nothing to redeliver")
    _wake(rt)
    return {"id": str(row["id"]), "status": row["status"]}


@router.post("/deliveries/{delivery_id}/redeliver", status_code=202)
async def redeliver_message(delivery_id: uuid.UUID, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Send a dead-lettered e-mail or SMS again (operators), e.g. after the address was corrected."""
    _admin(caller)
    row = await rt.pool.fetchrow(Q.redeliver_message, delivery_id)
    if row is None:
        raise ApiError(409, "delivery_not_redeliverable", "只有已失败或已送达的邮件、短信可以重新投递",
                       "Only a dead or delivered e-mail or SMS can be sent again")
    _wake(rt)
    return {"id": str(row["id"]), "status": row["status"]}


@router.get("/deliveries/{delivery_id}/attempts")
async def delivery_attempts(delivery_id: uuid.UUID, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    _admin(caller)
    return {"id": str(delivery_id), "attempt_log": await _attempts(rt, delivery_id)}


@router.get("/dev/sms")
async def development_sms(rt: Runtime) -> dict[str, Any]:
    """What the development SMS provider recorded (not in production)."""
    if _settings(rt).env == "production" or not hasattr(rt.state.get("sms"), "sent"):
        raise ApiError(404, "not_available", "生产环境不提供此接口", "Not available in production")
    return {"messages": [{"mobile": m.mobile, "text": m.text} for m in rt.state["sms"].sent[-200:]]}


def _wake(rt: ServiceRuntime) -> None:
    dispatcher = rt.state.get("dispatcher")
    if dispatcher is not None:
        dispatcher.wake.set()


# --- consumers -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """What a notice is about: an event, or a reminder that fell due."""

    event_id: uuid.UUID
    event_type: str
    campaign_id: str


def _source(item: Delivered) -> Source:
    return Source(item.envelope.event_id, item.envelope.event_type, item.envelope.campaign_id)


async def on_campaign(conn: asyncpg.Connection, batch: Sequence[Delivered], rt: ServiceRuntime) -> None:
    """Learn campaign titles, category names and deadlines, so notices name them and reminders go out."""
    days = _settings(rt).reminder_days
    for item in batch:
        e = item.event
        if isinstance(e, CampaignLoaded):
            categories = {c.id: {"zh": c.name, "en": c.name_en or c.name} for c in e.categories}
            await conn.execute(Q.upsert_campaign, e.campaign_id, e.version, e.title, categories)
            await conn.execute(Q.set_campaign_timezone, e.campaign_id, e.timezone or "Asia/Shanghai", e.version)
            # The definition's own deadline when the event carries it; older events fall back to the phases.
            deadline = e.activity_deadline or domain.activity_deadline(e.scoring, e.phases, e.timezone)
            if deadline is not None:
                await conn.execute(
                    Q.schedule_reminder, domain.reminder_id(e.campaign_id, "activity_deadline_near", deadline),
                    e.campaign_id, "activity_deadline_near", deadline, deadline - timedelta(days=days),
                )


async def on_nomination(conn: asyncpg.Connection, batch: Sequence[Delivered], rt: ServiceRuntime) -> None:
    """Tell the nominating unit what became of its nomination, reviewers of new ones, and webhooks."""
    campaign_ids = sorted({item.envelope.campaign_id for item in batch
                           if isinstance(item.event, NominationSubmitted)})
    reviewers: dict[str, list[str]] = {}
    if campaign_ids:
        for r in await conn.fetch(Q.reviewers_of, campaign_ids):
            reviewers.setdefault(r["campaign_id"], []).append(r["recipient"])
    pending = [
        (_source(item), notice)
        for item in batch
        for notice in domain.notices_for(item.event, item.envelope.campaign_id,
                                         reviewers.get(item.envelope.campaign_id, ()))
    ]
    entered = [(item.envelope.campaign_id, item.event.unit_id) for item in batch
               if isinstance(item.event, NominationApproved) and item.event.final]
    if entered:
        await conn.execute(Q.add_campaign_units, [c for c, _ in entered], [u for _, u in entered])
    if pending:
        await record_notices(conn, rt, pending)
    await fan_out_webhooks(conn, rt, batch)


async def on_ranking(conn: asyncpg.Connection, batch: Sequence[Delivered], rt: ServiceRuntime) -> None:
    """Tell the committee a ranking is ready, and webhooks that it was computed."""
    pending = [(_source(item), n) for item in batch for n in domain.notices_for(item.event, item.envelope.campaign_id)]
    if pending:
        await record_notices(conn, rt, pending)
    await fan_out_webhooks(conn, rt, batch)


async def on_review(conn: asyncpg.Connection, batch: Sequence[Delivered], rt: ServiceRuntime) -> None:
    """Tell each expert of new assignments and of scores the committee reopened; remind them before the deadline."""
    pending = [(_source(item), n) for item in batch for n in domain.notices_for(item.event, item.envelope.campaign_id)]
    if pending:
        await record_notices(conn, rt, pending)
    days = _settings(rt).reminder_days
    for item in batch:
        e = item.event
        if isinstance(e, ExpertAssigned) and e.deadline is not None:
            recipient = domain.recipient_address("expert", e.expert_id)
            await conn.execute(
                Q.schedule_recipient_reminder,
                domain.reminder_id(item.envelope.campaign_id, f"expert_deadline_near:{recipient}", e.deadline),
                item.envelope.campaign_id, "expert_deadline_near", e.deadline, e.deadline - timedelta(days=days),
                recipient,
            )


async def on_results(conn: asyncpg.Connection, batch: Sequence[Delivered], rt: ServiceRuntime) -> None:
    """Tell every unit with an entry where it placed, and webhooks that results are out."""
    pending = [(_source(item), n) for item in batch for n in domain.notices_for(item.event, item.envelope.campaign_id)]
    if pending:
        await record_notices(conn, rt, pending)
    await fan_out_webhooks(conn, rt, batch)


async def fan_out_webhooks(conn: asyncpg.Connection, rt: ServiceRuntime, batch: Sequence[Delivered]) -> None:
    """One webhook delivery per (subscription, event), with the event's envelope as the body."""
    types = sorted({item.envelope.event_type for item in batch} & set(domain.WEBHOOK_EVENTS))
    if not types:
        return
    subscriptions = await conn.fetch(Q.matching_subscriptions, types)
    if not subscriptions:
        return
    columns: list[list[Any]] = [[], [], [], [], [], []]
    for item in batch:
        env = item.envelope
        for sub in subscriptions:
            if env.event_type in sub["event_types"] and sub["campaign_id"] in (None, env.campaign_id):
                row = (domain.delivery_id(env.event_id, f"webhook:{sub['id']}", domain.WEBHOOK), sub["id"],
                       env.event_id, env.event_type, env.campaign_id, env.model_dump_json())
                for column, value in zip(columns, row):
                    column.append(value)
    if columns[0]:
        await conn.fetch(Q.insert_webhook_deliveries, *columns)


async def record_notices(
    conn: asyncpg.Connection, rt: ServiceRuntime, pending: Sequence[tuple[Source, domain.Notice]]
) -> None:
    """Render each notice once and record a delivery per channel the recipient has, at most once each.

    The inbox is delivered on insert and announced at once; e-mail and SMS start pending and are
    announced when the dispatcher has sent them.
    """
    templates: TemplateCatalog = rt.state["templates"]
    campaign_ids = sorted({source.campaign_id for source, _ in pending})
    campaigns = {
        r["id"]: domain.CampaignNames(r["title"], r["categories"], r["timezone"])
        for r in await conn.fetch(Q.campaign_names, campaign_ids)
    }
    recipients = sorted({notice.recipient for _, notice in pending})
    contacts = {
        r["address"]: domain.ContactChannels(email=r["has_email"], sms=r["has_mobile"])
        for r in await conn.fetch(Q.contact_channels, recipients)
    }
    columns: dict[str, list[Any]] = {name: [] for name in _DELIVERY_COLUMNS}
    for source, notice in pending:
        campaign = campaigns.get(source.campaign_id)
        zh = templates.render_notice(notice, source.campaign_id, campaign, "zh")
        en = templates.render_notice(notice, source.campaign_id, campaign, "en")
        for channel in domain.channels_for(notice.template, contacts.get(notice.recipient)):
            row = {
                "id": domain.delivery_id(source.event_id, notice.recipient, channel),
                "source_event_id": source.event_id,
                "source_event_type": source.event_type,
                "campaign_id": source.campaign_id,
                "recipient": notice.recipient,
                "channel": channel,
                "template": notice.template,
                "refs": json.dumps(dict(notice.refs)),
                "subject_zh": zh.subject,
                "body_zh": zh.body,
                "subject_en": en.subject,
                "body_en": en.body,
                # The inbox is this database: written is delivered.
                "status": "delivered" if channel == domain.INBOX else "pending",
            }
            for name in _DELIVERY_COLUMNS:
                columns[name].append(row[name])
    await conn.execute(Q.ensure_recipients, recipients)
    inserted = await conn.fetch(Q.insert_deliveries, *(columns[name] for name in _DELIVERY_COLUMNS))
    delivered = [r for r in inserted if r["status"] == "delivered"]
    await rt.outbox.record_many(
        conn,
        [
            (
                NotificationSent(
                    notification_id=r["id"],
                    source_event_id=r["source_event_id"],
                    recipient=r["recipient"],
                    channel=r["channel"],
                    template=r["template"],
                ),
                r["campaign_id"],
            )
            for r in delivered
        ],
    )
    for r in delivered:
        rt.state["metrics"].sent.labels(r["channel"]).inc()
    if len(delivered) < len(inserted):
        _wake(rt)
    # Ids and template names only: the text may name people and stays out of the logs.
    log.info(
        "notifications recorded",
        extra={"recorded": len(inserted), "already_recorded": len(columns["id"]) - len(inserted),
               "templates": sorted({r["template"] for r in inserted})},
    )


_DELIVERY_COLUMNS = (
    "id", "source_event_id", "source_event_type", "campaign_id", "recipient", "channel", "template", "refs",
    "subject_zh", "body_zh", "subject_en", "body_en", "status",
)


def register(rt: ServiceRuntime, templates: TemplateCatalog) -> None:
    from .channels import DevelopmentSmsProvider, EmailSender, WebhookSender
    from .dispatch import Dispatcher

    settings = _settings(rt)
    sms = DevelopmentSmsProvider()
    rt.state = {"metrics": Metrics(rt), "templates": templates, "sms": sms}

    async def start_dispatcher(rt: ServiceRuntime) -> None:
        # Built inside the running loop: the HTTP client and the wake-up event belong to it.
        rt.state["dispatcher"] = Dispatcher(rt, settings, email=EmailSender(settings), sms=sms,
                                            webhooks=WebhookSender(settings))

    async def dispatch(rt: ServiceRuntime) -> None:
        await rt.state["dispatcher"].run()

    async def reminders(rt: ServiceRuntime) -> None:
        await rt.state["dispatcher"].run_reminders()

    rt.on_startup(start_dispatcher)
    rt.background(dispatch)
    rt.background(reminders)

    def bind(fn):
        async def handler(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
            await fn(conn, batch, rt)

        handler.__doc__ = fn.__doc__
        return handler

    rt.subscribe(topics.CAMPAIGN, "campaigns", bind(on_campaign), events=[CampaignLoaded],
                 description="Learn campaign titles, category names and deadlines for the notices.")
    rt.subscribe(topics.NOMINATION, "nominations", bind(on_nomination),
                 events=[NominationSubmitted, NominationApproved, NominationReturned, NominationRejected,
                         NominationWithdrawn],
                 description="Tell units and reviewers what became of nominations; forward status to webhooks.")
    rt.subscribe(topics.SCORING, "rankings", bind(on_ranking), events=[RankingComputed],
                 description="Tell the committee a ranking is ready; forward it to webhooks.")
    rt.subscribe(topics.REVIEW, "review", bind(on_review), events=[ExpertAssigned, ExpertScoreReopened],
                 description="Tell experts of their assignments.")
    rt.subscribe(topics.RESULT, "results", bind(on_results), events=[ResultsPublished],
                 description="Tell units where their entries placed; forward results to webhooks.")
