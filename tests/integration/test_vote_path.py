"""The vote path as a voter meets it, through the fast path, the batcher and the real PostgreSQL.

- Without a phase set by the operator, votes are taken while the campaign definition's dates (as
  `CampaignLoaded` carried them) say voting, and refused with `phase_closed` outside them; a `PhaseChanged`
  overrides the dates.
- An idempotency key names one vote: the same request again gets the first answer (status and body, said in a
  header), another request under it `idempotency_key_reused` (422), and nothing changes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from massline.consumer import Delivered
from massline.contracts import (
    CampaignLoaded,
    CategoryInfo,
    Event,
    PhaseChanged,
    PhaseInfo,
    VoteRules,
    make_envelope,
    parse_envelope,
)
from massline.db import create_pool, migrate
from services.voting import domain
from services.voting.app import MIGRATIONS, build_service
from services.voting.fastpath import VoteFastPath
from services.voting.services import catalog
from services.voting.settings import VotingSettings

pytestmark = pytest.mark.integration

ENTRY = uuid.uuid4()


@pytest.fixture
async def voting(database_url: str) -> AsyncIterator[tuple[Any, Any]]:
    """The voting service over its own schema, its batcher settling; campaigns come by their events."""
    schema = f"voting_p{uuid.uuid4().hex[:8]}"
    await migrate(database_url, schema, MIGRATIONS)
    pool = await create_pool(database_url, schema)
    deps = build_service(VotingSettings(database_url=database_url, env="test"))
    deps.rt._pool = pool  # the pool a started service would hold
    settling = asyncio.create_task(deps.batcher.run())
    try:
        yield deps, pool
    finally:
        settling.cancel()
        await pool.close()


async def _deliver(pool: Any, deps: Any, campaign_id: str, *events: Event) -> None:
    batch = [Delivered(make_envelope(e, campaign_id=campaign_id, producer="submission"), e, e.topic, 0, i)
             for i, e in enumerate(events)]
    async with pool.acquire() as conn, conn.transaction():
        await catalog.learn_campaigns(conn, deps, batch)
    deps.rules.invalidate()


async def _campaign(pool: Any, deps: Any, campaign_id: str, voting_from: datetime, voting_to: datetime,
                    entry: uuid.UUID | None = None) -> None:
    """A campaign loaded with its dates and one votable entry; no phase set by the operator."""
    phases = [PhaseInfo(id="nomination", starts_at=voting_from - timedelta(days=30), ends_at=voting_from),
              PhaseInfo(id="voting", starts_at=voting_from, ends_at=voting_to),
              PhaseInfo(id="expert_review", starts_at=voting_to, ends_at=voting_to + timedelta(days=30))]
    await _deliver(pool, deps, campaign_id, CampaignLoaded(
        campaign_id=campaign_id, version=1, title="t", timezone="Asia/Shanghai",
        categories=[CategoryInfo(id="gov", name="政务")], phases=phases, current_phase=None,
        vote_rules=VoteRules(votes_per_day=10)))
    await pool.execute("INSERT INTO entries (id, campaign_id, category_id, name, unit_name, votable) "
                       "VALUES ($1, $2, 'gov', 'A', 'u', true)", entry or uuid.uuid4(), campaign_id)


async def _not_reached(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("the vote path answers votes itself")


def _client(deps: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=VoteFastPath(_not_reached, deps)),
                             base_url="http://voting")


def _ticket(deps: Any, campaign_id: str, voter: str = "v1") -> dict[str, str]:
    ticket = domain.issue_ticket(deps.settings.secret_key, voter_id=voter, campaign_id=campaign_id, method="sms",
                                 ttl_s=600)
    return {"authorization": f"Bearer {ticket}"}


async def test_without_an_operators_phase_the_vote_path_follows_the_definitions_dates(voting: Any) -> None:
    deps, pool = voting
    now = datetime.now(UTC)
    await _campaign(pool, deps, "dates-in", now - timedelta(days=1), now + timedelta(days=1))
    await _campaign(pool, deps, "dates-before", now + timedelta(hours=1), now + timedelta(days=2))
    await _campaign(pool, deps, "dates-after", now - timedelta(days=2), now - timedelta(seconds=1))
    entries = {r["campaign_id"]: str(r["id"]) for r in await pool.fetch("SELECT id, campaign_id FROM entries")}

    async with _client(deps) as client:
        async def vote(campaign_id: str, key: str) -> httpx.Response:
            return await client.post(f"/campaigns/{campaign_id}/votes", headers=_ticket(deps, campaign_id),
                                     json={"entry_id": entries[campaign_id], "count": 2, "idempotency_key": key})

        inside = await vote("dates-in", "k1")
        assert inside.status_code == 201, inside.text
        assert inside.json()["remaining_today"] == 8
        for campaign_id in ("dates-before", "dates-after"):
            refused = await vote(campaign_id, "k1")
            assert (refused.status_code, refused.json()["error"]["code"]) == (409, "phase_closed"), refused.text

        # The operator's phase overrides the dates, both ways.
        await _deliver(pool, deps, "dates-in", PhaseChanged(campaign_id="dates-in", phase="expert_review"))
        await _deliver(pool, deps, "dates-after", PhaseChanged(campaign_id="dates-after", phase="voting"))
        closed = await vote("dates-in", "k2")
        assert (closed.status_code, closed.json()["error"]["code"]) == (409, "phase_closed")
        assert (await vote("dates-after", "k2")).status_code == 201

    counted = {r["campaign_id"]: r["n"] for r in await pool.fetch(
        "SELECT campaign_id, sum(count) AS n FROM votes GROUP BY campaign_id")}
    assert counted == {"dates-in": 2, "dates-after": 2}
    # Voting ran by the dates until the operator's move: that move closed it, and the final tally went out.
    finals = [(envelope.campaign_id, t.category_id) for envelope, t in await _tallies(pool) if t.final]
    assert finals == [("dates-in", "gov")]  # dates-after: voting was the operator's for a moment, never closed


async def _tallies(pool: Any) -> list[Any]:
    bodies = [r["body"] for r in await pool.fetch("SELECT body FROM outbox WHERE event_type = 'TallyUpdated'")]
    return [parse_envelope(bytes(b)) for b in bodies]


async def test_a_key_gets_its_first_answer_for_the_same_request_and_422_for_another(voting: Any) -> None:
    deps, pool = voting
    now = datetime.now(UTC)
    await _campaign(pool, deps, "dates-in", now - timedelta(days=1), now + timedelta(days=1), ENTRY)
    other_entry = uuid.uuid4()
    await pool.execute("INSERT INTO entries (id, campaign_id, category_id, name, unit_name, votable) "
                       "VALUES ($1, 'dates-in', 'gov', 'B', 'u', true)", other_entry)
    headers = _ticket(deps, "dates-in")
    body = {"entry_id": str(ENTRY), "count": 3, "idempotency_key": "once", "device": "phone-1"}
    async with _client(deps) as client:
        async def vote(**changes: Any) -> httpx.Response:
            return await client.post("/campaigns/dates-in/votes", headers=headers, json={**body, **changes})

        first = await vote()
        assert first.status_code == 201 and "idempotent-replayed" not in first.headers
        # The same request, from another device: the first answer, the same status and body, counted once.
        again = await vote(device="laptop-2")
        assert (again.status_code, again.json()) == (201, first.json())
        assert again.headers["idempotent-replayed"] == "true"
        # Another entry or another count under the key: refused, in both languages, and nothing changes.
        for changes in ({"entry_id": str(other_entry)}, {"count": 1}):
            reused = await vote(**changes)
            assert reused.status_code == 422, reused.text
            error = reused.json()["error"]
            assert error["code"] == "idempotency_key_reused"
            assert "idempotency key" in error["message"] and "幂等键" in error["message_zh"]
        # At the same moment (one batch or concurrent ones): whichever request the key names first is counted
        # once and answered the same to every copy; the other request under the key is refused.
        counts = [3, 3, 2, 3, 2, 3]
        answers = await asyncio.gather(*(vote(idempotency_key="burst", count=n) for n in counts))
    named = await pool.fetchval("SELECT count FROM votes WHERE idempotency_key = 'burst'")
    assert [a.status_code for a in answers] == [201 if n == named else 422 for n in counts]
    accepted = [a for a in answers if a.status_code == 201]
    assert len({a.text for a in accepted}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in accepted) == len(accepted) - 1

    rows = await pool.fetch("SELECT idempotency_key, entry_id, count FROM votes ORDER BY idempotency_key")
    assert [(r["idempotency_key"], r["entry_id"], r["count"]) for r in rows] == [("burst", ENTRY, named),
                                                                                 ("once", ENTRY, 3)]
    assert await pool.fetchval("SELECT used FROM daily_quota") == 3 + named
