"""Hostile input that once ended in a 500 from PostgreSQL or the code behind a route: now a coded 4xx, answered
before any handler reads or writes. No database or broker runs here; each refusal happens before one is needed."""

from __future__ import annotations

import random
import string

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from massline.auth import Caller, issue_token
from services.antifraud.app import create_app as antifraud_app
from services.notification.app import create_app as notification_app
from services.scoring.app import create_app as scoring_app
from services.submission.app import create_app as submission_app
from services.voting.app import create_app as voting_app

# Random letters do not compress: 4,000 of them are more than an index entry of PostgreSQL can hold.
LONG_ID = "".join(random.Random(0).choice(string.ascii_lowercase) for _ in range(4000))


def client(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def admin(app: FastAPI) -> dict[str, str]:
    secret = app.state.runtime.settings.secret_key
    return {"Authorization": f"Bearer {issue_token(secret, Caller('admin', 'admin', None), 600)}"}


@pytest.fixture(scope="module")
def apps() -> dict[str, FastAPI]:
    return {"submission": submission_app(), "voting": voting_app(), "antifraud": antifraud_app(),
            "scoring": scoring_app(), "notification": notification_app()}


@pytest.mark.parametrize("service, path", [
    ("submission", "/campaigns/a%00b"),
    ("submission", "/public/campaigns/a%00b/entries"),
    ("voting", "/campaigns/a%00b/standings"),
    ("voting", "/campaigns/a%00b/entries"),
    ("antifraud", "/campaigns/a%00b/cases"),
    ("notification", "/campaigns/a%00b/reviewers"),
    ("scoring", "/campaigns/a%1Fb/results"),
])
def test_a_control_character_in_the_path_is_422_invalid_path(apps: dict[str, FastAPI], service: str,
                                                             path: str) -> None:
    app = apps[service]
    r = client(app).get(path, headers=admin(app))
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_path" and error["message_zh"]


@pytest.mark.parametrize("service, path", [
    ("submission", "/campaigns?x=a%00b"),
    ("notification", "/deliveries?recipient=unit:a%00"),
    ("voting", "/campaigns/c/entries?lang=%00"),
])
def test_a_nul_in_the_query_is_422_invalid_query(apps: dict[str, FastAPI], service: str, path: str) -> None:
    app = apps[service]
    r = client(app).get(path, headers=admin(app))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_query"


def test_an_inbox_page_past_the_last_bigint_is_422(apps: dict[str, FastAPI]) -> None:
    app = apps["notification"]
    r = client(app).get(f"/inbox/unit:univ-a?before={2**63}", headers=admin(app))
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "query.before"


def test_a_unit_id_too_long_for_an_index_is_422(apps: dict[str, FastAPI]) -> None:
    app = apps["scoring"]
    r = client(app).put("/campaigns/c1/unit-regions", headers=admin(app), json={"regions": {LONG_ID: "西安市"}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"
    r = client(app).put("/campaigns/c1/unit-regions", headers=admin(app), json={"regions": {"univ-a": LONG_ID}})
    assert r.status_code == 422


def test_an_expert_declaring_a_unit_id_too_long_for_an_index_is_422(apps: dict[str, FastAPI]) -> None:
    app = apps["scoring"]
    r = client(app).put("/campaigns/c1/panels/p1/experts/e1", headers=admin(app),
                        json={"display_name": "专家", "declared_unit_ids": [LONG_ID]})
    assert r.status_code == 422


def test_a_policy_for_a_campaign_id_too_long_for_an_index_is_422(apps: dict[str, FastAPI]) -> None:
    app = apps["antifraud"]
    r = client(app).put(f"/campaigns/{LONG_ID}/policy", headers=admin(app), json={"reason": "调整阈值"})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "path.campaign_id"


@pytest.mark.parametrize("definition", ["2024-13-45T99:99:99", "version: !!int abc", "title: \"a\\0b\""])
def test_a_campaign_definition_with_no_value_or_a_nul_is_422(apps: dict[str, FastAPI], definition: str) -> None:
    app = apps["submission"]
    r = client(app).post("/campaigns", headers=admin(app), json={"definition_yaml": definition})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_campaign_definition" and error["details"]
