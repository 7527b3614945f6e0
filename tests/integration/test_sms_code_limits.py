"""SMS codes through HTTP on the real PostgreSQL, with the limits as production runs them (the defaults): per phone,
per client address and per network over any rolling hour and day (counted in twelfths of the window), each refusal a
429 with Retry-After; a captcha once a network was sent a few codes within the hour, each challenge good for one
answer; refused requests change nothing."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from massline.db import create_pool, migrate
from services.voting import domain
from services.voting.app import MIGRATIONS, create_app
from services.voting.domain.sms_guard import DAY_S, HOUR_S, stops_counting
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
        """Codes stored, the sum of the counters (a code sent adds one to six: the current hour's and day's slice of
        the phone, the address and the network), captchas recorded as answered."""
        return (await self.pool.fetchval("SELECT count(*) FROM verification_codes"),
                await self.pool.fetchval("SELECT coalesce(sum(codes), 0) FROM sms_code_counts"),
                await self.pool.fetchval("SELECT count(*) FROM used_captchas"))


async def _voting(database_url: str, **settings: Any) -> AsyncIterator[Voting]:
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


# A campaign's tighter place limits, so that reaching them takes a hundred requests (the defaults sit higher).
TIGHT = {"address_per_hour": 100, "address_per_day": 500, "network_per_hour": 300, "network_per_day": 2000}


@pytest.fixture
async def voting(database_url: str) -> AsyncIterator[Voting]:
    async for v in _voting(database_url, sms_limits=TIGHT):
        yield v


def _assert_refused(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    error: dict[str, Any] = r.json()["error"]
    assert error["code"] == code and error["message"] and error["message_zh"]
    return error


async def test_a_network_is_asked_for_a_captcha_after_three_codes_and_each_challenge_takes_one_answer(
        voting: Voting) -> None:
    # Numbers of a virtual operator's (what code platforms sell): a captcha after three codes from one network.
    for i in range(3):  # three neighbours of one /24 ask for codes: sent without a captcha
        r = await voting.code(f"1700000000{i}", f"203.0.113.{10 + i}")
        assert r.status_code == 202, r.text
    assert await voting.state() == (3, 18, 0)  # three codes, each counted in six counters

    # The fourth from that network needs a captcha: refused, nothing stored; another network is not affected.
    _assert_refused(await voting.code("17000000003", "203.0.113.99"), 428, "captcha_required")
    assert await voting.state() == (3, 18, 0)
    # … while a carrier's number from that network is sent its code (its captcha comes after many more: a carrier's
    # NAT or a campus carries hundreds of people asking within the hour).
    assert (await voting.code("13900000008", "203.0.113.98")).status_code == 202
    assert await voting.state() == (4, 24, 0)
    assert (await voting.code("17000000009", "198.51.100.1")).status_code == 202

    # A wrong answer is refused and uses the challenge up: the right answer to it is refused after.
    captcha_id, answer = await voting.challenge()
    wrong = "".join("A" if c != "A" else "B" for c in answer)
    _assert_refused(await voting.code("17000000003", "203.0.113.99", captcha_id=captcha_id, captcha_answer=wrong),
                    422, "captcha_wrong")
    assert await voting.state() == (5, 30, 1)
    _assert_refused(await voting.code("17000000003", "203.0.113.99", captcha_id=captcha_id, captcha_answer=answer),
                    422, "captcha_wrong")

    # A fresh challenge solved (case does not matter): sent; the same challenge again is refused.
    captcha_id, answer = await voting.challenge()
    r = await voting.code("17000000003", "203.0.113.99", captcha_id=captcha_id, captcha_answer=answer.lower())
    assert r.status_code == 202, r.text
    _assert_refused(await voting.code("17000000004", "203.0.113.99", captcha_id=captcha_id, captcha_answer=answer),
                    422, "captcha_wrong")
    _assert_refused(await voting.code("17000000004", "203.0.113.99", captcha_id="c1.forged.9999999999.x.y",
                                      captcha_answer="ABCD"), 422, "captcha_wrong")
    assert await voting.state() == (6, 36, 2)

    # The counters hold keyed hashes only: no number, no address, no network in the clear.
    keys = " ".join(r["key"] for r in await voting.pool.fetch("SELECT key FROM sms_code_counts"))
    assert not re.search(r"1700000000\d|13900000008|203\.0\.113|198\.51\.100", keys)
    _assert_refused(await voting.client.post("/campaigns/nope/voters/captcha"), 404, "campaign_not_found")


async def test_a_phone_gets_five_codes_an_hour(voting: Voting) -> None:
    phone = "13700000001"
    for i in range(5):  # from five networks, past the resend interval each time
        r = await voting.code(phone, f"198.51.{i}.1")
        assert r.status_code == 202, r.text
        await voting.pool.execute("UPDATE verification_codes SET sent_at = sent_at - interval '61 seconds'")
    error = _assert_refused(r := await voting.code(phone, "198.51.9.1"), 429, "sms_phone_limit")
    assert error["details"]["window"] == "hour" and error["details"]["limit"] == 5
    # Its codes count until 65 minutes after their slice began: the wait is at most that.
    assert int(r.headers["retry-after"]) == error["details"]["retry_after_s"] and 0 < error["details"]["retry_after_s"] <= 3900
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
    async for voting in _voting(database_url, sms_limits={**TIGHT, "exempt_networks": "127.0.0.0/8"}):
        # Counters of slices no window counts any more (a day's begun over 26 hours ago, an hour's over 65 minutes
        # ago) and captchas expired go as codes are sent; a day's slice begun 25 hours ago and an hour's begun 60
        # minutes ago still count and stay.
        await voting.pool.execute("INSERT INTO sms_code_counts VALUES ('phone:old', 86400, now() - interval '27 hours', 4), "
                                  "('phone:old-hour', 3600, now() - interval '2 days', 4), "
                                  "('phone:hour-over', 3600, now() - interval '70 minutes', 4), "
                                  "('phone:hour-kept', 3600, now() - interval '60 minutes', 4), "
                                  "('phone:kept', 86400, now() - interval '25 hours', 4)")
        await voting.pool.execute("INSERT INTO used_captchas VALUES ('old', now() - interval '1 minute')")
        assert (await voting.code("13500000001", "192.0.2.1")).status_code == 202
        assert await voting.pool.fetchval(
            "SELECT array_agg(key ORDER BY key) FROM sms_code_counts WHERE key IN "
            "('phone:old', 'phone:old-hour', 'phone:hour-over', 'phone:hour-kept', 'phone:kept')") \
            == ["phone:hour-kept", "phone:kept"]
        assert await voting.pool.fetchval("SELECT count(*) FROM used_captchas") == 0
        # A network that was sent its day's codes (counted in the current slice of the day) is refused until that
        # slice stops counting: 26 hours after it began.
        await voting.pool.execute("UPDATE sms_code_counts SET codes = 2000 WHERE key LIKE 'network:%' "
                                  "AND window_s = 86400")
        start = await voting.pool.fetchval("SELECT max(window_start) FROM sms_code_counts WHERE key LIKE 'network:%' "
                                           "AND window_s = 86400")
        r = await voting.code("13500000002", "192.0.2.2")
        error = _assert_refused(r, 429, "sms_network_limit")
        expected = (stops_counting(start, DAY_S) - datetime.now(UTC)).total_seconds()
        assert error["details"]["window"] == "day" and abs(error["details"]["retry_after_s"] - expected) <= 2
        assert error["details"]["retry_after_s"] <= 26 * 3600
        # Requests from an exempt network are held to the phone's limits only: no captcha, no address limit.
        for i in range(120):
            r = await voting.code(f"1350000{i + 100:04d}", "127.0.0.1")
            assert r.status_code == 202, r.text


async def _slice_ago(voting: Voting, minutes: int) -> datetime:
    """The start of the hour's 300-s slice that held the time `minutes` ago."""
    start: datetime = await voting.pool.fetchval(
        "SELECT to_timestamp(floor(extract(epoch FROM now() - make_interval(mins => $1)) / 300) * 300)", minutes)
    return start


