"""The audit trail through the gateway: an office approves nominations, the supervisor approves the results, the
committee publishes them; the ResultsPublished on the broker carries the chain heads anyone can read, the rows
(for staff) re-hash to those heads by the rules of docs/audit.md, and `massline audit verify` finds them intact."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import support
from aiokafka import AIOKafkaConsumer, TopicPartition
from support import wait_for

from massline.contracts import ResultsPublished, parse_envelope, topics
from services.scoring.anchors import seals_of

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = "e2e-audit"


async def _results_published(bootstrap: str, campaign: str) -> list[ResultsPublished]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topics.RESULT, p) for p in consumer.partitions_for_topic(topics.RESULT) or set()]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        found: list[ResultsPublished] = []
        async def behind() -> bool:
            return any([await consumer.position(tp) < end[tp] for tp in tps])

        while await behind():
            for msgs in (await consumer.getmany(timeout_ms=500)).values():
                for msg in msgs:
                    _, event = parse_envelope(msg.value)
                    if isinstance(event, ResultsPublished) and event.campaign_id == campaign:
                        found.append(event)
        return found
    finally:
        await consumer.stop()


def _rehash(rows: list[dict[str, Any]]) -> str:
    """docs/audit.md, written again from the document: each row's hash from the one before and its fields."""
    prev = "0" * 64
    for r in rows:
        body = {k: r[k] for k in ("action", "actor", "at", "campaign_id", "details", "seq", "subject")}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert r["prev_hash"] == prev
        prev = hashlib.sha256((prev + text).encode("utf-8")).hexdigest()
        assert r["hash"] == prev, f"row {r['seq']} does not hash as documented"
    return prev


def test_decisions_are_chained_and_the_published_results_carry_the_heads(system) -> None:
    api = support.Api(system.gateway_url)
    entries = support.open_voting(api, CAMPAIGN, ["审计甲", "审计乙"])
    office = f"{CAMPAIGN}-office"
    for user, role in (("audit-supervisor", "supervisor"), ("audit-committee", "committee")):
        r = api.call("PUT", "/api/submission/users", "admin", json={
            "username": user, "display_name": user, "password": support.PASSWORD, "role": role})
        assert r.status_code == 200, r.text
        api.login(user, support.PASSWORD)

    # --- the office's two approvals are the campaign's submission chain; its head is public ---
    head = api.call("GET", f"/api/submission/campaigns/{CAMPAIGN}/audit/head").json()
    assert head["service"] == "submission" and head["seq"] == 2
    page = api.call("GET", f"/api/submission/campaigns/{CAMPAIGN}/audit", office).json()
    assert [(r["action"], r["actor"], r["subject"]) for r in page["rows"]] == [
        ("nomination.approve", f"office:{office}", f"nomination:{e}") for e in entries]
    assert _rehash(page["rows"]) == head["hash"]
    refused = api.call("GET", f"/api/submission/campaigns/{CAMPAIGN}/audit", f"{CAMPAIGN}-u0")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "role_not_allowed"

    # --- approval and publication ---
    def ranked() -> bool:
        view = api.call("GET", f"/api/scoring/campaigns/{CAMPAIGN}/final-review", "audit-committee").json()
        return len(view.get("rankings", {}).get("institutional", {}).get("entries", [])) == 2

    wait_for("both entries ranked", ranked, timeout=60)
    r = api.call("POST", f"/api/scoring/campaigns/{CAMPAIGN}/approval", "audit-supervisor", json={"note": "同意"})
    assert r.status_code == 201, r.text
    r = api.call("POST", f"/api/scoring/campaigns/{CAMPAIGN}/publication", "audit-committee", json={})
    assert r.status_code == 201, r.text
    published = r.json()
    heads = {h["service"]: h for h in published["audit_heads"]}
    assert heads["submission"] == {"service": "submission", "seq": 2, "hash": head["hash"]}
    assert heads["antifraud"]["seq"] == 0  # no fraud decision in this campaign
    assert heads["scoring"]["seq"] == 2  # the approval, then this publication

    # --- scoring's rows: the publication row holds the other heads; the chain re-hashes to scoring's head ---
    rows = api.call("GET", f"/api/scoring/campaigns/{CAMPAIGN}/audit", "audit-committee").json()["rows"]
    assert [r["action"] for r in rows] == ["results.approve", "results.publish"]
    assert rows[1]["details"]["audit_heads"] == [heads["submission"], heads["antifraud"]]
    assert _rehash(rows) == heads["scoring"]["hash"]
    assert api.call("GET", f"/api/scoring/campaigns/{CAMPAIGN}/audit/head").json()["hash"] == heads["scoring"]["hash"]

    # --- the vote-log roots used are voting's seals (none while voting seals none) ---
    seals = api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/vote-log/seals")
    expected_roots = [s.model_dump() for s in seals_of(seals.json())] if seals.status_code == 200 else []
    assert published["vote_log_roots"] == expected_roots

    # --- the event on the broker and the public results carry the same anchors ---
    events = wait_for("the ResultsPublished event",
                      lambda: asyncio.run(_results_published(system.kafka_bootstrap, CAMPAIGN)), timeout=60)
    assert [h.model_dump() for h in events[-1].audit_heads] == published["audit_heads"]
    assert [v.model_dump() for v in events[-1].vote_log_roots] == expected_roots
    public = api.call("GET", f"/api/scoring/campaigns/{CAMPAIGN}/results").json()
    assert public["audit_heads"] == published["audit_heads"]
    # … and the results page shows them, with the way to check.
    page = api.call("GET", f"/c/{CAMPAIGN}/results").text
    assert "本结果依据的可核验记录" in page
    for h in published["audit_heads"]:
        assert h["hash"] in page
    for root in expected_roots:
        assert root["root"] in page and f"/c/{CAMPAIGN}/vote-log" in page

    # --- the command line recomputes the chains from the database ---
    env = {**os.environ, "MASSLINE_DATABASE_URL": system.database_url, "MASSLINE_ENV": "test"}
    done = subprocess.run([sys.executable, "-m", "services.operations", "audit", "verify", "--campaign", CAMPAIGN],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ok      submission {CAMPAIGN}: 2 row(s)" in done.stdout
    assert f"ok      scoring {CAMPAIGN}: 2 row(s)" in done.stdout
