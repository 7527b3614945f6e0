"""Sealing the vote log on the real PostgreSQL: due days only, once, immutable, resealed when a day grows, provable."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from massline.db import create_pool, migrate
from massline.votelog import Tree, canonical_leaf, hash_of_leaf, leaf_hash, verify_inclusion
from services.voting.app import MIGRATIONS, build_service
from services.voting.domain import VoteNotSealed
from services.voting.services import seals
from services.voting.settings import VotingSettings

pytestmark = pytest.mark.integration

CAMPAIGN = "sealed"
ENTRY = uuid.uuid4()
DAY1, DAY2 = date(2026, 12, 1), date(2026, 12, 2)
NOON_DAY2 = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai
GRACE = timedelta(seconds=30)


async def _vote(pool: asyncpg.Pool, voter: str, day: date, count: int, at: datetime) -> uuid.UUID:
    vote_id = uuid.uuid4()
    await pool.execute(
        "INSERT INTO votes (vote_id, campaign_id, voter_id, idempotency_key, entry_id, category_id, count, day, "
        "cast_at, response) VALUES ($1, $2, $3, $4, $5, 'gov', $6, $7, $8, '{}')",
        vote_id, CAMPAIGN, voter, str(vote_id), ENTRY, count, day, at)
    return vote_id


async def test_days_are_sealed_when_over_or_closed_once_and_every_vote_is_provable(database_url: str) -> None:
    schema = f"voting_s{uuid.uuid4().hex[:6]}"
    await migrate(database_url, schema, MIGRATIONS)
    pool = await create_pool(database_url, schema)
    settings = VotingSettings(database_url=database_url, env="test")
    outbox = build_service(settings).rt.outbox
    secret = settings.secret_key
    try:
        await pool.execute("INSERT INTO campaigns (id, version, timezone, vote_rules, categories, current_phase) "
                           "VALUES ($1, 1, 'Asia/Shanghai', '{}', '[]', 'voting')", CAMPAIGN)
        v1 = [await _vote(pool, f"voter{i}", DAY1, i + 1, NOON_DAY2 - timedelta(days=1)) for i in range(5)]
        await pool.execute("INSERT INTO vote_validity (vote_id, state, reason_code) VALUES ($1, 'held', 'x')", v1[2])
        v2 = [await _vote(pool, "voter0", DAY2, 2, NOON_DAY2 - timedelta(minutes=5))]

        # at noon of day 2 with voting open: day 1 only; again: nothing
        [sealed] = await seals.seal_due(pool, outbox, secret, NOON_DAY2, GRACE)
        assert (sealed.day, sealed.seq, sealed.leaf_count) == (DAY1, 1, 5)
        assert await seals.seal_due(pool, outbox, secret, NOON_DAY2, GRACE) == []
        page = await seals.day_leaves(pool, CAMPAIGN, DAY1, None, 0, 100)
        leaves = page["leaves"]
        assert Tree([leaf_hash(canonical_leaf(leaf)) for leaf in leaves]).root().hex() == sealed.root
        assert [leaf["vote_id"] for leaf in leaves] == sorted(str(v) for v in v1)
        assert {leaf["status"] for leaf in leaves if leaf["vote_id"] == str(v1[2])} == {"held"}
        assert "voter0" not in json.dumps(leaves) and len({leaf["voter"] for leaf in leaves}) == 5
        body = json.loads(await pool.fetchval("SELECT body FROM outbox WHERE event_type = 'VoteLogSealed'"))
        assert (body["payload"]["root"], body["payload"]["leaf_count"]) == (sealed.root, 5)

        # every vote's proof leads to the published root; a vote of an unsealed day has none yet
        for vote_id in v1:
            proof = await seals.inclusion_proof(pool, seals.SealTrees(), CAMPAIGN, vote_id)
            assert verify_inclusion(bytes.fromhex(hash_of_leaf(proof["leaf"])), proof["index"], proof["tree_size"],
                                    [bytes.fromhex(p) for p in proof["audit_path"]], bytes.fromhex(sealed.root))
        with pytest.raises(VoteNotSealed):
            await seals.inclusion_proof(pool, seals.SealTrees(), CAMPAIGN, v2[0])

        # voting closes: the last day is sealed once no vote came for the grace time
        await pool.execute("UPDATE campaigns SET current_phase = 'expert_review' WHERE id = $1", CAMPAIGN)
        assert not (await seals.published_seals(pool, CAMPAIGN, NOON_DAY2))["complete"]
        [closing] = await seals.seal_due(pool, outbox, secret, NOON_DAY2, GRACE)
        assert (closing.day, closing.seq, closing.leaf_count) == (DAY2, 1, 1)
        published = await seals.published_seals(pool, CAMPAIGN, NOON_DAY2)
        assert published["complete"] and [s["day"] for s in published["seals"]] == ["2026-12-01", "2026-12-02"]

        # a seal is immutable
        with pytest.raises(asyncpg.RaiseError, match="immutable"):
            await pool.execute("UPDATE vote_log_seals SET root = 'x' WHERE day = $1", DAY1)
        with pytest.raises(asyncpg.RaiseError, match="immutable"):
            await pool.execute("DELETE FROM vote_log_leaves WHERE day = $1", DAY1)

        # voting reopened the same day: after its midnight the day is sealed again, with all its votes
        await _vote(pool, "voter9", DAY2, 1, NOON_DAY2 + timedelta(hours=1))
        await pool.execute("UPDATE campaigns SET current_phase = 'voting' WHERE id = $1", CAMPAIGN)
        assert await seals.seal_due(pool, outbox, secret, NOON_DAY2 + timedelta(hours=1, seconds=40), GRACE) == []
        [again] = await seals.seal_due(pool, outbox, secret, NOON_DAY2 + timedelta(hours=13), GRACE)
        assert (again.day, again.seq, again.leaf_count) == (DAY2, 2, 2)
        latest = (await seals.published_seals(pool, CAMPAIGN, NOON_DAY2))["seals"]
        assert [(s["day"], s["seq"]) for s in latest] == [("2026-12-01", 1), ("2026-12-02", 2)]
    finally:
        await pool.close()
