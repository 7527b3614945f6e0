"""The gateway does not proxy a service's /metrics: per-campaign vote counters are for operators' scrapers only."""

from __future__ import annotations

import pytest

from services.gateway.routes.api import operators_only


@pytest.mark.parametrize("path", ["metrics", "metrics/", "Metrics", "x/../metrics", "./metrics", "//metrics",
                                  "metrics/anything"])
def test_every_spelling_of_a_services_metrics_is_operators_only(path: str) -> None:
    assert operators_only(path)


@pytest.mark.parametrize("path", ["campaigns/c/standings", "nominations/n/metrics/verified", "health/ready",
                                  "campaigns/metrics"])
def test_other_paths_pass(path: str) -> None:
    assert not operators_only(path)


def test_api_service_metrics_is_a_404_and_never_reaches_the_service(monkeypatch) -> None:
    import httpx
    from fastapi.testclient import TestClient

    from services.gateway import app as gateway

    proxied: list[str] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        if "x-real-ip" in request.headers:  # set on what the proxy forwards, not on the gateway's own polling
            proxied.append(request.url.path)
        if request.url.path.endswith("/metrics"):
            return httpx.Response(200, text='massline_votes_accepted_total{campaign="c"} 1234.0\n')
        return httpx.Response(200, json={"ok": True})

    real = httpx.AsyncClient

    class Upstream(real):  # type: ignore[misc, valid-type]
        def __init__(self, **kw: object) -> None:
            super().__init__(transport=httpx.MockTransport(upstream), **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(gateway.httpx, "AsyncClient", Upstream)
    with TestClient(gateway.create_app()) as client:
        for service in ("voting", "scoring", "submission", "antifraud", "notification"):
            for path in ("metrics", "metrics/", "x/../metrics"):
                r = client.get(f"/api/{service}/{path}")
                assert r.status_code == 404, (service, path)
                assert r.json()["error"]["code"] == "not_found"
                assert "votes_accepted" not in r.text
        assert client.get("/api/voting/%6detrics").status_code == 404
        assert proxied == []
        assert client.get("/api/voting/campaigns/c/standings").status_code == 200
        assert proxied == ["/campaigns/c/standings"]
