"""The gateway's own API: every service's API under /api/<service>/, the health of all, the gateway's metrics."""

from __future__ import annotations

import asyncio
import os
import posixpath
import re
import time
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from ..addresses import voter_address
from ..deps import Deps, GatewayDeps, ServiceClient
from ..edge import docs_enabled
from ..upstream import Services

router = APIRouter()

_HOP_HEADERS = {"x-real-ip", "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
                "transfer-encoding", "upgrade", "host", "content-length"}
# Set by the gateway's own server on every answer (and the body is handed on decoded): the service's copies would
# arrive twice.
_OWN_HEADERS = {"content-encoding", "date", "server"}


class ServiceHealth(BaseModel):
    """One service's readiness as the gateway found it."""

    service: str = Field(description="The service's name", examples=["voting"])
    state: Literal["ready", "not_ready", "unreachable"]
    checks: dict[str, Any] | None = Field(None, description="The service's own checks, when it answered")
    error: str | None = Field(None, description="Why it could not be asked, when it did not answer",
                              examples=["ConnectError"])


class SystemHealth(BaseModel):
    """Every service's readiness: `ready` only when all are."""

    status: Literal["ready", "degraded"]
    services: list[ServiceHealth]


class GatewayLiveness(BaseModel):
    service: Literal["gateway"] = "gateway"
    status: Literal["live"] = "live"
    pid: int


class GatewayReadiness(BaseModel):
    service: Literal["gateway"] = "gateway"
    status: Literal["ready"] = "ready"


async def service_health(services: Services, name: str, base: str) -> ServiceHealth:
    try:
        r = await services.client.get(f"{base}/health/ready", timeout=3)
        body = r.json()
        return ServiceHealth(service=name, state="ready" if r.status_code == 200 else "not_ready",
                             checks=body.get("checks", {}))
    except (httpx.HTTPError, ValueError) as exc:
        return ServiceHealth(service=name, state="unreachable", error=type(exc).__name__)


async def system_health(services: Services) -> SystemHealth:
    """Every service asked at once; `ready` only when all are."""
    results = await asyncio.gather(*(service_health(services, n, u) for n, u in services.upstreams.items()))
    ok = all(r.state == "ready" for r in results)
    return SystemHealth(status="ready" if ok else "degraded", services=list(results))


@router.get("/health", tags=["health"], responses={200: {"model": SystemHealth}, 503: {"model": SystemHealth}})
async def health(services: ServiceClient) -> JSONResponse:
    """200 only when every service is ready; lists each service with its state (the page for people: /status)."""
    answer = await system_health(services)
    ok = answer.status == "ready"
    return JSONResponse(answer.model_dump(exclude_none=True), status_code=200 if ok else 503)


@router.get("/health/live", tags=["health"])
async def live() -> GatewayLiveness:
    return GatewayLiveness(pid=os.getpid())


@router.get("/health/ready", tags=["health"])
async def ready() -> GatewayReadiness:
    return GatewayReadiness()


@router.get("/metrics", include_in_schema=False)
async def metrics(deps: Deps) -> Response:
    return Response(generate_latest(deps.proxy_metrics.registry), media_type=CONTENT_TYPE_LATEST)


_VOTE = re.compile(r"/campaigns/[^/]+/votes$")


async def _send(deps: GatewayDeps, method: str, url: str, params: Any, headers: dict[str, str],
                body: bytes) -> httpx.Response:
    """The request to a service. While the service accepts no connection (restarting: supervisord or the platform
    brings it back within seconds) it is tried again for a while; nothing reached the service, so any request
    may go again. A vote is also tried again when its connection broke without an answer (the process died under
    it): its idempotency key makes the second try count once. Any other failure is not retried: the service may
    have acted on it."""
    deadline = time.monotonic() + deps.settings.upstream_connect_wait_s
    pause = 0.1
    retried = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) if (
        method == "POST" and _VOTE.search(url)) else (httpx.ConnectError,)
    while True:
        try:
            return await deps.services.client.request(method, url, params=params, headers=headers, content=body)
        except retried:
            if time.monotonic() + pause > deadline:
                raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)


def _refusal(code: str, message: str, message_zh: str, status: int) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "message_zh": message_zh}}, status_code=status)


