"""The gateway's calls to the services on behalf of a page: one answer type, a short cache for public reads."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx

# Public answers are cached briefly in the gateway so that a page stays cheap during a vote surge;
# the seconds are short enough that a phase change or a new entry shows within a few seconds.
PUBLIC_TTL_S = {"campaigns": 1.0, "campaign": 2.0, "entries": 2.0, "standings": 2.0, "results": 5.0}
_CACHE_LIMIT = 2000


@dataclass
class Upstream:
    """A service's answer to a page: its status and its JSON body (an error body when it sent none)."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> dict[str, Any]:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            error: dict[str, Any] = self.body["error"]
            return error
        return {"code": "internal_error"}


@dataclass
class Services:
    """The HTTP client to the services, opened for the app's lifetime, and where each service answers."""

    upstreams: dict[str, str]
    http: httpx.AsyncClient | None = None
    cache: dict[tuple[str, str], tuple[float, Upstream]] = field(default_factory=dict)

    @property
    def client(self) -> httpx.AsyncClient:
        if self.http is None:
            raise RuntimeError("the gateway's client to the services is not open")
        return self.http

    def url(self, service: str, path: str) -> str:
        return f"{self.upstreams[service]}{path}"

    async def call(self, service: str, method: str, path: str, *, token: str | None = None, json: Any = None,
                   params: dict[str, Any] | None = None, cache_as: str | None = None,
                   client_ip: str | None = None) -> Upstream:
        """One call to a service as the signed-in staff member (or anonymously); `cache_as` names a public read;
        `client_ip` is the visitor's address, for the services that count per address (sign-in)."""
        key = (service, path + "?" + urlencode(params or {}))
        if cache_as:
            hit = self.cache.get(key)
            if hit and time.monotonic() - hit[0] < PUBLIC_TTL_S[cache_as]:
                return hit[1]
        headers = {"authorization": f"Bearer {token}"} if token else {}
        if client_ip:
            headers["x-real-ip"] = client_ip
        try:
            r = await self.client.request(method, self.url(service, path), json=json, params=params, headers=headers)
        except httpx.HTTPError:
            return Upstream(502, {"error": {"code": "service_unavailable"}})
        try:
            body = r.json()
        except ValueError:
            body = {"error": {"code": "internal_error"}} if r.status_code >= 400 else {}
        answer = Upstream(r.status_code, body)
        if cache_as and answer.ok:
            if len(self.cache) > _CACHE_LIMIT:
                self.cache.clear()
            self.cache[key] = (time.monotonic(), answer)
        return answer

    async def campaign(self, campaign_id: str) -> Upstream:
        """A campaign's public definition, as every page about it starts from."""
        if not campaign_id.strip():  # a form without one: "/campaigns/" would be the list's redirect, not a 404
            return Upstream(404, {"error": {"code": "campaign_not_found"}})
        return await self.call("submission", "GET", f"/campaigns/{quote(campaign_id)}", cache_as="campaign")