async def test_codes_of_an_earlier_slice_count_for_an_hour_and_a_slice(voting: Voting) -> None:
    # One code from an address, and 99 more counted in the slice that held the time half an hour ago: the address
    # was sent its hundred within the hour, across any clock hour's turn.
    assert (await voting.code("13400000001", "192.0.2.50")).status_code == 202
    key = await voting.pool.fetchval("SELECT key FROM sms_code_counts WHERE key LIKE 'address:%'")
    earlier = await _slice_ago(voting, 30)
    await voting.pool.execute("INSERT INTO sms_code_counts VALUES ($1, 3600, $2, 99)", key, earlier)
    r = await voting.code("13400000002", "192.0.2.50")
    error = _assert_refused(r, 429, "sms_address_limit")
    assert (error["details"]["window"], error["details"]["limit"]) == ("hour", 100)
    # Refused until that slice stops counting, 65 minutes after it began: 30 to 35 minutes from now.
    expected = (stops_counting(earlier, HOUR_S) - datetime.now(UTC)).total_seconds()
    assert abs(error["details"]["retry_after_s"] - expected) <= 2 and 30 * 60 - 2 <= expected <= 35 * 60
    assert r.headers["retry-after"] == str(error["details"]["retry_after_s"])
    assert await voting.state() == (1, 6 + 99, 0)  # refused: nothing changed
    # The same codes in a slice that began over 65 minutes ago no longer count: the address gets its code.
    await voting.pool.execute("UPDATE sms_code_counts SET window_start = $2 WHERE key = $1 AND window_start = $3",
                              key, await _slice_ago(voting, 70), earlier)
    assert (await voting.code("13400000002", "192.0.2.50")).status_code == 202