def operators_only(path: str) -> bool:
    """Whether a proxied path reaches a service's `/metrics`, which only operators' scrapers read (directly, never
    through the gateway): its per-campaign counters would tell vote counts a campaign hides. Dot segments and
    repeated slashes are resolved first, as the service would."""
    resolved = posixpath.normpath("/" + path).lstrip("/")
    return resolved.split("/", 1)[0].lower() == "metrics"


_DOCS_PAGES = {"docs", "redoc"}


async def service_docs(service: str, path: str, request: Request, deps: GatewayDeps) -> Response | None:
    """A service's API description and docs pages, as the gateway serves them: its OpenAPI document says it lives
    under /api/<service> (so "Try it out" goes through the gateway), its own docs pages (which load Swagger from a
    CDN) give way to the gateway's /docs with that service chosen (`/docs?api=<service>`), and all of it is off
    where the gateway's docs are. None: not a docs path."""
    resolved = posixpath.normpath("/" + path).strip("/")
    if resolved not in _DOCS_PAGES | {"openapi.json"} and not resolved.startswith("docs/"):
        return None
    if not docs_enabled(deps.settings.env, deps.settings.api_docs):
        return _refusal("not_found", "Not found", "未找到", 404)
    if resolved != "openapi.json":
        return RedirectResponse(f"/docs?api={service}", status_code=307)
    upstream = await _send(deps, "GET", f"{deps.services.upstreams[service]}/openapi.json", None,
                           forwarded_headers(request, deps), b"")
    if upstream.status_code != 200:
        return Response(upstream.content, status_code=upstream.status_code,
                        media_type=upstream.headers.get("content-type"))
    document = upstream.json()
    document["servers"] = [{"url": f"/api/{service}"}]
    return JSONResponse(document)


def forwarded_headers(request: Request, deps: Deps) -> dict[str, str]:
    """The request's headers as a service receives them: no hop headers, the voter's address set by us."""
    # Header values go on stripped: an HTTP client refuses to send one with trailing space ("Bearer "), and
    # the service, not the gateway, answers what such a header means (here: 401, no ticket).
    headers = {k: v.strip() for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
    client_ip = voter_address(request.client.host if request.client else "",
                              request.headers.get("x-forwarded-for"), deps.trusted)
    # The chain as received, then the address we read from it; an address we could not tell (garbage in a
    # trusted proxy's header) adds nothing: a header ending in ", " is one the HTTP client refuses to send.
    chain = ", ".join(hop for hop in (headers.pop("x-forwarded-for", "").rstrip(", "), client_ip) if hop)
    if chain:
        headers["x-forwarded-for"] = chain
    # What the services trust: set here, never passed through; empty when the address could not be told (the
    # services then count the voter under no address, never under the proxy's).
    headers["x-real-ip"] = client_ip
    return headers


@router.api_route("/api/{service}/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                  include_in_schema=False)
async def proxy(service: str, path: str, request: Request, deps: Deps) -> Response:
    base = deps.services.upstreams.get(service)
    if base is None:
        return _refusal("unknown_service", f"No service named {service}", "没有这个服务", 404)
    counted = deps.proxy_metrics
    if operators_only(path):
        counted.requests.labels(service, "404").inc()
        return _refusal("not_found", "Not found", "未找到", 404)
    started = time.perf_counter()
    try:
        if request.method == "GET" and (answer := await service_docs(service, path, request, deps)):
            return answer
        headers = forwarded_headers(request, deps)
        upstream = await _send(deps, request.method, f"{base}/{path}", request.query_params.multi_items(), headers,
                               await request.body())
    except httpx.HTTPError as exc:
        counted.requests.labels(service, "503").inc()
        refusal = _refusal("service_unavailable", f"{service} did not answer ({type(exc).__name__})",
                           "服务暂时不可用，请稍后再试", 503)
        refusal.headers["Retry-After"] = "5"
        return refusal
    counted.latency.labels(service).observe(time.perf_counter() - started)
    counted.requests.labels(service, str(upstream.status_code)).inc()
    out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS
                   and k.lower() not in _OWN_HEADERS}
    return Response(upstream.content, status_code=upstream.status_code, headers=out_headers)
