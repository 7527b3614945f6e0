"""Voter verification as production runs it, on the real PostgreSQL: codes sent through Alibaba Cloud or Tencent
Cloud SMS and WeChat sign-in, each vendor played by a local server that checks our signatures with its own
implementation (tests/integration/vendor_servers.py); the gateway's WeChat round trip; notices by vendor SMS."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from vendor_servers import INVALID_NUMBER, THROTTLED_NUMBER, AliyunSmsServer, TencentSmsServer, WechatServer

from massline.db import create_pool, migrate
from services.gateway.app import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from services.notification.channels import SendFailed, build_sms
from services.notification.settings import NotificationSettings
from services.voting.app import MIGRATIONS, create_app
from services.voting.domain import SmsLimits
from services.voting.settings import VotingSettings

pytestmark = pytest.mark.integration

CAMPAIGN = "verify-live"
PHONE = "13800138000"
ALIYUN = {"id": "LTAI-test-id", "secret": "aliyun-test-secret"}
TENCENT = {"id": "AKID-test-id", "secret": "tencent-test-secret"}


class Voting:
    def __init__(self, app: Any, client: httpx.AsyncClient, pool: Any) -> None:
        self.app, self.client, self.pool = app, client, pool

    async def send_code(self, phone: str) -> httpx.Response:
        return await self.client.post(f"/campaigns/{CAMPAIGN}/voters/sms-code", json={"phone": phone},
                                      headers={"x-real-ip": "127.0.0.1"})

    async def verify(self, phone: str, code: str) -> httpx.Response:
        return await self.client.post(f"/campaigns/{CAMPAIGN}/voters/sms-verify", json={"phone": phone, "code": code})

    async def quota(self, ticket: str) -> httpx.Response:
        return await self.client.get(f"/campaigns/{CAMPAIGN}/voters/me", headers={"authorization": f"Bearer {ticket}"})


async def _voting(database_url: str, **settings: Any) -> AsyncIterator[Voting]:
    schema = f"voting_{uuid.uuid4().hex[:8]}"
    await migrate(database_url, schema, MIGRATIONS)
    pool = await create_pool(database_url, schema)
    app = create_app(VotingSettings(database_url=database_url, env="test",
                                    sms_limits=SmsLimits(exempt_networks="127.0.0.0/8"), **settings))
    app.deps.rt._pool = pool  # the pool a started service would hold
    for campaign in (CAMPAIGN, "another-campaign"):
        await pool.execute("INSERT INTO campaigns (id, version, timezone, vote_rules, categories, current_phase) "
                           "VALUES ($1, 1, 'Asia/Shanghai', $2, '[]', 'voting')", campaign, {"votes_per_day": 10})
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://voting") as client:
            yield Voting(app, client, pool)
    finally:
        await pool.close()


@pytest.fixture
def aliyun_server() -> Iterator[AliyunSmsServer]:
    server = AliyunSmsServer(ALIYUN["id"], ALIYUN["secret"])
    yield server
    server.stop()


@pytest.fixture
def tencent_server() -> Iterator[TencentSmsServer]:
    server = TencentSmsServer(TENCENT["id"], TENCENT["secret"])
    yield server
    server.stop()


def _aliyun(server: AliyunSmsServer, secret: str = ALIYUN["secret"]) -> dict[str, Any]:
    return {"sms_provider": "aliyun", "sms_endpoint": server.url, "sms_aliyun_access_key_id": ALIYUN["id"],
            "sms_aliyun_access_key_secret": secret, "sms_sign_name": "群众路线推选", "sms_code_template": "SMS_100001"}


def _tencent(server: TencentSmsServer, secret: str = TENCENT["secret"]) -> dict[str, Any]:
    return {"sms_provider": "tencent", "sms_endpoint": server.url, "sms_tencent_secret_id": TENCENT["id"],
            "sms_tencent_secret_key": secret, "sms_tencent_sdk_app_id": "1400000001",
            "sms_sign_name": "群众路线推选", "sms_code_template": "1000001"}


async def _code_round_trip(voting: Voting, code_sent: Any) -> None:
    """A code asked for reaches the vendor once; the code it carried verifies; the ticket votes' quota answers."""
    r = await voting.send_code(PHONE)
    assert r.status_code == 202, r.text
    code = code_sent()
    assert len(code) == 6 and code.isdigit()
    stored = await voting.pool.fetchval("SELECT code_hash FROM verification_codes")
    assert stored and code not in stored  # kept hashed, in PostgreSQL: any replica can check it
    assert (await voting.client.get(f"/dev/sms-codes/{PHONE}")).status_code == 404  # only the dev provider keeps one
    assert (await voting.verify(PHONE, "000000" if code != "000000" else "111111")).json()["error"]["code"] == (
        "code_invalid")
    ticket = await voting.verify(PHONE, code)
    assert ticket.status_code == 200, ticket.text
    assert (await voting.quota(ticket.json()["ticket"])).json()["remaining_today"] == 10


