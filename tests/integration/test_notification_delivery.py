"""E-mail over a real SMTP server, development SMS, signed webhooks to a real HTTP receiver, retries,
dead letters, redelivery and reminders, against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI

from massline.auth import Caller, issue_token
from massline.consumer import Delivered
from massline.contracts import (
    CampaignLoaded,
    CategoryInfo,
    EntryRanking,
    NominationApproved,
    NominationReturned,
    PhaseInfo,
    ResultsPublished,
    VoteRules,
    make_envelope,
)
from massline.db import create_pool, migrate
from massline.errors import install_error_handlers
from services.notification import domain, notices, repository
from services.notification.app import MIGRATIONS, build_deps
from services.notification.channels import DevelopmentSmsProvider, EmailSender, WebhookSender
from services.notification.deps import NotificationDeps
from services.notification.dispatch import Dispatcher
from services.notification.routes import router
from services.notification.settings import NotificationSettings
from services.operations.devstack import free_port

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


# --- a real SMTP server and a real webhook receiver on loopback ports -------------------------

class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, mailbox
    finally:
        controller.stop()


class Receiver:
    """Answers per path: /ok 200, /fail 500 until told to recover, /slow sleeps past the client's timeout."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.failing = True
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append((self.path, dict(self.headers), body))
                if self.path == "/slow":
                    time.sleep(1.0)
                code = 500 if self.path == "/fail" and receiver.failing else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        return [(h, b) for p, h, b in self.received if p == path]


@pytest.fixture
def receiver():
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


# --- the service, its routes and its dispatcher ----------------------------------------------

@dataclass
class Notification:
    """The service's dependencies and a dispatcher the test drives by hand."""

    deps: NotificationDeps
    dispatcher: Dispatcher

    @property
    def pool(self):
        return self.deps.rt.pool

    @property
    def settings(self) -> NotificationSettings:
        return self.deps.settings


@pytest.fixture
async def service(database_url, smtp_server):
    controller, _ = smtp_server
    settings = NotificationSettings(
        database_url=database_url, smtp_host="127.0.0.1", smtp_port=controller.port, max_attempts=3,
        retry_base_s=0.05, retry_cap_s=0.2, webhook_timeout_s=0.3, sms_per_hour=1, env="test",
    )
    await migrate(database_url, "notification", MIGRATIONS)
    pool = await create_pool(database_url, "notification")
    deps = build_deps(settings)
    deps.rt._pool = pool
    deps.sms = DevelopmentSmsProvider()
    webhooks = WebhookSender(settings)
    dispatcher = Dispatcher(deps, email=EmailSender(settings), sms=deps.sms, webhooks=webhooks, jitter=lambda: 0.0)
    app = FastAPI()
    app.state.runtime = deps.rt
    app.state.deps = deps
    install_error_handlers(app)
    app.include_router(router)
    token = issue_token(settings.secret_key, Caller("ops", "admin", None), 3600)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers={"authorization": f"Bearer {token}"}) as client:
        try:
            yield Notification(deps, dispatcher), client
        finally:
            await webhooks.close()
            await pool.close()


async def _apply(svc, consumer, events, campaign_id: str) -> list[Delivered]:
    batch = []
    for i, event in enumerate(events):
        env = make_envelope(event, campaign_id=campaign_id, producer="test")
        batch.append(Delivered(env, env.event(), event.topic, 0, i))
    async with svc.pool.acquire() as conn, conn.transaction():
        await consumer(svc.deps, conn, batch)
    return batch


async def _apply_again(svc, consumer, batch: list[Delivered]) -> None:
    """The same events once more, as a replay or a rebuild would apply them (the consumer's own
    bookkeeping is bypassed on purpose: the deliveries must hold by themselves)."""
    async with svc.pool.acquire() as conn, conn.transaction():
        await consumer(svc.deps, conn, batch)


