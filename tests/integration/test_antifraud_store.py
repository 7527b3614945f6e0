"""Anti-fraud on real PostgreSQL: the stored windows agree with the in-memory ones, decisions are events once each,
operators review with an audit trail, and a unit reads the invalidations of its own entries only."""

from __future__ import annotations

import asyncio
import json
import math
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
from services.antifraud import detection, domain, repository
from services.antifraud.repository import HybridWindows

pytestmark = pytest.mark.integration

CAMPAIGN = "af-store"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TARGET = uuid.UUID(int=7)
OTHER = uuid.UUID(int=8)
THIRD = uuid.UUID(int=9)


def vote(voter: str, entry: uuid.UUID, at: datetime, *, count: int = 1, subnet: str | None = "198.51.100.0/24",
         device: str | None = None, ua: str | None = None, page: bool = True,
         verified: datetime | None = None, kind: str | None = "mobile") -> CastVote:
    return CastVote(vote_id=uuid.uuid4(), voter_id=voter, entry_id=entry, category_id="cases", count=count,
                    cast_at=at, ip_hash=f"ip-{voter}", subnet=subnet, device_hash=device or f"dev-{voter}",
                    identity_verified_at=verified or at - timedelta(days=2),
                    user_agent_hash=ua or f"ua-{sum(voter.encode()) % 20}",
                    page_viewed_at=at - timedelta(seconds=40) if page else None, number_kind=kind)


def as_events(items: list) -> list:
    """Votes become the VoteCast events that carry them (one per vote here); other events pass as they are."""
    return [VoteCast(network_shard=network_shard(i.subnet, i.ip_hash, i.voter_id), votes=[i])
            if isinstance(i, CastVote) else i for i in items]


def traffic() -> list[CastVote]:
    honest = [vote(f"h{i}", OTHER if i % 3 else TARGET, T0 + timedelta(seconds=2 * i), subnet=f"203.0.{i}.0/24")
              for i in range(60)]
    farm = [vote(f"farm{i}", TARGET, T0 + timedelta(seconds=3 * i + 1), count=10, subnet=f"192.0.{i}.0/24",
                 device="farm-phone") for i in range(12)]
    return sorted(honest + farm, key=lambda e: e.cast_at)


class Service:
    def __init__(self, deps, pool: asyncpg.Pool, client: httpx.AsyncClient) -> None:
        self.deps, self.rt, self.pool, self.client, self.offsets = deps, deps.rt, pool, client, {}

    async def deliver(self, events: list, handler=None, partition: int = 0, networks=None) -> None:
        """As the consumer does: one transaction, then what the handler returned once it committed. `networks`
        stands for another instance's memory (the same database, its own network windows)."""
        batch = []
        for e in as_events(events):
            self.offsets[partition] = self.offsets.get(partition, 0) + 1
            batch.append(Delivered(make_envelope(e, campaign_id=CAMPAIGN, producer="test"), e, e.topic, partition,
                                   self.offsets[partition]))
        after = None
        async with self.pool.acquire() as conn, conn.transaction():
            if handler is None:
                after = await detection.score_votes(conn, batch, self.deps, networks)
            else:
                await handler(conn, batch)
        if after:
            after()

    async def outbox(self, event_type: str) -> list[dict]:
        rows = await self.pool.fetch("SELECT body FROM outbox WHERE event_type = $1 ORDER BY id", event_type)
        return [json.loads(bytes(r["body"]))["payload"] for r in rows]

    def as_(self, username: str, role: str, org: str | None = None) -> dict[str, str]:
        return {"authorization": f"Bearer {issue_token(self.rt.settings.secret_key, Caller(username, role, org), 600)}"}


@pytest.fixture
async def service(database_url: str):
    async with antifraud_api(database_url) as (deps, pool, client):
        service = Service(deps, pool, client)
        # the campaign is loaded before anything else (operators set its policy before the first vote)
        await service.deliver([CampaignLoaded(campaign_id=CAMPAIGN, version=1, title="典型案例征集评选",
                                              timezone="Asia/Shanghai", phases=[], vote_rules=VoteRules(),
                                              categories=[CategoryInfo(id="cases", name="典型案例",
                                                                       name_en="Cases")])],
                              handler=detection.learn_campaigns)
        yield service


async def score(pool: asyncpg.Pool, signals: list, nets: domain.NetworkState, t: domain.Thresholds, *,
                offset: int, shards: int = 1) -> list:
    """One batch as the consumer scores it: shared windows in PostgreSQL, the networks' in `nets` once committed."""
    async with pool.acquire() as conn, conn.transaction():
        store = HybridWindows(conn, nets, {0: (offset, offset + len(signals) - 1)}, sharded=shards > 1)
        found = await domain.detect(signals, store, t)
    store.committed()
    return found


def _collect(into: dict[tuple, set], results: list) -> None:
    for f, vs in results:
        into.setdefault(f.identity, set()).update(v.vote_id for v in vs)


async def _in_postgres_and_memory(service, events: list, campaign: str, per_batch: int) -> tuple[dict, dict]:
    """The votes in time order, batch by batch, through the consumer's PostgreSQL windows and through memory: what
    each found, by finding."""
    t = domain.Thresholds()
    events = sorted(events, key=lambda e: e.cast_at)
    memory, nets = domain.MemoryWindows(), domain.NetworkState(t)
    found_pg: dict[tuple, set] = {}
    found_mem: dict[tuple, set] = {}
    for i in range(0, len(events), per_batch):
        signals = [domain.VoteSignal.of(campaign, e, t) for e in events[i:i + per_batch]]
        _collect(found_pg, await score(service.pool, signals, nets, t, offset=i))
        _collect(found_mem, await domain.detect(signals, memory, t))
    return found_pg, found_mem


async def test_the_postgres_windows_find_exactly_what_the_memory_windows_find(service):
    t = domain.Thresholds()
    events = traffic()
    memory = domain.MemoryWindows()
    nets = domain.NetworkState(t)
    found_pg: dict[tuple, set] = {}
    found_mem: dict[tuple, set] = {}
    for i in range(0, len(events), 9):
        signals = [domain.VoteSignal.of(CAMPAIGN, e, t) for e in events[i:i + 9]]
        _collect(found_pg, await score(service.pool, signals, nets, t, offset=i))
        _collect(found_mem, await domain.detect(signals, memory, t))
    assert found_pg == found_mem
    farm = {e.vote_id for e in events if e.voter_id.startswith("farm")}
    assert set().union(*found_pg.values()) == farm


async def test_a_fingerprint_seen_as_many_phones_stays_so_for_the_day_in_postgres_as_in_memory(service):
    # One popular phone model's fingerprint (too little entropy): in the morning people on it vote from their own
    # networks, three within ten seconds — many phones. At lunch 25 of them vote within a minute behind one carrier
    # NAT: not one device voting faster than a person, as the shared windows remember from the morning. A farm's
    # phone on its own fingerprint sends as many requests on one network in a minute, and is found — in PostgreSQL
    # as in memory.
    honest = [vote(f"h{i}", OTHER if i % 3 else THIRD, T0 + timedelta(seconds=5 * i), subnet=f"203.0.{i}.0/24")
              for i in range(40)]
    model = [vote(f"m{i}", [OTHER, THIRD, TARGET][i % 3], T0 + timedelta(seconds=100 + 3 * i),
                  subnet=f"36.{i}.1.0/24", device="fp-mate60-hm4") for i in range(3)]
    model += [vote(f"lunch{i}", [OTHER, THIRD, TARGET][i % 3], T0 + timedelta(hours=2, seconds=2 * i),
                   subnet="117.136.8.0/24", device="fp-mate60-hm4") for i in range(25)]
    farm = [vote(f"farm{i}", [OTHER, THIRD][i % 2], T0 + timedelta(hours=3, seconds=2 * i), subnet="100.64.3.0/24",
                 device="farm-phone") for i in range(25)]
    found_pg, found_mem = await _in_postgres_and_memory(service, honest + model + farm, CAMPAIGN, 3)
    assert found_pg == found_mem
    assert set().union(*found_pg.values()) == {e.vote_id for e in farm}


