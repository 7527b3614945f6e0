"""An operator holding by hand the votes a jump brought (a crowd no rule told from people), on real PostgreSQL:
the preview changes nothing, the hold keeps the entry's earlier supporters, is a case of the queue with its events
and audit, and every refused request leaves everything as it was."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from antifraud_api import antifraud_api

from massline.auth import Caller, issue_token
from massline.consumer import Delivered
from massline.contracts import (
    CampaignLoaded,
    CastVote,
    CategoryInfo,
    NominationApproved,
    VoteCast,
    VoteRules,
    make_envelope,
    network_shard,
)
from services.antifraud import detection, domain

pytestmark = pytest.mark.integration

CAMPAIGN = "af-holds"
TARGET = uuid.UUID(int=21)
RIVAL = uuid.UUID(int=22)


def vote(voter: str, entry: uuid.UUID, at: datetime, count: int, i: int) -> CastVote:
    """A person on their own network, browser and fingerprint, verified days ago, who looked at the page."""
    return CastVote(vote_id=uuid.uuid4(), voter_id=voter, entry_id=entry, category_id="cases", count=count,
                    cast_at=at, ip_hash=f"ip-{voter}", subnet=f"10.{i % 250}.{i // 250}.0/24",
                    device_hash=f"dev-{voter}", identity_verified_at=at - timedelta(days=2),
                    user_agent_hash=f"ua-{i % 17}", page_viewed_at=at - timedelta(seconds=40), number_kind="mobile")


class Holds:
    def __init__(self, deps, pool: asyncpg.Pool, client: httpx.AsyncClient) -> None:
        self.deps, self.pool, self.client, self.offset = deps, pool, client, 0
        token = issue_token(deps.settings.secret_key, Caller("ops-li", "operator", None), 600)
        self.headers = {"authorization": f"Bearer {token}"}

    async def deliver(self, events: list, handler=None) -> None:
        batch = []
        for e in events:
            if isinstance(e, CastVote):
                e = VoteCast(network_shard=network_shard(e.subnet, e.ip_hash, e.voter_id), votes=[e])
            self.offset += 1
            batch.append(Delivered(make_envelope(e, campaign_id=CAMPAIGN, producer="test"), e, e.topic, 0,
                                   self.offset))
        async with self.pool.acquire() as conn, conn.transaction():
            after = await (handler or detection.score_votes)(conn, batch, *(() if handler else (self.deps,)))
        if callable(after):
            after()

    async def hold(self, **body) -> httpx.Response:
        return await self.client.post(f"/campaigns/{CAMPAIGN}/holds", headers=self.headers,
                                      json={"reason": "众包平台派单，截图为证", **body})

    async def snapshot(self) -> tuple:
        """Everything a hold could change: votes' states, cases, their votes, events, the audit trails."""
        out = []
        for q in ("SELECT vote_id, state FROM votes ORDER BY vote_id",
                  "SELECT id, status, reason_code FROM cases ORDER BY id",
                  "SELECT case_id, vote_id FROM case_votes ORDER BY case_id, vote_id",
                  "SELECT id FROM outbox ORDER BY id",
                  "SELECT id FROM decisions ORDER BY id"):
            out.append([tuple(r) for r in await self.pool.fetch(q)])
        return tuple(out)

    async def outbox(self, event_type: str) -> list[dict]:
        rows = await self.pool.fetch("SELECT body FROM outbox WHERE event_type = $1 ORDER BY id", event_type)
        return [json.loads(bytes(r["body"]))["payload"] for r in rows]

    async def states(self, votes: list[CastVote]) -> set[str]:
        return {r["state"] for r in await self.pool.fetch("SELECT state FROM votes WHERE vote_id = ANY($1)",
                                                          [v.vote_id for v in votes])}


