"""The vote batcher on the real PostgreSQL: one batch mixing every kind of request, decided exactly."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import asyncpg
import pytest

from massline.contracts import VoteCast, network_shard, parse_envelope
from massline.db import create_pool, migrate
from massline.outbox import Outbox
from services.voting.app import MIGRATIONS
from services.voting.batcher import VoteBatcher, VoteRefused, VoteRequest
from services.voting.domain import VotingError

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 20)
ENTRY = uuid.uuid4()
# Voters and the network they vote from; the two subnets fall on different shards of the vote topic.
SUBNET_A, SUBNET_B = "10.0.0.0/24", "10.0.1.0/24"
NETWORK = {"room": SUBNET_A, "near": SUBNET_A, "fresh": SUBNET_A, "replayer": SUBNET_B}


def _request(voter: str, key: str, count: int = 1, cap: int | None = None) -> VoteRequest:
    return VoteRequest(campaign_id="batcher", voter_id=voter, idempotency_key=key, entry_id=ENTRY,
                       category_id="gov", count=count, votes_per_day=10, per_entry_daily_cap=cap, day=DAY,
                       cast_at=datetime(2026, 11, 20, 8, tzinfo=UTC), ip_hash=f"h-{voter}",
                       subnet=NETWORK.get(voter), device_hash=None, identity_verified_at=None)


async def _outcome(batcher: VoteBatcher, batch: list[VoteRequest]) -> list[object]:
    await batcher._settle_with_retry(batch)
    out: list[object] = []
    for r in batch:
        try:
            out.append(r.future.result())
        except VoteRefused as refused:
            out.append((refused.code, refused.remaining_today))
        except VotingError as refused:
            out.append(refused.code)
    return out


async def test_one_batch_with_room_near_limit_repeats_and_replays(database_url: str) -> None:
    schema = f"voting_b{uuid.uuid4().hex[:6]}"
    await migrate(database_url, schema, MIGRATIONS)
    pool = await create_pool(database_url, schema)
    try:
        batcher = VoteBatcher(lambda: pool, Outbox("voting", schema))
        # Earlier today: "near" used 8 of 10; "replayer" cast the key "r1".
        first = await _outcome(batcher, [_request("near", "n0", 4), _request("near", "n1", 4),
                                         _request("replayer", "r1", 2)])
        assert [o[0] for o in first] == [201, 201, 201]  # type: ignore[index]

        batch = [
            _request("room", "a", 3), _request("room", "b", 2),    # fits: taken at once
            _request("room", "a", 3),                              # the same key again in the batch
            _request("near", "n2", 1), _request("near", "n3", 2),  # 2 left: the first fits, the second not
            _request("fresh", "f", 10),                            # a whole day's votes at once
        ]
        room_a, room_b, room_again, near_1, near_2, fresh = await _outcome(batcher, batch)
        assert (room_a[0], room_a[1]["remaining_today"]) == (201, 7)  # type: ignore[index]
        assert (room_b[0], room_b[1]["remaining_today"]) == (201, 5)  # type: ignore[index]
        assert room_again == (201, room_a[1], True)  # the first answer again, marked a replay  # type: ignore[index]
        assert (near_1[0], near_1[1]["remaining_today"]) == (201, 1)  # type: ignore[index]
        assert near_2 == ("quota_exceeded", 1)
        assert (fresh[0], fresh[1]["remaining_today"]) == (201, 0)  # type: ignore[index]

        # A key already in the log, beside a new vote of the same voter: the stored answer, one new vote.
        replay, new = await _outcome(batcher, [_request("replayer", "r1", 2), _request("replayer", "r2", 1)])
        assert replay == (201, first[2][1], True)  # type: ignore[index]
        assert (new[0], new[1]["remaining_today"]) == (201, 7)  # type: ignore[index]

        used = {r["voter_id"]: r["used"] for r in await pool.fetch("SELECT voter_id, used FROM daily_quota")}
        assert used == {"room": 5, "near": 9, "replayer": 3, "fresh": 10}
        logged = await pool.fetch("SELECT voter_id, sum(count) AS n FROM votes GROUP BY voter_id")
        assert {r["voter_id"]: r["n"] for r in logged} == used

        # The outbox holds one VoteCast per network shard and batch, together carrying each vote once.
        bodies = [r["body"] for r in await pool.fetch("SELECT body FROM outbox WHERE event_type = 'VoteCast'")]
        events: list[VoteCast] = [parse_envelope(bytes(b))[1] for b in bodies]  # type: ignore[misc]
        assert all(isinstance(e, VoteCast) for e in events)
        votes = [v for e in events for v in e.votes]
        assert len({v.vote_id for v in votes}) == len(votes) == 3 + 4 + 1
        assert all(network_shard(v.subnet, v.ip_hash, v.voter_id) == e.network_shard for e in events for v in e.votes)
        assert {e.network_shard for e in events} == {network_shard(SUBNET_A, None, ""), network_shard(SUBNET_B, None, "")}
        # Per batch, the votes from one subnet travel together, whoever cast them: the first batch
        # (two subnets) gave two events, each later batch (one subnet) one.
        assert len(events) == 2 + 1 + 1
        main = next(e for e in events if room_a[1]["vote_id"] in {str(v.vote_id) for v in e.votes})  # type: ignore[index]
        assert sorted(str(v.vote_id) for v in main.votes) == sorted(
            o[1]["vote_id"] for o in (room_a, room_b, near_1, fresh))  # type: ignore[index]
        assert {v.voter_id for v in main.votes} == {"room", "near", "fresh"}
    finally:
        await pool.close()


async def test_concurrent_batches_never_pass_the_limit(database_url: str) -> None:
    schema = f"voting_c{uuid.uuid4().hex[:6]}"
    await migrate(database_url, schema, MIGRATIONS)
    pool = await create_pool(database_url, schema)
    try:
        batcher = VoteBatcher(lambda: pool, Outbox("voting", schema), max_batch=8, concurrency=4)
        runner = asyncio.create_task(batcher.run())
        requests = [_request(f"v{i % 5}", f"k{i}", 1 + i % 3) for i in range(200)]
        results = await asyncio.gather(*(batcher.cast(r) for r in requests), return_exceptions=True)
        runner.cancel()
        accepted = [(r.voter_id, r.count) for r, o in zip(requests, results, strict=False) if isinstance(o, tuple)]
        assert all(isinstance(o, (tuple, VoteRefused)) for o in results), results
        per_voter = {v: sum(c for w, c in accepted if w == v) for v in {w for w, _ in accepted}}
        used = {r["voter_id"]: r["used"] for r in await pool.fetch("SELECT voter_id, used FROM daily_quota")}
        assert per_voter == used and max(used.values()) <= 10
        assert all(n >= 8 for n in used.values())  # a voter is refused only when what it asked no longer fit
    finally:
        await pool.close()


async def _batcher(database_url: str, prefix: str) -> tuple[VoteBatcher, asyncpg.Pool]:
    schema = f"voting_{prefix}{uuid.uuid4().hex[:6]}"
    await migrate(database_url, schema, MIGRATIONS)
    pool = await create_pool(database_url, schema)
    return VoteBatcher(lambda: pool, Outbox("voting", schema)), pool


async def _logged_votes(pool: asyncpg.Pool) -> list[str]:
    """Every vote id the outbox's VoteCast events carry."""
    bodies = [r["body"] for r in await pool.fetch("SELECT body FROM outbox WHERE event_type = 'VoteCast'")]
    return [str(v.vote_id) for b in bodies for v in parse_envelope(bytes(b))[1].votes]  # type: ignore[union-attr]