def network_traffic() -> list[CastVote]:
    """A scripted crew on one network (one user agent, voting seconds after verifying, never loading the page)
    that votes for TARGET with most votes and camouflages with OTHER, a network whose identities vote for OTHER
    again every 420 s (a shared timer), and honest voters around them (the campaign's other voters, whom the crew
    is compared with)."""
    honest = [vote(f"n{i}", (TARGET, OTHER, THIRD, THIRD, THIRD)[i % 5],
                   T0 - timedelta(minutes=30) + timedelta(seconds=6 * i), subnet=f"203.0.{i % 250}.0/24",
                   page=i % 8 > 0, verified=T0 - timedelta(minutes=30) + timedelta(seconds=6 * i - 40 - i % 150)
                   if i % 2 else None) for i in range(300)]
    crew = []
    for i in range(14):
        at = T0 + timedelta(seconds=40 * i)
        script = {"subnet": "192.0.2.0/24", "ua": "crew-ua", "page": False, "verified": at - timedelta(seconds=3)}
        crew += [vote(f"crew{i}", OTHER, at, **script),
                 vote(f"crew{i}", TARGET, at + timedelta(seconds=11 + i), count=6, **script),
                 vote(f"crew{i}", OTHER, at + timedelta(seconds=30 + 2 * i), **script)]
    timer = [vote(f"timer{i}", OTHER, T0 + timedelta(seconds=100 * i + 420 * k), subnet="198.18.0.0/24")
             for i in range(4) for k in range(3)]
    return sorted(honest + crew + timer, key=lambda e: e.cast_at)


@pytest.mark.parametrize("shards", [3, 1], ids=["three-counter-shards", "one-counter-row"])
async def test_network_findings_in_postgres_match_memory_and_hold_the_camouflage_votes(service, shards: int):
    t = domain.Thresholds()
    events = network_traffic()
    memory = domain.MemoryWindows()
    found_pg: dict[tuple, set] = {}
    found_mem: dict[tuple, set] = {}
    campaign = f"{CAMPAIGN}-{shards}"  # each run its own counters
    nets = domain.NetworkState(t)
    for i in range(0, len(events), 5):
        signals = [domain.VoteSignal.of(campaign, e, t, shard=i % shards) for e in events[i:i + 5]]
        _collect(found_pg, await score(service.pool, signals, nets, t, offset=i, shards=shards))
        _collect(found_mem, await domain.detect(signals, memory, t))
    assert found_pg == found_mem
    by_reason: dict[str, set] = {}
    for (_, reason, _, _), held in found_pg.items():
        if held:
            by_reason.setdefault(reason, set()).update(held)
    assert by_reason == {
        "coordinated_cohort": {e.vote_id for e in events if e.voter_id.startswith("crew")},  # camouflage votes too
        "timer_subnet": {e.vote_id for e in events if e.voter_id.startswith("timer")}}


async def test_an_instance_that_starts_late_or_gets_a_partition_back_rebuilds_its_networks_from_the_votes(service):
    """Two instances' memories over one database: A scores the first third of the traffic, B (just started) the
    second, then A again (its partition came back, its offsets jump). Both read complete network windows, rebuilt
    from the stored votes, and find exactly what one memory that saw everything finds."""
    t = domain.Thresholds()
    events = network_traffic()
    memory = domain.MemoryWindows()
    a, b = domain.NetworkState(t), domain.NetworkState(t)
    found: dict[tuple, set] = {}
    expected: dict[tuple, set] = {}
    third = len(events) // 15 * 5
    for i in range(0, len(events), 5):
        signals = [domain.VoteSignal.of(f"{CAMPAIGN}-takeover", e, t) for e in events[i:i + 5]]
        _collect(found, await score(service.pool, signals, b if third <= i < 2 * third else a, t, offset=i))
        _collect(expected, await domain.detect(signals, memory, t))
    assert found == expected
    assert {f[1] for f, held in found.items() if held} == {"coordinated_cohort", "timer_subnet"}
    assert b.rebuilt and a.dropped  # B rebuilt the networks it met; A dropped what it held when its offsets jumped


async def test_one_browser_taking_identities_in_turn_is_found_alike_by_an_instance_that_rebuilt_its_network(service):
    """Colleagues voted for in turn at one office PC (each sitting from asking for the code to the vote, the next
    asked seconds after), beside the office's own people on their PCs: an instance that starts halfway rebuilds the
    browser's sittings from the stored votes (`asked_at`) and holds the same identities as one memory that saw all.
    The run goes on across the turn of the hour: the hour before stays readable however long the run goes on."""
    t = domain.Thresholds()
    honest = [vote(f"n{i}", (OTHER, THIRD)[i % 2], T0 - timedelta(minutes=30) + timedelta(seconds=6 * i),
                   subnet=f"203.0.{i % 250}.0/24") for i in range(200)]
    ring, asked = [], T0 - timedelta(minutes=6)  # T0 is on the hour: the run's last dozen sittings come after it
    for i in range(20):
        at = asked + timedelta(seconds=25 + i % 4)
        ring.append(CastVote(vote_id=uuid.uuid4(), voter_id=f"colleague{i}", entry_id=TARGET, category_id="cases",
                             count=10, cast_at=at, ip_hash="office-nat", subnet="1.85.60.0/24",
                             identity_verified_at=at - timedelta(seconds=4), user_agent_hash="edge-109",
                             page_viewed_at=at - timedelta(seconds=3), code_sent_at=asked))
        asked = at + timedelta(seconds=12 + i % 5)
    office = [vote(f"staff{i}", TARGET, T0 + timedelta(seconds=50 * i), subnet="1.85.60.0/24")
              for i in range(12)]
    events = sorted(honest + ring + office, key=lambda e: e.cast_at)
    memory, a, b = domain.MemoryWindows(), domain.NetworkState(t), domain.NetworkState(t)
    found: dict[tuple, set] = {}
    expected: dict[tuple, set] = {}
    half = next(i for i, e in enumerate(events) if e.voter_id == "colleague9") // 5 * 5
    for i in range(0, len(events), 5):
        signals = [domain.VoteSignal.of(f"{CAMPAIGN}-turns", e, t) for e in events[i:i + 5]]
        _collect(found, await score(service.pool, signals, b if i >= half else a, t, offset=i))
        _collect(expected, await domain.detect(signals, memory, t))
    assert found == expected
    turns = set().union(*(held for f, held in found.items() if f[1] == "browser_turns"))
    assert turns == {e.vote_id for e in ring}
    assert b.rebuilt


async def test_cloud_phones_are_held_on_their_data_centre_s_networks_by_an_instance_that_rebuilt_them(service):
    """Sixty cloud phones on three of a large cloud's /24s (each phone its own address, carriers' numbers, people's
    user agents, delays and page views) beside the campaign's people: the votes are stored with their data-centre
    trait, a finding selects by it in PostgreSQL, and an instance that starts halfway rebuilds the networks from the
    stored votes and holds the same votes as one memory that saw all: every phone's, and no one else's."""
    t = domain.Thresholds()
    campaign = f"{CAMPAIGN}-cloud"
    honest = [vote(f"p{i}", (TARGET, OTHER, THIRD, THIRD, THIRD)[i % 5],
                   T0 - timedelta(minutes=30) + timedelta(seconds=6 * i), subnet=f"203.0.{i % 250}.0/24",
                   verified=T0 - timedelta(minutes=31) + timedelta(seconds=6 * i)) for i in range(300)]
    phones = [vote(f"phone{i}", TARGET, T0 + timedelta(seconds=10 * i), count=10, subnet=f"47.108.{i % 3}.0/24",
                   verified=T0 + timedelta(seconds=10 * i - 40 - 7 * (i % 9))) for i in range(60)]
    events = sorted(honest + phones, key=lambda e: e.cast_at)
    memory, a, b = domain.MemoryWindows(), domain.NetworkState(t), domain.NetworkState(t)
    found: dict[tuple, set] = {}
    expected: dict[tuple, set] = {}
    half = next(i for i, e in enumerate(events) if e.voter_id == "phone30") // 5 * 5
    for i in range(0, len(events), 5):
        signals = [domain.VoteSignal.of(campaign, e, t) for e in events[i:i + 5]]
        _collect(found, await score(service.pool, signals, b if i >= half else a, t, offset=i))
        _collect(expected, await domain.detect(signals, memory, t))
    assert found == expected
    assert set().union(*found.values()) == {e.vote_id for e in phones}
    assert {f[1] for f, held in found.items() if held} == {"coordinated_cohort"}
    assert b.rebuilt
    stored = await service.pool.fetch("SELECT voter_id, host FROM votes WHERE campaign_id = $1", campaign)
    assert {r["voter_id"] for r in stored if r["host"]} == {e.voter_id for e in phones}


