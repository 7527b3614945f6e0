"""Scoring against real PostgreSQL: events in, the stored ranking, the RankingComputed it records, the HTTP view."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from massline.auth import Caller, issue_token
from massline.consumer import Delivered
from massline.contracts import (
    ActivitySubmitted,
    CampaignLoaded,
    CategoryInfo,
    EntryStanding,
    Event,
    MetricsReported,
    NominationApproved,
    NominationWithdrawn,
    PhaseInfo,
    TallyUpdated,
    VoteRules,
    make_envelope,
)
from massline.db import create_pool, migrate
from services.scoring import app as scoring_app
from services.scoring import rankings
from services.scoring.settings import ScoringSettings

pytestmark = pytest.mark.integration

CAMPAIGN = "shaanxi-2024-accounts"
CATEGORY = "institutional"
T0 = datetime(2024, 9, 25, 12, 0, tzinfo=UTC)
SCORING = {
    "components": [
        {"id": "initial", "weight": 20},
        {"id": "vote", "weight": 30},
        {"id": "expert", "weight": 30},
        {"id": "activity", "weight": 20},
    ],
    "initial_metrics": [
        {"metric": "followers", "weight": 40},
        {"metric": "posts", "weight": 30},
        {"metric": "interactions", "weight": 30},
    ],
    "vote_conversion": {"method": "rank_step", "top": 100, "step": 2, "floor": 0},
    "activity_forfeit_if_missing": True,
}


class Scoring:
    """The scoring runtime on a schema of its own, fed events the way its consumers would feed them."""

    def __init__(self, deps: Any, pool: asyncpg.Pool) -> None:
        self.deps = deps
        self.rt = deps.rt
        self.pool = pool
        self.offset = 0

    async def deliver(self, *events: Event, campaign_id: str = CAMPAIGN) -> None:
        handler = {
            "massline.campaign.v1": rankings.learn_campaigns,
            "massline.nomination.v1": rankings.learn_nominations,
            "massline.tally.v1": rankings.learn_tallies,
        }[events[0].topic]
        batch = []
        for event in events:
            self.offset += 1
            envelope = make_envelope(event, campaign_id=campaign_id, producer="test")
            batch.append(Delivered(envelope, event, event.topic, 0, self.offset))
        async with self.pool.acquire() as conn, conn.transaction():
            await handler(conn, batch, self.deps)

    async def announced(self, category_id: str = CATEGORY) -> list[dict[str, Any]]:
        """Payloads of the RankingComputed events recorded in the outbox for a category, oldest first."""
        rows = await self.pool.fetch(
            "SELECT body FROM outbox WHERE event_type = 'RankingComputed' ORDER BY id"
        )
        payloads = [json.loads(bytes(r["body"]))["payload"] for r in rows]
        return [p for p in payloads if p["category_id"] == category_id]

    async def ranking(self, category_id: str = CATEGORY) -> asyncpg.Record | None:
        return await self.pool.fetchrow(
            "SELECT * FROM rankings WHERE campaign_id = $1 AND category_id = $2", CAMPAIGN, category_id
        )


@pytest.fixture
async def scoring(database_url: str):
    # A schema per test: nothing leaks between tests or into the schema the running service uses.
    schema = f"scoring_t{uuid.uuid4().hex[:10]}"
    await migrate(database_url, schema, scoring_app.MIGRATIONS)
    pool = await create_pool(database_url, schema, min_size=1, max_size=4)
    # Every change announced at once unless a test turns the throttle on.
    deps = scoring_app.build_deps(ScoringSettings(database_url=database_url, ranking_announce_interval_s=0))
    try:
        yield Scoring(deps, pool)
    finally:
        await pool.close()
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await conn.close()


def campaign_loaded(version: int = 1, scoring: dict[str, Any] | None = None,
                    show_counts: str = "always") -> CampaignLoaded:
    return CampaignLoaded(
        campaign_id=CAMPAIGN,
        version=version,
        title="陕西省政务新媒体账号推选",
        timezone="Asia/Shanghai",
        categories=[CategoryInfo(id=CATEGORY, name="机构账号", name_en="Institutional accounts"),
                    CategoryInfo(id="personal", name="个人账号")],
        phases=[PhaseInfo(id="voting")],
        vote_rules=VoteRules(show_counts=show_counts),
        scoring=SCORING if scoring is None else scoring,
    )


def approved(entry_id: uuid.UUID, name: str, unit: str, category: str = CATEGORY) -> NominationApproved:
    return NominationApproved(nomination_id=entry_id, unit_id=unit, unit_name=f"{unit}网信办", category_id=category,
                              entry_name=name, step_id="office_opinion", final=True)


def metrics(entry_id: uuid.UUID, followers: int, posts: int, interactions: int, source: str = "reported"):
    return MetricsReported(nomination_id=entry_id, category_id=CATEGORY, followers=followers, posts=posts,
                           interactions=interactions, source=source)


def tally(votes: dict[uuid.UUID, int], *, as_of: datetime = T0, final: bool = False) -> TallyUpdated:
    ordered = sorted(votes.items(), key=lambda kv: -kv[1])
    ranks: dict[uuid.UUID, int] = {}
    for position, (entry_id, count) in enumerate(ordered, start=1):
        ranks[entry_id] = next((ranks[e] for e, c in ordered[: position - 1] if c == count), position)
    standings = [EntryStanding(entry_id=e, votes=c, rank=ranks[e]) for e, c in ordered]
    return TallyUpdated(category_id=CATEGORY, standings=standings, final=final, as_of=as_of)


A, B, C = uuid.UUID(int=0xA), uuid.UUID(int=0xB), uuid.UUID(int=0xC)


async def seed_000_category(s: Scoring) -> None:
    await s.deliver(campaign_loaded())
    await s.deliver(approved(A, "陕西发布", "xa"), approved(B, "西安发布", "xian"), approved(C, "宝鸡发布", "bj"))
    await s.deliver(
        metrics(A, 150_000, 500, 10_000),
        metrics(A, 200_000, 500, 10_000, source="verified"),
        # A later unit report does not undo the office's verified figures.
        metrics(A, 999_999, 999, 99_999),
        metrics(B, 100_000, 1_000, 5_000),
        metrics(C, 50_000, 250, 0),
    )
    await s.deliver(
        ActivitySubmitted(nomination_id=A, category_id=CATEGORY, submitted_at=T0, on_time=True,
                          held_on=date(2024, 9, 10), held_in_period=True, evidence_links=1),
        # B held its activity after the period (§四.4(3) 未在规定期限内开展): the part is forfeited
        ActivitySubmitted(nomination_id=B, category_id=CATEGORY, submitted_at=T0, on_time=True,
                          held_on=date(2024, 9, 22), held_in_period=False, evidence_links=1),
    )
    await s.deliver(tally({A: 300, B: 500, C: 100}))


async def test_a_ranking_is_computed_stored_and_announced_with_its_components(scoring: Scoring):
    await seed_000_category(scoring)

    row = await scoring.ranking()
    entries = {e["entry_name"]: e for e in row["entries"]}
    assert [(e["entry_name"], e["rank"]) for e in row["entries"]] == [("陕西发布", 1), ("西安发布", 2), ("宝鸡发布", 3)]
    # initial a = .4×100 + .3×50 + .3×100 = 85, vote rank 2 → 98, no expert scores yet, activity not scored yet.
    assert entries["陕西发布"]["components"] == {"initial": 85.0, "vote": 98.0, "expert": 0.0, "activity": 0.0}
    assert entries["陕西发布"]["total"] == 46.4  # .2×85 + .3×98
    assert entries["陕西发布"]["explanation"]["initial"]["source"] == "verified"
    assert entries["西安发布"]["explanation"]["activity"]["forfeited"] is True
    assert entries["西安发布"]["explanation"]["activity"]["forfeit_reason"] == "held_outside_period"
    assert entries["宝鸡发布"]["explanation"]["activity"] == {
        "weight": 20, "held": "not_held", "summary": "none", "summary_late": False, "forfeited": True,
        "forfeit_reason": "not_held", "scores": [], "experts": 0, "pending": False}
    # The digest is the sha256 of the stored canonical inputs: anyone can check it.
    canonical = json.dumps(row["inputs"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canonical.encode()).hexdigest() == row["inputs_digest"]

    announced = await scoring.announced()
    assert announced[-1]["inputs_digest"] == row["inputs_digest"]
    assert announced[-1]["rule_version"].startswith(f"{CAMPAIGN}@v1:")
    assert [e["entry_id"] for e in announced[-1]["entries"]] == [str(A), str(B), str(C)]


async def test_unchanged_inputs_announce_nothing_new(scoring: Scoring):
    await seed_000_category(scoring)
    before = await scoring.announced()
    # A repeated tally (a new event, later, with the same counts) is not a new ranking.
    await scoring.deliver(tally({A: 300, B: 500, C: 100}, as_of=T0 + timedelta(minutes=1)))
    assert await scoring.announced() == before


async def test_an_older_tally_does_not_replace_a_newer_one(scoring: Scoring):
    await seed_000_category(scoring)
    digest = (await scoring.ranking())["inputs_digest"]
    await scoring.deliver(tally({A: 900, B: 1, C: 1}, as_of=T0 - timedelta(hours=1)))
    assert (await scoring.ranking())["inputs_digest"] == digest


async def test_the_final_tally_marks_the_close_of_voting(scoring: Scoring):
    await seed_000_category(scoring)
    await scoring.deliver(tally({A: 300, B: 500, C: 100}, as_of=T0 + timedelta(days=1), final=True))
    row = await scoring.ranking()
    assert row["voting_closed"] is True
    assert row["entries"][0]["explanation"]["vote"]["voting_closed"] is True
    assert len(await scoring.announced()) >= 2


async def test_a_withdrawn_entry_leaves_the_ranking(scoring: Scoring):
    await seed_000_category(scoring)
    await scoring.deliver(NominationWithdrawn(nomination_id=B, unit_id="xian", category_id=CATEGORY))
    row = await scoring.ranking()
    assert [e["entry_name"] for e in row["entries"]] == ["陕西发布", "宝鸡发布"]
    # With B gone, A has the most votes among the ranked entries.
    assert row["entries"][0]["components"]["vote"] == 100.0
    assert [e["entry_name"] for e in (await scoring.announced())[-1]["entries"]] == ["陕西发布", "宝鸡发布"]


async def test_entries_known_before_the_campaign_are_ranked_when_it_loads(scoring: Scoring):
    await scoring.deliver(approved(A, "陕西发布", "xa"), approved(C, "宝鸡发布", "bj", category="personal"))
    assert await scoring.ranking() is None
    await scoring.deliver(campaign_loaded())
    assert [e["entry_name"] for e in (await scoring.ranking())["entries"]] == ["陕西发布"]
    assert [e["entry_name"] for e in (await scoring.ranking("personal"))["entries"]] == ["宝鸡发布"]


async def test_a_new_campaign_version_reranks_under_its_rules_and_an_old_one_is_ignored(scoring: Scoring):
    await seed_000_category(scoring)
    votes_only = {"components": [{"id": "vote", "weight": 100}],
                  "vote_conversion": {"method": "linear", "top": 100}}
    await scoring.deliver(campaign_loaded(version=2, scoring=votes_only))
    row = await scoring.ranking()
    assert row["rule_version"].startswith(f"{CAMPAIGN}@v2:")
    assert [(e["entry_name"], e["total"]) for e in row["entries"]] == [("西安发布", 100.0), ("陕西发布", 50.0),
                                                                         ("宝鸡发布", 0.0)]
    await scoring.deliver(campaign_loaded(version=1))
    assert (await scoring.ranking())["rule_version"] == row["rule_version"]


async def test_submitted_expert_scores_count_and_a_recused_expert_does_not(scoring: Scoring):
    await seed_000_category(scoring)
    async with scoring.pool.acquire() as conn, conn.transaction():
        await conn.execute("INSERT INTO expert_panels (campaign_id, panel_id, name) VALUES ($1, 'p1', '专家组')",
                           CAMPAIGN)
        for expert, points, component in (("e1", 80, "expert"), ("e2", 90, "expert"), ("e3", 10, "expert"),
                                          ("e1", 60, "activity"), ("e2", 70, "activity")):
            await conn.execute(
                "INSERT INTO experts (campaign_id, expert_id, panel_id, display_name) VALUES ($1, $2, 'p1', $2) "
                "ON CONFLICT DO NOTHING", CAMPAIGN, expert)
            await conn.execute(
                "INSERT INTO expert_assignments (campaign_id, expert_id, entry_id, component) VALUES ($1, $2, $3, $4)",
                CAMPAIGN, expert, A, component)
            await conn.execute(
                "INSERT INTO expert_scores (campaign_id, expert_id, entry_id, component, criteria, total, submitted_at)"
                " VALUES ($1, $2, $3, $4, '{}'::jsonb, $5, now())", CAMPAIGN, expert, A, component, points)
        await conn.execute(
            "INSERT INTO expert_conflicts (campaign_id, expert_id, entry_id, reason) VALUES ($1, 'e3', $2, '同一单位')",
            CAMPAIGN, A)
        assert await rankings.recompute(conn, scoring.deps, {(CAMPAIGN, CATEGORY)}) == 1
    first = (await scoring.ranking())["entries"][0]
    assert first["components"]["expert"] == 85.0 and first["components"]["activity"] == 65.0
    assert first["total"] == 84.9  # the seed-000 hand computation: .2×85 + .3×98 + .3×85 + .2×65


async def test_the_rankings_are_served_over_http(scoring: Scoring):
    await seed_000_category(scoring)
    app = scoring_app.create_app(ScoringSettings(database_url="postgresql://unused@127.0.0.1:1/none"))
    rt = app.state.runtime
    rt._pool = scoring.pool  # the lifespan (broker, relay) is not started here; routes only need the pool
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://scoring") as client:
        one = await client.get(f"/campaigns/{CAMPAIGN}/rankings/{CATEGORY}", params={"inputs": "true"})
        assert one.status_code == 200
        body = one.json()
        assert body["category_name"] == "机构账号"
        assert body["entries"][0]["unit_name"] == "xa网信办"
        assert set(body["entries"][0]["components"]) == {"initial", "vote", "expert", "activity"}
        assert body["inputs"]["rule_version"] == body["rule_version"]

        every = await client.get(f"/campaigns/{CAMPAIGN}/rankings")
        assert list(every.json()["categories"]) == [CATEGORY]

        missing = await client.get(f"/campaigns/{CAMPAIGN}/rankings/personal")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "ranking_not_found"
        assert (await client.get("/campaigns/no-such-campaign/rankings")).json()["error"]["code"] == "ranking_not_found"


def _vote_counts(entries: list[dict[str, Any]]) -> list[Any]:
    return [(e["explanation"]["vote"]["votes"], e["explanation"]["vote"]["no_votes"]) for e in entries]


async def test_a_rank_only_campaign_keeps_its_counts_from_the_public_while_voting_is_open(scoring: Scoring):
    await scoring.deliver(campaign_loaded(show_counts="rank_only"))
    await scoring.deliver(approved(A, "陕西发布", "xa"), approved(B, "西安发布", "xian"), approved(C, "宝鸡发布", "bj"))
    await scoring.deliver(tally({A: 300, B: 500}))

    # The public topic: the latest announcement carries ranks and scores, no counts, and says so.
    latest = (await scoring.announced())[-1]
    assert latest["counts_hidden"] is True
    assert _vote_counts(latest["entries"]) == [(None, None)] * 3
    assert {e["entry_id"]: e["explanation"]["vote"]["vote_rank"] for e in latest["entries"]} == {
        str(B): 1, str(A): 2, str(C): 3}
    assert "300" not in json.dumps(latest["entries"]) and "500" not in json.dumps(latest["entries"])
    # What scoring stores for the committee keeps them.
    stored = {e["entry_id"]: e for e in (await scoring.ranking())["entries"]}
    assert stored[str(A)]["explanation"]["vote"]["votes"] == 300

    app = scoring_app.create_app(ScoringSettings(database_url="postgresql://unused@127.0.0.1:1/none"))
    rt = app.state.runtime
    rt._pool = scoring.pool

    def token(role: str) -> dict[str, str]:
        return {"authorization": "Bearer " + issue_token(rt.settings.secret_key, Caller(f"{role}1", role, None), 600)}

    path = f"/campaigns/{CAMPAIGN}/rankings/{CATEGORY}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://scoring") as client:
        public = await client.get(path)
        assert public.status_code == 200 and public.json()["counts_hidden"] is True
        assert _vote_counts(public.json()["entries"]) == [(None, None)] * 3
        assert [e["rank"] for e in public.json()["entries"]] == [1, 2, 3]
        every = (await client.get(f"/campaigns/{CAMPAIGN}/rankings")).json()["categories"][CATEGORY]
        assert every["counts_hidden"] is True and _vote_counts(every["entries"]) == [(None, None)] * 3
        refused = await client.get(path, params={"inputs": "true"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "counts_hidden"
        for role in ("unit", "expert", "office"):
            assert (await client.get(path, headers=token(role))).json()["counts_hidden"] is True
        assert (await client.get(path, headers={"authorization": "Bearer forged"})).status_code == 401
        for role in ("committee", "supervisor", "admin", "operator"):
            staff = await client.get(path, params={"inputs": "true"}, headers=token(role))
            assert staff.status_code == 200 and staff.json()["counts_hidden"] is False
            assert sorted(v for v, _ in _vote_counts(staff.json()["entries"]) if v) == [300, 500]
            assert staff.json()["inputs"]["entries"]

        # The final tally closes voting: from then on everyone sees the counts, on the topic too.
        await scoring.deliver(tally({A: 300, B: 520}, final=True))
        final = (await scoring.announced())[-1]
        assert final["counts_hidden"] is False
        assert sorted(v for v, _ in _vote_counts(final["entries"]) if v) == [300, 520]
        after = await client.get(path, params={"inputs": "true"})
        assert after.status_code == 200 and after.json()["counts_hidden"] is False
        assert sorted(v for v, _ in _vote_counts(after.json()["entries"]) if v) == [300, 520]


async def test_a_tally_that_came_without_counts_says_so_even_to_those_who_may_read_them(scoring: Scoring):
    """Voting's public tally of a rank-only campaign carries ranks only: the ranking built on it has no counts for
    anyone, so it tells the committee as much instead of `counts_hidden: false` beside empty counts."""
    await scoring.deliver(campaign_loaded(show_counts="rank_only"))
    await scoring.deliver(approved(A, "陕西发布", "xa"), approved(B, "西安发布", "xian"))
    await scoring.deliver(TallyUpdated(category_id=CATEGORY, as_of=T0, final=False,
                                       standings=[EntryStanding(entry_id=B, rank=1), EntryStanding(entry_id=A, rank=2)]))
    app = scoring_app.create_app(ScoringSettings(database_url="postgresql://unused@127.0.0.1:1/none"))
    app.state.runtime._pool = scoring.pool
    staff = {"authorization": "Bearer " + issue_token(app.state.runtime.settings.secret_key,
                                                      Caller("committee1", "committee", None), 600)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://scoring") as client:
        body = (await client.get(f"/campaigns/{CAMPAIGN}/rankings/{CATEGORY}", headers=staff)).json()
    assert body["counts_hidden"] is True and [v for v, _ in _vote_counts(body["entries"])] == [None, None]
    assert [e["entry_id"] for e in body["entries"]] == [str(B), str(A)]


async def test_a_held_back_announcement_of_a_rank_only_campaign_leaves_the_counts_out_too(scoring: Scoring):
    scoring.deps.rt.settings.ranking_announce_interval_s = 3600
    await scoring.deliver(campaign_loaded(show_counts="hidden"))
    await scoring.deliver(approved(A, "陕西发布", "xa"), approved(B, "西安发布", "xian"))
    await scoring.deliver(tally({A: 7, B: 9}))
    await scoring.deliver(tally({A: 12, B: 9}))  # throttled: stored, held back
    assert len(await scoring.announced()) == 1  # the entries joining; both tallies came within the interval
    async with scoring.pool.acquire() as conn:
        await conn.execute("UPDATE rankings SET announced_at = now() - interval '2 hours'")
    scoring.deps.rt._pool = scoring.pool
    assert await rankings.announce_held_rankings(scoring.deps) == 1
    held = (await scoring.announced())[-1]
    assert held["counts_hidden"] is True and _vote_counts(held["entries"]) == [(None, None)] * 2
    assert [e["explanation"]["vote"]["vote_rank"] for e in held["entries"]] == [1, 2]


async def test_a_campaign_and_its_entries_learned_at_the_same_moment_are_ranked(scoring: Scoring):
    """The campaign's and the nominations' consumers run side by side. When the nominations' transaction has
    written its entries but not committed, the campaign's must not read "no entries" and the nominations' "no
    campaign": one of them waits for the other, and the ranking is there once both committed."""
    entries = [approved(uuid.UUID(int=i), f"账号{i}", f"unit-{i}") for i in (1, 2)]

    def batch(*events: Event) -> list[Delivered]:
        out = []
        for event in events:
            scoring.offset += 1
            out.append(Delivered(make_envelope(event, campaign_id=CAMPAIGN, producer="test"), event, event.topic, 0,
                                 scoring.offset))
        return out

    async with scoring.pool.acquire() as first, scoring.pool.acquire() as second:
        nominations = first.transaction()
        await nominations.start()
        await rankings.learn_nominations(first, batch(*entries), scoring.deps)  # written, not committed
        async with second.transaction():
            campaign = asyncio.create_task(rankings.learn_campaigns(second, batch(campaign_loaded()), scoring.deps))
            await asyncio.sleep(0.5)  # the campaign's transaction gets as far as it can before the other commits
            await nominations.commit()
            await asyncio.wait_for(campaign, 10)
    ranked = await scoring.ranking()
    assert ranked is not None
    assert sorted(e["entry_name"] for e in ranked["entries"]) == ["账号1", "账号2"]
