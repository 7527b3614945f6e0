"""The whole system through its HTTP API on the real broker and database: nominate, approve, vote, rank, notify.

It also proves the rules that keep the numbers right: a malformed message is dead-lettered and the
consumer goes on, a message delivered twice changes nothing, and after the broker loses every topic
the outboxes are replayed and every tally and ranking is exactly what it was.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from support import PASSWORD, Api, account_form, wait_for

from massline.contracts import EventParseError, parse_envelope, topics
from services.operations.demo import demo_definition

pytestmark = pytest.mark.e2e

CAMPAIGN = "e2e-accounts"

_TICKETS: dict[str, str] = {}


def _ticket(api: Api, phone: str) -> str:
    """Verify a phone once with the development SMS provider and keep its voter ticket."""
    if phone not in _TICKETS:
        r = api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/voters/sms-code", json={"phone": phone})
        assert r.status_code == 202, r.text
        code = api.call("GET", f"/api/voting/dev/sms-codes/{phone}").json()["code"]
        r = api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/voters/sms-verify",
                     json={"phone": phone, "code": code})
        assert r.status_code == 200, r.text
        assert phone not in r.text  # the answer never carries the number
        _TICKETS[phone] = r.json()["ticket"]
    return _TICKETS[phone]


def _vote(api: Api, phone: str, entry_id: str, count: int, key: str) -> httpx.Response:
    return api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/votes",
                    headers={"Authorization": f"Bearer {_ticket(api, phone)}"},
                    json={"entry_id": entry_id, "count": count, "idempotency_key": key})


def _standings(api: Api) -> dict[str, Any]:
    return api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/standings").json().get("categories", {})


def _ranking(api: Api, category: str) -> httpx.Response:
    return api.call("GET", f"/api/scoring/campaigns/{CAMPAIGN}/rankings/{category}")


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def _read_dead_letters(bootstrap: str, topic: str, key: bytes, timeout: float = 20) -> list[Any]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        deadline = time.monotonic() + timeout
        while not parts and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        found: list[Any] = []
        while time.monotonic() < deadline and not found:
            batch = await consumer.getmany(timeout_ms=500)
            found += [m for msgs in batch.values() for m in msgs if m.key == key]
        return found
    finally:
        await consumer.stop()


async def _first_message(bootstrap: str, topic: str) -> Any:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or set()]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        for _ in range(40):
            batch = await consumer.getmany(timeout_ms=500)
            for msgs in batch.values():
                for msg in msgs:
                    try:
                        parse_envelope(msg.value)  # skip the malformed ones this test put there
                    except EventParseError:
                        continue
                    return msg
        raise AssertionError(f"no message on {topic}")
    finally:
        await consumer.stop()


async def _produce(bootstrap: str, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


def test_nominate_approve_vote_rank_notify_and_survive_broker_loss(system, infrastructure) -> None:
    api = Api(system.gateway_url)
    assert api.call("GET", "/health").status_code == 200

    # --- an admin sets up the campaign, its office and two nominating units ---
    api.login("admin", "admin-demo-password")
    for org in ({"id": "e2e-office", "name": "测试中心", "kind": "office", "level": "provincial"},
                {"id": "e2e-unit-a", "name": "甲大学", "kind": "unit", "level": "unit", "parent_id": "e2e-office"},
                {"id": "e2e-unit-b", "name": "乙大学", "kind": "unit", "level": "unit", "parent_id": "e2e-office"}):
        assert api.call("PUT", "/api/submission/organisations", "admin", json=org).status_code == 200
    for user, role, org in (("e2e-office", "office", "e2e-office"), ("e2e-unit-a", "unit", "e2e-unit-a"),
                            ("e2e-unit-b", "unit", "e2e-unit-b")):
        r = api.call("PUT", "/api/submission/users", "admin", json={
            "username": user, "display_name": user, "password": PASSWORD, "role": role, "organisation_id": org})
        assert r.status_code == 200, r.text
        api.login(user, PASSWORD)
    definition = demo_definition().replace("id: shaanxi-2024-accounts", f"id: {CAMPAIGN}", 1)
    r = api.call("POST", "/api/submission/campaigns", "admin", json={"definition_yaml": definition})
    assert r.status_code == 201, r.text
    assert api.call("POST", f"/api/submission/campaigns/{CAMPAIGN}/phase", "admin",
                    json={"phase": "nomination"}).status_code == 200

    # --- units nominate over HTTP; a rule violation is refused with its code and writes nothing ---
    low = api.call("POST", f"/api/submission/campaigns/{CAMPAIGN}/nominations", "e2e-unit-a",
                   json={"category_id": "institutional", "form": account_form("甲大学", "jia_low", 19_999)})
    assert low.status_code == 422 and low.json()["error"]["code"] == "below_follower_threshold"
    assert api.call("GET", f"/api/submission/campaigns/{CAMPAIGN}/nominations", "e2e-unit-a").json()[
        "nominations"] == []
    a = api.call("POST", f"/api/submission/campaigns/{CAMPAIGN}/nominations", "e2e-unit-a",
                 json={"category_id": "institutional", "form": account_form("甲大学", "jia", 60_000)})
    assert a.status_code == 201, a.text
    b = api.call("POST", f"/api/submission/campaigns/{CAMPAIGN}/nominations", "e2e-unit-b",
                 json={"category_id": "institutional", "form": account_form("乙大学", "yi", 30_000)})
    assert b.status_code == 201, b.text
    entry_a, entry_b = a.json()["id"], b.json()["id"]
    # a unit sees only its own nominations
    assert api.call("GET", f"/api/submission/nominations/{entry_b}", "e2e-unit-a").status_code == 403

    # --- the office approves both ---
    for entry in (entry_a, entry_b):
        r = api.call("POST", f"/api/submission/nominations/{entry}/review", "e2e-office",
                     json={"decision": "approve", "reason": "符合条件"})
        assert r.status_code == 200 and r.json()["status"] == "approved", r.text

    # --- voting learns of the entries by event; the public votes ---
    wait_for("entries to become votable", lambda: len(
        api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/entries").json().get("entries", [])) == 2)
    assert api.call("POST", f"/api/submission/campaigns/{CAMPAIGN}/phase", "admin",
                    json={"phase": "voting"}).status_code == 200
    wait_for("the voting phase to reach voting", lambda: _vote(api, "13900000000", entry_a, 1, "probe").status_code
             in (200, 201))
    expected = {entry_a: 1, entry_b: 0}
    for i, (entry, count) in enumerate([(entry_a, 4), (entry_b, 2), (entry_a, 3), (entry_b, 10), (entry_a, 1)]):
        r = _vote(api, f"1390000{i + 1:04d}", entry, count, f"v{i}")
        assert r.status_code == 201, r.text
        expected[entry] += count
    accepted_votes = 1 + 5  # the probe and the five above
    again = _vote(api, "13900000005", entry_a, 1, "v4")  # the same idempotency key again
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    over = _vote(api, "13900000004", entry_a, 1, "over")  # this voter gave all 10 today
    assert over.status_code == 429 and over.json()["error"]["code"] == "quota_exceeded"

    # --- the standings show them (ranks while voting: seed 000 shows rank only) ---
    def ranks() -> dict[str, int]:
        return {e["entry_id"]: e.get("rank") for e in _standings(api).get("institutional", [])}

    wait_for("standings to rank entry B first", lambda: ranks() == {entry_b: 1, entry_a: 2})
    # close voting: counts are shown, and the final tally goes to scoring
    assert api.call("POST", f"/api/submission/campaigns/{CAMPAIGN}/phase", "admin",
                    json={"phase": "expert_review"}).status_code == 200

    def counts() -> dict[str, int]:
        return {e["entry_id"]: e.get("votes") for e in _standings(api).get("institutional", [])}

    wait_for("final counts", lambda: counts() == expected)

    # --- scoring recomputes the category ranking from the tally and the metrics ---
    def ranking_ready() -> Any:
        r = _ranking(api, "institutional")
        if r.status_code != 200:
            return None
        entries = {e["entry_id"]: e for e in r.json()["entries"]}
        if set(entries) != {entry_a, entry_b}:
            return None
        if entries[entry_b]["components"]["vote"] <= entries[entry_a]["components"]["vote"]:
            return None
        return r.json()

    ranking = wait_for("scoring to rank both entries with vote scores", ranking_ready)
    by_id = {e["entry_id"]: e for e in ranking["entries"]}
    assert by_id[entry_b]["components"]["vote"] == 100  # rank 1 by votes
    assert by_id[entry_a]["components"]["initial"] > by_id[entry_b]["components"]["initial"]  # more followers

    # --- notification recorded a delivery to each nominating unit ---
    def inbox(unit: str) -> list[dict[str, Any]]:
        r = api.call("GET", f"/api/notification/inbox/unit:{unit}", unit)  # signed in as that unit
        return r.json().get("notifications", []) if r.status_code == 200 else []

    wait_for("the approval notice in unit A's inbox",
             lambda: any("approved" in n["template"] for n in inbox("e2e-unit-a")))
    notices_before = len(inbox("e2e-unit-a"))

    bootstrap = infrastructure.bootstrap

    # --- (b) a malformed message on every consumed topic goes to its dead-letter twin; consumers go on ---
    for topic in (topics.CAMPAIGN, topics.NOMINATION, topics.VOTE, topics.VOTE_DECISION, topics.TALLY):
        key = f"bad-{uuid.uuid4().hex[:8]}".encode()
        asyncio.run(_produce(bootstrap, topic, b'{"event_id": "not-a-uuid", "payload": ', key,
                             [("x-origin", b"e2e")]))
        dead = asyncio.run(_read_dead_letters(bootstrap, f"{topic}.dlq", key))
        assert dead, f"nothing dead-lettered from {topic}"
        headers = {k: v.decode() for k, v in dead[0].headers}
        assert headers["x-origin"] == "e2e"
        assert headers["x-dead-letter-reason"] == "malformed_json"
        assert headers["x-original-topic"] == topic

    # --- (c) a message delivered twice changes nothing the second time ---
    first_vote = asyncio.run(_first_message(bootstrap, topics.VOTE))
    voting_metrics = httpx.get(f"{system.service_url('voting')}/metrics").text
    dup_before = _metric(voting_metrics, "massline_events_duplicate_total", consumer="voting.standings")
    asyncio.run(_produce(bootstrap, topics.VOTE, first_vote.value, first_vote.key, list(first_vote.headers)))
    wait_for("the duplicate to be seen and skipped", lambda: _metric(
        httpx.get(f"{system.service_url('voting')}/metrics").text, "massline_events_duplicate_total",
        consumer="voting.standings") > dup_before)
    assert counts() == expected

    final_standings = _standings(api)
    final_ranking = _ranking(api, "institutional").json()

    # --- (a) the broker loses everything; outboxes are replayed; every number is what it was ---
    system.stop_services()
    system.restart_broker()
    system.start_services()
    env = {**os.environ, **system.env()}
    out = subprocess.run([sys.executable, "-m", "services.operations", "replay"], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "voting:" in out.stderr and "submission:" in out.stderr

    def replayed_votes_seen() -> bool:
        text = httpx.get(f"{system.service_url('voting')}/metrics").text
        return _metric(text, "massline_events_duplicate_total", consumer="voting.standings") >= accepted_votes

    wait_for("the replayed votes to reach the standings consumer", replayed_votes_seen, timeout=60)
    assert _standings(api) == final_standings
    wait_for("scoring to see the replayed events", lambda: _metric(
        httpx.get(f"{system.service_url('scoring')}/metrics").text, "massline_events_duplicate_total") > 0,
        timeout=60)
    assert _ranking(api, "institutional").json()["entries"] == final_ranking["entries"]
    assert _ranking(api, "institutional").json()["inputs_digest"] == final_ranking["inputs_digest"]
    assert len(inbox("e2e-unit-a")) == notices_before

    # --- logs are JSON lines that carry the event and campaign, and never a phone number ---
    applied = []
    for log_file in system.log_dir.glob("*.log"):
        for line in log_file.read_text(errors="replace").splitlines():
            assert "1390000" not in line and "13700001234" not in line, f"personal data in {log_file.name}"
            if '"event applied"' in line:
                applied.append(json.loads(line))
    assert any(r.get("campaign_id") == CAMPAIGN and r.get("event_id") and r["service"] == "voting" for r in applied)
