"""Bad HTTP input gets a 4xx with a stable code and a message, before anything is read or written."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.submission.app import create_app as submission_app
from services.voting.app import create_app as voting_app


@pytest.fixture(scope="module")
def voting() -> TestClient:
    # No lifespan: no database or broker. Validation answers before any handler would touch them.
    return TestClient(voting_app(), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def submission() -> TestClient:
    return TestClient(submission_app(), raise_server_exceptions=False)


def test_malformed_json_is_400_malformed_json(voting: TestClient) -> None:
    r = voting.post("/campaigns/c/votes", content=b'{"entry_id": ', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "malformed_json"
    assert r.json()["error"]["message_zh"]


def test_unknown_field_is_named(voting: TestClient) -> None:
    r = voting.post("/campaigns/c/votes", json={"entry_id": "7d4f6a3e-6a43-4a51-8f5c-6b1c6c1f0a11", "count": 1,
                                                "idempotency_key": "k", "bonus": 5})
    assert r.status_code == 422
    body = r.json()["error"]
    assert body["code"] == "validation_failed"
    assert {"field": "bonus", "code": "unknown_field"}.items() <= body["details"][0].items()


@pytest.mark.parametrize("count", [0, -1, "ten", 2.5, True, 1001])
def test_bad_vote_counts_are_refused(voting: TestClient, count: object) -> None:
    r = voting.post("/campaigns/c/votes", json={"entry_id": "7d4f6a3e-6a43-4a51-8f5c-6b1c6c1f0a11",
                                                "count": count, "idempotency_key": "k"})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "count"


def test_phone_numbers_are_checked_before_anything_is_sent(voting: TestClient) -> None:
    r = voting.post("/campaigns/c/voters/sms-code", json={"phone": "12345"})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "phone"


def test_missing_fields_and_wrong_types_on_login(submission: TestClient) -> None:
    r = submission.post("/auth/login", json={"username": 5})
    assert r.status_code == 422
    codes = {d["field"]: d["code"] for d in r.json()["error"]["details"]}
    assert codes["password"] == "field_required"
    assert codes["username"] == "invalid_value"


def test_staff_routes_need_a_token(submission: TestClient) -> None:
    r = submission.post("/campaigns", json={"definition_yaml": "id: x"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"


def test_unknown_route_has_the_same_error_shape(voting: TestClient) -> None:
    r = voting.get("/no/such/route")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_control_characters_in_any_text_are_refused(submission: TestClient) -> None:
    r = submission.post("/auth/login", json={"username": "admin\x07", "password": "x"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"
    assert "control characters" in r.json()["error"]["details"][0]["message"]


def test_a_name_made_only_of_invisible_characters_is_refused(submission: TestClient) -> None:
    r = submission.post("/auth/login", json={"username": "\u200b\u200b\u2060", "password": "x"})
    assert r.status_code == 422
    assert "invisible" in r.json()["error"]["details"][0]["message"]


def test_an_oversized_body_is_refused_before_it_is_read(submission: TestClient) -> None:
    big = '{"username": "' + "a" * (2 << 20) + '", "password": "x"}'
    r = submission.post("/auth/login", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
    # Without a length (chunked), the body is read up to the cap and no further.
    chunks = (b"a" * 65536 for _ in range(40))
    r = submission.post("/auth/login", content=chunks, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["details"]["max_bytes"] == 1 << 20


def test_a_path_with_a_control_character_is_422_at_a_service(submission: TestClient) -> None:
    r = submission.get("/campaigns/abc%07def")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_path"
    r = submission.get("/campaigns", params={"q": "a\x01b"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_query"
