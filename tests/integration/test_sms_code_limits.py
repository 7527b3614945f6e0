"""SMS codes through HTTP on the real PostgreSQL, with the limits as production runs them (the defaults): per phone,
per client address and per network, each refusal a 429 with Retry-After; a captcha once a network was sent a few
codes within the hour, each challenge good for one answer; refused requests change nothing."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from massline.db import create_pool, migrate
from services.voting.app import MIGRATIONS, create_app
from services.voting.domain.sms_guard import HOUR_S, seconds_left
from services.voting.settings import VotingSettings

pytestmark = pytest.mark.integration

CAMPAIGN = "sms-limits"


class Voting:
    def __init__(self, client: httpx.AsyncClient, pool: Any) -> None:
        self.client, self.pool = client, pool

    async def code(self, phone: str, address: str, **captcha: str) -> httpx.Response:
        return await self.client.post(f"/campaigns/{CAMPAIGN}/voters/sms-code", json={"phone": phone, **captcha},
                                      headers={"x-real-ip": address})

    async def challenge(self) -> tuple[str, str]:
        """A new captcha challenge, and its answer (the development provider tells it)."""
        r = await self.client.post(f"/campaigns/{CAMPAIGN}/voters/captcha")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["kind"] == "image" and body["image"].startswith("data:image/png;base64,")
        answer = (await self.client.get(f"/dev/captchas/{body['captcha_id']}")).json()["answer"]
        return body["captcha_id"], answer

    async def solved_code(self, phone: str, address: str) -> httpx.Response:
        captcha_id, answer = await self.challenge()
        return await self.code(phone, address, captcha_id=captcha_id, captcha_answer=answer.lower())

    async def state(self) -> tuple[int, int, int]:
        """Codes stored, the sum of the counters, captchas recorded as answered."""
        return (await self.pool.fetchval("SELECT count(*) FROM verification_codes"),
                await self.pool.fetchval("SELECT coalesce(sum(codes), 0) FROM sms_code_counts"),
                await self.pool.fetchval("SELECT count(*) FROM used_captchas"))


async def _voting(database_url: str, **settings: Any) -> AsyncIterator[Voting]:
    # Counts are kept in fixed hours: a test does not start in the last half minute of one.
    wait = seconds_left(datetime.now(UTC), HOUR_S)
    if wait < 30:
        await asyncio.sleep(wait + 0.1)
    schema = f"voting_{uuid.uuid4().hex[:8]}"
    await migrate(database_url, schema, MIGRATIONS)
    pool = await create_pool(database_url, schema)
    app = create_app(VotingSettings(database_url=database_url, env="test", **settings))
    app.deps.rt._pool = pool  # the pool a started service would hold
    await pool.execute("INSERT INTO campaigns (id, version, timezone, vote_rules, categories, current_phase) "
                       "VALUES ($1, 1, 'Asia/Shanghai', $2, '[]', 'voting')", CAMPAIGN, {"votes_per_day": 10})
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://voting") as client:
            yield Voting(client, pool)
    finally:
        await pool.close()


@pytest.fixture
async def voting(database_url: str) -> AsyncIterator[Voting]:
    async for v in _voting(database_url):
        yield v


def _assert_refused(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    error: dict[str, Any] = r.json()["error"]
    assert error["code"] == code and error["message"] and error["message_zh"]
    return error


async def test_a_network_is_asked_for_a_captcha_after_three_codes_and_each_challenge_takes_one_answer(
        voting: Voting) -> None:
    for i in range(3):  # three neighbours of one /24 ask for codes: sent without a captcha
        r = await voting.code(f"1390000000{i}", f"203.0.113.{10 + i}")
        assert r.status_code == 202, r.text
    assert await voting.state() == (3, 18, 0)  # three codes, each counted in six windows

    # The fourth from that network needs a captcha: refused, nothing stored; another network is not affected.
    _assert_refused(await voting.code("13900000003", "203.0.113.99"), 428, "captcha_required")
    assert await voting.state() == (3, 18, 0)
    assert (await voting.code("13900000009", "198.51.100.1")).status_code == 202

    # A wrong answer is refused and uses the challenge up: the right answer to it is refused after.
    captcha_id, answer = await voting.challenge()
    wrong = "".join("A" if c != "A" else "B" for c in answer)
    _assert_refused(await voting.code("13900000003", "203.0.113.99", captcha_id=captcha_id, captcha_answer=wrong),
                    422, "captcha_wrong")
    assert await voting.state() == (4, 24, 1)
    _assert_refused(await voting.code("13900000003", "203.0.113.99", captcha_id=captcha_id, captcha_answer=answer),
                    422, "captcha_wrong")

    # A fresh challenge solved (case does not matter): sent; the same challenge again is refused.
    captcha_id, answer = await voting.challenge()
    r = await voting.code("13900000003", "203.0.113.99", captcha_id=captcha_id, captcha_answer=answer.lower())
    assert r.status_code == 202, r.text
    _assert_refused(await voting.code("13900000004", "203.0.113.99", captcha_id=captcha_id, captcha_answer=answer),
                    422, "captcha_wrong")
    _assert_refused(await voting.code("13900000004", "203.0.113.99", captcha_id="c1.forged.9999999999.x.y",
                                      captcha_answer="ABCD"), 422, "captcha_wrong")
    assert await voting.state() == (5, 30, 2)

    # The counters hold keyed hashes only: no number, no address, no network in the clear.
    keys = " ".join(r["key"] for r in await voting.pool.fetch("SELECT key FROM sms_code_counts"))
    assert not re.search(r"1390000000\d|203\.0\.113|198\.51\.100", keys)
    _assert_refused(await voting.client.post("/campaigns/nope/voters/captcha"), 404, "campaign_not_found")


async def test_a_phone_gets_five_codes_an_hour(voting: Voting) -> None:
    phone = "13700000001"
    for i in range(5):  # from five networks, past the resend interval each time
        r = await voting.code(phone, f"198.51.{i}.1")
        assert r.status_code == 202, r.text
        await voting.pool.execute("UPDATE verification_codes SET sent_at = sent_at - interval '61 seconds'")
    error = _assert_refused(r := await voting.code(phone, "198.51.9.1"), 429, "sms_phone_limit")
    assert error["details"]["window"] == "hour" and error["details"]["limit"] == 5
    assert int(r.headers["retry-after"]) == error["details"]["retry_after_s"] and 0 < error["details"]["retry_after_s"] <= 3600
    # The resend interval is a 429 with Retry-After too.
    assert (await voting.code("13700000002", "198.51.20.1")).status_code == 202
    r = await voting.code("13700000002", "198.51.20.1")
    error = _assert_refused(r, 429, "code_recently_sent")
    assert r.headers["retry-after"] == str(error["details"]["retry_after_s"])


async def test_an_address_gets_a_hundred_codes_an_hour_and_a_network_three_hundred(voting: Voting) -> None:
    for i in range(100):
        r = await (voting.code if i < 3 else voting.solved_code)(f"1360000{i:04d}", "192.0.2.7")
        assert r.status_code == 202, r.text
    # The next one from the address is refused before any captcha is asked for; its neighbour still gets codes.
    error = _assert_refused(await voting.code("13600009999", "192.0.2.7"), 429, "sms_address_limit")
    assert (error["details"]["window"], error["details"]["limit"]) == ("hour", 100)
    assert (await voting.solved_code("13600009998", "192.0.2.8")).status_code == 202
    _, counted, _ = await voting.state()
    assert counted == 101 * 6
    # The network's hour at its limit (the counter set there): refused to every address of it.
    await voting.pool.execute("UPDATE sms_code_counts SET codes = 300 WHERE key LIKE 'network:%' AND window_s = 3600")
    error = _assert_refused(await voting.code("13600009999", "192.0.2.200"), 429, "sms_network_limit")
    assert (error["details"]["window"], error["details"]["limit"]) == ("hour", 300)


async def test_the_day_window_exempt_networks_and_old_rows(database_url: str) -> None:
    async for voting in _voting(database_url, sms_limits={"exempt_networks": "127.0.0.0/8"}):
        # Counters of windows long over and captchas expired go as codes are sent.
        await voting.pool.execute("INSERT INTO sms_code_counts VALUES ('phone:old', 3600, now() - interval '2 days', 4)")
        await voting.pool.execute("INSERT INTO used_captchas VALUES ('old', now() - interval '1 minute')")
        # A network that was sent its day's codes (counted earlier in the day) is refused until the day turns.
        assert (await voting.code("13500000001", "192.0.2.1")).status_code == 202
        assert await voting.pool.fetchval("SELECT count(*) FROM sms_code_counts WHERE key = 'phone:old'") == 0
        assert await voting.pool.fetchval("SELECT count(*) FROM used_captchas") == 0
        await voting.pool.execute("UPDATE sms_code_counts SET codes = 2000 WHERE key LIKE 'network:%' "
                                  "AND window_s = 86400")
        r = await voting.code("13500000002", "192.0.2.2")
        error = _assert_refused(r, 429, "sms_network_limit")
        assert error["details"]["window"] == "day" and error["details"]["retry_after_s"] <= 86400
        # Requests from an exempt network are held to the phone's limits only: no captcha, no address limit.
        for i in range(120):
            r = await voting.code(f"1350000{i + 100:04d}", "127.0.0.1")
            assert r.status_code == 202, r.text