async def test_a_key_reused_for_another_vote_is_refused_and_a_retry_is_answered_even_with_the_day_used_up(
        database_url: str) -> None:
    batcher, pool = await _batcher(database_url, "k")
    try:
        (first,) = await _outcome(batcher, [_request("v", "k1", 3)])
        # A voter with room (taken at once) sending the logged request again and, after it, the key for another.
        assert await _outcome(batcher, [_request("v", "k1", 3), _request("v", "k1", 2)]) == [
            (201, first[1], True), "idempotency_key_reused"]  # type: ignore[index]
        assert await pool.fetchval("SELECT used FROM daily_quota WHERE voter_id = 'v'") == 3
        other = _request("v", "k1", 3)
        other.entry_id = uuid.uuid4()
        # Later: the key with another entry, with another count, and the same request again (from another device).
        retry = _request("v", "k1", 3)
        retry.device_hash = "another-device"
        reused_entry, reused_count, replay, fill = await _outcome(
            batcher, [other, _request("v", "k1", 4), retry, _request("v", "k2", 7)])
        assert reused_entry == reused_count == "idempotency_key_reused"
        assert replay == (201, first[1], True)  # type: ignore[index]
        assert fill[1]["remaining_today"] == 0  # type: ignore[index]  # the reused key took nothing

        # The day is used up: the same request again is still its first answer, the key with another count not.
        again, reused = await _outcome(batcher, [_request("v", "k1", 3), _request("v", "k1", 1)])
        assert again == (201, first[1], True)  # type: ignore[index]
        assert reused == "idempotency_key_reused"
        assert await _outcome(batcher, [_request("v", "k3", 1)]) == [("quota_exceeded", 0)]

        rows = await pool.fetch("SELECT idempotency_key, entry_id, count FROM votes ORDER BY idempotency_key")
        assert [(r["idempotency_key"], r["entry_id"], r["count"]) for r in rows] == [("k1", ENTRY, 3), ("k2", ENTRY, 7)]
        assert await pool.fetchval("SELECT used FROM daily_quota WHERE voter_id = 'v'") == 10
        assert len(await _logged_votes(pool)) == 2
    finally:
        await pool.close()