async def test_a_batch_whose_transaction_failed_is_counted_once_when_tried_again(service):
    t = domain.Thresholds()
    events = network_traffic()
    memory = domain.MemoryWindows()
    nets = domain.NetworkState(t)
    found: dict[tuple, set] = {}
    expected: dict[tuple, set] = {}
    for i in range(0, len(events), 5):
        signals = [domain.VoteSignal.of(f"{CAMPAIGN}-retry", e, t) for e in events[i:i + 5]]
        if i % 20 == 0:  # every fourth batch fails once after scoring, before its transaction commits
            with pytest.raises(RuntimeError):
                async with service.pool.acquire() as conn, conn.transaction():
                    await domain.detect(signals, HybridWindows(conn, nets, {0: (i, i + 4)}), t)
                    raise RuntimeError("the commit did not happen")
        _collect(found, await score(service.pool, signals, nets, t, offset=i))
        _collect(expected, await domain.detect(signals, memory, t))
    assert found == expected
    assert {f[1] for f, held in found.items() if held} == {"coordinated_cohort", "timer_subnet"}


async def test_invalidate_policy_emits_each_invalidation_once_and_an_operator_overturn_reinstates_them(service):
    operator = service.as_("ops-li", "operator")
    r = await service.client.put(f"/campaigns/{CAMPAIGN}/policy", headers=operator,
                                 json={"policy": "invalidate", "reason": "省网信办要求立即剔除"})
    assert r.status_code == 200 and r.json()["set_by"] == "ops-li"
    await service.deliver([NominationApproved(nomination_id=TARGET, unit_id="unit-a", unit_name="甲大学",
                                              category_id="cases", entry_name="甲大学案例", step_id="office",
                                              final=True)], handler=detection.learn_entries)
    events = traffic()
    for i in range(0, len(events), 10):
        await service.deliver(events[i:i + 10])
    farm = {str(e.vote_id) for e in events if e.voter_id.startswith("farm")}
    invalidated = await service.outbox("VoteInvalidated")
    assert sorted(p["vote_id"] for p in invalidated) == sorted(farm)  # each exactly once, no honest vote
    assert {p["reason_code"] for p in invalidated} == {"device_shared"}
    assert await service.outbox("FraudAlertRaised")

    # the review queue shows the case; a unit may not read it
    assert (await service.client.get(f"/campaigns/{CAMPAIGN}/cases", headers=service.as_("u", "unit", "unit-a"))
            ).status_code == 403
    cases = (await service.client.get(f"/campaigns/{CAMPAIGN}/cases", headers=operator)).json()["cases"]
    assert [(c["reason_code"], c["status"], c["votes"], c["vote_count"]) for c in cases] == [
        ("device_shared", "invalidated", 12, 120)]
    # a rule's case reads at the odds its level stands for, in the queue as on its own page, not as "risk 0"
    sure = domain.Thresholds().invalidate_odds
    assert (cases[0]["odds"], cases[0]["score"]) == (sure, round(math.log(sure), 3))
    one = (await service.client.get(f"/cases/{cases[0]['id']}", headers=operator)).json()
    assert (one["odds"], one["score"]) == (sure, round(math.log(sure), 3))

    # the unit sees its entry's invalidations and why; another unit sees nothing of them
    mine = (await service.client.get("/units/me/invalidations", headers=service.as_("ua", "unit", "unit-a"))).json()
    [entry] = mine["campaigns"][CAMPAIGN]
    assert entry["entry_id"] == str(TARGET) and entry["invalidated_votes"] == 120
    assert entry["reasons"][0]["reason_code"] == "device_shared" and entry["entry_name"] == "甲大学案例"
    theirs = (await service.client.get(f"/units/me/invalidations?campaign_id={CAMPAIGN}",
                                       headers=service.as_("ub", "unit", "unit-b"))).json()
    assert theirs["campaigns"][CAMPAIGN] == []

    # overturn: every invalidated vote is reinstated once; a second overturn is refused and changes nothing
    case_id = cases[0]["id"]
    bad = await service.client.post(f"/cases/{case_id}/decision", headers=operator, json={"decision": "overturn"})
    assert bad.status_code == 422
    r = await service.client.post(f"/cases/{case_id}/decision", headers=operator,
                                  json={"decision": "overturn", "reason": "核实为同一网吧的真实读者"})
    assert r.status_code == 200 and r.json()["votes_changed"] == 12
    again = await service.client.post(f"/cases/{case_id}/decision", headers=operator,
                                      json={"decision": "overturn", "reason": "重复操作"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "decision_not_allowed"
    reinstated = await service.outbox("VoteReinstated")
    assert sorted(p["vote_id"] for p in reinstated) == sorted(farm)
    assert all("ops-li" in p["explanation"] for p in reinstated)

    # the audit trail says who did what and why; the per-entry view no longer counts them
    detail = (await service.client.get(f"/cases/{case_id}", headers=operator)).json()
    *automatic, last = detail["decisions"]
    assert {(d["action"], d["actor"]) for d in automatic} == {("invalidate", "antifraud")}
    assert sum(d["votes_changed"] for d in automatic) == 12  # the case grew batch by batch, each step audited
    assert (last["action"], last["actor"], last["actor_role"], last["reason"]) == (
        "overturn", "ops-li", "operator", "核实为同一网吧的真实读者")
    assert len(detail["vote_sample"]) == 12
    view = (await service.client.get(f"/campaigns/{CAMPAIGN}/invalidations", headers=operator)).json()
    assert view["entries"] == []

    # more votes of the overturned subject are kept, not held again
    late = [vote(f"farm-late{i}", TARGET, T0 + timedelta(seconds=100 + i), device="farm-phone") for i in range(3)]
    await service.deliver(late)
    assert len(await service.outbox("VoteInvalidated")) == 12


async def test_by_default_a_device_farm_is_invalidated_without_an_operator(service):
    events = traffic()
    await service.deliver(events)
    farm = sorted(str(e.vote_id) for e in events if e.voter_id.startswith("farm"))
    assert sorted(p["vote_id"] for p in await service.outbox("VoteInvalidated")) == farm
    assert await service.outbox("VoteFlagged") == []
    policy = (await service.client.get(f"/campaigns/{CAMPAIGN}/policy", headers=service.as_("ops", "operator"))).json()
    assert policy["policy"] == "auto" and policy["default"] is True
    # The detector's decisions are in the campaign's audit chain, by the service, with every farm vote counted.
    async with service.pool.acquire() as conn:
        rows = await audit.rows(conn, CAMPAIGN)
        assert (await audit.verify_campaign(conn, "antifraud", CAMPAIGN)).broken is None
    assert rows and {(r.action, r.actor) for r in rows} == {("fraud.invalidate", "service:antifraud")}
    assert sum(json.loads(r.details)["votes_changed"] for r in rows) == len(farm)


async def test_flag_policy_quarantines_without_touching_the_standings_until_confirmed(service):
    r = await service.client.put(f"/campaigns/{CAMPAIGN}/policy", headers=service.as_("ops", "operator"),
                                 json={"policy": "flag", "reason": "全部人工核查"})
    assert r.status_code == 200
    events = traffic()
    await service.deliver(events)
    assert await service.outbox("VoteInvalidated") == []
    flagged = await service.outbox("VoteFlagged")
    assert len(flagged) == 12
    operator = service.as_("admin", "admin")
    [case] = (await service.client.get(f"/campaigns/{CAMPAIGN}/cases?status=flagged", headers=operator)).json()["cases"]
    r = await service.client.post(f"/cases/{case['id']}/decision", headers=operator,
                                  json={"decision": "confirm", "reason": "同一设备12个身份"})
    assert r.status_code == 200 and r.json()["status"] == "invalidated"
    assert len(await service.outbox("VoteInvalidated")) == 12
    # the same batch delivered again (the consumer would skip it; the handler alone must not double either)
    await service.deliver(events)
    assert len(await service.outbox("VoteInvalidated")) == 12
    assert len(await service.outbox("VoteFlagged")) == 12


async def test_garbage_network_data_in_a_batch_is_scored_without_failing(service):
    events = [vote(f"g{i}", TARGET, T0 + timedelta(seconds=i), subnet=s, device=d)
              for i, (s, d) in enumerate([(None, None), ("garbage", "null"), ("::1/128", ""),
                                          ("1.2.3.0/24", "x" * 500)])]
    await service.deliver(events)
    stored = await service.pool.fetch("SELECT subnet, device_hash FROM votes ORDER BY cast_at")
    assert [tuple(r) for r in stored] == [(None, "dev-g0"), (None, None), (None, "dev-g2"), ("1.2.3.0/24", None)]


@pytest.mark.parametrize("shards", [2, 1], ids=["a-row-per-partition", "one-shared-row"])
async def test_two_instances_on_two_partitions_share_the_counters_and_invalidate_each_vote_once(service, shards: int):
    service.rt.settings = service.rt.settings.model_copy(update={"counter_shards": shards})
    await service.client.put(f"/campaigns/{CAMPAIGN}/policy", headers=service.as_("ops", "operator"),
                             json={"policy": "invalidate", "reason": "两个实例共同处理"})
    events = traffic()
    # The vote topic is keyed by network: each instance gets the networks of its partitions, in small batches,
    # and holds their windows in its own memory; the device's identities come through both.
    partitions = [[e for e in events if network_shard(e.subnet, e.ip_hash, e.voter_id) % 2 == p] for p in (0, 1)]
    memories = [domain.NetworkState(domain.Thresholds()) for _ in (0, 1)]

    async def instance(partition: int) -> None:
        mine = partitions[partition]
        for i in range(0, len(mine), 3):
            await service.deliver(mine[i:i + 3], partition=partition, networks=memories[partition])

    await asyncio.gather(instance(0), instance(1))
    farm = sorted(str(e.vote_id) for e in events if e.voter_id.startswith("farm"))
    assert sorted(p["vote_id"] for p in await service.outbox("VoteInvalidated")) == farm
    # the device's identities were counted across both instances: the day's case holds all twelve (a second one,
    # for the farm's pace, invalidates on its own under the default policy)
    cases = (await service.client.get(f"/campaigns/{CAMPAIGN}/cases", headers=service.as_("ops", "operator"))).json()
    assert {c["reason_code"] for c in cases["cases"]} == {"device_shared"}
    assert max(c["votes"] for c in cases["cases"]) == 12
    # a vote in both cases counts once for its reason in the entry's figures
    inv = (await service.client.get(f"/campaigns/{CAMPAIGN}/invalidations",
                                    headers=service.as_("ops", "operator"))).json()
    [entry] = inv["entries"]
    assert [r["votes"] for r in entry["reasons"]] == [entry["invalidated_votes"]] == [120]
    # the per-entry counters were kept in one row per counter shard, and the rules read their sum
    rows = await service.pool.fetch("SELECT shard, value FROM windows WHERE dimension = 'entry_requests_hour' "
                                    "AND key = $1 AND value > 0", str(TARGET))
    assert {r["shard"] for r in rows} == set(range(shards))
    assert sum(r["value"] for r in rows) == sum(e.entry_id == TARGET for e in events)


async def test_a_campaign_tunes_its_own_thresholds_and_an_unknown_name_changes_nothing(service):
    operator = service.as_("ops", "operator")
    r = await service.client.put(f"/campaigns/{CAMPAIGN}/policy", headers=operator,
                                 json={"policy": "auto", "reason": "家庭共用手机较多",
                                       "thresholds": {"device_voters": 20}})
    assert r.status_code == 422 and "device_voters" in r.text
    assert (await service.client.get(f"/campaigns/{CAMPAIGN}/policy", headers=operator)).json()["default"] is True
    r = await service.client.put(f"/campaigns/{CAMPAIGN}/policy", headers=operator,
                                 json={"policy": "auto", "reason": "家庭共用手机较多",
                                       "thresholds": {"device_voters_per_day": 20}})
    assert r.status_code == 200 and r.json()["thresholds"] == {"device_voters_per_day": 20}
    policy = (await service.client.get(f"/campaigns/{CAMPAIGN}/policy", headers=operator)).json()
    assert policy["effective_thresholds"]["device_voters_per_day"] == 20
    assert {rule["code"] for rule in policy["rules"]} == set(domain.RULES)
    await service.deliver(traffic())  # twelve identities on one phone: under this campaign's limit of twenty
    assert await service.outbox("VoteInvalidated") == [] and await service.outbox("VoteFlagged") == []
    # a change of policy alone keeps the overrides
    r = await service.client.put(f"/campaigns/{CAMPAIGN}/policy", headers=operator,
                                 json={"policy": "flag", "reason": "人工核查"})
    assert r.json()["thresholds"] == {"device_voters_per_day": 20}


@pytest.mark.parametrize("thresholds", [
    {"focus_share": 1.5}, {"device_voters_per_day": 0}, {"device_voters_per_day": 1}, {"device_voters_per_day": 2.5},
    {"device_voters_per_day": True}, {"device_voters_per_day": "6"}, {"hold_odds": 5000, "invalidate_odds": 100},
    {"hold_odds": 1e308}, {"hold_odds": float("inf")}, {"hold_odds": float("nan")}])
async def test_a_threshold_that_means_nothing_is_refused_and_changes_nothing(service, thresholds):
    """A share above one, a count of devices' identities that every device has, a fraction of an identity, true or
    a string, holding above invalidating, or a number too large to mean anything: 422, the policy as it was."""
    operator = service.as_("ops", "operator")
    body = json.dumps({"policy": "invalidate", "reason": "试一试", "thresholds": thresholds}, allow_nan=True)
    r = await service.client.put(f"/campaigns/{CAMPAIGN}/policy", headers={**operator, "content-type":
                                                                            "application/json"}, content=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed", r.text
    assert next(iter(thresholds)) in r.text
    policy = (await service.client.get(f"/campaigns/{CAMPAIGN}/policy", headers=operator)).json()
    assert policy["default"] is True and policy["policy"] != "invalidate"


async def test_overrides_stored_before_a_check_refuses_them_leave_the_campaign_scored_on_the_service_s(service):
    """A campaign's overrides written when a device's identities could be set to 1 (now refused): its votes are
    still scored, on the service's thresholds — the farm's phone invalidated, no one else — not stopped."""
    await service.pool.execute("INSERT INTO policies (campaign_id, policy, set_by, reason, thresholds) "
                               "VALUES ($1, 'invalidate', 'ops', '旧设置', '{\"device_voters_per_day\": 1}')",
                               CAMPAIGN)
    events = traffic()
    for i in range(0, len(events), 10):
        await service.deliver(events[i:i + 10])
    invalidated = {p["vote_id"] for p in await service.outbox("VoteInvalidated")}
    assert invalidated == {str(e.vote_id) for e in events if e.voter_id.startswith("farm")}


async def test_an_identity_s_risk_names_every_signal_behind_it_and_an_honest_one_has_none(service):
    events = network_traffic()
    for i in range(0, len(events), 20):
        await service.deliver(events[i:i + 20])
    operator = service.as_("ops", "operator")
    crew = (await service.client.get(f"/campaigns/{CAMPAIGN}/identities/crew12", headers=operator)).json()
    assert crew["risk"]["level"] in ("hold", "invalidate") and crew["risk"]["odds"] >= domain.Thresholds().hold_odds
    [case] = [c for c in crew["cases"] if c["reason_code"] == "coordinated_cohort"][:1]
    assert "the same user agent" in case["explanation"] and "浏览器标识" in case["explanation_zh"]
    assert case["reason_zh"] == domain.REASONS_ZH["coordinated_cohort"]
    assert {v["state"] for v in crew["votes"]} <= {"flagged", "invalidated"} and len(crew["votes"]) == 3
    honest = (await service.client.get(f"/campaigns/{CAMPAIGN}/identities/n7", headers=operator)).json()
    assert honest["risk"] == {"odds": 1.0, "score": 0.0, "level": "none"} and honest["cases"] == []
    r = await service.client.get(f"/campaigns/{CAMPAIGN}/identities/nobody", headers=operator)
    assert r.status_code == 404 and r.json()["error"]["code"] == "identity_not_found"


async def test_a_held_case_whose_evidence_grows_sure_is_invalidated_whole_without_an_operator(service):
    t = domain.Thresholds()
    events = [vote(f"s{i}", TARGET, T0 + timedelta(seconds=i), subnet="192.0.2.0/24", ua="script") for i in range(6)]
    await service.deliver(events)  # nothing trips on six votes
    signals = [domain.VoteSignal.of(CAMPAIGN, e, t) for e in events]
    selector = domain.Selector(CAMPAIGN, T0, T0 + timedelta(minutes=10), entry_id=TARGET)

    def finding(level: str, score: float | None = None) -> domain.Finding:
        score = score if score is not None else 3.0 if level == "hold" else 8.0
        return domain.Finding("coordinated_cohort", f"entry:{TARGET}|ua=script", f"script at {score}",
                              f"脚本 {score}", {"odds": round(math.exp(score), 1)}, selector, level=level,
                              entry_id=TARGET, score=score)

    async with service.pool.acquire() as conn, conn.transaction():
        await detection.apply_finding(conn, service.deps, finding("hold"), signals[:4], "auto")
    assert len(await service.outbox("VoteFlagged")) == 4 and await service.outbox("VoteInvalidated") == []
    async with service.pool.acquire() as conn, conn.transaction():
        await detection.apply_finding(conn, service.deps, finding("invalidate"), signals[4:], "auto")
    invalidated = await service.outbox("VoteInvalidated")
    assert sorted(p["vote_id"] for p in invalidated) == sorted(str(e.vote_id) for e in events)
    [case] = (await service.client.get(f"/campaigns/{CAMPAIGN}/cases", headers=service.as_("ops", "operator"))
              ).json()["cases"]
    assert case["status"] == "invalidated"
    # the same finding again changes nothing: each vote is invalidated once
    async with service.pool.acquire() as conn, conn.transaction():
        await detection.apply_finding(conn, service.deps, finding("invalidate"), signals, "flag")
    assert len(await service.outbox("VoteInvalidated")) == 6
    # a weaker reading later (its script's share thinning as people join) leaves the case as it was decided: its
    # odds, evidence and explanation tell the same strength
    async with service.pool.acquire() as conn, conn.transaction():
        await detection.apply_finding(conn, service.deps, finding("hold", 5.0), signals, "auto")
    case = (await service.client.get(f"/cases/{case['id']}", headers=service.as_("ops", "operator"))).json()
    assert (case["status"], case["explanation"], case["odds"]) == ("invalidated", "script at 8.0",
                                                                   round(math.exp(8.0), 1))
    assert case["evidence"]["odds"] == case["odds"]


async def test_a_case_opened_on_votes_other_cases_hold_already_still_says_who_opened_it(service):
    """A network's wave found after its cohort's case held the same votes: no vote changes, and the new case's
    history still names the detector's hold (with no vote changed), rather than being empty."""
    t = domain.Thresholds()
    await service.deliver([NominationApproved(nomination_id=TARGET, unit_id="unit-a", unit_name="甲大学",
                                              category_id="cases", entry_name="甲大学案例", step_id="office",
                                              final=True)], handler=detection.learn_entries)
    events = [vote(f"w{i}", TARGET, T0 + timedelta(seconds=i), subnet="192.0.2.0/24", ua="script") for i in range(6)]
    await service.deliver(events)
    signals = [domain.VoteSignal.of(CAMPAIGN, e, t) for e in events]
    selector = domain.Selector(CAMPAIGN, T0, T0 + timedelta(minutes=10), entry_id=TARGET)
    first = domain.Finding("coordinated_cohort", f"entry:{TARGET}|ua=script", "script", "脚本", {}, selector,
                           level="hold", entry_id=TARGET, score=3.0)
    second = domain.Finding("network_wave", f"subnet:192.0.2.0/24|entry:{TARGET}", "wave", "一波", {}, selector,
                            entry_id=TARGET)
    for f in (first, second):
        async with service.pool.acquire() as conn, conn.transaction():
            await detection.apply_finding(conn, service.deps, f, signals, "auto")
    assert len(await service.outbox("VoteFlagged")) == 6
    operator = service.as_("ops", "operator")
    cases = (await service.client.get(f"/campaigns/{CAMPAIGN}/cases?reason=network_wave", headers=operator)).json()
    one = (await service.client.get(f"/cases/{cases['cases'][0]['id']}", headers=operator)).json()
    assert [(d["action"], d["actor"], d["votes_changed"]) for d in one["decisions"]] == [("flag", detection.DETECTOR, 0)]
    # each case names its entry, in the queue as on its page
    assert (cases["cases"][0]["entry_name"], one["entry_name"], one["unit_name"]) == ("甲大学案例", "甲大学案例", "甲大学")


async def test_a_wave_on_code_platform_numbers_is_found_alike_in_postgres_and_in_memory(service):
    """Identities from many networks voting for TARGET within 20 s like people (their own user agents, delays and
    page views), most on virtual-operator numbers: the number kind is stored with each vote and selects the
    finding's votes in SQL as in memory; the wave's carrier-number identities and the honest voters are not held."""
    rng = random.Random(4)
    honest = [vote(f"n{i}", (TARGET, OTHER, THIRD, THIRD, THIRD)[i % 5],
                   T0 - timedelta(minutes=40) + timedelta(seconds=7 * i), subnet=f"203.0.{i % 250}.0/24",
                   kind="virtual" if i % 25 == 0 else "mobile",
                   verified=T0 - timedelta(minutes=40) + timedelta(seconds=7 * i - rng.uniform(30, 300)))
              for i in range(330)]
    wave = []
    for i in range(60):
        at = T0 + timedelta(seconds=rng.uniform(0, 20))
        wave.append(vote(f"wave{i}", TARGET, at, subnet=f"{100 + i % 50}.{i}.7.0/24", ua=f"ua-{rng.randrange(20)}",
                         kind="mobile" if i % 5 == 4 else "virtual", verified=at - timedelta(seconds=rng.uniform(30, 300))))
    found_pg, found_mem = await _in_postgres_and_memory(service, honest + wave, f"{CAMPAIGN}-num", 20)
    assert found_pg == found_mem
    held = set().union(*found_pg.values())
    virtual = {e.vote_id for e in wave if e.number_kind == "virtual"}
    assert held <= virtual
    assert len(held) >= 0.75 * len(virtual)


async def test_networks_coming_back_together_are_found_alike_in_postgres_and_in_memory(service):
    """Eight /24s of identities that behave like people, voting for TARGET in waves three minutes apart; a second
    instance (just started, rebuilding its networks from the stored votes) scores the later waves. The networks'
    return counters live in each instance's memory, the entry's across networks in PostgreSQL: both find the
    synchronised networks from the second wave and hold every wave, and no honest voter."""
    t = domain.Thresholds()
    rng = random.Random(6)
    honest = [vote(f"n{i}", (OTHER, THIRD)[i % 2], T0 - timedelta(minutes=40) + timedelta(seconds=7 * i),
                   subnet=f"203.0.{i % 250}.0/24", ua=f"ua-{rng.randrange(20)}") for i in range(330)]
    farm = []
    for n in range(8):
        for i in range(12):
            verified = T0 - timedelta(seconds=rng.uniform(30, 300))
            for gap in (0, 180, 360):
                farm.append(vote(f"farm{n}-{i}", TARGET, T0 + timedelta(seconds=gap + rng.uniform(0, 12)), count=3,
                                 subnet=f"192.{n}.77.0/24", ua=f"ua-{rng.randrange(20)}", verified=verified))
    events = sorted(honest + farm, key=lambda e: e.cast_at)
    later = next(i for i, e in enumerate(events) if e.cast_at >= T0 + timedelta(seconds=150))
    memory, a, b = domain.MemoryWindows(), domain.NetworkState(t), domain.NetworkState(t)
    found_pg: dict[tuple, set] = {}
    found_mem: dict[tuple, set] = {}
    campaign = f"{CAMPAIGN}-sync"
    for i in range(0, len(events), 10):
        signals = [domain.VoteSignal.of(campaign, e, t) for e in events[i:i + 10]]
        _collect(found_pg, await score(service.pool, signals, a if i < later else b, t, offset=i))
        _collect(found_mem, await domain.detect(signals, memory, t))
    assert found_pg == found_mem
    assert b.rebuilt
    held = {reason: votes for (_, reason, _, _), votes in found_pg.items() if votes}
    assert set(held) == {"synchronised_networks"}
    assert set().union(*found_pg.values()) == {e.vote_id for e in farm}


async def test_identities_changing_fingerprints_are_found_alike_in_postgres_and_in_memory(service):
    """A camouflage crew on residential networks that behaves like people but sends a new device fingerprint with
    every vote, two votes for TARGET among six: whether each vote was rotating is stored with it, and the finding
    selects the identities that rotated that day in SQL as in memory — their votes for TARGET cast before they had
    rotated included — and no one voting from a phone and a computer."""
    rng = random.Random(9)
    honest = [vote(f"n{i}", (OTHER, THIRD)[i % 2], T0 - timedelta(minutes=40) + timedelta(seconds=7 * i),
                   subnet=f"203.0.{i % 250}.0/24", ua=f"ua-{rng.randrange(20)}",
                   device=f"dev-n{i}-{i % 2 if i % 5 == 0 else 0}") for i in range(330)]
    crew = []
    for i in range(50):
        at = T0 + timedelta(seconds=rng.uniform(0, 240))
        verified = at - timedelta(seconds=rng.uniform(30, 300))
        for k, entry in enumerate((TARGET, OTHER, TARGET, THIRD, OTHER, THIRD)):
            crew.append(vote(f"crew{i}", entry, at + timedelta(seconds=11 * k), subnet=f"100.{i}.9.0/24",
                             ua=f"ua-{rng.randrange(20)}", device=f"fp-{i}-{k}", verified=verified))
    found_pg, found_mem = await _in_postgres_and_memory(service, honest + crew, f"{CAMPAIGN}-rot", 12)
    assert found_pg == found_mem
    held = set().union(*found_pg.values())
    assert {e.vote_id for e in crew if e.entry_id == TARGET} <= held <= {e.vote_id for e in crew}
    stored = await service.pool.fetch("SELECT voter_id, bool_or(rotating) AS r FROM votes WHERE campaign_id = $1 "
                                      "GROUP BY voter_id", f"{CAMPAIGN}-rot")
    assert {r["voter_id"] for r in stored if r["r"]} == {f"crew{i}" for i in range(50)}


async def test_a_slow_drip_on_a_clock_is_found_alike_in_postgres_and_in_memory(service):
    """Identities verified days before, on their own residential networks and browsers, looking at the page, each
    giving TARGET a vote every four minutes give or take 20 s (five visits), beside fans of TARGET coming back when
    reminded: whether each vote's identity was on a clock is stored with it, and the finding selects those
    identities' every vote of the day in SQL as in memory (their first visits, before the clock showed, included),
    and no fan's."""
    rng = random.Random(12)
    honest = [vote(f"n{i}", (OTHER, THIRD)[i % 2], T0 - timedelta(minutes=40) + timedelta(seconds=7 * i),
                   subnet=f"203.0.{i % 250}.0/24", ua=f"ua-{rng.randrange(20)}") for i in range(330)]
    fans = []
    for i in range(20):
        at = T0 - timedelta(minutes=5) + timedelta(seconds=rng.uniform(0, 300))
        for _ in range(6):
            fans.append(vote(f"fan{i}", TARGET, at, subnet=f"198.18.{i}.0/24", ua=f"ua-{rng.randrange(20)}"))
            at += timedelta(seconds=60 + rng.expovariate(1 / 200))
    drip = []
    for i in range(30):
        start = T0 + timedelta(seconds=rng.uniform(0, 240))
        drip += [vote(f"drip{i}", TARGET, start + timedelta(seconds=240 * k + rng.uniform(-20, 20)),
                      subnet=f"100.{64 + i}.{k}.0/24", ua=f"ua-{rng.randrange(20)}") for k in range(5)]
    found_pg, found_mem = await _in_postgres_and_memory(service, honest + fans + drip, f"{CAMPAIGN}-clock", 10)
    assert found_pg == found_mem
    held = set().union(*found_pg.values())
    assert held == {e.vote_id for e in drip}
    stored = await service.pool.fetch("SELECT voter_id, bool_or(on_clock) AS c FROM votes WHERE campaign_id = $1 "
                                      "GROUP BY voter_id", f"{CAMPAIGN}-clock")
    assert {r["voter_id"] for r in stored if r["c"]} == {f"drip{i}" for i in range(30)}


async def test_a_surge_in_a_rush_is_found_alike_in_postgres_and_in_memory(service):
    """Fresh identities from distinct networks, in everyone's browsers, voting for TARGET within seconds of verifying
    without loading the page (a rush: each habit alone is a few people's in ten). Beside them, fans of TARGET as
    quick but on the page, and fans who skip the page but take their time: the rush selects the votes in SQL as in
    memory, and neither kind of fan is held. Nor are two fans who voted in a rush from a link two minutes before the
    surge, inside the minutes its finding covers: they came apart from it, at the entry's pace. Nor two who voted in
    a rush from a link inside the surge's own seconds, but gave three ballots and came back with seven: each of the
    surge's identities gives its ten at once (`odd_ballots`, on the votes SQL selected as on memory's)."""
    rng = random.Random(7)
    honest = [vote(f"n{i}", (TARGET, OTHER, THIRD, THIRD, THIRD)[i % 5],
                   T0 - timedelta(minutes=40) + timedelta(seconds=7 * i), subnet=f"203.0.{i % 250}.0/24",
                   page=i % 7 > 0, verified=T0 - timedelta(minutes=40) + timedelta(seconds=7 * i - rng.uniform(20, 300)))
              for i in range(330)]
    surge, fans = [], []
    for i in range(40):
        at = T0 + timedelta(seconds=4 * i + rng.uniform(0, 3))
        surge.append(vote(f"rush{i}", TARGET, at, count=10, subnet=f"{100 + i}.{i}.7.0/24", ua=f"ua-{rng.randrange(20)}",
                          page=False, verified=at - timedelta(seconds=rng.uniform(2, 12))))
    for i in range(6):
        at = T0 + timedelta(seconds=25 * i + 7)
        fans.append(vote(f"quick-fan{i}", TARGET, at, subnet=f"198.18.{i}.0/24", page=True,
                         verified=at - timedelta(seconds=9)))
        fans.append(vote(f"linked-fan{i}", TARGET, at + timedelta(seconds=3), subnet=f"198.19.{i}.0/24", page=False,
                         verified=at - timedelta(seconds=45)))
    for i in range(2):
        at = T0 - timedelta(seconds=150 - 20 * i)
        fans.append(vote(f"early-fan{i}", TARGET, at, count=10, subnet=f"198.20.{i}.0/24", page=False,
                         verified=at - timedelta(seconds=6)))
    for i in range(2):
        at = T0 + timedelta(seconds=50 + 60 * i)
        fans += [vote(f"split-fan{i}", TARGET, at, count=3, subnet=f"198.21.{i}.0/24", page=False,
                      verified=at - timedelta(seconds=7)),
                 vote(f"split-fan{i}", TARGET, at + timedelta(seconds=30), count=7, subnet=f"198.21.{i}.0/24",
                      page=False, verified=at - timedelta(seconds=7))]
    found_pg, found_mem = await _in_postgres_and_memory(service, honest + surge + fans, f"{CAMPAIGN}-rush", 10)
    assert found_pg == found_mem
    assert any("rush=y" in subject for _, _, subject, _ in found_pg)  # selected in SQL by the rush
    held = set().union(*found_pg.values())
    assert held >= {e.vote_id for e in surge}
    assert not held & {e.vote_id for e in honest + fans}


async def test_a_farm_faster_than_a_person_is_found_alike_in_postgres_and_in_memory_page_or_no_page(service):
    """People who vote two to twenty-five seconds after verifying, every one on the page; fifty fresh identities on
    two datacenter /24s that vote within 1.5 s of verifying, half of them asking for the page with their ticket
    first. The delay bin below two seconds is stored with each vote and selected in SQL as in memory: the farm is
    held whole, page or no page, and no one else."""
    rng = random.Random(11)
    people = []
    for i in range(240):
        at = T0 - timedelta(minutes=10) + timedelta(seconds=rng.uniform(0, 900))
        people.append(vote(f"p{i}", (OTHER, THIRD)[i % 2], at, count=rng.choice((10, 4)), subnet=f"117.{i % 250}.1.0/24",
                           ua=f"ua-{rng.randrange(4)}", verified=at - timedelta(seconds=rng.uniform(2, 25))))
    farm = []
    for i in range(50):
        at = T0 + timedelta(seconds=2 * i + rng.uniform(0, 1))
        farm.append(vote(f"dc{i}", TARGET, at, count=10, subnet=f"47.92.{(14, 201)[i % 2]}.0/24", ua=f"ua-{rng.randrange(4)}",
                         page=i % 2 == 0, verified=at - timedelta(seconds=rng.uniform(0.3, 1.5)), kind="virtual"))
    found_pg, found_mem = await _in_postgres_and_memory(service, people + farm, f"{CAMPAIGN}-instant", 10)
    assert found_pg == found_mem
    assert any("delay=0-2s" in subject for _, _, subject, _ in found_pg)  # selected in SQL by the delay
    held = set().union(*found_pg.values())
    assert held >= {e.vote_id for e in farm}
    assert not held & {e.vote_id for e in people}


async def test_a_farm_that_keeps_going_is_held_after_its_surge_is_history_alike_in_postgres_and_in_memory(service):
    """A camouflage farm changing fingerprints, otherwise like people, one identity every 12 s for fifty minutes, two
    votes for TARGET among four: after its first twenty minutes the entry's share earlier that day holds the farm and
    no surge stands out; the habit its first finding named, counted for the entry and day in PostgreSQL as in
    memory, holds the rest."""
    rng = random.Random(3)
    honest = [vote(f"n{i}", TARGET if i % 25 == 0 else (OTHER, THIRD)[i % 2],
                   T0 - timedelta(minutes=20) + timedelta(seconds=4 * i), subnet=f"203.{i // 250}.{i % 250}.0/24",
                   ua=f"ua-{rng.randrange(20)}",
                   verified=T0 - timedelta(minutes=20) + timedelta(seconds=4 * i - rng.uniform(20, 300)))
              for i in range(1050)]
    farm = []
    for i in range(250):
        at = T0 + timedelta(seconds=12 * i + rng.uniform(0, 6))
        verified = at - timedelta(seconds=rng.uniform(30, 300))
        for k, entry in enumerate((OTHER, THIRD, TARGET, TARGET)):
            farm.append(vote(f"farm{i}", entry, at + timedelta(seconds=11 * k), subnet=f"{100 + i % 100}.{i}.7.0/24",
                             ua=f"ua-{rng.randrange(20)}", device=f"fp-{i}-{k}", verified=verified))
    found_pg, found_mem = await _in_postgres_and_memory(service, honest + farm, f"{CAMPAIGN}-kept", 20)
    assert found_pg == found_mem
    held = set().union(*found_pg.values())
    late = {e.vote_id for e in farm if e.entry_id == TARGET and e.cast_at >= T0 + timedelta(minutes=30)}
    assert late <= held
    assert not held & {e.vote_id for e in honest}


def opening_strike() -> tuple[list[CastVote], list[CastVote]]:
    """120 people over the campaign's first five minutes, a dozen in its first minute; at its 60th second forty
    identities of one copied user agent in a rush, from two networks, never again."""
    rng = random.Random(3)
    people = [vote(f"p{i}", (OTHER, THIRD)[i % 2], T0 + timedelta(seconds=rng.uniform(70, 300) if i >= 12 else
                                                                    rng.uniform(0, 55)), subnet=f"203.0.{i}.0/24",
                   verified=T0 - timedelta(seconds=90)) for i in range(120)]
    strike = T0 + timedelta(seconds=60)
    farm = [vote(f"farm{i}", TARGET, strike + timedelta(seconds=i * 0.1), count=10, subnet=f"100.{i % 2}.9.0/24",
                 ua="copied-ua", page=False, verified=strike - timedelta(seconds=3)) for i in range(40)]
    return people, farm


async def test_a_farm_striking_before_the_campaign_has_a_baseline_is_judged_later_alike_in_postgres_and_memory(
        service):
    """Forty identities of one copied user agent in a rush at the campaign's first minute, when a dozen people have
    voted, and never again: the instance keeps one of their votes and judges their cohorts once twenty others have
    voted — in PostgreSQL as in memory."""
    people, farm = opening_strike()
    found_pg, found_mem = await _in_postgres_and_memory(service, people + farm, f"{CAMPAIGN}-early", 4)
    assert found_pg == found_mem
    held = set().union(*found_pg.values())
    assert held >= {e.vote_id for e in farm}
    assert not held & {e.vote_id for e in people}


async def test_a_network_s_wave_is_judged_in_a_later_batch_alike_in_postgres_and_memory(service):
    """Twenty identities of one network, each with its own browser and the page loaded, all voting for one entry within
    ten seconds and never again, among people voting over six minutes: the instance keeps the wave and judges it
    once the 40 s after it have passed, in a later batch — in PostgreSQL as in memory."""
    rng = random.Random(8)
    people = [vote(f"p{i}", (OTHER, THIRD, TARGET)[i % 3], T0 + timedelta(seconds=rng.uniform(0, 360)),
                   subnet=f"203.0.{i}.0/24") for i in range(150)]
    wave = [vote(f"w{i}", TARGET, T0 + timedelta(seconds=120 + rng.uniform(0, 10)), count=10,
                 subnet="100.7.9.0/24") for i in range(20)]
    found_pg, found_mem = await _in_postgres_and_memory(service, people + wave, f"{CAMPAIGN}-wave", 4)
    assert found_pg == found_mem
    waves = {k: v for k, v in found_pg.items() if k[1] == "network_wave"}
    assert set().union(*waves.values()) == {e.vote_id for e in wave}
    assert not set().union(*found_pg.values()) & {e.vote_id for e in people}


async def test_a_wave_spread_over_networks_is_added_up_in_the_shared_windows_alike_in_postgres_and_memory(service):
    """Three networks, nine identities each (fewer than a network's wave), all voting for one entry within the same
    ten seconds and never again, among people voting over six minutes: each network's wave is counted towards the
    entry's in the shared windows, and the three are held as one cue — in PostgreSQL as in memory."""
    rng = random.Random(9)
    people = [vote(f"p{i}", (OTHER, THIRD, TARGET)[i % 3], T0 + timedelta(seconds=rng.uniform(0, 360)),
                   subnet=f"203.0.{i}.0/24") for i in range(150)]
    wave = [vote(f"w{n}-{i}", TARGET, T0 + timedelta(seconds=120 + rng.uniform(0, 10)), count=10,
                 subnet=f"100.7.{n}.0/24") for n in range(3) for i in range(9)]
    found_pg, found_mem = await _in_postgres_and_memory(service, people + wave, f"{CAMPAIGN}-xwave", 4)
    assert found_pg == found_mem
    waves = {k: v for k, v in found_pg.items() if k[1] == "network_wave"}
    assert set().union(*waves.values()) == {e.vote_id for e in wave}
    assert not set().union(*found_pg.values()) & {e.vote_id for e in people}


async def test_a_script_dripping_identities_is_held_over_its_day_alike_in_postgres_and_memory(service):
    """Twelve fresh identities, one every two minutes from addresses of their own, each a second after the code
    without the page and with one copied browser string, among people voting over forty minutes (a twentieth of them
    from a deep link, as quick and as page-less, each in their own browser): the user agent in a rush is counted in
    the shared windows, and the drip is held over the entry's day in PostgreSQL as in memory, and no one else."""
    rng = random.Random(12)
    people = []
    for i in range(600):
        at = T0 + timedelta(seconds=rng.uniform(0, 2400))
        linked = i % 20 == 0
        people.append(vote(f"p{i}", (OTHER, THIRD, TARGET)[i % 3], at, subnet=f"203.{i % 7}.{i % 250}.0/24",
                           ua=f"ua-{rng.randrange(300)}", page=not linked,
                           verified=at - timedelta(seconds=rng.uniform(1, 6) if linked else rng.uniform(30, 300))))
    drip = []
    for i in range(12):
        at = T0 + timedelta(seconds=600 + 120 * i + rng.uniform(0, 30))
        drip.append(vote(f"d{i}", TARGET, at, count=10, subnet=f"100.{64 + i}.3.0/24", ua="copied-wechat-iphone",
                         page=False, verified=at - timedelta(seconds=rng.uniform(0.5, 3))))
    found_pg, found_mem = await _in_postgres_and_memory(service, people + drip, f"{CAMPAIGN}-drip", 20)
    assert found_pg == found_mem
    assert set().union(*found_pg.values()) == {e.vote_id for e in drip}


async def test_kept_votes_are_judged_again_when_a_batch_fails_and_is_tried_again(service):
    """The farm striking before the campaign has a baseline, with every batch failing once before it commits (the
    consumer tries a failed batch again): the kept votes the failed attempt judged are still there for the retry,
    and the farm is held."""
    campaign, t = f"{CAMPAIGN}-retry", domain.Thresholds()
    people, farm = opening_strike()
    events = sorted(people + farm, key=lambda e: e.cast_at)
    nets, found = domain.NetworkState(t), {}

    class Failed(Exception):
        pass

    for i in range(0, len(events), 4):
        signals = [domain.VoteSignal.of(campaign, e, t) for e in events[i:i + 4]]
        with pytest.raises(Failed):
            async with service.pool.acquire() as conn, conn.transaction():
                store = HybridWindows(conn, nets, {0: (i, i + len(signals) - 1)})
                await domain.detect(signals, store, t)
                raise Failed  # rolled back, never committed
        _collect(found, await score(service.pool, signals, nets, t, offset=i))
    held = set().union(*found.values())
    assert held >= {e.vote_id for e in farm}
    assert not held & {e.vote_id for e in people}


async def a_crowd_jumps(service, after: datetime) -> tuple[list, list, datetime]:
    """600 people voting over an hour from the ten minutes of `after`, then a crowd of 120 giving the
    target ten times its share for ten minutes: the events, the crowd's and when it came."""
    await service.deliver([NominationApproved(nomination_id=TARGET, unit_id="unit-a", unit_name="甲大学",
                                              category_id="cases", entry_name="甲大学案例", step_id="office",
                                              final=True)], handler=detection.learn_entries)
    start = domain.window_start(after, domain.TEN_MINUTES)
    rng = random.Random(5)
    events = [vote(f"p{i}", (OTHER, THIRD)[i % 2] if i % 20 else TARGET,
                   start + timedelta(seconds=rng.uniform(0, 3600)), subnet=f"203.{i % 200}.{i // 200}.0/24",
                   count=rng.randint(1, 10)) for i in range(600)]
    surge_at = start + timedelta(hours=1, minutes=10)
    crowd = [vote(f"c{i}", TARGET, surge_at + timedelta(seconds=rng.uniform(0, 590)), subnet=f"198.{i}.7.0/24",
                  count=rng.randint(1, 10)) for i in range(120)]
    events = sorted(events + crowd, key=lambda e: e.cast_at)
    for i in range(0, len(events), 20):
        await service.deliver(events[i:i + 20])
    return events, crowd, surge_at


async def test_an_entry_whose_share_jumped_with_nothing_held_is_shown_to_operators(service):
    """A crowd that behaves like everyone — each on their own network, browser and fingerprint, verified days ago,
    looking at the page — gives one entry ten times its share of the campaign's identities for ten minutes. No rule
    holds it; the operator's list of jumps names the entry, its ten minutes and their votes, all still counted."""
    # Within the last day, and with the surge and its history on one campaign day (an entry's history is its day's)
    day = domain.window_start(datetime.now(UTC) - timedelta(hours=3), domain.DAY)
    events, crowd, surge_at = await a_crowd_jumps(service, max(day + timedelta(minutes=10),
                                                               datetime.now(UTC) - timedelta(hours=20)))
    operator = service.as_("ops", "operator")
    assert (await service.client.get(f"/campaigns/{CAMPAIGN}/jumps",
                                     headers=service.as_("u", "unit", "unit-a"))).status_code == 403
    r = await service.client.get(f"/campaigns/{CAMPAIGN}/jumps", headers=operator)
    assert r.status_code == 200, r.text
    [jump] = r.json()["jumps"]
    assert (jump["entry_id"], jump["entry_name"], jump["unit_name"]) == (str(TARGET), "甲大学案例", "甲大学")
    assert datetime.fromisoformat(jump["window_start"]) == surge_at
    assert jump["identities"] >= 120 and jump["share_before"] < 0.1 and jump["ratio"] >= 4 and jump["surge"] is True
    assert jump["excess"] >= 100  # beyond the entry's share before: about the crowd
    assert jump["new_identities"] >= 120 and jump["new_counted_votes"] >= sum(e.count for e in crowd)
    window = [e for e in events if e.entry_id == TARGET and surge_at <= e.cast_at < surge_at + timedelta(minutes=10)]
    assert (jump["counted_votes"], jump["flagged_votes"], jump["invalidated_votes"]) == (
        sum(e.count for e in window), 0, 0)


async def test_the_jumps_of_a_whole_voting_period_outlive_the_detector_windows_for_the_final_review(service):
    """A crowd jumped four days ago. The detector windows of that day are pruned after two days; the entries' and
    the campaign's identities per ten minutes stay, so the committee and the supervisor, reading the whole campaign
    at the final review, still see the jump (the operators' last day does not); units and experts read none."""
    day = domain.window_start(datetime.now(UTC) - timedelta(days=4), domain.DAY)
    _, crowd, surge_at = await a_crowd_jumps(service, day + timedelta(hours=2))
    now = datetime.now(UTC)
    async with service.pool.acquire() as conn:
        await repository.prune_windows(conn, now - timedelta(hours=48), now - timedelta(days=400))
    assert await service.pool.fetchval(
        "SELECT count(*) FROM windows WHERE campaign_id = $1 AND dimension NOT IN ('ids_ten', 'entry_trait_ten')",
        CAMPAIGN) == 0  # the detectors' own windows went
    url = f"/campaigns/{CAMPAIGN}/jumps"
    assert (await service.client.get(url, headers=service.as_("ops", "operator"))).json()["jumps"] == []
    for who in (service.as_("c", "committee"), service.as_("s", "supervisor")):
        r = await service.client.get(url, params={"whole_campaign": "true"}, headers=who)
        assert r.status_code == 200, r.text
        [jump] = r.json()["jumps"]
        assert (jump["entry_id"], datetime.fromisoformat(jump["window_start"])) == (str(TARGET), surge_at)
        assert jump["identities"] >= 120 and jump["new_identities"] >= 120
        assert jump["counted_votes"] >= sum(e.count for e in crowd) and jump["flagged_votes"] == 0
    for who in (service.as_("u", "unit", "unit-a"), service.as_("x", "expert")):
        assert (await service.client.get(url, params={"whole_campaign": "true"}, headers=who)).status_code == 403
    # … and once older than the retention of the ten minutes (`tens_retention_days`), they go too
    async with service.pool.acquire() as conn:
        await repository.prune_windows(conn, now - timedelta(hours=48), now - timedelta(days=2))
    r = await service.client.get(url, params={"whole_campaign": "true"}, headers=service.as_("c", "committee"))
    assert r.json()["jumps"] == []