async def _settle(svc, rounds: int = 200) -> None:
    """Dispatch until nothing is pending; retries are due within a fraction of a second here."""
    for _ in range(rounds):
        await svc.dispatcher.dispatch_once()
        outstanding = await repository.outstanding(svc.pool)
        if outstanding.messages == 0 and outstanding.webhooks == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"deliveries still outstanding: {outstanding}")


def _results(campaign_id: str, units: list[str]) -> ResultsPublished:
    return ResultsPublished(campaign_id=campaign_id, version=1, categories={"institutional": [
        EntryRanking(entry_id=uuid.uuid4(), entry_name=f"{u}发布", unit_id=u, rank=i + 1, total=90 - i,
                     components={"vote": 50.0})
        for i, u in enumerate(units)
    ]})


def _returned(unit_id: str, entry: str = "示例发布") -> NominationReturned:
    return NominationReturned(nomination_id=uuid.uuid4(), unit_id=unit_id, category_id="institutional",
                              entry_name=entry, step_id="city", reason="请补充发稿量")


# --- webhooks --------------------------------------------------------------------------------

async def test_a_webhook_is_signed_retried_dead_lettered_and_redelivered(service, receiver):
    svc, client = service
    ok = await client.post("/webhooks", json={"url": f"{receiver.url}/ok", "event_types": ["ResultsPublished"],
                                               "secret": "receiver-secret-0001"})
    assert ok.status_code == 201, ok.text
    assert "secret" not in ok.json()
    failing = await client.post("/webhooks", json={"url": f"{receiver.url}/fail", "event_types": ["ResultsPublished"],
                                                    "max_attempts": 3, "contact": "office:net-office",
                                                    "description": "results portal"})
    generated_secret = failing.json()["secret"]
    assert len(generated_secret) >= 32
    assert all("secret" not in s for s in (await client.get("/webhooks")).json()["subscriptions"])

    [item] = await _apply(svc, notices.tell_of_results, [_results("c-hooks", ["u-1", "u-2"])], "c-hooks")
    await _settle(svc)

    [(headers, body)] = receiver.bodies("/ok")
    assert domain.signature_valid("receiver-secret-0001", headers["X-Massline-Timestamp"], body,
                                  headers["X-Massline-Signature"], now=time.time())
    assert not domain.signature_valid("some-other-secret-01", headers["X-Massline-Timestamp"], body,
                                      headers["X-Massline-Signature"], now=time.time())
    delivered = json.loads(body)
    assert delivered["event_id"] == str(item.envelope.event_id) == headers["X-Massline-Event-Id"]
    assert delivered["event_type"] == "ResultsPublished" and delivered["payload"]["version"] == 1

    failing_id = failing.json()["id"]
    [dead] = (await client.get("/webhooks/deliveries", params={"subscription_id": failing_id})).json()["deliveries"]
    assert dead["status"] == "dead" and dead["attempts"] == 3 and dead["last_error"] == "http 500"
    log = (await client.get(f"/webhooks/deliveries/{dead['id']}")).json()["attempt_log"]
    assert [(a["attempt"], a["outcome"], a["status_code"]) for a in log] == [
        (1, "retry", 500), (2, "retry", 500), (3, "dead", 500)]
    assert len(receiver.bodies("/fail")) == 3
    # The subscription's contact is told, once, in their inbox; and NotificationFailed is announced.
    inbox = (await client.get("/inbox/office:net-office", params={"lang": "en"})).json()["notifications"]
    assert [n["template"] for n in inbox] == ["webhook_dead"]
    assert dead["id"] in inbox[0]["body"] and "results portal" in inbox[0]["subject"]
    assert "/fail" not in inbox[0]["body"]
    headers_fail, body_fail = receiver.bodies("/fail")[0]
    assert domain.signature_valid(generated_secret, headers_fail["X-Massline-Timestamp"], body_fail,
                                  headers_fail["X-Massline-Signature"], now=time.time())

    # The receiver is fixed; an operator sends the dead delivery again: same event, same body.
    receiver.failing = False
    again = await client.post(f"/webhooks/deliveries/{dead['id']}/redeliver")
    assert again.status_code == 202
    await _settle(svc)
    after = (await client.get(f"/webhooks/deliveries/{dead['id']}")).json()
    assert after["status"] == "delivered"
    assert [a["outcome"] for a in after["attempt_log"]] == ["retry", "retry", "dead", "delivered"]
    assert receiver.bodies("/fail")[-1][1] == body_fail

    # The same event applied again (redelivery from the broker, a replay) posts nothing new.
    await _apply_again(svc, notices.tell_of_results, [item])
    await _settle(svc)
    assert len(receiver.bodies("/ok")) == 1


