"""Registry health on real PostgreSQL and the real broker: an import with a bad row is refused by line and writes
nothing; a check opens a finding that reaches the bus, an overdue one is escalated to the office above, and an
accepted fix closes it. The person in charge of an account never reaches the bus."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI

from massline.auth import Caller, issue_token
from massline.contracts import topics
from massline.errors import install_error_handlers
from services.registry import repository as registry_repo
from services.registry.app import build_deps
from services.registry.deps import RegistryDeps
from services.registry.domain.accounts import Account, PersonInCharge
from services.registry.domain.review import Org
from services.registry.health.routes import router as health_router
from services.registry.health.schedule import run_due
from services.registry.health.service import today_of
from services.registry.settings import RegistrySettings

pytestmark = pytest.mark.integration

ORGS = [Org("prov", "省委网信办", "office", "provincial", None),
        Org("city-x", "甲市网信办", "office", "city", "prov"),
        Org("u1", "甲市第一单位", "unit", "unit", "city-x"),
        Org("u2", "甲市第二单位", "unit", "unit", "city-x")]
PERSON_CONTACT = "13912345678"


@dataclass
class Registry:
    deps: RegistryDeps
    http: httpx.AsyncClient
    bootstrap: str
    tokens: dict[str, str]

    async def call(self, method: str, path: str, user: str, **kw: Any) -> httpx.Response:
        return await self.http.request(method, path, headers={"Authorization": f"Bearer {self.tokens[user]}",
                                                              **kw.pop("headers", {})}, **kw)

    async def count(self, sql: str, *args: Any) -> int:
        return int(await self.deps.rt.pool.fetchval(sql, *args))

    async def on_the_bus(self, wanted: dict[str, str]) -> dict[str, dict[str, Any]]:
        """Payloads of registry events on the broker, by event type, for the wanted (event type -> finding id)."""
        consumer = AIOKafkaConsumer(topics.REGISTRY, bootstrap_servers=self.bootstrap, auto_offset_reset="earliest",
                                    group_id=f"test-{uuid.uuid4().hex}", enable_auto_commit=False)
        await consumer.start()
        found: dict[str, dict[str, Any]] = {}
        raw: list[bytes] = []
        try:
            for _ in range(120):
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        raw.append(record.value or b"")
                        envelope = json.loads(record.value or b"{}")
                        kind, payload = envelope.get("event_type"), envelope.get("payload", {})
                        if kind in wanted and payload.get("finding_id") == wanted[kind]:
                            found[kind] = payload
                if set(found) == set(wanted):
                    break
        finally:
            await consumer.stop()
        assert all(PERSON_CONTACT.encode() not in r and "王责任".encode() not in r for r in raw)
        return found


async def _account(deps: RegistryDeps, unit_id: str, platform: str, name: str) -> uuid.UUID:
    a = Account(id=uuid.uuid4(), unit_id=unit_id, unit_name="", platform=platform, level="unit",
                platform_account_id=f"{platform}-{uuid.uuid4().hex[:8]}", verified_name=name, region="甲市",
                status="active")
    async with deps.rt.unit_of_work() as uow:
        await registry_repo.insert_account(uow.conn, a)
        await registry_repo.save_person(uow.conn, a.id, PersonInCharge("王责任", PERSON_CONTACT))
    return a.id


@pytest.fixture
async def registry(database_url: str, kafka_bootstrap: str) -> AsyncIterator[Registry]:
    settings = RegistrySettings(database_url=database_url, kafka_bootstrap_servers=kafka_bootstrap, env="test",
                                schedule_enabled=False, outbox_poll_interval_s=0.05)
    deps = build_deps(settings)
    await deps.rt.start()  # migrations, topics, consumers and the outbox relay to the broker
    for org in ORGS:
        await registry_repo.upsert_organisation(deps.rt.pool, org)
    app = FastAPI()
    app.state.runtime = deps.rt
    app.state.deps = deps
    install_error_handlers(app)
    app.include_router(health_router)
    callers = {"unit1": Caller("unit1", "unit", "u1"), "unit2": Caller("unit2", "unit", "u2"),
               "x-office": Caller("x-office", "office", "city-x"), "admin": Caller("admin", "admin", None)}
    tokens = {name: issue_token(settings.secret_key, c, 3600) for name, c in callers.items()}
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://registry") as http:
            yield Registry(deps, http, kafka_bootstrap, tokens)
    finally:
        await deps.rt.stop()


async def test_an_import_with_a_bad_row_is_refused_by_line_and_writes_nothing(registry: Registry) -> None:
    deps = registry.deps
    mine = await _account(deps, "u1", "wechat", "甲市发布")
    theirs = await _account(deps, "u2", "weibo", "甲市第二发布")
    day = (today_of(deps) - timedelta(days=1)).isoformat()
    csv_text = ("account_id,taken_on,followers,posts,reposts,comments,last_update_on\n"
                f"{mine},{day},1200,6,10,4,{day}\n"
                f"{mine},{day[:8]}99,1200,6,10,4,{day}\n"
                f"{theirs},{day},500,2,1,1,{day}\n")
    r = await registry.call("POST", "/snapshots/import", "unit1", content=csv_text.encode(),
                            headers={"Content-Type": "text/csv"})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "import_refused"
    assert [(x["line"], x["code"]) for x in error["details"]["refused"]] == [(3, "not_a_date"), (4, "account_unknown")]
    assert await registry.count("SELECT count(*) FROM account_snapshots") == 0
    assert await registry.count("SELECT count(*) FROM outbox WHERE event_type = 'AccountSnapshotRecorded'") == 0

    kept = await registry.call("POST", "/snapshots/import?keep_good=true", "unit1", content=csv_text.encode())
    assert kept.status_code == 200, kept.text
    assert kept.json()["recorded"] == 1 and [x["line"] for x in kept.json()["refused"]] == [3, 4]
    series = await registry.call("GET", f"/accounts/{mine}/snapshots", "unit1")
    assert [(s["taken_on"], s["followers"], s["source"]) for s in series.json()] == [(day, 1200, "imported")]
    assert (await registry.call("GET", f"/accounts/{mine}/snapshots", "unit2")).status_code == 404


async def test_a_check_opens_a_finding_escalates_it_when_overdue_and_closes_it_once_fixed(registry: Registry) -> None:
    deps = registry.deps
    account_id = await _account(deps, "u1", "douyin", "甲市文旅")
    today = today_of(deps)
    stale = (today - timedelta(days=20)).isoformat()
    r = await registry.call("POST", f"/accounts/{account_id}/snapshots", "unit1", json={
        "taken_on": (today - timedelta(days=1)).isoformat(), "followers": 80, "posts": 3, "reposts": 1,
        "comments": 1, "last_update_on": stale})
    assert r.status_code == 201, r.text

    assert (await registry.call("POST", "/checks/run", "unit1", json={})).status_code == 403
    run = (await registry.call("POST", "/checks/run", "x-office", json={})).json()
    opened = [f for f in run["opened"] if f["account_id"] == str(account_id)]
    assert [f["code"] for f in opened] == ["idle_no_update"]
    finding = opened[0]
    assert finding["deadline"] == (today + timedelta(days=7)).isoformat() and finding["followed_by"] == "city-x"
    again = (await registry.call("POST", "/checks/run", "admin", json={})).json()
    assert all(f["account_id"] != str(account_id) for f in again["opened"])  # one finding per rule until closed

    later = (today + timedelta(days=8)).isoformat()
    escalated = (await registry.call("POST", "/checks/run", "admin", json={"on": later})).json()["escalated"]
    assert [(f["id"], f["followed_by"], f["escalations"]) for f in escalated] == [(finding["id"], "prov", 1)]

    board = await registry.call("GET", "/findings?format=csv", "x-office")
    assert "甲市文旅" in board.content.decode("utf-8-sig") and PERSON_CONTACT not in board.text
    assert (await registry.call("POST", f"/findings/{finding['id']}/fixed", "unit2", json={})).status_code == 404
    fixed = await registry.call("POST", f"/findings/{finding['id']}/fixed", "unit1", json={"note": "已恢复更新"})
    assert fixed.json()["status"] == "reported_fixed"
    closed = await registry.call("POST", f"/findings/{finding['id']}/decision", "x-office",
                                 json={"decision": "accept"})
    assert closed.json()["status"] == "closed" and closed.json()["resolution"] == "fixed"

    on_bus = await registry.on_the_bus({"AccountFindingOpened": finding["id"],
                                        "AccountFindingEscalated": finding["id"],
                                        "AccountFindingClosed": finding["id"]})
    assert on_bus["AccountFindingOpened"]["code"] == "idle_no_update"
    assert on_bus["AccountFindingOpened"]["deadline"] == finding["deadline"]
    assert on_bus["AccountFindingEscalated"]["escalated_to"] == "prov"
    assert on_bus["AccountFindingClosed"]["resolution"] == "fixed"


async def test_the_monthly_report_is_produced_and_written_out(registry: Registry) -> None:
    deps = registry.deps
    account_id = await _account(deps, "u1", "bilibili", "甲市青年")
    last_month_day = today_of(deps).replace(day=1) - timedelta(days=3)
    r = await registry.call("POST", f"/accounts/{account_id}/snapshots", "unit1", json={
        "taken_on": last_month_day.isoformat(), "followers": 70, "posts": 9, "reposts": 2, "comments": 5,
        "last_update_on": last_month_day.isoformat()})
    assert r.status_code == 201, r.text
    month = last_month_day.strftime("%Y-%m")
    produced = await registry.call("POST", "/reports", "x-office", json={"month": month})
    assert produced.status_code == 200, produced.text
    unit = next(u for u in produced.json()["units"] if u["key"] == "u1")
    assert (unit["posts"], unit["interactions"]) == (9, 7)
    page = await registry.call("GET", f"/reports/{month}?format=html", "x-office")
    assert "<svg" in page.text and "甲市第一单位" in page.text and PERSON_CONTACT not in page.text
    book = await registry.call("GET", f"/reports/{month}?format=xlsx", "x-office")
    assert book.content[:2] == b"PK"
    assert await registry.count("SELECT count(*) FROM outbox WHERE event_type = 'RegistryReportProduced'") == 1
    assert (await registry.call("GET", f"/reports/{date(2001, 1, 1):%Y-%m}", "x-office")).status_code == 404


async def test_the_schedule_checks_and_reports_once_until_due_again(registry: Registry) -> None:
    deps = registry.deps
    account_id = await _account(deps, "u2", "kuaishou", "甲市快讯")
    await deps.rt.pool.execute("UPDATE accounts SET filed_at = now() - interval '30 days' WHERE id = $1", account_id)
    assert await run_due(deps) == ["check", "report"]
    findings = (await registry.call("GET", "/findings", "unit2")).json()["findings"]
    assert [(f["code"], f["message_en"]) for f in findings] == [
        ("idle_no_update", "No update for more than 14 days (last update: —)")]
    scopes = await deps.rt.pool.fetch("SELECT scope FROM registry_reports ORDER BY scope")
    assert [r["scope"] for r in scopes] == ["all", "prov"]
    assert await run_due(deps) == []  # nothing due again today: the runs are recorded
    later = (today_of(deps) + timedelta(days=20)).isoformat()
    await registry.call("POST", "/checks/run", "admin", json={"on": later})
    assert await run_due(deps) == []  # a run judged as of a later day does not stand for today's