async def _refusals(voting: Voting, capsys: pytest.CaptureFixture[str]) -> None:
    """The vendor's refusals reach the voter as stable codes; the code is not kept, so asking again is allowed; the
    service's log says why with the number masked."""
    capsys.readouterr()
    r = await voting.send_code(INVALID_NUMBER)
    assert (r.status_code, r.json()["error"]["code"]) == (422, "phone_number_invalid")
    r = await voting.send_code(THROTTLED_NUMBER)
    assert (r.status_code, r.json()["error"]["code"]) == (429, "sms_throttled") and r.headers["retry-after"] == "60"
    assert await voting.pool.fetchval("SELECT count(*) FROM verification_codes") == 0
    r = await voting.send_code(THROTTLED_NUMBER)  # not `code_recently_sent`: nothing was sent
    assert r.json()["error"]["code"] == "sms_throttled"
    out = capsys.readouterr().out
    logged = [json.loads(line) for line in out.splitlines() if "verification code not sent" in line]
    assert [(e["phone"], e["error"]) for e in logged] == [
        ("139******01", "phone_number_invalid"), ("139******02", "sms_throttled"), ("139******02", "sms_throttled")]
    assert INVALID_NUMBER not in out and THROTTLED_NUMBER not in out


async def test_an_aliyun_code_is_sent_signed_and_verifies(database_url: str, aliyun_server: AliyunSmsServer) -> None:
    async for voting in _voting(database_url, **_aliyun(aliyun_server)):
        await _code_round_trip(voting, lambda: json.loads(aliyun_server.received[-1]["TemplateParam"])["code"])
        sent = aliyun_server.received
        assert len(sent) == 1 and sent[0]["PhoneNumbers"] == PHONE and sent[0]["SignName"] == "群众路线推选"
        assert sent[0]["TemplateCode"] == "SMS_100001" and sent[0]["AccessKeyId"] == ALIYUN["id"]


