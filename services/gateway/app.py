"""Gateway factory: one entry URL for people and systems, aggregated health, a reverse proxy to the services."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from massline.errors import install_error_handlers
from massline.logging import configure_logging

from .pages import install_pages
from .settings import GatewaySettings

MIGRATIONS = None  # the gateway owns no data

def parse_networks(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()]


def voter_address(peer: str, forwarded_for: str | None,
                  trusted: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str:
    """The address a request came from: the connecting peer, unless that peer is a trusted proxy.

    Then the X-Forwarded-For chain is read from the right, skipping trusted proxies; the first
    address that is not one of ours is the client's. Anything to its left was written by the
    client and proves nothing.
    """
    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in trusted)

    if not trusted or not is_trusted(peer) or not forwarded_for:
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not is_trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return ""  # unknown: scored with what else is known, never as a shared address
    return peer


_HOP_HEADERS = {"x-real-ip", "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
                "transfer-encoding", "upgrade", "host", "content-length"}


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    configure_logging("gateway", settings.log_level)
    upstreams = settings.upstreams()
    trusted = parse_networks(settings.trusted_proxies)
    registry = CollectorRegistry()
    requests = Counter("massline_gateway_requests", "Requests proxied", ["service", "status"], registry=registry)
    latency = Histogram("massline_gateway_request_seconds", "Proxied request time", ["service"], registry=registry)
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=400, max_keepalive_connections=200)
        state["client"] = httpx.AsyncClient(timeout=settings.proxy_timeout_s, limits=limits)
        # The client's User-Agent reaches the services as it was sent (the vote path hashes it), and a
        # request without one stays without one instead of taking httpx's own.
        del state["client"].headers["user-agent"]
        sampling = asyncio.create_task(service_metrics.run())
        try:
            yield
        finally:
            sampling.cancel()
            await state["client"].aclose()

    app = FastAPI(title="massline", description="The entry point: every service's API under /api/<service>/.",
                  version="1.0.0", lifespan=lifespan)
    install_error_handlers(app)

    async def service_health(name: str, base: str) -> dict[str, Any]:
        try:
            r = await state["client"].get(f"{base}/health/ready", timeout=3)
            body = r.json()
            return {"service": name, "state": "ready" if r.status_code == 200 else "not_ready",
                    "checks": body.get("checks", {})}
        except (httpx.HTTPError, ValueError) as exc:
            return {"service": name, "state": "unreachable", "error": type(exc).__name__}

    @app.get("/health", tags=["health"])
    async def health() -> JSONResponse:
        """200 only when every service is ready; lists each service with its state."""
        results = await asyncio.gather(*(service_health(n, u) for n, u in upstreams.items()))
        ok = all(r["state"] == "ready" for r in results)
        return JSONResponse({"status": "ready" if ok else "degraded", "services": results},
                            status_code=200 if ok else 503)

    @app.get("/health/live", tags=["health"])
    async def live() -> dict[str, Any]:
        return {"service": "gateway", "status": "live", "pid": os.getpid()}

    @app.get("/health/ready", tags=["health"])
    async def ready() -> dict[str, Any]:
        return {"service": "gateway", "status": "ready"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.api_route("/api/{service}/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                   include_in_schema=False)
    async def proxy(service: str, path: str, request: Request) -> Response:
        base = upstreams.get(service)
        if base is None:
            return JSONResponse({"error": {"code": "unknown_service", "message": f"No service named {service}",
                                           "message_zh": "没有这个服务"}}, status_code=404)
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
            requests.labels(service, "400").inc()
            return JSONResponse({"error": {"code": "invalid_path", "message": "The path holds a control character",
                                           "message_zh": "请求路径含有控制字符"}}, status_code=400)
        # Header values go on stripped: an HTTP client refuses to send one with trailing space ("Bearer "), and
        # the service, not the gateway, answers what such a header means (here: 401, no ticket).
        headers = {k: v.strip() for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        client_ip = voter_address(request.client.host if request.client else "",
                                  request.headers.get("x-forwarded-for"), trusted)
        prior = request.headers.get("x-forwarded-for")
        headers["x-forwarded-for"] = f"{prior}, {client_ip}" if prior else client_ip
        headers["x-real-ip"] = client_ip  # what the services trust: set here, never passed through
        started = time.perf_counter()
        try:
            upstream = await state["client"].request(
                request.method, f"{base}/{path}", params=request.query_params, headers=headers,
                content=await request.body(),
            )
        except httpx.HTTPError as exc:
            requests.labels(service, "502").inc()
            return JSONResponse({"error": {"code": "service_unavailable",
                                           "message": f"{service} did not answer ({type(exc).__name__})",
                                           "message_zh": "服务暂时不可用，请稍后再试"}}, status_code=502)
        latency.labels(service).observe(time.perf_counter() - started)
        requests.labels(service, str(upstream.status_code)).inc()
        out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS
                       and k.lower() != "content-encoding"}
        return Response(upstream.content, status_code=upstream.status_code, headers=out_headers)

    service_metrics = install_pages(app, upstreams, lambda: state["client"])

    return app

