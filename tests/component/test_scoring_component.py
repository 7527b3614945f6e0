"""The scoring HTTP surface without its database: path validation, health, metrics and the published API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.scoring.app import create_app


@pytest.fixture(scope="module")
def client():
    # Not entered as a context manager: the lifespan (database, broker) is not started.
    return TestClient(create_app(), raise_server_exceptions=False)


@pytest.mark.parametrize("path", [
    "/campaigns/bad%20id/rankings",
    "/campaigns/shaanxi-2024-accounts/rankings/%E6%9C%BA%E6%9E%84",
    f"/campaigns/{'x' * 65}/rankings",
])
def test_malformed_ids_are_refused_before_any_lookup(client, path):
    response = client.get(path)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed" and error["message_zh"]


def test_an_unknown_path_is_a_coded_404(client):
    response = client.get("/campaigns/shaanxi-2024-accounts/rankings/institutional/extra")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_liveness_answers_and_readiness_says_not_ready_without_a_database(client):
    assert client.get("/health/live").json()["service"] == "scoring"
    ready = client.get("/health/ready")
    assert ready.status_code == 503 and ready.json()["status"] == "not_ready"


def test_the_rankings_counter_is_exported(client):
    assert "massline_rankings_computed_total" in client.get("/metrics").text


def test_the_openapi_document_lists_both_ranking_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/campaigns/{campaign_id}/rankings", "/campaigns/{campaign_id}/rankings/{category_id}"} <= set(paths)


def test_the_review_and_results_routes_are_published(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/campaigns/{campaign_id}/my-assignments", "/campaigns/{campaign_id}/publication",
            "/campaigns/{campaign_id}/approval", "/campaigns/{campaign_id}/results",
            "/campaigns/{campaign_id}/results/export.xlsx"} <= set(paths)


@pytest.mark.parametrize("method, path", [
    ("PUT", "/campaigns/c1/my-assignments/00000000-0000-0000-0000-00000000000a/expert"),
    ("POST", "/campaigns/c1/publication"),
    ("POST", "/campaigns/c1/approval"),
    ("POST", "/campaigns/c1/adjustments"),
])
def test_staff_actions_need_a_staff_token(client, method, path):
    response = client.request(method, path, json={})
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"


def test_the_public_rankings_and_results_describe_their_bodies(client):
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    for path, name in (("/campaigns/{campaign_id}/rankings", "CampaignRankings"),
                       ("/campaigns/{campaign_id}/rankings/{category_id}", "CategoryRanking"),
                       ("/campaigns/{campaign_id}/results", "PublishedResults"),
                       ("/campaigns/{campaign_id}/results/versions", "PublishedVersions")):
        schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{name}"}, path
    assert {"rank", "total", "winner", "adjustment", "activity_forfeited"} <= set(
        schemas["PublishedEntry"]["properties"])