async def test_aliyun_refusals_reach_the_voter_as_stable_codes(database_url: str, aliyun_server: AliyunSmsServer,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    async for voting in _voting(database_url, **_aliyun(aliyun_server)):
        await _refusals(voting, capsys)


async def test_a_wrong_aliyun_secret_is_refused_by_the_vendor_and_the_voter_told_sms_is_unavailable(
        database_url: str, aliyun_server: AliyunSmsServer) -> None:
    async for voting in _voting(database_url, **_aliyun(aliyun_server, secret="not-the-secret")):
        r = await voting.send_code(PHONE)
        assert (r.status_code, r.json()["error"]["code"]) == (503, "sms_unavailable")
        assert aliyun_server.received == []  # the vendor stand-in took nothing it could not verify


async def test_a_tencent_code_is_sent_signed_and_verifies(database_url: str, tencent_server: TencentSmsServer) -> None:
    async for voting in _voting(database_url, **_tencent(tencent_server)):
        await _code_round_trip(voting, lambda: tencent_server.received[-1]["TemplateParamSet"][0])
        sent = tencent_server.received
        assert len(sent) == 1 and sent[0]["PhoneNumberSet"] == ["+86" + PHONE]
        assert (sent[0]["SmsSdkAppId"], sent[0]["TemplateId"], sent[0]["SignName"]) == (
            "1400000001", "1000001", "群众路线推选")


async def test_tencent_refusals_reach_the_voter_as_stable_codes(database_url: str, tencent_server: TencentSmsServer,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    async for voting in _voting(database_url, **_tencent(tencent_server)):
        await _refusals(voting, capsys)


async def test_a_wrong_tencent_key_fails_the_signature_check_and_the_voter_is_told_sms_is_unavailable(
        database_url: str, tencent_server: TencentSmsServer) -> None:
    async for voting in _voting(database_url, **_tencent(tencent_server, secret="not-the-key")):
        r = await voting.send_code(PHONE)
        assert (r.status_code, r.json()["error"]["code"]) == (503, "sms_unavailable")
        assert tencent_server.received == []


# --- WeChat ----------------------------------------------------------------------------------

RETURN = "https://vote.example.org/c/verify-live/wechat/return"
OPENID = "oLVPpjqs9BhvzwPj5A-vTYAX3GLc"


@pytest.fixture
def wechat_server() -> Iterator[WechatServer]:
    server = WechatServer("wx-test-app", "wx-test-secret",
                          {"code-a": OPENID, "code-b": OPENID, "code-c": "oOtherVoter000000000000000"})
    yield server
    server.stop()


def _wechat(server: WechatServer, secret: str = "wx-test-secret") -> dict[str, Any]:
    return {"wechat_app_id": "wx-test-app", "wechat_app_secret": secret, "wechat_api_url": server.url.rstrip("/")}


async def _state(voting: Voting, campaign: str = CAMPAIGN, redirect: str = RETURN) -> str:
    r = await voting.client.get(f"/campaigns/{campaign}/voters/wechat/authorize", params={"redirect_uri": redirect})
    assert r.status_code == 200, r.text
    url = r.json()["authorize_url"]
    assert url.startswith("https://open.weixin.qq.com/connect/oauth2/authorize?") and url.endswith("#wechat_redirect")
    query = parse_qs(urlsplit(url).query)
    assert {k: v[0] for k, v in query.items() if k != "state"} == {
        "appid": "wx-test-app", "redirect_uri": redirect, "response_type": "code", "scope": "snsapi_base"}
    return query["state"][0]


async def _back(voting: Voting, code: str, state: str, redirect: str = RETURN) -> httpx.Response:
    return await voting.client.post(f"/campaigns/{CAMPAIGN}/voters/wechat/return",
                                    json={"code": code, "state": state, "redirect_uri": redirect})


async def test_wechat_sign_in_gives_a_ticket_to_the_openid_kept_only_hashed(
        database_url: str, wechat_server: WechatServer) -> None:
    async for voting in _voting(database_url, **_wechat(wechat_server)):
        assert (await voting.client.get(f"/campaigns/{CAMPAIGN}/voters/methods")).json() == {"sms": True,
                                                                                            "wechat": True}
        first = await _back(voting, "code-a", await _state(voting))
        assert first.status_code == 200, first.text
        assert (await voting.quota(first.json()["ticket"])).json()["remaining_today"] == 10
        again = await _back(voting, "code-b", await _state(voting))
        other = await _back(voting, "code-c", await _state(voting))
        assert again.json()["voter"] == first.json()["voter"] != other.json()["voter"]
        assert wechat_server.received[0] == {"appid": "wx-test-app", "secret": "wx-test-secret", "code": "code-a",
                                             "grant_type": "authorization_code"}
        rows = await voting.pool.fetch("SELECT * FROM voters")
        assert len(rows) == 2 and OPENID not in json.dumps([dict(r) for r in rows], default=str)


async def test_wechat_refusals_have_stable_codes(database_url: str, wechat_server: WechatServer) -> None:
    async for voting in _voting(database_url, **_wechat(wechat_server)):
        state = await _state(voting)
        assert (await _back(voting, "code-a", state)).status_code == 200
        used = await _back(voting, "code-a", state)  # errcode 40163, code been used
        assert (used.status_code, used.json()["error"]["code"]) == (400, "wechat_code_invalid")
        unknown = await _back(voting, "no-such-code", state)  # errcode 40029, invalid code
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (400, "wechat_code_invalid")
        forged = state[:-1] + ("0" if state[-1] != "0" else "1")
        for bad in (forged, await _state(voting, campaign="another-campaign"), "short"):
            r = await _back(voting, "code-b", bad)
            assert (r.status_code, r.json()["error"]["code"]) == (400, "wechat_state_invalid")
        moved = await _back(voting, "code-b", state, redirect="https://elsewhere.example/return")
        assert moved.json()["error"]["code"] == "wechat_state_invalid"
        assert "code-b" not in [q.get("code") for q in wechat_server.received]  # refused before asking WeChat


async def test_wechat_refusing_our_secret_or_not_answering_is_unavailable_not_the_voters_fault(
        database_url: str, wechat_server: WechatServer) -> None:
    async for voting in _voting(database_url, **_wechat(wechat_server, secret="wrong")):
        r = await _back(voting, "code-a", await _state(voting))  # errcode 40125, invalid appsecret
        assert (r.status_code, r.json()["error"]["code"]) == (503, "wechat_unavailable")
    wechat_server.stop()
    async for voting in _voting(database_url, **_wechat(wechat_server)):
        r = await _back(voting, "code-a", await _state(voting))
        assert (r.status_code, r.json()["error"]["code"]) == (503, "wechat_unavailable")


async def test_without_an_official_account_wechat_is_not_offered(database_url: str) -> None:
    async for voting in _voting(database_url):
        assert (await voting.client.get(f"/campaigns/{CAMPAIGN}/voters/methods")).json()["wechat"] is False
        r = await voting.client.get(f"/campaigns/{CAMPAIGN}/voters/wechat/authorize", params={"redirect_uri": RETURN})
        assert (r.status_code, r.json()["error"]["code"]) == (404, "verification_method_unavailable")


async def test_the_gateway_sends_a_voter_to_wechat_and_back_to_the_campaign_page_with_a_ticket(
        database_url: str, wechat_server: WechatServer) -> None:
    async for voting in _voting(database_url, **_wechat(wechat_server)):
        gateway = create_gateway(GatewaySettings(public_url="https://vote.example.org"),
                                 client=httpx.AsyncClient(transport=httpx.ASGITransport(app=voting.app),
                                                          base_url="http://voting"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://site") as site:
            out = await site.get(f"/c/{CAMPAIGN}/wechat")
            assert out.status_code == 302
            query = parse_qs(urlsplit(out.headers["location"]).query)
            assert query["redirect_uri"] == [RETURN] and query["scope"] == ["snsapi_base"]
            back = await site.get(f"/c/{CAMPAIGN}/wechat/return", params={"code": "code-a",
                                                                           "state": query["state"][0]})
            assert back.status_code == 303 and back.headers["referrer-policy"] == "no-referrer"
            page, _, fragment = back.headers["location"].partition("#voter-ticket=")
            assert page == f"/c/{CAMPAIGN}"
            assert (await voting.quota(fragment)).json()["remaining_today"] == 10
            again = await site.get(f"/c/{CAMPAIGN}/wechat/return", params={"code": "code-a",
                                                                            "state": query["state"][0]})
            assert again.status_code == 400 and "微信授权未成功" in again.text


# --- notices ---------------------------------------------------------------------------------

async def test_a_notice_goes_by_vendor_sms_as_its_template_and_refusals_are_failed_attempts(
        tencent_server: TencentSmsServer) -> None:
    settings = NotificationSettings(env="test", **{k: v for k, v in _tencent(tencent_server).items()
                                                   if k != "sms_code_template"}, sms_notice_template="2000002")
    sms = build_sms(settings)
    await sms.send(PHONE, "推荐被退回修改：示范理工大学 &amp; 校团委的推荐材料需补充")
    sent = tencent_server.received[-1]
    assert sent["TemplateId"] == "2000002" and sent["PhoneNumberSet"] == ["+86" + PHONE]
    # The subject, unescaped, cut to the 20 characters a template parameter takes (the last one the ellipsis).
    assert sent["TemplateParamSet"] == ["推荐被退回修改：示范理工大学 & 校团…"]
    with pytest.raises(SendFailed) as invalid:
        await sms.send(INVALID_NUMBER, "x")
    assert invalid.value.permanent and "phone_number_invalid" in invalid.value.reason
    with pytest.raises(SendFailed) as throttled:
        await sms.send(THROTTLED_NUMBER, "x")
    assert not throttled.value.permanent and INVALID_NUMBER not in throttled.value.reason