@pytest.fixture
async def holds(database_url: str):
    async with antifraud_api(database_url) as (deps, pool, client):
        h = Holds(deps, pool, client)
        await h.deliver([CampaignLoaded(campaign_id=CAMPAIGN, version=1, title="新媒体账号推选", timezone="Asia/Shanghai",
                                        phases=[], vote_rules=VoteRules(),
                                        categories=[CategoryInfo(id="cases", name="账号", name_en="Accounts")])],
                        handler=detection.learn_campaigns)
        await h.deliver([NominationApproved(nomination_id=e, unit_id=f"unit-{n}", unit_name=f"{n}县融媒体中心",
                                            category_id="cases", entry_name=f"{n}发布", step_id="office", final=True)
                         for e, n in ((TARGET, "甲"), (RIVAL, "乙"))], handler=detection.learn_entries)
        yield h


def campaign_day(now: datetime) -> tuple[datetime, datetime]:
    """An hour of history and the ten minutes after it, within the last day and on one campaign day."""
    day = domain.window_start(now - timedelta(hours=3), domain.DAY)
    start = domain.window_start(max(day + timedelta(minutes=10), now - timedelta(hours=20)), domain.TEN_MINUTES)
    return start, start + timedelta(hours=1, minutes=10)


def crowd_world(now: datetime) -> tuple[list[CastVote], list[CastVote], list[CastVote], datetime]:
    """(everyone's votes in time order, the supporters' votes in the window, the crowd's, the window's start): the
    rival leads on its people; the target's own supporters vote in the first hour and again in the window; a paid
    crowd of new identities, each like anyone else, puts the target ahead in those ten minutes."""
    start, window = campaign_day(now)
    rng = random.Random(3)
    people = [vote(f"p{i}", RIVAL if i % 3 else TARGET, start + timedelta(seconds=rng.uniform(0, 3600)), 10, i)
              for i in range(300)]
    again = [vote(p.voter_id, TARGET, window + timedelta(seconds=rng.uniform(0, 590)), 5, i)
             for i, p in enumerate(people) if p.entry_id == TARGET][:40]
    crowd = [vote(f"c{i}", TARGET, window + timedelta(seconds=rng.uniform(0, 590)), 10, 300 + i) for i in range(150)]
    return sorted(people + again + crowd, key=lambda v: v.cast_at), again, crowd, window


async def test_an_operator_holds_the_new_identities_of_a_jump_and_the_entry_s_supporters_keep_their_votes(holds):
    everyone, again, crowd, window = crowd_world(datetime.now(UTC))
    for i in range(0, len(everyone), 25):
        await holds.deliver(everyone[i:i + 25])
    assert await holds.states(crowd + again) == {"counted"}  # no rule held them: they look like people
    r = await holds.client.get(f"/campaigns/{CAMPAIGN}/jumps", headers=holds.headers)
    [jump] = r.json()["jumps"]
    assert jump["entry_id"] == str(TARGET) and datetime.fromisoformat(jump["window_start"]) == window
    assert (jump["new_identities"], jump["new_counted_votes"]) == (150, 1500)  # the crowd, not the supporters
    end = window + timedelta(minutes=10)

    before = await holds.snapshot()
    r = await holds.hold(entry_id=str(TARGET), start=jump["window_start"], end=end.isoformat(), preview=True)
    assert r.status_code == 200, r.text
    preview = r.json()
    assert (preview["votes"], preview["voters"], preview["requests"]) == (1500, 150, 150)
    assert preview["changes_rank"] is True
    [cases] = preview["categories"]
    ranked = {e["entry_id"]: (e["rank_now"], e["rank_then"]) for e in cases["entries"]}
    assert ranked[str(TARGET)] == (1, 2) and ranked[str(RIVAL)] == (2, 1)
    assert await holds.snapshot() == before  # a preview changes nothing

    r = await holds.hold(entry_id=str(TARGET), start=jump["window_start"], end=end.isoformat())
    assert r.status_code == 200, r.text
    held = r.json()
    assert held["votes_held"] == 1500 and held["status"] == "flagged"
    assert await holds.states(crowd) == {"flagged"} and await holds.states(again) == {"counted"}
    flagged = await holds.outbox("VoteFlagged")
    assert sorted(e["vote_id"] for e in flagged) == sorted(str(v.vote_id) for v in crowd)
    assert {e["reason_code"] for e in flagged} == {"manual_hold"}
    assert "ops-li" in flagged[0]["explanation_zh"] and "众包平台派单" in flagged[0]["explanation_zh"]

    # In the queue like any held case, found by its reason, with the operator's words; the entry's held reasons.
    r = await holds.client.get(f"/campaigns/{CAMPAIGN}/cases", headers=holds.headers,
                               params={"reason": "manual_hold"})
    [case] = r.json()["cases"]
    assert case["id"] == held["case_id"] and case["reason_zh"] == domain.REASONS_ZH["manual_hold"]
    assert case["impact"]["changes_rank"] is True
    r = await holds.client.get(f"/campaigns/{CAMPAIGN}/invalidations", headers=holds.headers)
    [entry] = [e for e in r.json()["entries"] if e["entry_id"] == str(TARGET)]
    assert entry["flagged_votes"] == 1500 and [x["reason_code"] for x in entry["reasons"]] == ["manual_hold"]

    # The same window again is refused and changes nothing; confirming the case invalidates its votes.
    after = await holds.snapshot()
    r = await holds.hold(entry_id=str(TARGET), start=jump["window_start"], end=end.isoformat())
    assert r.status_code == 409 and r.json()["error"]["code"] == "hold_exists"
    assert await holds.snapshot() == after
    r = await holds.client.post(f"/cases/{held['case_id']}/decision", headers=holds.headers,
                                json={"decision": "confirm", "reason": "核实为有偿刷票"})
    assert r.status_code == 200, r.text
    assert await holds.states(crowd) == {"invalidated"} and await holds.states(again) == {"counted"}
    history = [tuple(r) for r in await holds.pool.fetch(
        "SELECT action, actor, actor_role FROM decisions WHERE case_id = $1 ORDER BY id", uuid.UUID(held["case_id"]))]
    assert history == [("hold", "ops-li", "operator"), ("confirm", "ops-li", "operator")]
    trail = [r["action"] for r in await holds.pool.fetch(
        "SELECT action FROM audit_log WHERE campaign_id = $1 ORDER BY seq", CAMPAIGN)]
    assert trail[-2:] == ["fraud.hold", "fraud.confirm"]
    r = await holds.client.get(f"/cases/{held['case_id']}", headers=holds.headers)
    assert r.json()["odds"] is None  # a person's judgement, not a rule's weight of evidence


