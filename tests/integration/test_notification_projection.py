"""Nomination events become inbox notices once each, announced once, against a real PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from massline.auth import Caller, issue_token
from massline.consumer import Delivered
from massline.contracts import (
    CampaignLoaded,
    CategoryInfo,
    NominationApproved,
    NominationRejected,
    NominationReturned,
    NominationSubmitted,
    RankingComputed,
    VoteRules,
    make_envelope,
    topics,
)
from massline.db import create_pool, migrate
from massline.errors import install_error_handlers
from services.notification import notices
from services.notification.app import MIGRATIONS, build_deps
from services.notification.routes import router

pytestmark = pytest.mark.integration


@pytest.fixture
async def deps(database_url):
    await migrate(database_url, "notification", MIGRATIONS)
    pool = await create_pool(database_url, "notification")
    deps = build_deps()
    deps.rt._pool = pool
    try:
        yield deps
    finally:
        await pool.close()


def _delivered(event, campaign_id: str, offset: int = 0, envelope=None) -> Delivered:
    env = envelope or make_envelope(event, campaign_id=campaign_id, producer="submission")
    return Delivered(env, env.event(), topics.NOMINATION, 0, offset)


async def _apply(deps, batch, consumer=notices.tell_of_nominations) -> None:
    async with deps.rt.pool.acquire() as conn, conn.transaction():
        await consumer(deps, conn, batch)


async def _sent_for(deps, source_event_ids) -> list[dict]:
    wanted = {str(i) for i in source_event_ids}
    rows = await deps.rt.pool.fetch("SELECT body FROM outbox WHERE event_type = 'NotificationSent'")
    payloads = [json.loads(bytes(r["body"]))["payload"] for r in rows]
    return [p for p in payloads if p["source_event_id"] in wanted]


def _new_ids() -> tuple[str, str, uuid.UUID]:
    suffix = uuid.uuid4().hex[:8]
    return f"campaign-{suffix}", f"unit-{suffix}", uuid.uuid4()


async def test_each_nomination_event_tells_the_unit_once(deps):
    campaign_id, unit_id, nomination_id = _new_ids()
    common = dict(nomination_id=nomination_id, unit_id=unit_id, category_id="institutional", entry_name="示例发布")
    events = [
        NominationSubmitted(**common, unit_name="示例大学"),
        NominationReturned(**common, step_id="city", reason="请补充发稿量"),
        NominationSubmitted(**common, unit_name="示例大学", resubmission=True),
        NominationApproved(**common, unit_name="示例大学", step_id="city", final=False),
        NominationApproved(**common, unit_name="示例大学", step_id="province", final=True),
    ]
    batch = [_delivered(e, campaign_id, i) for i, e in enumerate(events)]
    await _apply(deps, batch)

    rows = await deps.rt.pool.fetch(
        "SELECT * FROM deliveries WHERE recipient = $1 ORDER BY seq", f"unit:{unit_id}"
    )
    # The intermediate approval is not the unit's business: four notices for five events.
    assert [r["template"] for r in rows] == [
        "nomination_received", "nomination_returned", "nomination_received", "nomination_approved",
    ]
    assert all(r["channel"] == "inbox" and r["status"] == "delivered" and r["attempts"] == 1 for r in rows)
    assert all(r["delivered_at"] is not None and r["read_at"] is None for r in rows)
    assert "请补充发稿量" in rows[1]["body_zh"] and "Reason" in rows[1]["body_en"]
    assert rows[0]["refs"] == {"nomination_id": str(nomination_id)}

    sent = await _sent_for(deps, [b.envelope.event_id for b in batch])
    assert sorted(p["notification_id"] for p in sent) == sorted(str(r["id"]) for r in rows)
    assert {(p["recipient"], p["channel"]) for p in sent} == {(f"unit:{unit_id}", "inbox")}

    metric = deps.rt.registry.get_sample_value("massline_notifications_sent_total", {"channel": "inbox"})
    assert metric is not None and metric >= 4


async def test_the_same_event_twice_gives_one_notice_and_one_announcement(deps):
    campaign_id, unit_id, nomination_id = _new_ids()
    event = NominationRejected(
        nomination_id=nomination_id, unit_id=unit_id, category_id="personal", entry_name="某某说", reason="不符合条件"
    )
    item = _delivered(event, campaign_id)
    # Applied twice in two transactions, as if the consumer's event-id bookkeeping were bypassed.
    await _apply(deps, [item])
    await _apply(deps, [item])

    rows = await deps.rt.pool.fetch(
        "SELECT id FROM deliveries WHERE source_event_id = $1 AND recipient = $2 AND channel = 'inbox'",
        item.envelope.event_id, f"unit:{unit_id}",
    )
    assert len(rows) == 1
    sent = await _sent_for(deps, [item.envelope.event_id])
    assert len(sent) == 1
    assert sent[0]["notification_id"] == str(rows[0]["id"])
    assert sent[0]["template"] == "nomination_rejected"


async def test_the_same_event_twice_in_one_batch_gives_one_notice(deps):
    campaign_id, unit_id, nomination_id = _new_ids()
    event = NominationSubmitted(
        nomination_id=nomination_id, unit_id=unit_id, unit_name="x", category_id="c", entry_name="e"
    )
    item = _delivered(event, campaign_id)
    await _apply(deps, [item, item])
    assert await deps.rt.pool.fetchval("SELECT count(*) FROM deliveries WHERE recipient = $1", f"unit:{unit_id}") == 1
    assert len(await _sent_for(deps, [item.envelope.event_id])) == 1


async def test_notices_name_the_campaign_and_category_once_known(deps):
    campaign_id, unit_id, nomination_id = _new_ids()
    loaded = CampaignLoaded(
        campaign_id=campaign_id, version=1, title="2021年河南省典型案例征集评选", timezone="Asia/Shanghai",
        categories=[CategoryInfo(id="creative", name="优秀创意案例", name_en="Outstanding creative case")],
        phases=[], vote_rules=VoteRules(),
    )
    env = make_envelope(loaded, campaign_id=campaign_id, producer="submission")
    await _apply(deps, [Delivered(env, env.event(), topics.CAMPAIGN, 0, 0)], notices.learn_campaigns)
    event = NominationSubmitted(
        nomination_id=nomination_id, unit_id=unit_id, unit_name="某市网信办", category_id="creative",
        entry_name="<b>创意</b>案例",
    )
    await _apply(deps, [_delivered(event, campaign_id)])

    row = await deps.rt.pool.fetchrow("SELECT * FROM deliveries WHERE recipient = $1", f"unit:{unit_id}")
    assert "2021年河南省典型案例征集评选" in row["body_zh"] and "优秀创意案例" in row["body_zh"]
    assert "Outstanding creative case" in row["body_en"]
    assert "&lt;b&gt;创意&lt;/b&gt;案例" in row["subject_zh"] and "<b>" not in row["body_zh"]


async def test_events_without_a_notice_record_nothing(deps):
    campaign_id, unit_id, nomination_id = _new_ids()
    event = NominationApproved(
        nomination_id=nomination_id, unit_id=unit_id, unit_name="x", category_id="c", entry_name="e",
        step_id="city", final=False,
    )
    item = _delivered(event, campaign_id)
    await _apply(deps, [item])
    assert await deps.rt.pool.fetchval("SELECT count(*) FROM deliveries WHERE recipient = $1", f"unit:{unit_id}") == 0
    assert await _sent_for(deps, [item.envelope.event_id]) == []


async def test_the_unit_reads_its_inbox_and_operators_see_deliveries(deps):
    campaign_id, unit_id, nomination_id = _new_ids()
    common = dict(nomination_id=nomination_id, unit_id=unit_id, category_id="c", entry_name="示例发布")
    first = _delivered(NominationSubmitted(**common, unit_name="x"), campaign_id, 0)
    second = _delivered(NominationReturned(**common, step_id="city", reason="<i>补充</i>"), campaign_id, 1)
    await _apply(deps, [first, second])
    recipient = f"unit:{unit_id}"
    # The routes as build_app mounts them, without its lifespan (the runtime is not started, its
    # pool is open) and without its process-wide logging set-up.
    app = FastAPI()
    app.state.runtime = deps.rt
    app.state.deps = deps
    install_error_handlers(app)
    app.include_router(router)
    secret = deps.rt.settings.secret_key
    as_unit = {"Authorization": "Bearer " + issue_token(secret, Caller("u", "unit", unit_id), 600)}
    as_other_unit = {"Authorization": "Bearer " + issue_token(secret, Caller("o", "unit", "another-unit"), 600)}
    as_operator = {"Authorization": "Bearer " + issue_token(secret, Caller("op", "operator", None), 600)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test",
                                 headers=as_unit) as client:
        # Only the unit itself (or an operator) reads its inbox; nobody without signing in.
        assert (await client.get(f"/inbox/{recipient}", headers={"Authorization": ""})).status_code == 401
        other = await client.get(f"/inbox/{recipient}", headers=as_other_unit)
        assert other.status_code == 403 and other.json()["error"]["code"] == "not_your_inbox"
        inbox = (await client.get(f"/inbox/{recipient}")).json()
        assert inbox["unread"] == 2
        assert [n["template"] for n in inbox["notifications"]] == ["nomination_returned", "nomination_received"]
        newest = inbox["notifications"][0]
        assert newest["read"] is False and "&lt;i&gt;补充&lt;/i&gt;" in newest["body"]
        assert newest["refs"] == {"nomination_id": str(nomination_id)}

        english = (await client.get(f"/inbox/{recipient}", params={"lang": "en", "limit": 1})).json()
        assert english["notifications"][0]["subject"].startswith("Nomination returned")
        older = (await client.get(f"/inbox/{recipient}", params={"before": english["next_before"]})).json()
        assert [n["template"] for n in older["notifications"]] == ["nomination_received"]

        read = await client.post(f"/inbox/{recipient}/{newest['id']}/read")
        assert read.status_code == 200 and read.json()["read"] is True
        again = await client.post(f"/inbox/{recipient}/{newest['id']}/read")
        assert again.json()["read_at"] == read.json()["read_at"]
        after = (await client.get(f"/inbox/{recipient}", params={"unread_only": "true"})).json()
        assert after["unread"] == 1 and [n["template"] for n in after["notifications"]] == ["nomination_received"]

        foreign = await client.post(f"/inbox/unit:someone-else/{newest['id']}/read", headers=as_operator)
        assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "notification_not_found"
        bad = await client.get("/inbox/voter:1")
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "recipient_invalid"

        assert (await client.get("/deliveries")).status_code == 403  # a unit is not an operator
        listed = (await client.get("/deliveries", params={"source_event_id": str(second.envelope.event_id)},
                                   headers=as_operator)).json()
        [delivery] = listed["deliveries"]
        assert delivery["recipient"] == recipient and delivery["status"] == "delivered"
        assert delivery["channel"] == "inbox" and delivery["read_at"] is not None
        assert "body" not in delivery
        by_recipient = (await client.get("/deliveries", params={"recipient": recipient},
                                         headers=as_operator)).json()
        assert len(by_recipient["deliveries"]) == 2


async def test_many_rankings_in_a_quarter_hour_give_the_committee_one_notice_then_the_latest(deps):
    campaign_id, _, _ = _new_ids()
    committee = f"committee:{campaign_id}"

    def ranking(i: int, category: str = "institutional") -> Delivered:
        event = RankingComputed(category_id=category, rule_version=f"{campaign_id}@v1", inputs_digest=f"digest-{i}",
                                entries=[])
        env = make_envelope(event, campaign_id=campaign_id, producer="scoring")
        return Delivered(env, env.event(), topics.SCORING, 0, i)

    # 84 rankings in 12 consumer batches, as while voting is open.
    items = [ranking(i, "personal" if i == 40 else "institutional") for i in range(84)]
    for start in range(0, 84, 7):
        await _apply(deps, items[start:start + 7], notices.tell_of_rankings)

    async def notices_of_committee() -> list:
        return await deps.rt.pool.fetch(
            "SELECT source_event_id, refs FROM deliveries WHERE recipient = $1 AND channel = 'inbox' ORDER BY seq",
            committee)

    first = await notices_of_committee()
    assert [r["source_event_id"] for r in first] == [items[0].envelope.event_id]
    assert first[0]["refs"]["inputs_digest"] == "digest-0"
    assert await notices.send_held_notices(deps) == 0  # the quarter hour has not passed

    # A quarter hour after the first notice, the held one goes out: the latest ranking, naming both categories.
    later = datetime.now(UTC) + timedelta(minutes=15, seconds=1)
    assert await notices.send_held_notices(deps, later) == 1
    assert await notices.send_held_notices(deps, later) == 0
    rows = await notices_of_committee()
    assert len(rows) == 2 and rows[1]["source_event_id"] == items[83].envelope.event_id
    assert rows[1]["refs"]["inputs_digest"] == "digest-83"
    assert rows[1]["refs"]["categories"] == "institutional,personal"
    assert len(await _sent_for(deps, [i.envelope.event_id for i in items])) == 2

    # A ranking just after that is held again (its window started when the held one went out).
    await _apply(deps, [ranking(84)], notices.tell_of_rankings)
    assert len(await notices_of_committee()) == 2
    assert await notices.send_held_notices(deps, later + timedelta(minutes=15)) == 1
    assert (await notices_of_committee())[-1]["refs"]["inputs_digest"] == "digest-84"
