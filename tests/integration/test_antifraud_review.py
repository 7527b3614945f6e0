"""Reviewing anti-fraud cases on real PostgreSQL: the queue sorted by what a decision would do to the ranks and paged,
decisions on many cases at once (audited per case, an event per vote whose standing changes, all or nothing), and
what-if ranks.

The votes and cases are written as the detectors write them (a held case's votes `flagged`, an invalidated one's
`invalidated`), so that each test sets the standings it needs exactly."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from antifraud_api import antifraud_api

from massline import audit
from massline.auth import Caller, issue_token
from massline.consumer import Delivered
from massline.contracts import CampaignLoaded, CategoryInfo, VoteRules, make_envelope, topics
from services.antifraud import detection, domain

pytestmark = pytest.mark.integration

CAMPAIGN = "af-review"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
A, B, C, D = (uuid.UUID(int=i) for i in (101, 102, 103, 104))  # category "cases"
X, Y = uuid.UUID(int=201), uuid.UUID(int=202)  # category "accounts"


class Review:
    def __init__(self, pool: asyncpg.Pool, client: httpx.AsyncClient, secret: str) -> None:
        self.pool, self.client, self.secret = pool, client, secret
        self.headers = self.as_("ops-wang", "operator")
        self.minutes = 0

    def as_(self, username: str, role: str) -> dict[str, str]:
        return {"authorization": f"Bearer {issue_token(self.secret, Caller(username, role, None), 600)}"}

    async def votes(self, entry: uuid.UUID, n: int, *, count: int = 1, category: str = "cases",
                    state: str = "counted", campaign: str = CAMPAIGN, voter: str | None = None) -> list[uuid.UUID]:
        """`n` vote requests, each its own identity's (or all `voter`'s)."""
        ids = [uuid.uuid4() for _ in range(n)]
        await self.pool.executemany(
            "INSERT INTO votes (vote_id, campaign_id, voter_id, entry_id, category_id, count, cast_at, ip_hash, "
            "subnet, device_hash, fresh, state) VALUES ($1, $2, $3, $4, $5, $6, $7, 'ip', '198.51.100.0/24', 'dev', "
            "false, $8)",
            [(i, campaign, voter or f"voter-{i}", entry, category, count, T0, state) for i in ids])
        return ids

    async def case(self, status: str, vote_ids: list[uuid.UUID], *, reason: str = "device_shared",
                   campaign: str = CAMPAIGN) -> str:
        """A case as the detectors open it: its votes held (flagged) or invalidated; opened a minute after the last."""
        self.minutes += 1
        case_id = uuid.uuid4()
        await self.pool.execute(
            "INSERT INTO cases (id, campaign_id, reason_code, subject, window_start, explanation, explanation_zh, "
            "evidence, status, created_at) VALUES ($1, $2, $3, $4, $5, 'found', '发现', '{}', $6, $7)",
            case_id, campaign, reason, f"device:{case_id}", T0, status, T0 + timedelta(minutes=self.minutes))
        await self.pool.execute("INSERT INTO case_votes (case_id, vote_id) SELECT $1, unnest($2::uuid[])",
                                case_id, vote_ids)
        if status != "overturned":
            await self.pool.execute(
                "UPDATE votes SET state = $2 WHERE vote_id = ANY($1::uuid[]) AND state <> 'invalidated'", vote_ids,
                status)
        return str(case_id)

    async def entry(self, entry: uuid.UUID, name: str, category: str = "cases") -> None:
        await self.pool.execute("INSERT INTO entries (entry_id, campaign_id, unit_id, unit_name, entry_name, "
                                "category_id) VALUES ($1, $2, 'unit', '单位', $3, $4)", entry, CAMPAIGN, name, category)

    async def queue(self, **params) -> dict:
        r = await self.client.get(f"/campaigns/{CAMPAIGN}/cases", headers=self.headers, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    async def decide(self, case_ids: list[str], decision: str, reason: str = "复核后决定") -> httpx.Response:
        return await self.client.post(f"/campaigns/{CAMPAIGN}/cases/decisions", headers=self.headers,
                                      json={"case_ids": case_ids, "decision": decision, "reason": reason})

    async def outbox(self, event_type: str) -> list[dict]:
        rows = await self.pool.fetch("SELECT body FROM outbox WHERE event_type = $1 ORDER BY id", event_type)
        return [json.loads(bytes(r["body"]))["payload"] for r in rows]

    async def states(self, ids: list[uuid.UUID]) -> set[str]:
        return {r["state"] for r in await self.pool.fetch("SELECT state FROM votes WHERE vote_id = ANY($1)", ids)}

    async def status(self, case_id: str) -> str:
        return await self.pool.fetchval("SELECT status FROM cases WHERE id = $1", uuid.UUID(case_id))


@pytest.fixture
async def svc(database_url: str):
    async with antifraud_api(database_url) as (deps, pool, client):
        yield Review(pool, client, deps.settings.secret_key)


def lone(changes_rank: bool, moved: int, votes: int) -> dict:
    """The impact of a case no other case shares votes with: the same alone."""
    impact = {"changes_rank": changes_rank, "entries_moved": moved, "votes": votes}
    return {**impact, "alone": impact}


async def standings(s: Review) -> None:
    """A 100, B 95, C 10 in "cases"; X 50, Y 40 in "accounts"."""
    for entry, n, cat in ((A, 100, "cases"), (B, 95, "cases"), (C, 10, "cases"), (X, 50, "accounts"),
                          (Y, 40, "accounts")):
        await s.votes(entry, n, category=cat)


async def test_a_case_says_how_many_identities_cast_its_votes(svc: Review):
    # An explanation's figures are of the cohort the rule judged; the case says what it holds: five requests of
    # three identities (one of them sent three).
    await standings(svc)
    case = await svc.case("flagged", await svc.votes(C, 3, voter="one-identity") + await svc.votes(C, 2))
    [row] = [c for c in (await svc.queue())["cases"] if c["id"] == case]
    detail = (await svc.client.get(f"/cases/{case}", headers=svc.headers)).json()
    assert (row["votes"], row["identities"]) == (detail["votes"], detail["identities"]) == (5, 3)


async def test_a_small_case_that_flips_a_rank_comes_before_a_big_one_that_does_not(svc: Review):
    await standings(svc)
    await svc.entry(A, "甲大学")
    small = await svc.case("flagged", await svc.votes(B, 10))  # B 95 → 105: passes A
    big = await svc.case("flagged", await svc.votes(C, 25, count=2))  # C 10 → 60: still third
    confirmed = await svc.case("invalidated", await svc.votes(Y, 5, count=3, category="accounts"),
                                 reason="covoting_subnet")  # Y 40 → 55: passes X
    # counted again; confirming it would take X from 54 to 50, still first
    overturned = await svc.case("overturned", await svc.votes(X, 4, category="accounts"))
    # a case of another campaign is not in this queue
    await svc.case("flagged", await svc.votes(A, 99, campaign="elsewhere"), campaign="elsewhere")

    q = await svc.queue()
    assert q["total"] == 4 and q["sort"] == "impact" and q["next"] is None
    assert [(c["id"], c["impact"]) for c in q["cases"]] == [
        (confirmed, lone(True, 2, 15)),
        (small, lone(True, 2, 10)),
        (big, lone(False, 0, 50)),
        (overturned, lone(False, 0, 4)),
    ]
    first = q["cases"][0]
    assert (first["reason_code"], first["reason"], first["reason_zh"]) == (
        "covoting_subnet", domain.REASONS["covoting_subnet"], domain.REASONS_ZH["covoting_subnet"])
    assert (first["votes"], first["vote_count"], first["status"], first["explanation_zh"]) == (5, 15, "invalidated",
                                                                                                "发现")
    # newest first, and the filters still apply
    assert [c["id"] for c in (await svc.queue(sort="newest"))["cases"]] == [overturned, confirmed, big, small]
    held = await svc.queue(status="flagged")
    assert [c["id"] for c in held["cases"]] == [small, big] and held["total"] == 2
    assert (await svc.queue(reason="covoting_subnet"))["total"] == 1
    # a unit may not read the queue; nonsense is refused
    assert (await svc.client.get(f"/campaigns/{CAMPAIGN}/cases", headers=svc.as_("u", "unit"))).status_code == 403
    assert (await svc.client.get(f"/campaigns/{CAMPAIGN}/cases?sort=loudest", headers=svc.headers)).status_code == 422
    # a mistyped reason is not "no cases"
    r = await svc.client.get(f"/campaigns/{CAMPAIGN}/cases?reason=covoting_subnets", headers=svc.headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"
    assert r.json()["error"]["details"][0]["field"] == "query.reason" and "covoting_subnet" in r.text


async def test_a_tie_counts_as_a_change_of_rank_and_so_does_breaking_one(svc: Review):
    await svc.votes(A, 20)
    await svc.votes(B, 15)
    await svc.votes(C, 20)  # A and C share rank 1
    tie = await svc.case("flagged", await svc.votes(B, 5))  # B 15 → 20: 1, 3, 1 → 1, 1, 1
    breaks = await svc.case("flagged", await svc.votes(C, 1))  # C 20 → 21: A falls to 2
    none = await svc.case("flagged", await svc.votes(B, 4))  # B 15 → 19: still third
    q = await svc.queue()
    impacts = {c["id"]: c["impact"] for c in q["cases"]}
    assert impacts[tie] == lone(True, 1, 5)
    assert impacts[breaks] == lone(True, 1, 1)
    assert impacts[none] == lone(False, 0, 4)
    assert [c["id"] for c in q["cases"]] == [tie, breaks, none]


async def test_cases_holding_the_same_votes_each_change_a_rank_but_not_alone(svc: Review):
    await svc.votes(A, 100)
    await svc.votes(B, 95)
    surge = await svc.votes(B, 10)  # B 95 → 105 passes A, but two cases hold the same votes
    aligned = await svc.case("flagged", surge)
    halfway = await svc.case("flagged", surge[:8])
    own = await svc.case("flagged", await svc.votes(B, 6))  # held by this case only: B 95 → 101
    impacts = {c["id"]: c["impact"] for c in (await svc.queue())["cases"]}
    impact = {"changes_rank": True, "entries_moved": 2}
    assert impacts[aligned] == {**impact, "votes": 10, "alone": {"changes_rank": False, "entries_moved": 0,
                                                                  "votes": 2}}
    assert impacts[halfway] == {**impact, "votes": 8, "alone": {"changes_rank": False, "entries_moved": 0,
                                                                 "votes": 0}}
    assert impacts[own] == lone(True, 2, 6)
    # overturning the aligned case alone releases its two votes no other case holds: the ranks stay
    assert (await svc.decide([aligned], "overturn")).status_code == 200
    after = {c["id"]: c["impact"] for c in (await svc.queue(status="flagged"))["cases"]}
    assert after[halfway] == lone(True, 2, 8)  # now it alone holds its votes


async def test_the_queue_is_paged_with_a_total_and_the_next_offset(svc: Review):
    await standings(svc)
    cases = [await svc.case("flagged", await svc.votes(C, n)) for n in (1, 2, 3, 4, 5)]
    page = await svc.queue(limit=2)
    assert (page["total"], page["limit"], page["offset"], page["next"]) == (5, 2, 0, 2)
    seen = [c["id"] for c in page["cases"]]
    while page["next"] is not None:
        page = await svc.queue(limit=2, offset=page["next"])
        seen += [c["id"] for c in page["cases"]]
    assert seen == cases[::-1]  # no rank changes: by votes, most first
    assert page["offset"] == 4 and len(page["cases"]) == 1
    beyond = await svc.queue(limit=2, offset=10)
    assert (beyond["total"], beyond["cases"], beyond["next"]) == (5, [], None)
    newest = await svc.queue(sort="newest", limit=3, offset=3)
    assert [c["id"] for c in newest["cases"]] == cases[1::-1] and newest["next"] is None
    assert all(c["impact"]["votes"] for c in newest["cases"])


async def test_a_bulk_confirm_invalidates_every_vote_audits_each_case_and_emits_each_invalidation(svc: Review):
    await standings(svc)
    one, two = await svc.votes(B, 3), await svc.votes(C, 4, count=2)
    first, second = await svc.case("flagged", one), await svc.case("flagged", two, reason="covoting_subnet")
    r = await svc.decide([first, second], "confirm", "同一设备多个身份，确认刷票")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["changed"], body["skipped"], body["votes_changed"], body["decided_by"]) == (2, 0, 7, "ops-wang")
    assert [(c["id"], c["previous_status"], c["status"], c["votes_changed"], c["skipped"]) for c in body["cases"]] == [
        (first, "flagged", "invalidated", 3, False), (second, "flagged", "invalidated", 4, False)]
    assert body["cases"][1]["reason_zh"] == domain.REASONS_ZH["covoting_subnet"]
    assert await svc.states(one + two) == {"invalidated"}
    assert {await svc.status(first), await svc.status(second)} == {"invalidated"}
    trail = await svc.pool.fetch("SELECT case_id::text, action, actor, actor_role, reason, votes_changed "
                                 "FROM decisions ORDER BY id")
    assert [tuple(t) for t in trail] == [
        (first, "confirm", "ops-wang", "operator", "同一设备多个身份，确认刷票", 3),
        (second, "confirm", "ops-wang", "operator", "同一设备多个身份，确认刷票", 4)]
    events = await svc.outbox("VoteInvalidated")
    assert sorted(e["vote_id"] for e in events) == sorted(str(v) for v in one + two)
    assert {e["decision_id"] for e in events} == {first, second}
    assert all("ops-wang" in e["explanation"] and "同一设备多个身份" in e["explanation_zh"] for e in events)
    assert {(e["reason_code"], e["reason_text_zh"]) for e in events} == {
        (code, domain.REASONS_ZH[code]) for code in ("device_shared", "covoting_subnet")}
    assert await svc.outbox("VoteReinstated") == []


async def test_a_bulk_overturn_of_a_held_case_reinstates_each_held_vote(svc: Review):
    await standings(svc)
    held = await svc.votes(B, 6)
    invalid = await svc.votes(C, 2, count=3)
    flagged_case = await svc.case("flagged", held)
    invalidated_case = await svc.case("invalidated", invalid)
    r = await svc.decide([flagged_case, invalidated_case], "overturn", "核实为真实读者")
    assert r.status_code == 200 and r.json()["votes_changed"] == 8
    assert await svc.states(held + invalid) == {"counted"}
    reinstated = await svc.outbox("VoteReinstated")
    # from held and from invalidated alike: the public count left both out
    assert sorted(e["vote_id"] for e in reinstated) == sorted(str(v) for v in held + invalid)
    assert {e["reason_code"] for e in reinstated} == {"device_shared"}
    assert await svc.outbox("VoteInvalidated") == []


async def test_overturning_one_of_two_cases_holding_the_same_votes_reinstates_them_only_with_the_second(svc: Review):
    shared = await svc.votes(B, 4)
    own = await svc.votes(B, 2)
    device = await svc.case("flagged", shared + own)
    network = await svc.case("flagged", shared, reason="covoting_subnet")
    r = await svc.client.post(f"/cases/{device}/decision", headers=svc.headers,
                              json={"decision": "overturn", "reason": "同一家庭的手机"})
    assert r.status_code == 200 and r.json()["votes_changed"] == 2 and r.json()["reason_zh"]
    assert sorted(e["vote_id"] for e in await svc.outbox("VoteReinstated")) == sorted(str(v) for v in own)
    assert await svc.states(shared) == {"flagged"}
    assert (await svc.decide([network], "overturn")).json()["votes_changed"] == 4
    assert sorted(e["vote_id"] for e in await svc.outbox("VoteReinstated")) == sorted(str(v) for v in own + shared)


async def test_an_unknown_case_refuses_the_whole_bulk_decision_and_changes_nothing(svc: Review):
    await standings(svc)
    held = await svc.votes(B, 3)
    known = await svc.case("flagged", held)
    elsewhere = await svc.case("flagged", await svc.votes(A, 2, campaign="elsewhere"), campaign="elsewhere")
    for stranger in (str(uuid.uuid4()), elsewhere):
        r = await svc.decide([known, stranger], "confirm")
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "cases_not_found" and r.json()["error"]["details"] == {
            "case_ids": [stranger]}
    assert await svc.status(known) == "flagged" and await svc.states(held) == {"flagged"}
    assert await svc.pool.fetchval("SELECT count(*) FROM decisions") == 0
    assert await svc.pool.fetchval("SELECT count(*) FROM outbox") == 0
    # and a request without a reason, or with too many ids, is refused before anything is read
    assert (await svc.decide([known], "confirm", "")).status_code == 422
    assert (await svc.decide([str(uuid.uuid4()) for _ in range(501)], "confirm")).status_code == 422
    assert (await svc.client.post(f"/campaigns/{CAMPAIGN}/cases/decisions", headers=svc.as_("u", "unit"),
                                  json={"case_ids": [known], "decision": "confirm", "reason": "不行"})
            ).status_code == 403


async def test_a_case_already_in_the_target_state_is_skipped_not_refused(svc: Review):
    await standings(svc)
    done = await svc.case("invalidated", await svc.votes(B, 2))
    held = await svc.votes(C, 3)
    todo = await svc.case("flagged", held)
    r = await svc.decide([done, todo, todo], "confirm")  # an id given twice is decided once
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["changed"], body["skipped"], body["votes_changed"]) == (1, 1, 3)
    assert [(c["id"], c["skipped"], c["votes_changed"]) for c in body["cases"]] == [(done, True, 0), (todo, False, 3)]
    assert [r["case_id"] for r in await svc.pool.fetch("SELECT case_id::text FROM decisions")] == [todo]
    assert len(await svc.outbox("VoteInvalidated")) == 3
    again = (await svc.decide([done, todo], "confirm")).json()
    assert (again["changed"], again["skipped"]) == (0, 2)
    assert len(await svc.outbox("VoteInvalidated")) == 3


async def test_what_if_shows_the_ranks_now_and_under_a_scenario(svc: Review):
    await standings(svc)
    await svc.entry(B, "乙大学")
    await svc.entry(D, "丁大学")  # nominated, no votes yet
    small = await svc.case("flagged", await svc.votes(B, 10))
    big = await svc.case("flagged", await svc.votes(C, 25, count=2))
    invalidated = await svc.case("invalidated", await svc.votes(Y, 5, count=3, category="accounts"))

    async def what_if(**params) -> dict:
        r = await svc.client.get(f"/campaigns/{CAMPAIGN}/what-if", headers=svc.headers, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def table(answer: dict, category: str) -> list[tuple]:
        [cat] = [c for c in answer["categories"] if c["category_id"] == category]
        return [(e["entry_id"], e["votes_now"], e["rank_now"], e["votes_then"], e["rank_then"], e["moved"])
                for e in cat["entries"]]

    released = await what_if(scenario="all_held_released")
    assert released["changes_rank"] and released["entries_moved"] == 2
    assert table(released, "cases") == [(str(B), 95, 2, 105, 1, True), (str(A), 100, 1, 100, 2, True),
                                        (str(C), 10, 3, 60, 3, False), (str(D), 0, 4, 0, 4, False)]
    assert table(released, "accounts") == [(str(X), 50, 1, 50, 1, False), (str(Y), 40, 2, 40, 2, False)]
    assert sorted(released["release"]) == sorted([small, big]) and released["confirm"] == []
    [cases] = [c for c in released["categories"] if c["category_id"] == "cases"]
    assert sorted(cases["moved"]) == sorted([str(A), str(B)])
    assert cases["entries"][0]["entry_name"] == "乙大学"

    confirmed = await what_if(scenario="all_held_confirmed")  # held votes are out already: nothing moves
    assert not confirmed["changes_rank"] and table(confirmed, "cases")[0] == (str(A), 100, 1, 100, 1, False)

    # chosen cases: ids repeated or comma-separated, GET or POST
    one = await what_if(release=f"{big},{invalidated}")
    assert table(one, "cases")[2] == (str(C), 10, 3, 60, 3, False)
    assert table(one, "accounts") == [(str(Y), 40, 2, 55, 1, True), (str(X), 50, 1, 50, 2, True)]
    r = await svc.client.post(f"/campaigns/{CAMPAIGN}/what-if", headers=svc.headers,
                              json={"release": [small], "confirm": [invalidated]})
    assert r.status_code == 200 and r.json()["entries_moved"] == 2
    # what-if changes nothing
    assert await svc.status(small) == "flagged" and await svc.pool.fetchval("SELECT count(*) FROM outbox") == 0

    bad = await svc.client.get(f"/campaigns/{CAMPAIGN}/what-if", headers=svc.headers,
                               params={"release": str(uuid.uuid4())})
    assert bad.status_code == 404 and bad.json()["error"]["code"] == "cases_not_found"
    both = await svc.client.get(f"/campaigns/{CAMPAIGN}/what-if", headers=svc.headers,
                                params={"release": small, "confirm": small})
    assert both.status_code == 422 and both.json()["error"]["code"] == "case_in_both"
    garbage = await svc.client.get(f"/campaigns/{CAMPAIGN}/what-if", headers=svc.headers, params={"release": "x"})
    assert garbage.status_code == 422


async def test_what_if_applies_decisions_as_the_service_would_for_votes_two_cases_hold(svc: Review):
    await svc.votes(A, 10)
    await svc.votes(B, 8)
    shared = await svc.votes(B, 3)
    device = await svc.case("flagged", shared)
    network = await svc.case("invalidated", shared)

    async def moved(**params) -> bool:
        return (await svc.client.get(f"/campaigns/{CAMPAIGN}/what-if", headers=svc.headers,
                                     params=params)).json()["changes_rank"]

    assert not await moved(release=device)  # the network case still holds them
    assert await moved(release=[device, network])
    assert await moved(scenario="all_held_released") is False  # the invalidated case is not held


def test_the_queue_counts_moved_entries_as_a_full_ranking_would():
    """`Standings.moved` (a few bisections per case) agrees with ranking the whole category again."""
    rng = random.Random(7)
    for _ in range(2000):
        entries = [uuid.UUID(int=i) for i in range(rng.randint(1, 40))]
        totals = {e: rng.choice([0, 1, 5, 5, 10, 20, rng.randint(0, 30)]) for e in entries}
        s = domain.Standings(totals={"k": dict(totals)})
        changed = rng.sample(entries, rng.randint(1, min(len(entries), rng.choice([2, 6, 40]))))
        new = {e: max(0, totals[e] + rng.randint(-10, 10)) for e in changed}
        then = {**totals, **new}
        before, after = domain.competition_ranks(totals), domain.competition_ranks(then)
        assert s.moved("k", new) == sum(before[e] != after[e] for e in entries), (totals, new)


async def test_operator_decisions_are_chained_in_the_campaigns_audit_trail_with_the_votes_they_changed(svc: Review):
    await standings(svc)
    one, two = await svc.votes(B, 3), await svc.votes(C, 2)
    first, second = await svc.case("flagged", one), await svc.case("flagged", two, reason="covoting_subnet")
    assert (await svc.decide([second, first], "confirm", "确认刷票")).status_code == 200
    assert (await svc.decide([first], "overturn", "复核为正常投票")).status_code == 200
    async with svc.pool.acquire() as conn:
        rows = await audit.rows(conn, CAMPAIGN)
        check = await audit.verify_campaign(conn, "antifraud", CAMPAIGN)
    assert [(r.seq, r.action, r.subject, r.actor) for r in rows] == [
        (1, "fraud.confirm", f"case:{second}", "operator:ops-wang"),
        (2, "fraud.confirm", f"case:{first}", "operator:ops-wang"),
        (3, "fraud.overturn", f"case:{first}", "operator:ops-wang")]
    details = [json.loads(r.details) for r in rows]
    digest = hashlib.sha256("\n".join(sorted(str(v) for v in one)).encode()).hexdigest()
    assert details[1] == {"case_id": first, "reason_code": "device_shared", "status_before": "flagged",
                          "votes_changed": 3, "votes_sha256": digest, "reason": "确认刷票"}
    assert (details[2]["status_before"], details[2]["votes_changed"], details[2]["votes_sha256"]) == \
        ("invalidated", 3, digest)
    assert check.broken is None and check.seq == 3
    head = (await svc.client.get(f"/campaigns/{CAMPAIGN}/audit/head")).json()
    assert (head["seq"], head["hash"]) == (3, rows[-1].hash)
    refused = await svc.client.get(f"/campaigns/{CAMPAIGN}/audit", headers=svc.as_("unit-li", "unit"))
    assert refused.status_code == 403
    page = (await svc.client.get(f"/campaigns/{CAMPAIGN}/audit", headers=svc.headers,
                                 params={"after": 1, "limit": 1})).json()
    assert [r["seq"] for r in page["rows"]] == [2] and page["next_after"] == 2


async def test_a_campaign_anti_fraud_never_heard_of_is_refused_and_a_loaded_one_is_answered(svc: Review):
    """A typo in the campaign id is a 404 with a stable code on every operator route, and a policy for it is not
    stored; once the campaign is loaded (CampaignLoaded), its empty queue and default policy are answered."""
    unknown = "af-review-typo"
    policy = {"policy": "invalidate", "reason": "typo in the campaign id"}
    for method, path, body in (("GET", "cases", None), ("GET", "policy", None), ("PUT", "policy", policy),
                               ("GET", "what-if", None), ("GET", "alerts", None), ("GET", "invalidations", None),
                               ("POST", "cases/decisions", {"case_ids": [str(uuid.uuid4())], "decision": "confirm",
                                                            "reason": "typo"})):
        r = await svc.client.request(method, f"/campaigns/{unknown}/{path}", headers=svc.headers, json=body)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["code"] == "campaign_not_found", path
        assert r.headers["Retry-After"] == "5", path  # a campaign just created reaches anti-fraud within seconds
    assert await svc.pool.fetchval("SELECT count(*) FROM policies WHERE campaign_id = $1", unknown) == 0
    # the role is checked first: a unit learns nothing about which campaigns exist
    assert (await svc.client.get(f"/campaigns/{unknown}/cases", headers=svc.as_("u", "unit"))).status_code == 403

    loaded = CampaignLoaded(campaign_id=unknown, version=1, title="典型案例征集评选", timezone="Asia/Shanghai",
                            categories=[CategoryInfo(id="cases", name="典型案例", name_en="Cases")], phases=[],
                            vote_rules=VoteRules())
    env = make_envelope(loaded, campaign_id=unknown, producer="submission")
    async with svc.pool.acquire() as conn:
        await detection.learn_campaigns(conn, [Delivered(env, env.event(), topics.CAMPAIGN, 0, 0)])
    r = await svc.client.get(f"/campaigns/{unknown}/cases", headers=svc.headers)
    assert r.status_code == 200 and r.json()["cases"] == [] and r.json()["total"] == 0
    r = await svc.client.put(f"/campaigns/{unknown}/policy", headers=svc.headers, json=policy)
    assert r.status_code == 200, r.text
    assert (await svc.client.get(f"/campaigns/{unknown}/policy", headers=svc.headers)).json()["policy"] == "invalidate"


async def test_alerts_come_a_page_at_a_time_latest_first_with_a_total(svc: Review):
    """250 alerts (more than one page ever held): each page the latest first, `total` and `next` say how many and
    where the next page starts, a reason narrows them; nothing is cut off."""
    await svc.votes(A, 1)
    rows = [(CAMPAIGN, "velocity_subnet" if i % 5 else "fresh_identity_entry_surge", f"subnet:10.{i}.0.0/24",
             T0 + timedelta(minutes=i), uuid.uuid4(), "info", f"alert {i}", f"提示 {i}", T0 + timedelta(minutes=i))
            for i in range(250)]
    await svc.pool.executemany(
        "INSERT INTO alerts (campaign_id, reason_code, subject, window_start, alert_id, severity, explanation, "
        "explanation_zh, raised_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", rows)
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = (await svc.client.get(f"/campaigns/{CAMPAIGN}/alerts", headers=svc.headers,
                                     params={"limit": 100, "offset": offset})).json()
        assert page["total"] == 250
        seen += [a["explanation"] for a in page["alerts"]]
        offset = page["next"]
    assert seen == [f"alert {i}" for i in reversed(range(250))]
    surges = (await svc.client.get(f"/campaigns/{CAMPAIGN}/alerts", headers=svc.headers,
                                   params={"reason": "fresh_identity_entry_surge", "limit": 500})).json()
    assert surges["total"] == 50 and surges["next"] is None and len(surges["alerts"]) == 50
    assert {a["reason_code"] for a in surges["alerts"]} == {"fresh_identity_entry_surge"}
    assert surges["alerts"][0]["reason_zh"]
    r = await svc.client.get(f"/campaigns/{CAMPAIGN}/alerts", headers=svc.headers, params={"offset": 2**40})
    assert r.status_code == 422


async def test_votes_held_by_two_cases_are_counted_once_under_one_reason_so_the_reasons_add_up(svc: Review):
    """A farm's 40 votes found by its wave and again by its cohort's traits, both invalidating; ten of them also by a
    device, only holding: each vote appears once, under the reason of the first case that put it in its state."""
    await svc.entry(A, "甲单位")
    farm = await svc.votes(A, 40, count=10)
    await svc.case("invalidated", farm, reason="network_wave")
    await svc.case("invalidated", farm, reason="coordinated_cohort")
    await svc.case("flagged", farm[:10], reason="device_shared")
    r = await svc.client.get(f"/campaigns/{CAMPAIGN}/invalidations", headers=svc.headers)
    entry = next(e for e in r.json()["entries"] if e["entry_id"] == str(A))
    assert entry["invalidated_votes"] == 400 and entry["flagged_votes"] == 0
    assert [(x["state"], x["reason_code"], x["votes"]) for x in entry["reasons"]] == [
        ("invalidated", "network_wave", 400)]


async def test_each_case_in_the_queue_says_how_many_other_cases_hold_some_of_its_votes(svc: Review):
    """A farm found by its wave and by its habits (two cases over the same votes) beside an unrelated device: the
    two say one other case each, the device none; an overturned case is no longer counted."""
    farm, other = await svc.votes(A, 20), await svc.votes(B, 5)
    wave = await svc.case("flagged", farm, reason="network_wave")
    habits = await svc.case("flagged", farm[:10], reason="coordinated_cohort")
    device = await svc.case("flagged", other)
    overlap = {c["id"]: c["overlapping_cases"] for c in (await svc.queue())["cases"]}
    assert overlap == {wave: 1, habits: 1, device: 0}
    await svc.pool.execute("UPDATE cases SET status = 'overturned' WHERE id = $1", uuid.UUID(habits))
    overlap = {c["id"]: c["overlapping_cases"] for c in (await svc.queue())["cases"]}
    assert overlap[wave] == 0


async def test_a_case_names_the_other_cases_holding_its_votes_most_shared_first(svc: Review):
    """The wave's case names the habits' case (its 10 shared requests of 3 ballots) before the device's (2 shared),
    with their reasons, and not a case over other votes nor one overturned: the operator decides them together."""
    farm, other = await svc.votes(A, 20, count=3), await svc.votes(B, 5)
    wave = await svc.case("flagged", farm, reason="network_wave")
    habits = await svc.case("flagged", farm[:10], reason="coordinated_cohort")
    device = await svc.case("flagged", farm[18:] + other)
    await svc.case("flagged", other)
    await svc.case("overturned", farm[:5], reason="device_shared")
    got = (await svc.client.get(f"/cases/{wave}", headers=svc.headers)).json()["overlapping_cases"]
    assert [(o["id"], o["reason_code"], o["status"], o["shared_requests"], o["shared_votes"]) for o in got] == [
        (habits, "coordinated_cohort", "flagged", 10, 30), (device, "device_shared", "flagged", 2, 6)]
    assert got[0]["reason_zh"] and got[0]["reason"]
