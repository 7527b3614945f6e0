"""Invalidations and reinstatements on the standings, on the real PostgreSQL: each move applied once, in order."""

from __future__ import annotations

import uuid

import pytest

from massline.consumer import Delivered
from massline.contracts import VoteInvalidated, VoteReinstated, make_envelope
from massline.db import create_pool, migrate
from services.voting import handlers
from services.voting.app import MIGRATIONS, build_runtime
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
    rt = build_runtime(VotingSettings(database_url=database_url, env="test"))
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
            await handlers.on_vote_decision(conn, batch, rt)
        rows = {r["entry_id"]: (r["votes"], r["invalidated"])
                for r in await pool.fetch("SELECT entry_id, votes, invalidated FROM standings")}
        assert rows == {ENTRY_A: (2000, 3000), ENTRY_B: (97, 3)}

        # Redelivered (another event id, same decisions): nothing moves again. A reinstatement adds back once.
        async with pool.acquire() as conn, conn.transaction():
            await handlers.on_vote_decision(conn, batch[:10] + [_decision(VoteReinstated, farm[1], ENTRY_A)] * 2, rt)
        rows = {r["entry_id"]: (r["votes"], r["invalidated"])
                for r in await pool.fetch("SELECT entry_id, votes, invalidated FROM standings")}
        assert rows == {ENTRY_A: (2001, 2999), ENTRY_B: (97, 3)}
        tallies = await pool.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'TallyUpdated'")
        assert tallies == 2  # one per touched category per batch
    finally:
        await pool.close()
