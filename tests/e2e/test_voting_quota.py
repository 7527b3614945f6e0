"""Voting under pressure and abuse: the daily quota holds under parallel requests, keys are idempotent, bad input counts nothing."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import jwt
import pytest
from support import Api, open_voting, voter_ticket, wait_for

from services.voting import domain

pytestmark = pytest.mark.e2e

CAMPAIGN = "e2e-quota"


def _votes(api: Api, ticket: str, entry: str, bodies: list[dict]) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=api.base, timeout=60,
                                     limits=httpx.Limits(max_connections=64)) as client:
            return await asyncio.gather(*(client.post(
                f"/api/voting/campaigns/{CAMPAIGN}/votes", headers={"Authorization": f"Bearer {ticket}"},
                json={"entry_id": entry, **b}) for b in bodies))

    return asyncio.run(go())


def _left(api: Api, ticket: str) -> int:
    r = api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/voters/me", headers={"Authorization": f"Bearer {ticket}"})
    assert r.status_code == 200, r.text
    return r.json()["remaining_today"]


def test_quota_idempotency_and_bad_input(system) -> None:
    api = Api(system.gateway_url)
    entry_a, entry_b = open_voting(api, CAMPAIGN, ["丙大学", "丁大学"])
    ticket = voter_ticket(api, CAMPAIGN, "13611112222")
    wait_for("voting to open on the vote path", lambda: _votes(
        api, ticket, entry_a, [{"count": 1, "idempotency_key": "open"}])[0].status_code == 201)

    # A voter whose address the trusted proxy could not tell ("unknown" in its X-Forwarded-For) gets a code,
    # verifies and votes like anyone: scored on what is known, never refused for what is missing.
    unknown = {"x-forwarded-for": "unknown"}
    r = api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/voters/sms-code", json={"phone": "13611114444"},
                 headers=unknown)
    assert r.status_code == 202, r.text
    code = api.call("GET", "/api/voting/dev/sms-codes/13611114444").json()["code"]
    r = api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/voters/sms-verify", headers=unknown,
                 json={"phone": "13611114444", "code": code})
    assert r.status_code == 200, r.text
    r = api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/votes", json={
        "entry_id": entry_b, "count": 1, "idempotency_key": "unknown-address"},
        headers={**unknown, "Authorization": f"Bearer {r.json()['ticket']}"})
    assert r.status_code == 201, r.text

    # 64 parallel requests from one voter, 9 votes left: exactly 9 are accepted, never more.
    answers = _votes(api, ticket, entry_a, [{"count": 1, "idempotency_key": f"p{i}"} for i in range(64)])
    codes = sorted(r.status_code for r in answers)
    assert codes.count(201) == 9 and codes.count(429) == 55, codes
    assert all(r.json()["error"]["code"] == "quota_exceeded" for r in answers if r.status_code == 429)
    assert sorted(r.json()["remaining_today"] for r in answers if r.status_code == 201) == list(range(9))
    assert _left(api, ticket) == 0

    # One key sent 16 times in parallel by a second voter: one vote, the first answer (status and body) for all.
    ticket2 = voter_ticket(api, CAMPAIGN, "13611113333")
    same = _votes(api, ticket2, entry_b, [{"count": 3, "idempotency_key": "once"}] * 16)
    assert [r.status_code for r in same] == [201] * 16
    assert len({r.text for r in same}) == 1  # the same body, to the byte
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in same) == 15
    assert _left(api, ticket2) == 7
    # The key again later, beside a new vote: the stored answer for it, the new vote counted, once each.
    later = _votes(api, ticket2, entry_b, [{"count": 3, "idempotency_key": "once"}, {"count": 1, "idempotency_key": "next"}])
    assert [r.status_code for r in later] == [201, 201]
    assert later[0].text == same[0].text and later[0].headers["idempotent-replayed"] == "true"
    assert later[1].json()["remaining_today"] == 6 and _left(api, ticket2) == 6
    # The key for another entry or another count: refused with its own code, in both languages; nothing counted.
    for body, entry in (({"count": 3, "idempotency_key": "once"}, entry_a), ({"count": 2, "idempotency_key": "once"}, entry_b)):
        (reused,) = _votes(api, ticket2, entry, [body])
        assert reused.status_code == 422, reused.text
        error = reused.json()["error"]
        assert error["code"] == "idempotency_key_reused" and error["message"] and error["message_zh"]
    assert _left(api, ticket2) == 6

    # Bad input: each refused with its code, nothing counted.
    secret = "development-secret-change-me-in-production"  # the development default
    forged = domain.issue_ticket("another-secret", voter_id="x", campaign_id=CAMPAIGN, method="sms", ttl_s=600)
    expired = domain.issue_ticket(secret, voter_id="y", campaign_id=CAMPAIGN, method="sms", ttl_s=-10)
    foreign = domain.issue_ticket(secret, voter_id="z", campaign_id="another-campaign", method="sms", ttl_s=600)
    altered = ticket2[:-3] + ("AAA" if not ticket2.endswith("AAA") else "BBB")
    cases = [
        (forged, {"entry_id": entry_b, "count": 1}, 401, "ticket_invalid"),
        (expired, {"entry_id": entry_b, "count": 1}, 401, "ticket_expired"),
        (foreign, {"entry_id": entry_b, "count": 1}, 401, "ticket_invalid"),
        (altered, {"entry_id": entry_b, "count": 1}, 401, "ticket_invalid"),
        ("not-a-jwt", {"entry_id": entry_b, "count": 1}, 401, "ticket_invalid"),
        (ticket2, {"entry_id": str(uuid.uuid4()), "count": 1}, 404, "entry_not_votable"),
        (ticket2, {"entry_id": entry_b, "count": 0}, 422, "validation_failed"),
        (ticket2, {"entry_id": entry_b, "count": -2}, 422, "validation_failed"),
        (ticket2, {"entry_id": entry_b, "count": 11}, 429, "quota_exceeded"),
        (ticket2, {"entry_id": entry_b, "count": 8}, 429, "quota_exceeded"),
        (ticket2, {"entry_id": "not-a-uuid", "count": 1}, 422, "validation_failed"),
    ]
    for token, body, status, code in cases:
        r = api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/votes", headers={"Authorization": f"Bearer {token}"},
                     json={**body, "idempotency_key": uuid.uuid4().hex})
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (body, r.text)
    r = api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/votes", content=b"{nope",
                 headers={"Authorization": f"Bearer {ticket2}", "content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    assert _left(api, ticket2) == 6
    assert jwt.decode(ticket2, options={"verify_signature": False})["sub"] not in r.text

    # Close voting: the vote path refuses with phase_closed (votes accepted in the moment before count).
    api.phase(CAMPAIGN, "expert_review")
    late = []

    def closed() -> bool:
        r = api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/votes", headers={"Authorization": f"Bearer {ticket2}"},
                     json={"entry_id": entry_b, "count": 1, "idempotency_key": uuid.uuid4().hex})
        if r.status_code == 201:
            late.append(r)
        return r.status_code == 409 and r.json()["error"]["code"] == "phase_closed"

    wait_for("the vote path to see the phase change", closed)

    # The standings count exactly what was accepted (counts are shown once voting closes).
    def counts() -> dict[str, int]:
        body = api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/standings").json()
        return {e["entry_id"]: e.get("votes") for e in body.get("categories", {}).get("institutional", [])}

    wait_for("exact standings", lambda: counts() == {entry_a: 10, entry_b: 1 + 3 + 1 + len(late)})

    # Operators see each consumer group's lag per partition; once caught up it is zero everywhere.
    def lag() -> dict[str, float]:
        text = httpx.get(f"{system.service_url('voting')}/metrics").text
        return {line.split("{", 1)[1].split("}", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("massline_consumer_lag{") and 'group="voting.standings"' in line}

    seen = wait_for("lag gauges for the standings consumer", lambda: lag() or None)
    assert len(seen) == 12  # one per partition of the vote topic
    wait_for("the standings consumer to be caught up", lambda: all(v == 0 for v in lag().values()))


GARBAGE_FORWARDED = ["unknown", ",", "unknown,", ",1.2.3.4", "999.1.1.7", "1.2.3.4, unknown", "::1", "fe80::1%eth0",
                     "2001:db8::1", "[2001:db8::1]:443", "203.0.113.9:5678", "not an address", "x" * 300, "1.2.3.4;",
                     "_hidden", "2001:db8::1, 10.0.0.1, ::ffff:1.2.3.4"]


def test_whatever_a_proxy_writes_for_the_address_the_voter_gets_an_answer_not_a_server_error(system) -> None:
    """Behind the trusted proxy, any X-Forwarded-For: the voter's requests get their own answers (a code sent or a
    captcha asked for, a ticket refused), never a 5xx for what the proxy wrote."""
    api = Api(system.gateway_url)
    for i, forwarded in enumerate(GARBAGE_FORWARDED):
        h = {"x-forwarded-for": forwarded}
        phone = f"1361200{i:04d}"
        answers = [api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/voters/sms-code", json={"phone": phone},
                            headers=h),
                   api.call("GET", f"/api/voting/campaigns/{CAMPAIGN}/standings", headers=h),
                   api.call("POST", f"/api/voting/campaigns/{CAMPAIGN}/votes", headers={**h, "authorization": "Bearer x"},
                            json={"entry_id": str(uuid.uuid4()), "count": 1, "idempotency_key": "k"}),
                   api.call("GET", f"/c/{CAMPAIGN}", headers=h)]
        assert [r.status_code < 500 for r in answers] == [True] * 4, (forwarded, [r.text[:200] for r in answers])
        # a code, or (those without an address share one network's limits) first a captcha
        assert answers[0].status_code in (202, 428) and answers[2].status_code == 401, (forwarded, answers[0].text)
