"""What a publication is anchored to: the audit chain heads of the campaign in the other services and the vote-log
roots voting sealed, read over HTTP just before the publication's transaction (docs/audit.md).

A service whose address is not configured is not read. One that is configured but does not answer refuses the
publication (503 audit_anchor_unavailable): results are not published without the heads that let anyone check
them. Voting's seals are optional: while its endpoint does not exist (404), the results carry no roots.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from massline.contracts import AuditHead, VoteLogRoot
from massline.errors import ApiError

from .settings import ScoringSettings

HEAD_PATH = "/campaigns/{}/audit/head"
SEALS_PATH = "/campaigns/{}/vote-log/seals"


def unavailable(service: str, why: str) -> ApiError:
    return ApiError(503, "audit_anchor_unavailable", f"无法读取{service}服务的审计链头，结果暂未发布，请稍后重试",
                    f"The {service} service did not give its audit anchor ({why}); nothing was published, "
                    "try again shortly", {"service": service})


async def _get(client: httpx.AsyncClient, service: str, url: str) -> httpx.Response:
    try:
        return await client.get(url)
    except httpx.HTTPError as exc:
        raise unavailable(service, type(exc).__name__) from None


async def other_heads(settings: ScoringSettings, campaign_id: str) -> list[AuditHead]:
    """The campaign's chain heads in submission and antifraud (those configured)."""
    heads = []
    async with httpx.AsyncClient(timeout=settings.anchor_timeout_s) as client:
        for service, base in (("submission", settings.submission_url), ("antifraud", settings.antifraud_url)):
            if not base:
                continue
            r = await _get(client, service, base.rstrip("/") + HEAD_PATH.format(quote(campaign_id, safe="")))
            if r.status_code != 200:
                raise unavailable(service, f"HTTP {r.status_code}")
            body = r.json()
            heads.append(AuditHead(service=service, seq=int(body["seq"]), hash=str(body["hash"])))
    return heads


def seals_of(body: Any) -> list[VoteLogRoot]:
    """The day roots in voting's answer (`GET /campaigns/{id}/vote-log/seals`: `{"seals": [{day, seq, root,
    leaf_count, sealed_at}]}`)."""
    items = body.get("seals", []) if isinstance(body, dict) else []
    roots = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        day, root = item.get("day"), item.get("root")
        if day and root:
            votes = item.get("leaf_count")
            roots.append(VoteLogRoot(day=str(day), root=str(root), votes=votes if isinstance(votes, int) else None))
    return sorted(roots, key=lambda s: s.day)


async def vote_log_roots(settings: ScoringSettings, campaign_id: str) -> list[VoteLogRoot]:
    """Voting's sealed day roots of the campaign; none while voting seals none (404) or is not configured."""
    if not settings.voting_url:
        return []
    async with httpx.AsyncClient(timeout=settings.anchor_timeout_s) as client:
        url = settings.voting_url.rstrip("/") + SEALS_PATH.format(quote(campaign_id, safe=""))
        r = await _get(client, "voting", url)
    if r.status_code == 404:
        return []
    if r.status_code != 200:
        raise unavailable("voting", f"HTTP {r.status_code}")
    return seals_of(r.json())