@pytest.mark.parametrize("change, code, status", [
    ({"entry_id": str(uuid.UUID(int=99))}, "entry_not_found", 404),
    ({"end": "start"}, "window_empty", 422),
    ({"end": "+25h"}, "window_too_long", 422),
    ({"end": "+soon"}, "window_not_over", 422),
    ({"start": "naive"}, "validation_failed", 422),
    ({"start": "-2d"}, "nothing_to_hold", 422),
    ({"identities": "some"}, "validation_failed", 422),
    ({"reason": ""}, "validation_failed", 422),
])
async def test_a_refused_hold_says_why_and_changes_nothing(holds, change, code, status):
    everyone, _, _, window = crowd_world(datetime.now(UTC))
    await holds.deliver(everyone[:60])
    body = {"entry_id": str(TARGET), "start": window.isoformat(), "end": (window + timedelta(minutes=10)).isoformat()}
    now = datetime.now(UTC)
    moves = {"start": window.isoformat(), "+25h": (window + timedelta(hours=25)).isoformat(),
             "+soon": (now + timedelta(minutes=30)).isoformat(), "naive": window.replace(tzinfo=None).isoformat(),
             "-2d": (window - timedelta(days=2)).isoformat()}
    body |= {k: moves.get(v, v) for k, v in change.items()}
    if change.get("start") == "-2d":
        body["end"] = (window - timedelta(days=2, minutes=-10)).isoformat()
    before = await holds.snapshot()
    r = await holds.hold(**body)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert await holds.snapshot() == before


async def test_only_operators_hold_votes(holds):
    token = issue_token(holds.deps.settings.secret_key, Caller("u", "unit", "unit-甲"), 600)
    r = await holds.client.post(f"/campaigns/{CAMPAIGN}/holds", headers={"authorization": f"Bearer {token}"},
                                json={"entry_id": str(RIVAL), "start": "2026-12-01T00:00:00+08:00",
                                      "reason": "不应允许"})
    assert r.status_code == 403
