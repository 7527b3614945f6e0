"""Background delivery: e-mail, SMS and webhooks that are due, sent concurrently with retries; reminders."""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import asyncpg

from massline.contracts import NotificationFailed, NotificationSent

from . import domain
from .channels import EmailSender, SendFailed, SmsProvider, WebhookSender, sms_text
from .repository import Q
from .settings import NotificationSettings

log = logging.getLogger(__name__)


class Dispatcher:
    """Claims due deliveries (FOR UPDATE SKIP LOCKED) and sends each in its own task.

    The claim loop never waits for a send: a slow or dead endpoint occupies at most
    `webhook_per_endpoint` tasks while every other endpoint's deliveries keep being claimed.
    """

    def __init__(
        self,
        rt: Any,
        settings: NotificationSettings,
        *,
        email: EmailSender,
        sms: SmsProvider,
        webhooks: WebhookSender,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.rt = rt
        self.settings = settings
        self.email = email
        self.sms = sms
        self.webhooks = webhooks
        self.jitter = jitter
        self.in_flight: set[asyncio.Task[None]] = set()
        self.per_subscription: dict[uuid.UUID, int] = {}
        self.wake = asyncio.Event()
        self.rate = {
            domain.EMAIL: domain.RateLimit(settings.email_per_hour, 3600),
            domain.SMS: domain.RateLimit(settings.sms_per_hour, 3600),
        }

    # --- loops ---------------------------------------------------------------------------

    async def run(self) -> None:
        """For the life of the service: claim what is due, start sending it, wait for a free slot or the poll."""
        while True:
            try:
                claimed = await self.dispatch_once(wait=False)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("dispatch failed; retrying", extra={"error": type(exc).__name__})
                claimed = 0
            if claimed == 0 or len(self.in_flight) >= self.settings.dispatch_concurrency:
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), self.settings.dispatch_poll_s)
                except asyncio.TimeoutError:
                    pass

    async def run_reminders(self) -> None:
        while True:
            try:
                await self.send_due_reminders()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("reminders failed; retrying", extra={"error": type(exc).__name__})
            await asyncio.sleep(max(self.settings.dispatch_poll_s, 30.0))

    async def dispatch_once(self, *, wait: bool = True) -> int:
        """Claim and start what is due now; with `wait`, return only when those sends have finished."""
        started: list[asyncio.Task[None]] = []
        free = self.settings.dispatch_concurrency - len(self.in_flight)
        if free > 0:
            busy = {k: v for k, v in self.per_subscription.items() if v > 0}
            hooks = await self.rt.pool.fetch(
                Q.claim_due_webhooks, free, list(busy), list(busy.values()),
                self.settings.webhook_per_endpoint, self.settings.dispatch_lease_s,
            )
            for row in hooks:
                self.per_subscription[row["subscription_id"]] = self.per_subscription.get(row["subscription_id"], 0) + 1
                started.append(self._spawn(self._deliver_webhook(dict(row)), row["subscription_id"]))
        free = self.settings.dispatch_concurrency - len(self.in_flight)
        if free > 0:
            for row in await self.rt.pool.fetch(Q.claim_due_messages, free, self.settings.dispatch_lease_s):
                started.append(self._spawn(self._deliver_message(dict(row)), None))
        if wait and started:
            await asyncio.gather(*started, return_exceptions=True)
        return len(started)

    def _spawn(self, work: Any, subscription_id: uuid.UUID | None) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self.in_flight.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self.in_flight.discard(t)
            if subscription_id is not None:
                self.per_subscription[subscription_id] -= 1
            if not t.cancelled() and t.exception() is not None:
                log.error("delivery task failed", exc_info=t.exception())
            self.wake.set()

        task.add_done_callback(done)
        return task

    def _retry_at(self, attempts: int) -> datetime:
        delay = domain.backoff_s(attempts, self.settings.retry_base_s, self.settings.retry_cap_s, self.jitter())
        return datetime.now(timezone.utc) + timedelta(seconds=delay)

    # --- webhooks ------------------------------------------------------------------------

    async def _deliver_webhook(self, row: dict[str, Any]) -> None:
        started_at = datetime.now(timezone.utc)
        t0 = time.monotonic()
        code: int | None = None
        try:
            if not row["active"]:
                raise SendFailed("subscription deactivated", permanent=True)
            response = await self.webhooks.post(
                row["url"], row["secret"], row["body"],
                {"X-Massline-Event-Id": str(row["source_event_id"]), "X-Massline-Event-Type": row["event_type"],
                 "X-Massline-Delivery": str(row["id"])},
            )
            status, next_at, error, code = "delivered", None, None, response.status_code
        except SendFailed as exc:
            attempts = row["attempts"] + 1
            code, error = exc.status_code, exc.reason
            if exc.permanent or attempts >= self.settings.max_attempts:
                status, next_at = "dead", None
            else:
                status, next_at = "pending", self._retry_at(attempts)
        duration = int((time.monotonic() - t0) * 1000)
        outcome = {"delivered": "delivered", "pending": "retry", "dead": "dead"}[status]
        async with self.rt.pool.acquire() as conn, conn.transaction():
            if await conn.fetchrow(Q.webhook_done, row["id"], status, next_at, error) is None:
                return
            await conn.execute(Q.record_attempt, row["id"], domain.WEBHOOK, started_at, duration, outcome, code, error)
        self.rt.state["metrics"].webhooks.labels(outcome).inc()
        if status == "dead":
            # Ids only: the URL may carry a token of the subscriber's.
            log.warning("webhook delivery dead-lettered",
                        extra={"delivery_id": str(row["id"]), "subscription_id": str(row["subscription_id"]),
                               "error": error})

    # --- e-mail and SMS ------------------------------------------------------------------

    async def _deliver_message(self, row: dict[str, Any]) -> None:
        started_at = datetime.now(timezone.utc)
        t0 = time.monotonic()
        channel = row["channel"]
        rule = self.rate[channel]
        recent = await self.rt.pool.fetch(Q.recent_sends, row["recipient"], channel, row["id"], rule.window_s)
        held_until = domain.rate_limited_until([r["at"] for r in recent], time.time(), rule)
        if held_until is not None:
            until = datetime.fromtimestamp(held_until, timezone.utc)
            async with self.rt.pool.acquire() as conn, conn.transaction():
                if await conn.fetchrow(Q.message_done, row["id"], "pending", 0, until, "rate limited") is not None:
                    await conn.execute(Q.record_attempt, row["id"], channel, started_at, 0, "deferred", None,
                                       "rate limited")
            return
        contact = await self.rt.pool.fetchrow(Q.contact_of, row["recipient"])
        locale = domain.resolve_locale(contact["locale"]) if contact else domain.DEFAULT_LOCALE
        subject, body = row[f"subject_{locale}"], row[f"body_{locale}"]
        try:
            if channel == domain.EMAIL:
                if not contact or not contact["email"]:
                    raise SendFailed("no e-mail address on file", permanent=True)
                await self.email.send(contact["email"], subject, body, str(row["id"]))
            else:
                if not contact or not contact["mobile"]:
                    raise SendFailed("no mobile number on file", permanent=True)
                await self.sms.send(contact["mobile"], sms_text(subject))
            status, next_at, error = "delivered", None, None
        except SendFailed as exc:
            attempts = row["attempts"] + 1
            error = exc.reason
            if exc.permanent or attempts >= self.settings.max_attempts:
                status, next_at = "dead", None
            else:
                status, next_at = "pending", self._retry_at(attempts)
        duration = int((time.monotonic() - t0) * 1000)
        outcome = {"delivered": "delivered", "pending": "retry", "dead": "dead"}[status]
        async with self.rt.pool.acquire() as conn, conn.transaction():
            done = await conn.fetchrow(Q.message_done, row["id"], status, 1, next_at, error)
            if done is None:
                return
            await conn.execute(Q.record_attempt, row["id"], channel, started_at, duration, outcome, None, error)
            if status == "delivered":
                await self.rt.outbox.record(conn, NotificationSent(
                    notification_id=row["id"], source_event_id=row["source_event_id"], recipient=row["recipient"],
                    channel=channel, template=row["template"]), campaign_id=row["campaign_id"])
            elif status == "dead":
                await self.rt.outbox.record(conn, NotificationFailed(
                    notification_id=row["id"], source_event_id=row["source_event_id"], recipient=row["recipient"],
                    channel=channel, reason=error or "failed"), campaign_id=row["campaign_id"])
        if status == "delivered":
            self.rt.state["metrics"].sent.labels(channel).inc()

    # --- reminders -----------------------------------------------------------------------

    async def send_due_reminders(self) -> int:
        """Tell the reminder's recipient (or every unit with an entry) that a deadline is near, once."""
        from .handlers import Source, record_notices

        sent = 0
        async with self.rt.pool.acquire() as conn, conn.transaction():
            for reminder in await conn.fetch(Q.claim_due_reminders, 20):
                deadline: datetime = reminder["deadline"]
                days_left = max(1, math.ceil((deadline - datetime.now(timezone.utc)).total_seconds() / 86400))
                # Written out per locale in the campaign's time zone, the zone named, when rendered.
                facts = {"deadline": deadline, "days_left": days_left}
                if reminder["recipient"]:
                    recipients = [reminder["recipient"]]
                else:
                    recipients = [domain.recipient_address("unit", r["unit_id"])
                                  for r in await conn.fetch(Q.campaign_unit_ids, reminder["campaign_id"])]
                notices = [
                    domain.Notice(reminder["template"], recipient, facts, {"deadline": deadline.isoformat()})
                    for recipient in recipients
                ]
                source = Source(reminder["id"], "ReminderDue", reminder["campaign_id"])
                if notices:
                    await record_notices(conn, self.rt, [(source, n) for n in notices])
                await conn.execute(Q.reminder_sent, reminder["id"])
                sent += 1
        return sent
