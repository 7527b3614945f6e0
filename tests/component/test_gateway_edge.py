"""The gateway's public edge: security headers on pages, API answers and static files, compression, cache
rules, the favicon, and API docs served from local files and switched off in production."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from services.gateway.app import create_app
from services.gateway.edge import SWAGGER_PATH
from services.gateway.rendering import TEMPLATES
from services.gateway.settings import GatewaySettings

# Nothing listens here: an API call is answered by the gateway itself (503), as when a service is down.
NOWHERE = {f"{name}_url": "http://127.0.0.1:9" for name in ("submission", "voting", "antifraud", "scoring",
                                                            "notification", "registry")}


def gateway(**settings: object) -> TestClient:
    return TestClient(create_app(GatewaySettings(**NOWHERE, upstream_connect_wait_s=0, **settings)),
                      raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client() -> TestClient:
    with gateway(env="development") as c:
        yield c


def _secured(answer) -> None:
    csp = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_a_page_an_api_answer_and_a_static_file_carry_the_security_headers(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    _secured(page)
    api = client.get("/api/voting/campaigns/c-1/standings")
    assert api.status_code == 503 and api.json()["error"]["code"]
    _secured(api)
    static = client.get("/static/site.css")
    assert static.status_code == 200
    _secured(static)
    assert static.headers["cache-control"] == "no-cache" and static.headers["etag"]
    again = client.get("/static/site.css", headers={"if-none-match": static.headers["etag"]})
    assert again.status_code == 304


def test_no_template_has_inline_script_style_or_handler() -> None:
    """The CSP allows only the gateway's own files: an inline script, style or on…= handler would not run."""
    for template in TEMPLATES.glob("*.html"):
        html = template.read_text(encoding="utf-8")
        for attrs in re.findall(r"<script([^>]*)>", html):
            assert "src=" in attrs or 'type="application/json"' in attrs, (template.name, attrs)
        assert not re.search(r"<style|\sstyle=|<[^>]+\son[a-z]+=", html), template.name


def test_head_is_answered_like_get_without_a_body(client: TestClient) -> None:
    for path in ("/login", "/static/site.css", "/favicon.ico"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"], path
        assert head.headers["content-length"] == got.headers["content-length"], path
        _secured(head)


def test_text_is_compressed_and_small_answers_are_not(client: TestClient) -> None:
    big = client.get("/static/vote.js", headers={"accept-encoding": "gzip"})
    assert big.headers["content-encoding"] == "gzip" and "accept-encoding" in big.headers["vary"].lower()
    assert "function" in big.text  # the client undid the compression
    small = client.get("/health/live", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in small.headers
    icon = client.get("/favicon.ico", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in icon.headers


def test_the_favicon_is_served_and_linked_from_every_page(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert '<link rel="icon" href="/favicon.ico"' in client.get("/login").text
    assert client.get("/static/favicon.svg").status_code == 200


def test_the_api_docs_render_from_local_files_only(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for asset in assets:
        answer = client.get(asset)
        assert answer.status_code == 200, asset
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert "<script>" not in page.text  # started by a file, so the CSP needs no inline script
    swagger = client.get(next(a for a in assets if a.endswith("swagger-ui-bundle.js")))
    assert "immutable" in swagger.headers["cache-control"]
    assert client.get("/openapi.json").json()["info"]["title"] == "massline"
    # Every service's API can be chosen above the gateway's.
    chooser = re.search(r'data-services="([^"]*)"', page.text)
    assert chooser and chooser.group(1).split() == ["submission", "voting", "antifraud", "scoring", "notification",
                                                    "registry"]
    assert 'id="api-choice"' in page.text


def test_the_api_docs_are_off_in_production_unless_asked_for() -> None:
    with gateway(env="production") as production:
        assert production.get("/docs").status_code == 404
        assert production.get("/openapi.json").status_code == 404
        assert production.get("/redoc").status_code == 404
        _secured(production.get("/docs"))
        assert production.get(f"{SWAGGER_PATH}/swagger-ui.css").status_code == 404
        # A service's own description and docs pages are not reachable through the gateway either.
        for path in ("/api/voting/openapi.json", "/api/voting/docs", "/api/scoring/redoc", "/api/voting/./docs"):
            answer = production.get(path, follow_redirects=False)
            assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found", path
    with gateway(env="production", api_docs=True) as asked:
        assert asked.get("/docs").status_code == 200
        assert asked.get("/openapi.json").status_code == 200
