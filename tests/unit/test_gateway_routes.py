"""The gateway's pages and health as a signed-out visitor and an operator meet them, against scripted services."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.gateway.visitor import STAFF_COOKIE

SERVICES = ("submission", "voting", "antifraud", "scoring", "notification", "registry")
NOMINATION = "11111111-1111-1111-1111-111111111111"
CONSOLE_PAGES = ["/console", "/console/inbox", "/console/c/c1/nominations", "/console/c/c1/nominations/new",
                 f"/console/nominations/{NOMINATION}", f"/console/nominations/{NOMINATION}/edit",
                 "/console/c/c1/review", "/console/c/c1/exports/list.csv", "/console/c/c1/scoring",
                 "/console/c/c1/final-review", "/console/c/c1/expert-scores", "/console/c/c1/operations",
                 f"/console/cases/{NOMINATION}", "/console/registry", f"/console/registry/accounts/{NOMINATION}",
                 "/console/registry/review"]


def _site(answer: httpx.MockTransport) -> TestClient:
    settings = GatewaySettings(**{f"{s}_url": f"http://{s}" for s in SERVICES})
    return TestClient(create_app(settings, client=httpx.AsyncClient(transport=answer)), follow_redirects=False)


@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_a_console_page_sends_a_signed_out_visitor_to_sign_in_and_back(path: str) -> None:
    reached: list[str] = []
    site = _site(httpx.MockTransport(lambda r: reached.append(r.url.path) or httpx.Response(200, json={})))
    site.cookies.set(STAFF_COOKIE, "not-a-token")
    r = site.get(path)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"
    assert f'{STAFF_COOKIE}=""' in r.headers["set-cookie"] and reached == []


def test_a_nomination_address_that_is_no_nomination_is_refused_before_asking_anyone_to_sign_in() -> None:
    site = _site(httpx.MockTransport(lambda r: httpx.Response(200, json={})))
    r = site.get("/console/nominations/not-a-nomination")
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"


def test_health_is_degraded_when_one_service_cannot_be_asked_and_says_why() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "scoring":
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json={"checks": {"database": "ok"}})

    r = _site(httpx.MockTransport(answer)).get("/health")
    assert r.status_code == 503 and r.json()["status"] == "degraded"
    scoring = next(s for s in r.json()["services"] if s["service"] == "scoring")
    assert scoring == {"service": "scoring", "state": "unreachable", "error": "ConnectError"}
    voting = next(s for s in r.json()["services"] if s["service"] == "voting")
    assert voting == {"service": "voting", "state": "ready", "checks": {"database": "ok"}}


def test_the_status_page_says_in_words_which_service_is_down() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "scoring":
            raise httpx.ConnectError("refused")
        if request.url.host == "voting":
            return httpx.Response(503, json={"checks": {"database": "unavailable"}})
        return httpx.Response(200, json={"checks": {"database": "ok"}})

    site = _site(httpx.MockTransport(answer))
    r = site.get("/status")
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
    assert "部分服务暂时不可用" in r.text and r.headers["cache-control"] == "no-store"
    rows = {row.split("(")[1].split(")")[0]: row for row in r.text.split("<li>")[1:]}
    assert "无法连接" in rows["scoring"] and "未就绪" in rows["voting"] and "正常" in rows["submission"]
    english = site.get("/status?lang=en")
    assert "Unreachable" in english.text and "Some services are not available" in english.text
    assert '<a href="/status">' in site.get("/login").text  # where "系统状态" leads


def test_an_expert_recusing_on_the_scoring_page_reaches_the_recusal_not_a_score() -> None:
    calls: list[tuple[str, str, bytes]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append((request.method, request.url.path, request.content))
        return httpx.Response(200, json={})

    site = _site(httpx.MockTransport(answer))
    site.cookies.set(STAFF_COOKIE, jwt.encode({"sub": "expert-1", "role": "expert"}, "k" * 32, algorithm="HS256"))
    r = site.post(f"/console/c/c1/scoring/{NOMINATION}/recusal", data={"reason": "曾在该校兼职"})
    assert r.status_code == 303 and r.headers["location"] == "/console/c/c1/scoring?done=recused_ok"
    assert calls[0][:2] == ("POST", f"/campaigns/c1/my-assignments/{NOMINATION}/recusal")
    assert "曾在该校兼职" in calls[0][2].decode()


def test_a_restarting_service_is_waited_for_and_a_vote_gets_through() -> None:
    attempts: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        attempts.append(request.url.path)
        if len(attempts) <= 3:
            raise httpx.ConnectError("connection refused")
        return httpx.Response(201, json={"accepted": 1})

    r = _site(httpx.MockTransport(answer)).post("/api/voting/campaigns/c1/votes", json={"entry_id": "e"})
    assert r.status_code == 201 and r.json() == {"accepted": 1}
    assert attempts == ["/campaigns/c1/votes"] * 4


def test_a_service_that_stays_away_is_503_with_retry_after() -> None:
    settings = GatewaySettings(upstream_connect_wait_s=0.3, **{f"{s}_url": f"http://{s}" for s in SERVICES})

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    site = TestClient(create_app(settings, client=httpx.AsyncClient(transport=httpx.MockTransport(refuse))))
    r = site.get("/api/voting/campaigns/c1/entries")
    assert r.status_code == 503 and r.json()["error"]["code"] == "service_unavailable"
    assert r.headers["retry-after"] == "5"


def test_a_vote_whose_connection_broke_without_an_answer_is_sent_again_but_nothing_else_is() -> None:
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.Response(201, json={"accepted": 1})

    site = _site(httpx.MockTransport(answer))
    r = site.post("/api/voting/campaigns/c1/votes", json={"entry_id": "e", "idempotency_key": "k"})
    assert r.status_code == 201 and calls == ["/campaigns/c1/votes"] * 2

    calls.clear()
    r = site.post("/api/submission/campaigns/c1/nominations", json={})
    assert r.status_code == 503 and calls == ["/campaigns/c1/nominations"]


def test_a_repeated_query_parameter_reaches_the_service_with_every_value() -> None:
    """An operator's what-if releasing three cases (`release=` repeated) asks the service about all three, not only
    the last (which could answer "no rank change" for a brush that changes first place)."""
    asked: list[list[tuple[str, str]]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(list(request.url.params.multi_items()))
        return httpx.Response(200, json={})

    r = _site(httpx.MockTransport(answer)).get("/api/antifraud/campaigns/c1/what-if?release=a&release=b&release=c"
                                               "&limit=5")
    assert r.status_code == 200
    assert asked == [[("release", "a"), ("release", "b"), ("release", "c"), ("limit", "5")]]


def test_an_invalidated_case_s_page_counts_its_votes_as_the_queue_does_and_is_not_confirmed_by_nobody() -> None:
    """A detector invalidated 40 requests of 10 votes on its own: the page says 400 votes (40 requests), the odds,
    and "invalidated" — not "held", nor "confirmed" when no one confirmed it."""
    case = {"id": NOMINATION, "campaign_id": "c1", "reason_code": "network_wave", "reason": "a wave",
            "reason_zh": "一波", "status": "invalidated", "votes": 40, "vote_count": 400, "odds": 1000.0,
            "score": 6.908, "explanation": "40 identities", "explanation_zh": "40 个身份", "evidence": {"identities": 40},
            "entry_name": "示范理工大学", "unit_name": "理工大学",
            "vote_sample": [], "decisions": [{"action": "invalidate", "actor": "detector", "decided_at":
                                              "2026-12-06T07:00:00+00:00", "reason": None}]}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=case if request.url.path.startswith("/cases/") else {"id": "c1"})

    site = _site(httpx.MockTransport(answer))
    site.cookies.set(STAFF_COOKIE, jwt.encode({"sub": "ops-1", "role": "operator"}, "k" * 32, algorithm="HS256"))
    page = site.get(f"/console/cases/{NOMINATION}?lang=en")
    assert page.status_code == 200, page.text
    assert "Votes in the case 400" in page.text and "40 vote requests" in page.text
    assert "1000.0× as likely" in page.text
    assert "Invalidated" in page.text and "Confirmed" not in page.text.split("<h2")[0]
    assert "<strong>示范理工大学</strong> (理工大学)" in page.text  # English punctuation on the English page


def test_a_case_decided_with_its_overlapping_cases_decides_them_all_at_once() -> None:
    """The case page lists the two other cases holding some of its votes; with the box ticked the decision goes to
    the bulk route for the case and both (as the service lists them at that moment), with the operator's reason;
    without it, to the one case only."""
    others = [{"id": str(uuid.UUID(int=i)), "reason_code": "coordinated_cohort", "reason": "habits",
               "reason_zh": "习惯", "status": "flagged", "shared_votes": 30 - i, "shared_requests": 10}
              for i in (1, 2)]
    case = {"id": NOMINATION, "campaign_id": "c1", "reason_code": "network_wave", "reason": "a wave",
            "reason_zh": "一波", "status": "flagged", "votes": 20, "vote_count": 60, "explanation": "20 identities",
            "explanation_zh": "20 个身份", "evidence": {}, "vote_sample": [], "decisions": [],
            "overlapping_cases": others}
    posted: list[tuple[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            posted.append((request.url.path, json.loads(request.content)))
            return httpx.Response(200, json={"changed": 3, "skipped": 0})
        return httpx.Response(200, json=case if request.url.path.startswith("/cases/") else {"id": "c1"})

    site = _site(httpx.MockTransport(answer))
    site.cookies.set(STAFF_COOKIE, jwt.encode({"sub": "ops-1", "role": "operator"}, "k" * 32, algorithm="HS256"))
    page = site.get(f"/console/cases/{NOMINATION}?lang=en")
    assert "2 other cases hold some of these votes" in page.text and "29 votes in common" in page.text
    assert f'href="/console/cases/{others[0]["id"]}"' in page.text
    form = {"decision": "confirm", "reason": "one farm, read together"}
    r = site.post(f"/console/cases/{NOMINATION}/decision", data={**form, "with_overlapping": "1"},
                  follow_redirects=False)
    assert r.status_code == 303
    r = site.post(f"/console/cases/{NOMINATION}/decision", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert posted == [("/campaigns/c1/cases/decisions", {"case_ids": [str(NOMINATION)] + [o["id"] for o in others],
                                                          **form}),
                      (f"/cases/{NOMINATION}/decision", form)]
