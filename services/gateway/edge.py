"""The public edge of every answer: security headers, compression, cache rules for static files, the
favicon, and the API docs served from a packaged Swagger UI (never a CDN), off in production."""

from __future__ import annotations

from importlib import metadata, resources

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .rendering import STATIC, TEMPLATES

# Pages use only their own scripts and styles (no inline ones); the captcha is a data: image.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
# Swagger UI sets style attributes in its markup; it runs only on /docs.
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}
# Our own files change with a release under the same URL: kept, but checked against their ETag each time.
STATIC_CACHE = "no-cache"
# The Swagger UI files sit under a path naming their package's version: they never change under it.
VERSIONED_CACHE = "public, max-age=31536000, immutable"
# fastapi-swagger ships Swagger UI 5 (swagger-ui-bundle.js, swagger-ui.css); only its files are used.
SWAGGER_FILES = str(resources.files("fastapi_swagger.resources"))
SWAGGER_PATH = f"/static/swagger-ui-{metadata.version('fastapi-swagger')}"
# Already compressed, or not text: sent as they are.
NOT_COMPRESSED = ("image/*", "audio/*", "video/*", "font/*", "application/zip", "application/gzip",
                  "application/x-gzip", "application/octet-stream", "application/pdf", "text/event-stream")


class EdgeHeaders:
    """Adds the security headers to every answer (keeping any a route set itself), and the cache rule to
    static files. A plain ASGI middleware: the vote path pays a few header appends, nothing more."""

    def __init__(self, app: ASGIApp, docs: bool) -> None:
        self.app = app
        self.docs = docs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _headers_for(path, self.docs).items():
                    if name not in headers:
                        headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeadAsGet:
    """HEAD is answered as GET without the body (RFC 9110): uptime checks and link checkers ask HEAD of pages and
    files, which have only GET routes. Never forwarded to a service as HEAD: the proxy sees a GET."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


def _headers_for(path: str, docs_on: bool) -> dict[str, str]:
    docs = docs_on and (path == "/docs" or path.startswith(SWAGGER_PATH))
    headers = {**SECURITY_HEADERS, "content-security-policy": DOCS_CSP if docs else CSP}
    if path.startswith(SWAGGER_PATH):
        headers["cache-control"] = VERSIONED_CACHE
    elif path.startswith("/static/") or path == "/favicon.ico":
        headers["cache-control"] = STATIC_CACHE
    return headers


def install_edge(app: FastAPI, *, docs: bool, services: list[str]) -> None:
    """Compression above 1 KiB for text, the edge headers, HEAD as GET, /favicon.ico, and /docs when `docs`."""
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6, exclude_content_types=NOT_COMPRESSED)
    app.add_middleware(EdgeHeaders, docs=docs)
    app.add_middleware(HeadAsGet)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon")

    if docs:
        _install_docs(app, services)


def _install_docs(app: FastAPI, services: list[str]) -> None:
    """Swagger UI from the fastapi-swagger package's files, started by a static script (no inline code): the
    gateway's own API and each service's under /api/<service>, chosen from the top bar."""
    app.mount(SWAGGER_PATH, StaticFiles(directory=SWAGGER_FILES), name="swagger-ui")
    page = (TEMPLATES / "docs.html").read_text(encoding="utf-8").replace("{swagger}", SWAGGER_PATH).replace(
        "{services}", " ".join(services))

    @app.get("/docs", include_in_schema=False)
    async def docs(_: Request) -> HTMLResponse:
        return HTMLResponse(page)


def docs_enabled(env: str, api_docs: bool | None) -> bool:
    """The API docs are on outside production, and in production only when asked for."""
    return api_docs if api_docs is not None else env != "production"
