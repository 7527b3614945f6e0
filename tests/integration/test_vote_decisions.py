"""Flags, invalidations and reinstatements on the standings, on the real PostgreSQL: each move applied once, in order."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from massline.consumer import Delivered
from massline.contracts import VoteFlagged, VoteInvalidated, VoteReinstated, make_envelope, parse_envelope
from massline.db import create_pool, migrate
from services.voting.app import MIGRATIONS, build_service
from services.voting.services import standings
from services.voting.settings import VotingSettings

pytestmark = pytest.mark.integration

CAMPAIGN = "decisions"
ENTRY_A, ENTRY_B = uuid.uuid4(), uuid.uuid4()


def _decision(kind: type, vote_id: uuid.UUID, entry: uuid.UUID, count: int = 1) -> Delivered:
    event = kind(vote_id=vote_id, voter_id="v", entry_id=entry, category_id="gov", count=count,
                 reason_code="device_shared", explanation="x", decision_id=uuid.uuid4())
    return Delivered(make_envelope(event, campaign_id=CAMPAIGN, producer="antifraud"), event, event.topic, 0, 0)


async def test_a_large_batch_with_repeats_moves_each_vote_once_and_in_order(database_url: str) -> None:
    schema = f"voting_d{uuid.uuid4().hex[:6]}"
    await migrate(database_url, schema, MIGRATIONS)
    pool = await create_pool(database_url, schema)
    deps = build_service(VotingSettings(database_url=database_url, env="test"))
    try:
        await pool.execute("INSERT INTO entries (id, campaign_id, category_id, name, unit_name, votable) VALUES "
                           "($1, $3, 'gov', 'A', 'u', true), ($2, $3, 'gov', 'B', 'u', true)", ENTRY_A, ENTRY_B,
                           CAMPAIGN)
        await pool.execute("INSERT INTO standings (entry_id, campaign_id, category_id, votes) VALUES "
                           "($1, $3, 'gov', 5000), ($2, $3, 'gov', 100)", ENTRY_A, ENTRY_B, CAMPAIGN)
        farm = [uuid.uuid4() for _ in range(3000)]
        flip = uuid.uuid4()
        batch = [_decision(VoteInvalidated, v, ENTRY_A) for v in farm]
        # One vote invalidated, reinstated and invalidated again in the same batch; one invalidation repeated.
        batch += [_decision(VoteInvalidated, flip, ENTRY_B, 3), _decision(VoteReinstated, flip, ENTRY_B, 3),
                  _decision(VoteInvalidated, flip, ENTRY_B, 3), _decision(VoteInvalidated, farm[0], ENTRY_A)]
        async with pool.acquire() as conn, conn.transaction():
            await standings.apply_vote_decisions(conn, deps, batch)
        rows = {r["entry_id"]: (r["votes"], r["invalidated"])
                for r in await pool.fetch("SELECT entry_id, votes, invalidated FROM standings")}
        assert rows == {ENTRY_A: (2000, 3000), ENTRY_B: (97, 3)}

        # Redelivered (another event id, same decisions): nothing moves again. A reinstatement adds back once.
        async with pool.acquire() as conn, conn.transaction():
            again = batch[:10] + [_decision(VoteReinstated, farm[1], ENTRY_A)] * 2
            await standings.apply_vote_decisions(conn, deps, again)
        rows = {r["entry_id"]: (r["votes"], r["invalidated"])
                for r in await pool.fetch("SELECT entry_id, votes, invalidated FROM standings")}
        assert rows == {ENTRY_A: (2001, 2999), ENTRY_B: (97, 3)}
        tallies = await pool.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'TallyUpdated'")
        assert tallies == 2  # one per touched category per batch
    finally:
        await pool.close()


# --- held votes: flagged votes leave the count until an invalidation or a reinstatement decides them ---

async def _standings_db(database_url: str) -> tuple[Any, Any]:
    schema = f"voting_h{uuid.uuid4().hex[:6]}"
    await migrate(database_url, schema, MIGRATIONS)
    pool = await create_pool(database_url, schema)
    await pool.execute("INSERT INTO campaigns (id, version, timezone, vote_rules, categories, current_phase) "
                       "VALUES ($1, 1, 'Asia/Shanghai', $2, '[]', 'voting')", CAMPAIGN, {"show_counts": "always"})
    await pool.execute("INSERT INTO entries (id, campaign_id, category_id, name, unit_name, votable) VALUES "
                       "($1, $3, 'gov', 'A', 'u', true), ($2, $3, 'gov', 'B', 'u', true)", ENTRY_A, ENTRY_B, CAMPAIGN)
    await pool.execute("INSERT INTO standings (entry_id, campaign_id, category_id, votes) VALUES "
                       "($1, $3, 'gov', 100), ($2, $3, 'gov', 50)", ENTRY_A, ENTRY_B, CAMPAIGN)
    return pool, build_service(VotingSettings(database_url=database_url, env="test"))


def _held(kind: type, vote_id: uuid.UUID, entry: uuid.UUID = ENTRY_A, count: int = 2,
          reason: str = "device_shared", label: bool = True) -> Delivered:
    labels = {"reason_text": "many identities voting from one device",
              "reason_text_zh": "多个身份使用同一设备投票"} if label else {}
    event = kind(vote_id=vote_id, voter_id="voter-secret-id", entry_id=entry, category_id="gov", count=count,
                 reason_code=reason, explanation="6 identities on one device", decision_id=uuid.uuid4(), **labels)
    return Delivered(make_envelope(event, campaign_id=CAMPAIGN, producer="antifraud"), event, event.topic, 0, 0)


async def _apply(pool: Any, deps: Any, batch: list[Delivered]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await standings.apply_vote_decisions(conn, deps, batch)


async def _counts(pool: Any) -> dict[uuid.UUID, tuple[int, int, int]]:
    return {r["entry_id"]: (r["votes"], r["held"], r["invalidated"])
            for r in await pool.fetch("SELECT entry_id, votes, held, invalidated FROM standings")}


async def _reasons(pool: Any) -> dict[tuple[uuid.UUID, str, str], int]:
    return {(r["entry_id"], r["state"], r["reason_code"]): r["votes"]
            for r in await pool.fetch("SELECT entry_id, state, reason_code, votes FROM standing_reasons WHERE votes <> 0")}


async def _last_standings(pool: Any) -> list[Any]:
    body = await pool.fetchval("SELECT body FROM outbox WHERE event_type = 'TallyUpdated' ORDER BY id DESC LIMIT 1")
    _, tally = parse_envelope(bytes(body))
    return list(tally.standings)  # type: ignore[attr-defined]


async def _last_tally(pool: Any) -> dict[str, int]:
    body = await pool.fetchval("SELECT body FROM outbox WHERE event_type = 'TallyUpdated' ORDER BY id DESC LIMIT 1")
    _, tally = parse_envelope(bytes(body))
    return {str(s.entry_id): s.votes for s in tally.standings}  # type: ignore[attr-defined]


async def test_a_flag_holds_the_vote_out_of_the_count_and_an_invalidation_does_not_subtract_again(
        database_url: str) -> None:
    pool, deps = await _standings_db(database_url)
    try:
        v1, v2 = uuid.uuid4(), uuid.uuid4()
        await _apply(pool, deps, [_held(VoteFlagged, v1), _held(VoteFlagged, v2, count=3)])
        assert (await _counts(pool))[ENTRY_A] == (95, 5, 0)
        assert await _reasons(pool) == {(ENTRY_A, "held", "device_shared"): 5}
        assert (await _last_tally(pool))[str(ENTRY_A)] == 95  # the tally scoring reads: counted votes only

        # One held vote is invalidated: out of `held` into `invalidated`, the count does not drop again.
        tallies = await pool.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'TallyUpdated'")
        await _apply(pool, deps, [_held(VoteInvalidated, v1, reason="device_shared")])
        assert (await _counts(pool))[ENTRY_A] == (95, 3, 2)
        assert await _reasons(pool) == {(ENTRY_A, "held", "device_shared"): 3,
                                        (ENTRY_A, "invalidated", "device_shared"): 2}
        # The counted votes did not change, but the tally says so: the case is closed, the votes invalidated, why.
        assert await pool.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'TallyUpdated'") == tallies + 1
        [a] = [s for s in (await _last_standings(pool)) if s.entry_id == ENTRY_A]
        assert (a.votes, a.held, a.invalidated) == (95, 3, 2)
        assert {(r.state, r.reason_code, r.votes, r.reason_zh) for r in a.reasons or []} == {
            ("held", "device_shared", 3, "多个身份使用同一设备投票"),
            ("invalidated", "device_shared", 2, "多个身份使用同一设备投票")}
        assert "voter-secret-id" not in json.dumps([s.model_dump(mode="json") for s in await _last_standings(pool)])

        # The other is reinstated: back in the count. An invalidated vote reinstated is back too.
        await _apply(pool, deps, [_held(VoteReinstated, v2, count=3), _held(VoteReinstated, v1)])
        assert (await _counts(pool))[ENTRY_A] == (100, 0, 0)
        assert await _reasons(pool) == {}
        assert (await _last_tally(pool))[str(ENTRY_A)] == 100
    finally:
        await pool.close()


async def test_redelivered_decisions_change_nothing_and_one_batch_applies_them_in_order(database_url: str) -> None:
    pool, deps = await _standings_db(database_url)
    try:
        held, out, back, twice = (uuid.uuid4() for _ in range(4))
        batch = [
            _held(VoteFlagged, held),                                                   # held
            _held(VoteFlagged, out, entry=ENTRY_B, count=4, reason="lockstep_group", label=False),
            _held(VoteInvalidated, out, entry=ENTRY_B, count=4, reason="lockstep_group", label=False),  # invalidated
            _held(VoteFlagged, back, count=7), _held(VoteReinstated, back, count=7),  # flagged and reinstated: counts
            _held(VoteFlagged, twice), _held(VoteFlagged, twice),                       # the same flag twice: once
        ]
        await _apply(pool, deps, batch)
        expected = {ENTRY_A: (96, 4, 0), ENTRY_B: (46, 0, 4)}
        reasons = {(ENTRY_A, "held", "device_shared"): 4, (ENTRY_B, "invalidated", "lockstep_group"): 4}
        assert await _counts(pool) == expected
        assert await _reasons(pool) == reasons

        # Redelivered (other event ids, the same decisions), whole or in part: nothing moves.
        await _apply(pool, deps, [_held(type(d.event), d.event.vote_id, d.event.entry_id, d.event.count,
                                      d.event.reason_code, d.event.reason_text is not None) for d in batch])
        await _apply(pool, deps, batch[:3] + batch[5:])
        assert await _counts(pool) == expected
        assert await _reasons(pool) == reasons
        # A flag for a vote already invalidated does not bring it back into `held`.
        await _apply(pool, deps, [_held(VoteFlagged, out, entry=ENTRY_B, count=4, reason="lockstep_group",
                                        label=False)])
        assert await _counts(pool) == expected

        # The public standings: counted, held, invalidated, the reasons with the labels the decisions carried
        # (the code where none was carried); never a voter.
        deps.rt._pool = pool  # the pool a started service would hold
        answer = await standings.public_standings(deps, CAMPAIGN, None)
        a, b = (next(e for e in answer["categories"]["gov"] if e["entry_id"] == str(x)) for x in (ENTRY_A, ENTRY_B))
        assert (a["votes"], a["held"], a["invalidated"], a["rank"]) == (96, 4, 0, 1)
        assert a["reasons"] == {"held": [{"reason_code": "device_shared", "votes": 4,
                                          "reason": "many identities voting from one device",
                                          "reason_zh": "多个身份使用同一设备投票"}], "invalidated": []}
        assert b["reasons"] == {"held": [], "invalidated": [{"reason_code": "lockstep_group", "votes": 4,
                                                             "reason": "lockstep_group",
                                                             "reason_zh": "lockstep_group"}]}
        assert "voter-secret-id" not in str(answer)
    finally:
        await pool.close()


async def test_votes_invalidated_before_the_migration_keep_their_state(database_url: str, tmp_path: Any) -> None:
    """0002 turns each vote's invalidated flag into its state; their reason, never recorded, says so."""
    schema = f"voting_m{uuid.uuid4().hex[:6]}"
    first = tmp_path / "migrations"
    first.mkdir()
    (first / "0001_voting.sql").write_text((MIGRATIONS / "0001_voting.sql").read_text())
    await migrate(database_url, schema, first)
    pool = await create_pool(database_url, schema)
    try:
        gone, back = uuid.uuid4(), uuid.uuid4()
        await pool.execute("INSERT INTO votes (vote_id, campaign_id, voter_id, idempotency_key, entry_id, category_id, "
                           "count, day, cast_at, response) VALUES ($1, $3, 'v', 'k1', $4, 'gov', 2, '2026-11-20', "
                           "now(), '{}'), ($2, $3, 'v', 'k2', $4, 'gov', 1, '2026-11-20', now(), '{}')",
                           gone, back, CAMPAIGN, ENTRY_A)
        await pool.execute("INSERT INTO vote_validity VALUES ($1, true), ($2, false)", gone, back)
        await pool.execute("INSERT INTO standings (entry_id, campaign_id, category_id, votes, invalidated) "
                           "VALUES ($1, $2, 'gov', 10, 2)", ENTRY_A, CAMPAIGN)
        await migrate(database_url, schema, MIGRATIONS)
        states = {r["vote_id"]: (r["state"], r["reason_code"]) for r in await pool.fetch("SELECT * FROM vote_validity")}
        assert states == {gone: ("invalidated", "unrecorded"), back: ("counted", None)}
        assert await _reasons(pool) == {(ENTRY_A, "invalidated", "unrecorded"): 2}
        deps = build_service(VotingSettings(database_url=database_url, env="test"))
        await _apply(pool, deps, [_held(VoteReinstated, gone)])
        assert (await _counts(pool))[ENTRY_A] == (12, 0, 0) and await _reasons(pool) == {}
    finally:
        await pool.close()
