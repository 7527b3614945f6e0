"""Background delivery: e-mail, SMS and webhooks that are due, sent concurrently with retries; reminders."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from massline.contracts import NotificationFailed, NotificationSent

from . import domain, notices, repository
from .channels import EmailSender, SendFailed, SmsProvider, WebhookSender
from .deps import NotificationDeps
from .repository import Attempt, ClaimedMessage, ClaimedWebhook

log = logging.getLogger(__name__)


class Dispatcher:
    """Claims due deliveries (FOR UPDATE SKIP LOCKED) and sends each in its own task.

    The claim loop never waits for a send: a slow or dead endpoint occupies at most
    `webhook_per_endpoint` tasks while every other endpoint's deliveries keep being claimed.
    """

    def __init__(
        self,
        deps: NotificationDeps,
        *,
        email: EmailSender,
        sms: SmsProvider,
        webhooks: WebhookSender,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`clock` says what time it is for webhook retries (when one is due, when it was made, when the next
        is); the schedule itself lives in PostgreSQL (`next_attempt_at`), so it outlives the process."""
        self.deps = deps
        self.clock = clock
        self.settings = deps.settings
        self.email = email
        self.sms = sms
        self.webhooks = webhooks
        self.jitter = jitter
        self.in_flight: set[asyncio.Task[None]] = set()
        self.per_subscription: dict[uuid.UUID, int] = {}
        self.rate = {
            domain.EMAIL: domain.RateLimit(self.settings.email_per_hour, 3600),
            domain.SMS: domain.RateLimit(self.settings.sms_per_hour, 3600),
        }

    # --- loops ---------------------------------------------------------------------------

    async def run(self) -> None:
        """For the life of the service: claim what is due, start sending it, wait for a free slot or the poll."""
        wake = self.deps.wake
        while True:
            try:
                claimed = await self.dispatch_once(wait=False)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("dispatch failed; retrying", extra={"error": type(exc).__name__})
                claimed = 0
            if claimed == 0 or len(self.in_flight) >= self.settings.dispatch_concurrency:
                wake.clear()
                try:
                    await asyncio.wait_for(wake.wait(), self.settings.dispatch_poll_s)
                except TimeoutError:
                    pass

    async def run_reminders(self) -> None:
        """For the life of the service: send the reminders that fell due, and the held notices now due."""
        while True:
            try:
                await self.send_due_reminders()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("reminders failed; retrying", extra={"error": type(exc).__name__})
            await asyncio.sleep(max(self.settings.dispatch_poll_s, 30.0))

    async def send_due_reminders(self) -> int:
        """Record the notices of the reminders that fell due, once each, and the held notices whose quarter hour
        has passed; how many reminders and held notices were sent."""
        return await notices.send_due_reminders(self.deps) + await notices.send_held_notices(self.deps)

    async def dispatch_once(self, *, wait: bool = True) -> int:
        """Claim and start what is due now; with `wait`, return only when those sends have finished."""
        started: list[asyncio.Task[None]] = []
        pool = self.deps.rt.pool
        free = self.settings.dispatch_concurrency - len(self.in_flight)
        if free > 0:
            busy = {k: v for k, v in self.per_subscription.items() if v > 0}
            hooks = await repository.claim_due_webhooks(pool, free, busy, self.settings.webhook_per_endpoint,
                                                        self.settings.dispatch_lease_s, self.clock())
            for hook in hooks:
                self.per_subscription[hook.subscription_id] = self.per_subscription.get(hook.subscription_id, 0) + 1
                started.append(self._spawn(self._deliver_webhook(hook), hook.subscription_id))
        free = self.settings.dispatch_concurrency - len(self.in_flight)
        if free > 0:
            for message in await repository.claim_due_messages(pool, free, self.settings.dispatch_lease_s):
                started.append(self._spawn(self._deliver_message(message), None))
        if wait and started:
            await asyncio.gather(*started, return_exceptions=True)
        return len(started)

    def _spawn(self, work: Coroutine[Any, Any, None], subscription_id: uuid.UUID | None) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self.in_flight.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self.in_flight.discard(t)
            if subscription_id is not None:
                self.per_subscription[subscription_id] -= 1
            if not t.cancelled() and t.exception() is not None:
                log.error("delivery task failed", exc_info=t.exception())
            self.deps.wake.set()

        task.add_done_callback(done)
        return task

    def _after_failure(self, attempts_before: int, failure: SendFailed) -> tuple[str, datetime | None]:
        """Status and next attempt after a failed send: dead-lettered, or retried after a growing delay."""
        attempts = attempts_before + 1
        status = domain.status_after_failure(attempts, permanent=failure.permanent,
                                             max_attempts=self.settings.max_attempts)
        if status == "dead":
            return status, None
        delay = domain.backoff_s(attempts, self.settings.retry_base_s, self.settings.retry_cap_s, self.jitter())
        return status, datetime.now(UTC) + timedelta(seconds=delay)

    # --- webhooks ------------------------------------------------------------------------

    async def _deliver_webhook(self, hook: ClaimedWebhook) -> None:
        started_at = self.clock()
        t0 = time.monotonic()
        code: int | None = None
        try:
            if not hook.active:
                raise SendFailed("subscription deactivated", permanent=True)
            response = await self.webhooks.post(
                hook.url, hook.secret, hook.body,
                {"X-Massline-Event-Id": str(hook.source_event_id), "X-Massline-Event-Type": hook.event_type,
                 "X-Massline-Delivery": str(hook.id)},
            )
            status, next_at, error, code = "delivered", None, None, response.status_code
        except SendFailed as exc:
            code, error = exc.status_code, exc.reason
            next_at = domain.webhook_after_failure(
                hook.attempts + 1, permanent=exc.permanent, policy=hook.retry, created_at=hook.retry_since,
                now=self.clock(), base_s=self.settings.retry_base_s, jitter=self.jitter())
            status = "pending" if next_at is not None else "dead"
        duration = int((time.monotonic() - t0) * 1000)
        outcome = domain.ATTEMPT_OUTCOMES[status]
        async with self.deps.rt.unit_of_work() as uow:
            if not await repository.webhook_done(uow.conn, hook.id, status, next_at, error, self.clock()):
                return
            await repository.record_attempt(
                uow.conn, Attempt(hook.id, domain.WEBHOOK, started_at, duration, outcome, code, error))
            if status == "dead":
                await notices.tell_of_dead_webhook(self.deps, uow, hook, error or "failed")
        self.deps.metrics.webhooks.labels(outcome).inc()
        if status == "dead":
            # Ids only: the URL may carry a token of the subscriber's.
            log.warning("webhook delivery dead-lettered",
                        extra={"delivery_id": str(hook.id), "subscription_id": str(hook.subscription_id),
                               "attempts": hook.attempts + 1, "error": error})

    # --- e-mail and SMS ------------------------------------------------------------------

    async def _deliver_message(self, message: ClaimedMessage) -> None:
        started_at = datetime.now(UTC)
        t0 = time.monotonic()
        if await self._held_by_rate_limit(message, started_at):
            return
        try:
            await self._send(message)
            status, next_at, error = "delivered", None, None
        except SendFailed as exc:
            error = exc.reason
            status, next_at = self._after_failure(message.attempts, exc)
        duration = int((time.monotonic() - t0) * 1000)
        outcome = domain.ATTEMPT_OUTCOMES[status]
        async with self.deps.rt.unit_of_work() as uow:
            if not await repository.message_done(uow.conn, message.id, status, 1, next_at, error):
                return
            await repository.record_attempt(
                uow.conn, Attempt(message.id, message.channel, started_at, duration, outcome, None, error))
            if status == "delivered":
                await uow.record(NotificationSent(
                    notification_id=message.id, source_event_id=message.source_event_id,
                    recipient=message.recipient, channel=message.channel, template=message.template),
                    campaign_id=message.campaign_id)
            elif status == "dead":
                await uow.record(NotificationFailed(
                    notification_id=message.id, source_event_id=message.source_event_id,
                    recipient=message.recipient, channel=message.channel, reason=error or "failed"),
                    campaign_id=message.campaign_id)
        if status == "delivered":
            self.deps.metrics.sent.labels(message.channel).inc()

    async def _held_by_rate_limit(self, message: ClaimedMessage, started_at: datetime) -> bool:
        """Put the message back until the recipient's rate limit lets it go; False when it may go now."""
        rule = self.rate[message.channel]
        recent = await repository.recent_sends(self.deps.rt.pool, message.recipient, message.channel, message.id,
                                               rule.window_s)
        held_until = domain.rate_limited_until(recent, time.time(), rule)
        if held_until is None:
            return False
        until = datetime.fromtimestamp(held_until, UTC)
        async with self.deps.rt.unit_of_work() as uow:
            if await repository.message_done(uow.conn, message.id, "pending", 0, until, "rate limited"):
                await repository.record_attempt(
                    uow.conn, Attempt(message.id, message.channel, started_at, 0, "deferred", None, "rate limited"))
        return True

    async def _send(self, message: ClaimedMessage) -> None:
        """One attempt over the message's channel, to the detail on file in the recipient's language."""
        contact = await repository.contact_of(self.deps.rt.pool, message.recipient)
        locale = domain.resolve_locale(contact.locale) if contact else domain.DEFAULT_LOCALE
        subject, body = message.text(locale)
        if message.channel == domain.EMAIL:
            if not contact or not contact.email:
                raise SendFailed("no e-mail address on file", permanent=True)
            await self.email.send(contact.email, subject, body, str(message.id))
        else:
            if not contact or not contact.mobile:
                raise SendFailed("no mobile number on file", permanent=True)
            await self.sms.send(contact.mobile, subject)
