"""Notification HTTP routes and event subscribers (thin: rules live in domain.py, SQL in queries.sql)."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Sequence

import asyncpg
from fastapi import APIRouter, Query
from prometheus_client import Counter

from massline.consumer import Delivered
from massline.contracts import (
    CampaignLoaded,
    NominationApproved,
    NominationRejected,
    NominationReturned,
    NominationSubmitted,
    NotificationSent,
    topics,
)
from massline.errors import ApiError
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




def _settings(rt: ServiceRuntime) -> NotificationSettings:
    return rt.settings  # type: ignore[return-value]


def _recipient(address: str) -> str:
    try:
        return domain.parse_recipient(address)
    except domain.RecipientInvalid:
        raise recipient_invalid(address) from None


# --- inbox ---------------------------------------------------------------------------------

@router.get("/inbox/{recipient}")
async def inbox(
    recipient: str,
    rt: Runtime,
    lang: Annotated[Literal["zh", "en"], Query(description="Language of subject and body.")] = "zh",
    unread_only: bool = False,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    before: Annotated[int | None, Query(ge=1, description="`next_before` of the previous page.")] = None,
) -> dict[str, Any]:
    """A recipient's notices, newest first, with how many are unread.

    `subject` and `body` are plain text with HTML special characters escaped: insert them into a
    page as they are (with `white-space: pre-line` for the line breaks), never escape them again
    and never unescape them.

    Not yet authenticated: the gateway will let a unit, office or expert read only its own inbox.
    """
    address = _recipient(recipient)
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
async def mark_read(recipient: str, notification_id: uuid.UUID, rt: Runtime) -> dict[str, Any]:
    """Mark one notice read. Repeating it changes nothing and keeps the first reading time.

    Not yet authenticated: the gateway will let only the recipient mark its own notices.
    """
    address = _recipient(recipient)
    row = await rt.pool.fetchrow(Q.mark_read, notification_id, address)
    if row is None:
        raise notification_not_found()
    return {"id": str(row["id"]), "read": True, "read_at": row["read_at"].isoformat()}


# --- operators -----------------------------------------------------------------------------

@router.get("/deliveries")
async def deliveries(
    rt: Runtime,
    source_event_id: uuid.UUID | None = None,
    recipient: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Every delivery with its status, newest first: what was told to whom about which event.

    For operators; the notice text is left out. Not yet authenticated: the gateway will admit
    operators only.
    """
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


# --- consumers -----------------------------------------------------------------------------

async def on_campaign(conn: asyncpg.Connection, batch: Sequence[Delivered], rt: ServiceRuntime) -> None:
    """Learn campaign titles and category names, so notices name them."""
    for item in batch:
        e = item.event
        if isinstance(e, CampaignLoaded):
            categories = {c.id: {"zh": c.name, "en": c.name_en or c.name} for c in e.categories}
            await conn.execute(Q.upsert_campaign, e.campaign_id, e.version, e.title, categories)


async def on_nomination(conn: asyncpg.Connection, batch: Sequence[Delivered], rt: ServiceRuntime) -> None:
    """Tell the nominating unit its nomination was received, approved, returned or rejected."""
    pending = [(item, notice) for item in batch for notice in domain.notices_for(item.event)]
    if pending:
        await record_inbox_notices(conn, rt, pending)


async def record_inbox_notices(
    conn: asyncpg.Connection, rt: ServiceRuntime, pending: Sequence[tuple[Delivered, domain.Notice]]
) -> None:
    """Render each notice and write it to the recipient's inbox once, announcing each new one."""
    templates: TemplateCatalog = rt.state["templates"]
    campaign_ids = sorted({item.envelope.campaign_id for item, _ in pending})
    campaigns = {
        r["id"]: domain.CampaignNames(r["title"], r["categories"])
        for r in await conn.fetch(Q.campaign_names, campaign_ids)
    }
    columns: dict[str, list[Any]] = {name: [] for name in _DELIVERY_COLUMNS}
    for item, notice in pending:
        env = item.envelope
        zh = templates.render_notice(notice, env.campaign_id, campaigns.get(env.campaign_id), "zh")
        en = templates.render_notice(notice, env.campaign_id, campaigns.get(env.campaign_id), "en")
        row = {
            "id": domain.delivery_id(env.event_id, notice.recipient, domain.INBOX),
            "source_event_id": env.event_id,
            "source_event_type": env.event_type,
            "campaign_id": env.campaign_id,
            "recipient": notice.recipient,
            "channel": domain.INBOX,
            "template": notice.template,
            "refs": json.dumps(dict(notice.refs)),
            "subject_zh": zh.subject,
            "body_zh": zh.body,
            "subject_en": en.subject,
            "body_en": en.body,
            # The inbox is this database: written is delivered.
            "status": "delivered",
        }
        for name in _DELIVERY_COLUMNS:
            columns[name].append(row[name])
    await conn.execute(Q.ensure_recipients, sorted(set(columns["recipient"])))
    inserted = await conn.fetch(Q.insert_deliveries, *(columns[name] for name in _DELIVERY_COLUMNS))
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
            for r in inserted
        ],
    )
    for r in inserted:
        rt.state["metrics"].sent.labels(r["channel"]).inc()
    # Ids and template names only: the text may name people and stays out of the logs.
    log.info(
        "notifications recorded",
        extra={"recorded": len(inserted), "already_recorded": len(pending) - len(inserted),
               "templates": sorted({r["template"] for r in inserted})},
    )


_DELIVERY_COLUMNS = (
    "id", "source_event_id", "source_event_type", "campaign_id", "recipient", "channel", "template", "refs",
    "subject_zh", "body_zh", "subject_en", "body_en", "status",
)


def register(rt: ServiceRuntime, templates: TemplateCatalog) -> None:
    rt.state = {"metrics": Metrics(rt), "templates": templates}

    def bind(fn):
        async def handler(conn: asyncpg.Connection, batch: Sequence[Delivered]) -> None:
            await fn(conn, batch, rt)

        handler.__doc__ = fn.__doc__
        return handler

    rt.subscribe(topics.CAMPAIGN, "campaigns", bind(on_campaign), events=[CampaignLoaded],
                 description="Learn campaign titles and category names for the notices.")
    rt.subscribe(topics.NOMINATION, "nominations", bind(on_nomination),
                 events=[NominationSubmitted, NominationApproved, NominationReturned, NominationRejected],
                 description="Tell nominating units what became of their nominations.")
