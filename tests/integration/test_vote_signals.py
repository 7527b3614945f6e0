"""The signals a vote carries for anti-fraud, through the real vote fast path and batcher on the real PostgreSQL.

`user_agent_hash`: the keyed hash of the User-Agent header the voting service received (None without one).
`page_viewed_at`: from the ticket's `pv` claim, stamped when the public page asked `/voters/me`; no lookup
on the vote path.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from massline.contracts import VoteCast, parse_envelope
from massline.db import create_pool, migrate
from services.voting import domain
from services.voting.app import MIGRATIONS, build_service
from services.voting.fastpath import VoteFastPath
from services.voting.services import voters
from services.voting.settings import VotingSettings

pytestmark = pytest.mark.integration

CAMPAIGN = "signals"
ENTRY = uuid.uuid4()
PHONE_UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36"


@pytest.fixture
async def voting(database_url: str) -> Any:
    """The voting service over its own schema, its batcher settling, one campaign in voting with one entry."""
    schema = f"voting_{uuid.uuid4().hex[:8]}"
    await migrate(database_url, schema, MIGRATIONS)
    pool = await create_pool(database_url, schema)
    deps = build_service(VotingSettings(database_url=database_url, env="test"))
    deps.rt._pool = pool  # the pool a started service would hold
    settling = asyncio.create_task(deps.batcher.run())
    try:
        await pool.execute("INSERT INTO campaigns (id, version, timezone, vote_rules, categories, current_phase) "
                           "VALUES ($1, 1, 'Asia/Shanghai', $2, '[]', 'voting')", CAMPAIGN, {"votes_per_day": 10})
        await pool.execute("INSERT INTO entries (id, campaign_id, category_id, name, unit_name, votable) "
                           "VALUES ($1, $2, 'gov', 'A', 'u', true)", ENTRY, CAMPAIGN)
        yield deps, pool
    finally:
        settling.cancel()
        await pool.close()


async def _not_reached(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("the vote path answers votes itself")


async def test_the_fast_path_puts_the_user_agent_hash_and_the_page_view_on_the_vote(voting: Any) -> None:
    deps, pool = voting
    secret = deps.settings.secret_key
    await pool.execute("INSERT INTO voters (campaign_id, voter_id, method) VALUES ($1, 'v1', 'sms')", CAMPAIGN)
    plain = domain.issue_ticket(secret, voter_id="v1", campaign_id=CAMPAIGN, method="sms", ttl_s=600)

    # The page asks how many votes are left: a ticket without `pv` comes back stamped, once.
    before = int(datetime.now(UTC).timestamp())
    me = await voters.quota_today(deps, CAMPAIGN, f"Bearer {plain}")
    assert me["remaining_today"] == 10
    stamped = me["ticket"]
    assert before <= domain.read_ticket(secret, stamped, CAMPAIGN).page_viewed_at  # type: ignore[operator]
    assert "ticket" not in await voters.quota_today(deps, CAMPAIGN, f"Bearer {stamped}")

    transport = httpx.ASGITransport(app=VoteFastPath(_not_reached, deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://voting") as client:
        del client.headers["user-agent"]

        async def vote(ticket: str, key: str, user_agent: str | None) -> dict[str, Any]:
            headers = {"authorization": f"Bearer {ticket}"}
            if user_agent is not None:
                headers["user-agent"] = user_agent
            r = await client.post(f"/campaigns/{CAMPAIGN}/votes", headers=headers,
                                  json={"entry_id": str(ENTRY), "count": 1, "idempotency_key": key})
            assert r.status_code == 201, r.text
            return r.json()

        from_page = await vote(stamped, "k1", PHONE_UA)
        scripted = await vote(plain, "k2", None)
        empty = await vote(plain, "k3", "")

    bodies = [r["body"] for r in await pool.fetch("SELECT body FROM outbox WHERE event_type = 'VoteCast'")]
    votes = {str(v.vote_id): v for b in bodies for v in parse_envelope(bytes(b))[1].votes}  # type: ignore[union-attr]
    assert all(isinstance(parse_envelope(bytes(b))[1], VoteCast) for b in bodies)
    page_vote = votes[from_page["vote_id"]]
    assert page_vote.user_agent_hash == domain.keyed_hash(secret, "ua", PHONE_UA)
    assert page_vote.page_viewed_at == datetime.fromtimestamp(
        domain.read_ticket(secret, stamped, CAMPAIGN).page_viewed_at, UTC)  # type: ignore[arg-type]
    assert page_vote.page_viewed_at <= page_vote.cast_at  # type: ignore[operator]
    for other in (scripted, empty):
        assert (votes[other["vote_id"]].user_agent_hash, votes[other["vote_id"]].page_viewed_at) == (None, None)
    assert PHONE_UA not in str([bytes(b) for b in bodies])  # only the hash travels


async def test_a_vote_with_a_nul_in_its_text_is_refused_alone_and_the_votes_beside_it_all_count(voting: Any) -> None:
    # PostgreSQL refuses a NUL in text: let through, it failed the whole micro-batch, other voters' votes with it.
    deps, pool = voting
    secret = deps.settings.secret_key
    tickets = [domain.issue_ticket(secret, voter_id=f"v{i}", campaign_id=CAMPAIGN, method="sms", ttl_s=600)
               for i in range(46)]
    transport = httpx.ASGITransport(app=VoteFastPath(_not_reached, deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://voting") as client:
        async def vote(i: int) -> httpx.Response:
            key = f"bad\u0000{i}" if i % 8 == 7 else f"ok-{i}"
            device = "dev\u0000ice" if i == 5 else None
            body = {"entry_id": str(ENTRY), "count": 1, "idempotency_key": key, "device": device}
            return await client.post(f"/campaigns/{CAMPAIGN}/votes", json=body,
                                     headers={"authorization": f"Bearer {tickets[i]}"})

        answers = await asyncio.gather(*(vote(i) for i in range(46)))
    bad = {i for i in range(46) if i % 8 == 7 or i == 5}
    assert {i for i, r in enumerate(answers) if r.status_code == 201} == set(range(46)) - bad
    for i in bad:
        assert answers[i].status_code == 422 and "NUL" in answers[i].text
    assert await pool.fetchval("SELECT count(*) FROM votes") == 46 - len(bad)


async def test_a_vote_carries_the_kind_of_number_its_voter_verified_with_and_never_the_number(voting: Any) -> None:
    deps, pool = voting
    kinds = {}
    transport = httpx.ASGITransport(app=VoteFastPath(_not_reached, deps))
    async with httpx.AsyncClient(transport=transport, base_url="http://voting") as client:
        for i, phone in enumerate(("17012345678", "13912345678")):
            await voters.send_sms_code(deps, CAMPAIGN, phone, address=f"198.51.100.{i + 1}")
            code = voters.last_code_sent(deps, phone)["code"]
            ticket = (await voters.verify_sms_code(deps, CAMPAIGN, phone, code))["ticket"]
            r = await client.post(f"/campaigns/{CAMPAIGN}/votes", headers={"authorization": f"Bearer {ticket}"},
                                  json={"entry_id": str(ENTRY), "count": 1, "idempotency_key": f"n{i}"})
            assert r.status_code == 201, r.text
            kinds[r.json()["vote_id"]] = phone
    bodies = [bytes(r["body"]) for r in await pool.fetch("SELECT body FROM outbox WHERE event_type = 'VoteCast'")]
    votes = {str(v.vote_id): v for b in bodies for v in parse_envelope(b)[1].votes}  # type: ignore[union-attr]
    assert {kinds[k]: votes[k].number_kind for k in kinds} == {"17012345678": "virtual", "13912345678": "mobile"}
    assert not any(phone.encode() in b for b in bodies for phone in kinds.values())


async def test_a_vote_carries_when_its_voter_s_code_was_sent(voting: Any) -> None:
    """Where the voter's sitting began (asking for the code), so that anti-fraud can tell one browser taking many
    identities in turn; a ticket verified otherwise (WeChat) carries none."""
    deps, pool = voting
    phone = "13912340001"
    asked = datetime.now(UTC).replace(microsecond=0)
    await voters.send_sms_code(deps, CAMPAIGN, phone, address="198.51.100.9")
    await asyncio.sleep(1.1)  # the code read and typed
    code = voters.last_code_sent(deps, phone)["code"]
    before = datetime.now(UTC)
    ticket = (await voters.verify_sms_code(deps, CAMPAIGN, phone, code))["ticket"]
    wechat = (await voters.verify_wechat(deps, CAMPAIGN, "open-id-1"))["ticket"]
    after = datetime.now(UTC)
    transport = httpx.ASGITransport(app=VoteFastPath(_not_reached, deps))
    sent = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://voting") as client:
        for name, t in (("sms", ticket), ("wechat", wechat)):
            r = await client.post(f"/campaigns/{CAMPAIGN}/votes", headers={"authorization": f"Bearer {t}"},
                                  json={"entry_id": str(ENTRY), "count": 1, "idempotency_key": f"cs-{name}"})
            assert r.status_code == 201, r.text
            sent[name] = r.json()["vote_id"]
    bodies = [bytes(r["body"]) for r in await pool.fetch("SELECT body FROM outbox WHERE event_type = 'VoteCast'")]
    votes = {str(v.vote_id): v for b in bodies for v in parse_envelope(b)[1].votes}  # type: ignore[union-attr]
    by_sms, by_wechat = votes[sent["sms"]], votes[sent["wechat"]]
    assert by_sms.code_sent_at is not None and by_sms.identity_verified_at is not None
    assert asked <= by_sms.code_sent_at < by_sms.identity_verified_at <= by_sms.cast_at
    assert by_wechat.code_sent_at is None
    # when each verified, to the millisecond (not the ticket's whole second): a vote 1.5 s after verifying must not
    # read as up to 2.5 s
    for vote in (by_sms, by_wechat):
        assert vote.identity_verified_at is not None
        assert before - timedelta(milliseconds=1) <= vote.identity_verified_at <= after
