"""A campaign reads the account registry, on the real broker and PostgreSQL: the registry's events become
submission's read model, a nomination picks a registry account and takes its snapshot's figures, a suspended or
idle account is refused with its code, and scoring's explanation names the snapshot the figures came from."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry

from massline.consumer import ConsumerMetrics, Delivered, EventConsumer
from massline.contracts import (
    AccountFiled,
    AccountFindingOpened,
    AccountSnapshotRecorded,
    AccountSuspended,
    Event,
    make_envelope,
    parse_envelope,
    topics,
)
from massline.db import create_pool, migrate
from massline.kafka import ensure_topics
from services.operations.demo import demo_definition
from services.scoring import app as scoring_app
from services.scoring import rankings
from services.scoring.settings import ScoringSettings
from services.submission.app import MIGRATIONS, app_for, build_deps, build_runtime
from services.submission.service import registry
from services.submission.service.people import ensure_admin
from services.submission.settings import SubmissionSettings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "integration-pass-1"
TODAY = datetime.now(UTC).date()
# The reference period ends yesterday: its last day is the reference date.
PERIOD_FROM, REFERENCE = TODAY - timedelta(days=60), TODAY - timedelta(days=1)
ORGANISATIONS = [
    {"id": "prov", "name": "省委网信办", "kind": "office", "level": "provincial"},
    {"id": "city-x", "name": "甲市网信办", "kind": "office", "level": "city", "parent_id": "prov"},
    {"id": "u1", "name": "甲市第一单位", "kind": "unit", "level": "unit", "parent_id": "city-x"},
    {"id": "u2", "name": "甲市第二单位", "kind": "unit", "level": "unit", "parent_id": "city-x"},
]
USERS = [("x-office", "office", "city-x"), ("unit1", "unit", "u1"), ("unit2", "unit", "u2")]


@dataclass
class World:
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    consumer: EventConsumer
    database_url: str
    campaign: str
    tokens: dict[str, str]

    async def call(self, method: str, path: str, user: str, **kw: Any) -> httpx.Response:
        return await self.http.request(method, path, headers={"Authorization": f"Bearer {self.tokens[user]}"}, **kw)

    async def publish(self, *events: Event) -> None:
        """As the registry would: each event in its envelope, keyed by the account."""
        for event in events:
            env = make_envelope(event, campaign_id="registry", producer="registry")
            await self.producer.send_and_wait(topics.REGISTRY, env.to_bytes(), key=event.key().encode())

    async def nominate(self, user: str, account_id: uuid.UUID | None, name: str = "手填名称") -> httpx.Response:
        form = {"account_name": name, "platform": "wechat", "account_id": "typed-id", "level": "provincial",
                "account_url": "https://mp.weixin.qq.com/s/registry", "operating_entity": f"{user}宣传部",
                "followers": 1, "posts": 1, "interactions": 1, "introduction": "服务群众的官方账号。",
                "contact_name": "王联系", "contact_phone": "13712345678"}
        body = {"category_id": "institutional", "form": form, "unit_opinion": "同意推荐"}
        if account_id is not None:
            body["registry_account_id"] = str(account_id)
        return await self.call("POST", f"/campaigns/{self.campaign}/nominations", user, json=body)

    async def outbox(self, event_type: str) -> list[dict[str, Any]]:
        rows = await self.pool.fetch("SELECT body FROM outbox WHERE event_type = $1 ORDER BY id", event_type)
        return [json.loads(bytes(r["body"])) for r in rows]

    async def picker(self, user: str = "unit1") -> dict[str, Any]:
        r = await self.call("GET", f"/campaigns/{self.campaign}/registry-accounts", user)
        assert r.status_code == 200, r.text
        return {a["account_id"]: a for a in r.json()["accounts"]}


async def until(check: Any, what: str, seconds: float = 60) -> Any:
    """Polls until `check()` gives something true: the consumer works in the background."""
    deadline = time.monotonic() + seconds
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.2)


def registry_campaign(campaign_id: str) -> str:
    text = demo_definition(ROOT / "campaigns" / "shaanxi-2024-accounts.yaml")
    return (text.replace("id: shaanxi-2024-accounts", f"id: {campaign_id}", 1)
            + f"nomination_accounts: registry\nreference_period:\n  starts_on: {PERIOD_FROM}\n"
              f"  ends_on: {REFERENCE}\n")


@pytest.fixture(scope="module")
async def world(infrastructure: Any) -> AsyncIterator[World]:
    database_url = infrastructure.new_database()
    settings = SubmissionSettings(database_url=database_url, kafka_bootstrap_servers=infrastructure.bootstrap,
                                  env="test", kafka_session_timeout_ms=6000, kafka_heartbeat_interval_ms=500)
    rt = build_runtime(settings)
    assert topics.REGISTRY in rt.required_topics()  # the service reads the registry's topic
    await migrate(database_url, "submission", MIGRATIONS)
    rt._pool = await create_pool(database_url, "submission", min_size=2, max_size=10)
    deps = build_deps(rt)
    await ensure_admin(deps)
    await ensure_topics(settings, [topics.REGISTRY])
    # The service's registry consumer under a group of this test's own (the topic is shared with other tests).
    group = f"campaignreg{uuid.uuid4().hex[:8]}"
    consumer = EventConsumer(broker=rt.broker, settings=settings, service=group,
                             metrics=ConsumerMetrics(CollectorRegistry()), pool_getter=lambda: rt.pool)

    async def learn(conn: Any, batch: Any) -> None:
        await registry.learn(conn, batch, rt.outbox)

    consumer.subscribe(topics.REGISTRY, "registry", learn, events=registry.REGISTRY_EVENTS)
    producer = AIOKafkaProducer(bootstrap_servers=infrastructure.bootstrap)
    await rt.broker.start()
    await producer.start()
    app = app_for(rt, deps, title="submission under test")
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://submission") as http:
            w = World(http, rt.pool, producer, consumer, database_url, f"reg-{uuid.uuid4().hex[:8]}", {})
            r = await http.post("/auth/login", json={"username": "admin", "password": "admin-demo-password"})
            w.tokens["admin"] = r.json()["access_token"]
            for org in ORGANISATIONS:
                assert (await w.call("PUT", "/organisations", "admin", json=org)).status_code == 200
            for username, role, org in USERS:
                r = await w.call("PUT", "/users", "admin", json={
                    "username": username, "display_name": username, "password": PASSWORD, "role": role,
                    "organisation_id": org})
                assert r.status_code == 200, r.text
                r = await http.post("/auth/login", json={"username": username, "password": PASSWORD})
                w.tokens[username] = r.json()["access_token"]
            r = await w.call("POST", "/campaigns", "admin", json={"definition_yaml": registry_campaign(w.campaign)})
            assert r.status_code == 201, r.text
            r = await w.call("POST", f"/campaigns/{w.campaign}/phase", "admin", json={"phase": "nomination"})
            assert r.status_code == 200, r.text
            yield w
    finally:
        await producer.stop()
        await rt.broker.stop()
        await rt.pool.close()


def filed(unit: str, name: str, status: str = "active") -> AccountFiled:
    return AccountFiled(account_id=uuid.uuid4(), unit_id=unit, unit_name=unit, platform="wechat", level="provincial",
                        platform_account_id=f"gh_{uuid.uuid4().hex[:8]}", verified_name=name, region="陕西省西安市",
                        status=status)


def snapshot(account: AccountFiled, taken_on: date, followers: int) -> AccountSnapshotRecorded:
    return AccountSnapshotRecorded(snapshot_id=uuid.uuid4(), account_id=account.account_id, unit_id=account.unit_id,
                                   taken_on=taken_on, followers=followers, posts=400, reposts=3_000, comments=2_000)


async def test_the_registry_feeds_nominations_eligibility_and_the_explanation(world: World) -> None:
    w = world
    good, suspended, idle = filed("u1", "陕西发布"), filed("u1", "西安发布"), filed("u1", "宝鸡发布")
    others = filed("u2", "咸阳发布")
    early = snapshot(good, REFERENCE - timedelta(days=20), 30_000)
    after = snapshot(good, REFERENCE + timedelta(days=1), 99_000)  # after the reference date: never used
    await w.publish(good, suspended, idle, others, early, after,
                    snapshot(suspended, REFERENCE, 50_000), snapshot(idle, REFERENCE, 50_000),
                    snapshot(others, REFERENCE, 50_000),
                    AccountSuspended(**suspended.model_dump(exclude={"status"}), status="suspended", reason="整改"),
                    AccountFindingOpened(finding_id=uuid.uuid4(), account_id=idle.account_id, unit_id="u1",
                                         code="idle_no_update", idle=True, observed_on=PERIOD_FROM + timedelta(days=3),
                                         deadline=PERIOD_FROM + timedelta(days=10)))
    # The same event delivered twice is applied once; a malformed one goes to the dead-letter topic.
    twice = make_envelope(good, campaign_id="registry", producer="registry")
    for _ in range(2):
        await w.producer.send_and_wait(topics.REGISTRY, twice.to_bytes(), key=good.key().encode())
    broken = json.loads(make_envelope(snapshot(good, REFERENCE, 1), campaign_id="registry",
                                      producer="registry").to_bytes())
    broken["payload"]["followers"] = -5
    await w.producer.send_and_wait(topics.REGISTRY, json.dumps(broken).encode(), key=good.key().encode())

    async def settled() -> dict[str, Any] | None:
        accounts = await w.picker()
        seen = accounts.get(str(idle.account_id), {}).get("refusal")
        done = len(accounts) == 3 and accounts[str(suspended.account_id)]["status"] == "suspended" and seen
        return accounts if done else None

    accounts = await until(settled, "the registry's events in the read model")
    # The picker lists the unit's own accounts only, each with its status, verdict and snapshot.
    assert str(others.account_id) not in accounts
    mine = accounts[str(good.account_id)]
    assert mine["eligible"] and mine["verified_name"] == "陕西发布" and mine["status"] == "active"
    assert mine["snapshot"]["snapshot_id"] == str(early.snapshot_id) and mine["snapshot"]["interactions"] == 5_000
    assert accounts[str(suspended.account_id)]["refusal"]["code"] == "account_not_active"
    assert accounts[str(idle.account_id)]["refusal"]["code"] == "account_idle"
    metrics = w.consumer.metrics
    assert await until(lambda: _sample(metrics.dead_letters, topics.REGISTRY, "invalid_payload"), "a dead letter")
    assert await w.pool.fetchval("SELECT count(*) FROM registry_snapshots WHERE snapshot_id = $1",
                                 uuid.UUID(broken["payload"]["snapshot_id"])) == 0
    assert await until(lambda: _sample(metrics.duplicates, f"{w.consumer.service}.registry"), "a duplicate skipped")

    # Refusals, each with its stable code and both languages.
    for account_id, user, code in [(suspended.account_id, "unit1", "account_not_active"),
                                   (idle.account_id, "unit1", "account_idle"),
                                   (others.account_id, "unit1", "account_not_yours"),
                                   (uuid.uuid4(), "unit1", "account_not_in_registry"),
                                   (None, "unit1", "registry_account_required")]:
        r = await w.nominate(user, account_id)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == code and error["message"] and error["message_zh"]

    # Accepted: the registry's verified values replace the typed ones, the figures are the snapshot's.
    r = await w.nominate("unit1", good.account_id)
    assert r.status_code == 201, r.text
    nomination = r.json()
    assert nomination["entry_name"] == "陕西发布"
    assert nomination["form"]["account_id"] == good.platform_account_id and nomination["form"]["followers"] == 30_000
    assert nomination["metrics"]["registry"]["snapshot_id"] == str(early.snapshot_id)
    assert "reported" not in nomination["metrics"]
    sent = [e["payload"] for e in await w.outbox("MetricsReported") if e["campaign_id"] == w.campaign]
    assert [(p["source"], p["snapshot_id"], p["interactions"]) for p in sent] == \
        [("registry", str(early.snapshot_id), 5_000)]

    # A later snapshot, still on or before the reference date, replaces the figures and is announced.
    latest = snapshot(good, REFERENCE, 42_000)
    await w.publish(latest)

    async def refreshed() -> list[dict[str, Any]]:
        return [e for e in await w.outbox("MetricsReported")
                if e["payload"].get("snapshot_id") == str(latest.snapshot_id)]

    (announced,) = await until(refreshed, "the newer snapshot's figures announced")
    assert announced["payload"]["followers"] == 42_000 and announced["payload"]["taken_on"] == REFERENCE.isoformat()

    # The office's review shows the account's registry status and the snapshot; it approves (the last step).
    review = (await w.call("GET", f"/nominations/{nomination['id']}", "x-office")).json()
    assert review["registry"]["status"] == "active"
    assert review["registry"]["snapshot"]["snapshot_id"] == str(latest.snapshot_id)
    assert review["metrics"]["registry"]["taken_on"] == REFERENCE.isoformat()
    r = await w.call("POST", f"/nominations/{nomination['id']}/review", "x-office", json={"decision": "approve"})
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text

    # Scoring, fed what submission recorded: the initial explanation names the snapshot.
    explanation = await _scored(w, nomination["id"])
    assert explanation["initial"]["source"] == "registry"
    assert explanation["initial"]["snapshot"] == {"id": str(latest.snapshot_id), "taken_on": REFERENCE.isoformat()}
    assert explanation["initial"]["metrics"]["followers"]["value"] == 42_000


async def _sample(counter: Any, *labels: str) -> float:
    return counter.labels(*labels)._value.get()  # type: ignore[no-any-return]


async def _scored(w: World, nomination_id: str) -> dict[str, Any]:
    """Scoring's consumers applied to submission's outbox as recorded (bytes parsed as the broker would carry them),
    on a schema of their own; the entry's explanation in the stored ranking."""
    schema = f"scoring_t{uuid.uuid4().hex[:10]}"
    await migrate(w.database_url, schema, scoring_app.MIGRATIONS)
    pool = await create_pool(w.database_url, schema, min_size=1, max_size=2)
    deps = scoring_app.build_deps(ScoringSettings(database_url=w.database_url, ranking_announce_interval_s=0))
    learn = {topics.CAMPAIGN: rankings.learn_campaigns, topics.NOMINATION: rankings.learn_nominations}
    try:
        rows = await w.pool.fetch("SELECT topic, body FROM outbox ORDER BY id")
        for offset, row in enumerate(rows):
            env, event = parse_envelope(bytes(row["body"]))
            if env.campaign_id != w.campaign or row["topic"] not in learn:
                continue
            async with pool.acquire() as conn, conn.transaction():
                await learn[row["topic"]](conn, [Delivered(env, event, row["topic"], 0, offset)], deps)
        ranking = await pool.fetchrow("SELECT entries FROM rankings WHERE campaign_id = $1", w.campaign)
        assert ranking is not None
        (entry,) = [e for e in ranking["entries"] if e["entry_id"] == nomination_id]
        return entry["explanation"]  # type: ignore[no-any-return]
    finally:
        await pool.close()