async def test_a_row_of_a_fixed_clock_hour_counts_as_one_slice(voting: Voting) -> None:
    # A phone's five codes in a row kept as before, for the clock hour: read as one slice beginning on the hour.
    assert (await voting.code("13400000011", "192.0.2.70")).status_code == 202
    key = await voting.pool.fetchval("SELECT key FROM sms_code_counts WHERE key LIKE 'phone:%'")
    await voting.pool.execute("DELETE FROM sms_code_counts")
    hour = await voting.pool.fetchval("SELECT date_trunc('hour', now())")
    await voting.pool.execute("INSERT INTO sms_code_counts VALUES ($1, 3600, $2, 5)", key, hour)
    await voting.pool.execute("UPDATE verification_codes SET sent_at = sent_at - interval '61 seconds'")
    error = _assert_refused(await voting.code("13400000011", "192.0.2.71"), 429, "sms_phone_limit")
    expected = (stops_counting(hour, HOUR_S) - datetime.now(UTC)).total_seconds()
    assert abs(error["details"]["retry_after_s"] - expected) <= 2 and expected > 5 * 60 - 2


async def test_a_request_that_waited_past_the_turn_of_a_slice_counts_as_of_the_new_one(
        voting: Voting, monkeypatch: pytest.MonkeyPatch) -> None:
    # The clock says 22:59:59.9 as the request begins and 23:00:00.2 once it holds its counters: it counts, and
    # adds its code, in the slice of 23:00 (the one later requests lock and read), not in the one of 22:55.
    before = datetime(2031, 5, 6, 22, 59, 59, 900_000, tzinfo=UTC)
    after = before + timedelta(milliseconds=300)
    clock = iter([before])
    monkeypatch.setattr(domain, "utcnow", lambda: next(clock, after))
    assert (await voting.code("13300000001", "192.0.2.60")).status_code == 202
    rows = await voting.pool.fetch("SELECT window_s, window_start, codes FROM sms_code_counts WHERE key LIKE 'phone:%'")
    assert sorted((r["window_s"], r["window_start"], r["codes"]) for r in rows) == [
        (HOUR_S, datetime(2031, 5, 6, 22, 55, tzinfo=UTC), 0), (HOUR_S, datetime(2031, 5, 6, 23, tzinfo=UTC), 1),
        (DAY_S, datetime(2031, 5, 6, 22, tzinfo=UTC), 1)]