async def test_a_webhook_that_times_out_is_retried(service, receiver):
    svc, client = service
    created = await client.post("/webhooks", json={"url": f"{receiver.url}/slow", "event_types": ["ResultsPublished"]})
    await _apply(svc, notices.tell_of_results, [_results("c-slow", ["u-1"])], "c-slow")
    await svc.dispatcher.dispatch_once()
    [row] = (await client.get("/webhooks/deliveries", params={"subscription_id": created.json()["id"]})).json()[
        "deliveries"]
    assert row["status"] == "pending" and row["last_error"] == "timeout" and row["next_attempt_at"]


async def test_a_slow_endpoint_backlog_is_not_claimed_ahead_of_other_endpoints(service, receiver):
    svc, client = service
    slow = (await client.post("/webhooks", json={"url": f"{receiver.url}/slow",
                                                  "event_types": ["ResultsPublished"]})).json()["id"]
    fast = (await client.post("/webhooks", json={"url": f"{receiver.url}/ok",
                                                  "event_types": ["ResultsPublished"]})).json()["id"]
    await _apply(svc, notices.tell_of_results, [_results(f"c-{i}", ["u-1"]) for i in range(10)], "c-fair")
    # Two slots per endpoint, two already in flight to the slow one: only the fast one's are taken.
    claimed = await repository.claim_due_webhooks(svc.pool, 8, {uuid.UUID(slow): 2}, 2, 60, datetime.now(UTC))
    assert {str(r.subscription_id) for r in claimed} == {fast} and len(claimed) == 2


@pytest.mark.parametrize("url,code", [("ftp://example.org/x", "webhook_url_scheme"),
                                      ("javascript:alert(1)", "webhook_url_scheme")])
async def test_a_url_that_is_not_http_is_refused_and_nothing_is_stored(service, url, code):
    _, client = service
    answer = await client.post("/webhooks", json={"url": url, "event_types": ["ResultsPublished"]})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == code
    assert (await client.get("/webhooks")).json()["subscriptions"] == []


async def test_production_refuses_a_loopback_webhook(service, receiver):
    svc, client = service
    svc.settings.env = "production"
    answer = await client.post("/webhooks", json={"url": f"{receiver.url}/ok", "event_types": ["ResultsPublished"]})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "webhook_url_private"


async def test_subscribing_to_an_internal_event_is_refused(service, receiver):
    _, client = service
    answer = await client.post("/webhooks", json={"url": f"{receiver.url}/ok", "event_types": ["VoteCast"]})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "event_type_unknown"


async def test_administration_needs_an_administrator(service):
    svc, client = service
    unit = issue_token(svc.settings.secret_key, Caller("u", "unit", "u-1"), 3600)
    answer = await client.put("/contacts/unit:u-1", json={"email": "a@example.org"},
                              headers={"authorization": f"Bearer {unit}"})
    assert answer.status_code == 403
    assert (await client.get("/webhooks", headers={"authorization": ""})).status_code == 401


# --- e-mail and SMS --------------------------------------------------------------------------