async def test_a_vote_the_database_refuses_fails_alone_and_the_rest_of_its_batch_counts_once(
        database_url: str) -> None:
    batcher, pool = await _batcher(database_url, "i")
    try:
        # A stand-in for any value that passes validation but that the database refuses: this key.
        await pool.execute("ALTER TABLE votes ADD CONSTRAINT refuses_poison CHECK (idempotency_key <> 'poison')")
        batch = [_request(f"v{i}", f"k{i}", 1 + i % 3) for i in range(12)]
        batch[7] = _request("v7", "poison", 2)
        batch.append(_request("v3", "k3", 1))  # a repeat of an earlier key of the same batch
        settled = await _outcome_or_error(batcher, batch)
        assert isinstance(settled[7], asyncpg.CheckViolationError)
        good = [i for i in range(12) if i != 7]
        assert all(settled[i][:1] == (201,) for i in good)  # type: ignore[index]
        assert settled[12] == (201, settled[3][1], True)  # type: ignore[index]

        rows = await pool.fetch("SELECT voter_id, count, vote_id::text FROM votes")
        assert {r["voter_id"]: r["count"] for r in rows} == {f"v{i}": 1 + i % 3 for i in good}
        assert sorted(r["vote_id"] for r in rows) == sorted(settled[i][1]["vote_id"] for i in good)  # type: ignore[index]
        used = {r["voter_id"]: r["used"] for r in await pool.fetch("SELECT voter_id, used FROM daily_quota")}
        assert used == {f"v{i}": 1 + i % 3 for i in good}
        carried = await _logged_votes(pool)
        assert sorted(carried) == sorted(r["vote_id"] for r in rows)  # each accepted vote travels once
    finally:
        await pool.close()


async def _outcome_or_error(batcher: VoteBatcher, batch: list[VoteRequest]) -> list[object]:
    await batcher._settle_with_retry(batch)
    return [r.future.exception() or r.future.result() for r in batch]