async def test_a_returned_nomination_is_mailed_once_to_the_unit(service, smtp_server):
    svc, client = service
    _, mailbox = smtp_server
    answer = await client.put("/contacts/unit:u-mail", json={"email": "office@unit.example.org"})
    assert answer.json() == {"recipient": "unit:u-mail", "locale": "zh", "email": True, "sms": False}
    bad = await client.put("/contacts/unit:u-mail", json={"email": "not an address"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "email_invalid"

    [item] = await _apply(svc, notices.tell_of_nominations, [_returned("u-mail", "A&B发布")], "c-mail")
    await _settle(svc)
    [(to, raw)] = mailbox.messages
    assert to == ["office@unit.example.org"]
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == "推荐被退回修改：A&B发布"
    assert "请补充发稿量" in message.get_content()

    rows = await svc.pool.fetch("SELECT channel, status FROM deliveries WHERE source_event_id = $1 ORDER BY channel",
                               item.envelope.event_id)
    assert [(r["channel"], r["status"]) for r in rows] == [("email", "delivered"), ("inbox", "delivered")]
    sent = [json.loads(bytes(r["body"]))["payload"] for r in
            await svc.pool.fetch("SELECT body FROM outbox WHERE event_type = 'NotificationSent'")]
    assert sorted(p["channel"] for p in sent if p["source_event_id"] == str(item.envelope.event_id)) == \
        ["email", "inbox"]
    assert all("office@unit" not in json.dumps(p) for p in sent)

    # Redelivered by the broker or replayed: nothing is mailed again.
    await _apply_again(svc, notices.tell_of_nominations, [item])
    await _settle(svc)
    assert len(mailbox.messages) == 1


async def test_sms_goes_through_the_provider_and_a_second_within_the_hour_waits(service):
    svc, client = service
    await client.put("/contacts/unit:u-sms", json={"mobile": "138 0013 8000", "locale": "en"})
    await _apply(svc, notices.tell_of_nominations, [_returned("u-sms", "First"), _returned("u-sms", "Second")], "c-sms")
    await svc.dispatcher.dispatch_once()
    await svc.dispatcher.dispatch_once()
    messages = svc.deps.sms.sent
    assert len(messages) == 1 and messages[0].mobile == "13800138000"
    assert messages[0].text.startswith("【群众路线推选】Nomination returned for correction")
    held = await svc.pool.fetchrow(
        "SELECT id, status, next_attempt_at, attempts FROM deliveries WHERE channel = 'sms' AND status = 'pending'")
    assert held["attempts"] == 0 and held["next_attempt_at"] > datetime.now(UTC) + timedelta(minutes=50)
    log = (await client.get(f"/deliveries/{held['id']}/attempts")).json()["attempt_log"]
    assert [a["outcome"] for a in log] == ["deferred"]
    assert (await client.get("/contacts/unit:u-sms")).json() == {
        "recipient": "unit:u-sms", "locale": "en", "email": False, "sms": True}


async def test_an_unreachable_mail_server_is_retried_then_dead_lettered_and_announced(service):
    svc, client = service
    svc.dispatcher.email.settings = svc.settings.model_copy(update={"smtp_port": free_port()})
    await client.put("/contacts/unit:u-down", json={"email": "down@unit.example.org"})
    [item] = await _apply(svc, notices.tell_of_nominations, [_returned("u-down")], "c-down")
    await _settle(svc)
    row = await svc.pool.fetchrow("SELECT status, attempts FROM deliveries WHERE source_event_id = $1 AND "
                                 "channel = 'email'", item.envelope.event_id)
    assert (row["status"], row["attempts"]) == ("dead", 3)
    failed = [json.loads(bytes(r["body"]))["payload"] for r in
              await svc.pool.fetch("SELECT body FROM outbox WHERE event_type = 'NotificationFailed'")]
    assert [p["channel"] for p in failed] == ["email"] and "down@" not in json.dumps(failed)


# --- reviewers and reminders -------------------------------------------------------------------

async def test_reviewers_named_for_a_campaign_hear_of_new_nominations(service):
    svc, client = service
    answer = await client.put("/campaigns/c-rev/reviewers", json={"recipients": ["office:xian"]})
    assert answer.json()["recipients"] == ["office:xian"]
    from massline.contracts import NominationSubmitted

    await _apply(svc, notices.tell_of_nominations, [NominationSubmitted(
        nomination_id=uuid.uuid4(), unit_id="u-r", unit_name="示例大学", category_id="institutional",
        entry_name="示例发布")], "c-rev")
    inbox = (await client.get("/inbox/office:xian")).json()
    assert [n["template"] for n in inbox["notifications"]] == ["nomination_to_review"]


async def test_units_with_an_entry_are_reminded_once_before_the_activity_deadline(service):
    svc, client = service
    review_starts = (datetime.now(UTC) + timedelta(days=2)).replace(tzinfo=None, microsecond=0)
    campaign = CampaignLoaded(
        campaign_id="c-remind", version=1, title="示例推选活动", timezone="UTC",
        categories=[CategoryInfo(id="institutional", name="机构账号")],
        phases=[PhaseInfo(id="expert_review", starts_at=review_starts)], vote_rules=VoteRules(),
    )
    await _apply(svc, notices.learn_campaigns, [campaign], "c-remind")
    await _apply(svc, notices.tell_of_nominations, [NominationApproved(
        nomination_id=uuid.uuid4(), unit_id="u-rem", unit_name="示例大学", category_id="institutional",
        entry_name="示例发布", step_id="province", final=True)], "c-remind")
    assert await svc.dispatcher.send_due_reminders() == 1
    assert await svc.dispatcher.send_due_reminders() == 0
    await _apply(svc, notices.learn_campaigns, [campaign], "c-remind")  # loaded again: not reminded twice
    assert await svc.dispatcher.send_due_reminders() == 0
    inbox = (await client.get("/inbox/unit:u-rem")).json()["notifications"]
    reminder = [n for n in inbox if n["template"] == "activity_deadline_near"]
    assert len(reminder) == 1
    # The campaign keeps UTC: the deadline is given in UTC and says so.
    assert f"将于{review_starts:%Y-%m-%d %H:%M}（UTC）截止" in reminder[0]["body"] and "还有2天" in reminder[0]["body"]
    [english] = [n for n in (await client.get("/inbox/unit:u-rem", params={"lang": "en"})).json()["notifications"]
                 if n["template"] == "activity_deadline_near"]
    assert f"are due by {review_starts:%Y-%m-%d %H:%M} (UTC), 2 days from now" in english["body"]


async def test_an_assigned_expert_is_told_once_and_reminded_once_before_the_review_deadline(service, smtp_server):
    svc, client = service
    _, mailbox = smtp_server
    from massline.contracts import ExpertAssigned

    await client.put("/contacts/expert:zhang-expert", json={"email": "zhang@expert.example.org", "locale": "en"})
    deadline = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    assigned = ExpertAssigned(expert_id="zhang-expert", panel_id="p1", category_ids=["institutional"],
                              entries_count=4, new_entries=4, deadline=deadline)
    batch = await _apply(svc, notices.tell_of_review, [assigned], "c-expert")
    await _apply_again(svc, notices.tell_of_review, batch)  # redelivered: nothing new
    assert await svc.dispatcher.send_due_reminders() == 1
    assert await svc.dispatcher.send_due_reminders() == 0
    inbox = (await client.get("/inbox/expert:zhang-expert")).json()["notifications"]
    assert sorted(n["template"] for n in inbox) == ["expert_assigned", "expert_deadline_near"]
    told = next(n for n in inbox if n["template"] == "expert_assigned")
    assert "共4个参评作品" in told["body"]
    # The campaign's definition has not arrived: its deadline is given in Beijing time, the zone named.
    beijing = f"{deadline.astimezone(timezone(timedelta(hours=8))):%Y-%m-%d %H:%M}"
    assert f"请于北京时间 {beijing}前完成评分" in told["body"]
    reminded = next(n for n in inbox if n["template"] == "expert_deadline_near")
    assert f"将于北京时间 {beijing}截止" in reminded["body"]
    await _settle(svc)
    mailed = [message_from_bytes(raw, policy=policy.default).get_content() for _, raw in mailbox.messages]
    assert len(mailed) == 2 and all(f"{beijing} (UTC+8)" in text for text in mailed)


# --- a ten-minute outage under a compressed clock ----------------------------------------------

class Clock:
    """The dispatcher's time, moved by the test: ten minutes pass without ten minutes of waiting."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


class FlakyReceiver:
    """A real HTTP server on one loopback port that can be stopped (connections refused), answer 500, or 200."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.mode = "down"
        self.answers: list[tuple[int, str, str]] = []  # (status, delivery id, event id) of every request answered
        self.server: ThreadingHTTPServer | None = None

    def set(self, mode: str) -> None:
        if mode == "down" and self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if mode != "down" and self.server is None:
            self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
            self.server.daemon_threads = True
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.mode = mode

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                code = 500 if receiver.mode == "error" else 200
                receiver.answers.append((code, self.headers["X-Massline-Delivery"], self.headers["X-Massline-Event-Id"]))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def flaky_receiver():
    r = FlakyReceiver()
    try:
        yield r
    finally:
        r.set("down")


async def test_a_ten_minute_outage_loses_no_event_and_retries_outlive_a_restart(service, flaky_receiver):
    """The receiver refuses connections for five minutes, answers 500 for five more, then recovers; events keep
    coming during the outage and the dispatcher is replaced by a new one midway (a restart). Every event is
    accepted exactly once, each delivery in a handful of attempts."""
    svc, client = service
    receiver = flaky_receiver
    svc.settings.retry_base_s = 5.0
    created = await client.post("/webhooks", json={"url": receiver.url, "event_types": ["ResultsPublished"],
                                                    "retry_cap_s": 3600})
    assert created.status_code == 201, created.text
    assert created.json()["max_age_s"] == 86400 and created.json()["max_attempts"] is None
    clock = Clock()
    start = clock.now
    sender = WebhookSender(svc.settings)

    def dispatcher() -> Dispatcher:
        return Dispatcher(svc.deps, email=EmailSender(svc.settings), sms=svc.deps.sms, webhooks=sender,
                          jitter=random.Random(7).random, clock=clock)

    svc.dispatcher = dispatcher()
    minute = timedelta(minutes=1)
    # (minute, what happens): events arrive, the receiver changes, the dispatcher restarts.
    plan = [(0, "events"), (2, "events"), (5, "error"), (6, "events"), (7, "restart"), (9, "events"), (10, "up")]
    event_ids: list[str] = []
    try:
        for _ in range(400):
            while plan and clock.now >= start + plan[0][0] * minute:
                what = plan.pop(0)[1]
                if what == "events":
                    batch = await _apply(svc, notices.tell_of_results,
                                         [_results(f"c-out-{len(event_ids) + i}", ["u-1"]) for i in range(3)],
                                         "c-outage")
                    event_ids += [str(item.envelope.event_id) for item in batch]
                elif what == "restart":
                    svc.dispatcher = dispatcher()
                else:
                    receiver.set(what)
            await svc.dispatcher.dispatch_once()
            pending = (await client.get("/webhooks/deliveries", params={"status": "pending"})).json()["deliveries"]
            if not pending and not plan:
                break
            due = [datetime.fromisoformat(d["next_attempt_at"]) for d in pending]
            moments = due + ([start + plan[0][0] * minute] if plan else [])
            clock.now = max(clock.now, min(moments))
    finally:
        await sender.close()

    accepted = Counter(event for code, _, event in receiver.answers if code == 200)
    assert sorted(accepted) == sorted(event_ids) and len(event_ids) == 12
    assert set(accepted.values()) == {1}
    # One delivery id per event, the same on every attempt.
    assert len({(d, e) for _, d, e in receiver.answers}) == len(event_ids)
    rows = (await client.get("/webhooks/deliveries")).json()["deliveries"]
    assert {r["status"] for r in rows} == {"delivered"} and len(rows) == 12
    assert max(r["attempts"] for r in rows) <= 12
    first = next(r for r in rows if r["source_event_id"] == event_ids[0])
    log = (await client.get(f"/webhooks/deliveries/{first['id']}")).json()["attempt_log"]
    errors = {a["error"] for a in log if a["outcome"] == "retry"}
    assert "http 500" in errors and any(e.startswith("connection:") for e in errors)
    assert log[-1]["outcome"] == "delivered"
    assert datetime.fromisoformat(first["delivered_at"]) >= start + 10 * minute


@pytest.mark.parametrize("extra,code,field", [({"max_age_s": 10}, "webhook_retry_invalid", "max_age_s"),
                                              ({"max_attempts": 0}, "webhook_retry_invalid", "max_attempts"),
                                              ({"retry_cap_s": 100_000}, "webhook_retry_invalid", "retry_cap_s"),
                                              ({"contact": "someone@example.org"}, "recipient_invalid", None)])
async def test_a_retry_policy_out_of_range_is_refused_with_the_field_named(service, receiver, extra, code, field):
    _, client = service
    answer = await client.post("/webhooks", json={"url": f"{receiver.url}/ok", "event_types": ["ResultsPublished"],
                                                   **extra})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == code
    if field:
        assert answer.json()["error"]["details"]["field"] == field
    assert (await client.get("/webhooks")).json()["subscriptions"] == []


async def test_a_subscription_keeps_its_own_retry_policy(service, receiver):
    _, client = service
    answer = await client.post("/webhooks", json={"url": f"{receiver.url}/ok", "event_types": ["ResultsPublished"],
                                                   "max_age_s": 7200, "max_attempts": 20, "retry_cap_s": 600,
                                                   "contact": "office:net-office"})
    assert answer.status_code == 201, answer.text
    [listed] = (await client.get("/webhooks")).json()["subscriptions"]
    assert (listed["max_age_s"], listed["max_attempts"], listed["retry_cap_s"], listed["contact"]) == (
        7200, 20, 600, "office:net-office")


def _documented(marker: str, language: str) -> str:
    """The fenced `language` block that follows `marker` in docs/integration.md."""
    text = (ROOT / "docs" / "integration.md").read_text(encoding="utf-8")
    after = text[text.index(marker):]
    opening = f"```{language}\n"
    start = after.index(opening) + len(opening)
    return after[start:after.index("```", start)]


async def test_the_documented_recipes_verify_a_real_delivery(service, receiver, tmp_path):
    svc, client = service
    secret = "documented-secret-0001"
    await client.post("/webhooks", json={"url": f"{receiver.url}/ok", "event_types": ["ResultsPublished"],
                                          "secret": secret})
    await _apply(svc, notices.tell_of_results, [_results("c-doc", ["u-1"])], "c-doc")
    await _settle(svc)
    [(headers, body)] = receiver.bodies("/ok")

    recipe: dict[str, object] = {}
    exec(_documented("<!-- verify-recipe", "python"), recipe)
    verify = recipe["verify"]
    assert verify(secret, headers, body)
    assert verify(secret, {k.lower(): v for k, v in headers.items()}, body)
    assert verify(secret, {k.upper(): v for k, v in headers.items()}, body)
    assert not verify("another-secret-00001", headers, body)
    assert not verify(secret, headers, body + b"\n")

    shell = _documented("The same in a shell", "sh")
    (tmp_path / "body.json").write_bytes(body)
    lower = {k.lower(): v for k, v in headers.items()}

    def run(key: str, raw: bytes) -> str:
        (tmp_path / "body.json").write_bytes(raw)
        env = {"PATH": "/usr/bin:/bin", "TS": lower["x-massline-timestamp"], "SIG": lower["x-massline-signature"],
               "SECRET": key}
        return subprocess.run(["sh", "-c", shell], cwd=tmp_path, env=env, capture_output=True, text=True,
                              check=True).stdout.strip()

    assert run(secret, body) == "valid"
    assert run("another-secret-00001", body) == "INVALID"
    assert run(secret, body + b"\n") == "INVALID"
