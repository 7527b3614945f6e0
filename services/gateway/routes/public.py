"""The public's pages: the campaigns, a campaign, its entries, the standings and the results; WeChat sign-in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import texts
from ..deps import Deps, ServiceClient, View
from .api import system_health

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


def campaign_phase(campaign: dict[str, Any], phase_id: str | None) -> dict[str, Any] | None:
    return next((p for p in campaign.get("phases", []) if p.get("id") == phase_id), None)


def matching(entries: list[dict[str, Any]], category: str, q: str) -> list[dict[str, Any]]:
    """The entries of a category (all when none) whose name or unit contains what was searched for."""
    needle = q.strip().lower()
    return [e for e in entries
            if (not category or e.get("category_id") == category)
            and (not needle or needle in (e.get("name") or "").lower()
                 or needle in (e.get("unit_name") or "").lower())]


@router.get("/")
async def home(view: View, services: ServiceClient) -> Response:
    r = await services.call("submission", "GET", "/campaigns", cache_as="campaigns")
    if not r.ok:
        return view.problem(r.error, r.status)
    return view.render("home.html", {"campaigns": r.body.get("campaigns", [])})


@router.get("/c/{campaign_id}")
async def campaign_page(campaign_id: str, view: View, services: ServiceClient) -> Response:
    r = await services.campaign(campaign_id)
    if not r.ok:
        return view.problem(r.error, r.status)
    return view.render("campaign.html", {"c": r.body, "phase": campaign_phase(r.body, r.body["current_phase"])})


@router.get("/status")
async def status_page(view: View, services: ServiceClient) -> Response:
    """Each service ready or not, in words (the same as /health, which programs read)."""
    health = await system_health(services)
    page = view.render("status.html", {"health": health, "checked_at": datetime.now(UTC)},
                       status=200 if health.status == "ready" else 503)
    page.headers["Cache-Control"] = "no-store"
    return page


@router.get("/c/{campaign_id}/privacy")
async def privacy_page(campaign_id: str, view: View, services: ServiceClient) -> Response:
    r = await services.campaign(campaign_id)
    if not r.ok:
        return view.problem(r.error, r.status)
    if not r.body.get("privacy"):
        return view.problem({"code": "not_found"}, 404)
    return view.render("privacy.html", {"c": r.body})


@router.get("/c/{campaign_id}/entries")
async def entries_page(campaign_id: str, view: View, services: ServiceClient, category: str = "",
                       q: str = "") -> Response:
    c = await services.campaign(campaign_id)
    if not c.ok:
        return view.problem(c.error, c.status)
    r = await services.call("submission", "GET", f"/public/campaigns/{quote(campaign_id)}/entries",
                            cache_as="entries")
    if not r.ok:
        return view.problem(r.error, r.status)
    return view.render("entries.html", {"c": c.body, "entries": matching(r.body.get("entries", []), category, q),
                                        "category": category, "q": q,
                                        "messages": texts.messages_for_script(view.lang)})


@router.get("/c/{campaign_id}/entries/{entry_id}")
async def entry_page(campaign_id: str, entry_id: str, view: View, services: ServiceClient) -> Response:
    c = await services.campaign(campaign_id)
    if not c.ok:
        return view.problem(c.error, c.status)
    r = await services.call("submission", "GET", f"/public/campaigns/{quote(campaign_id)}/entries",
                            cache_as="entries")
    if not r.ok:
        return view.problem(r.error, r.status)
    entry = next((e for e in r.body.get("entries", []) if e.get("entry_id") == entry_id), None)
    if entry is None:
        return view.problem({"code": "not_found"}, 404)
    labels = {f["id"]: f for f in c.body.get("form", []) if f.get("public")}
    fields = [(labels.get(k), k, v) for k, v in entry.get("fields", {}).items()
              if k not in ("category", "account_name", "platform") and v not in (None, "")]
    return view.render("entry.html", {"c": c.body, "e": entry, "fields": fields,
                                      "messages": texts.messages_for_script(view.lang)})


@router.get("/c/{campaign_id}/standings")
async def standings_page(campaign_id: str, view: View, services: ServiceClient) -> Response:
    c = await services.campaign(campaign_id)
    if not c.ok:
        return view.problem(c.error, c.status)
    r = await services.call("voting", "GET", f"/campaigns/{quote(campaign_id)}/standings", cache_as="standings")
    if not r.ok:
        return view.problem(r.error, r.status)
    show = (c.body.get("voting") or {}).get("show_counts", "always")
    return view.render("standings.html", {"c": c.body, "s": r.body, "show": show})


@router.get("/c/{campaign_id}/vote-log")
async def vote_log_page(campaign_id: str, view: View, services: ServiceClient) -> Response:
    """The campaign's sealed vote-log roots, and a receipt check done in the browser (static/verify.js)."""
    c = await services.campaign(campaign_id)
    if not c.ok:
        return view.problem(c.error, c.status)
    r = await services.call("voting", "GET", f"/campaigns/{quote(campaign_id)}/vote-log/seals")
    if not r.ok:
        return view.problem(r.error, r.status)
    return view.render("vote_log.html", {"c": c.body, "log": r.body, "messages": texts.messages_for_script(view.lang)})


@router.get("/c/{campaign_id}/results")
async def results_page(campaign_id: str, view: View, services: ServiceClient) -> Response:
    c = await services.campaign(campaign_id)
    if not c.ok:
        return view.problem(c.error, c.status)
    r = await services.call("scoring", "GET", f"/campaigns/{quote(campaign_id)}/results", cache_as="results")
    if r.status == 404 or (not r.ok and r.status < 500):
        return view.render("results.html", {"c": c.body, "r": None})
    if not r.ok:
        return view.problem(r.error, r.status)
    return view.render("results.html", {"c": c.body, "r": r.body})


# --- WeChat sign-in (snsapi_base) ------------------------------------------------------------

def wechat_return_address(request: Request, public_url: str, campaign_id: str) -> str:
    """Where WeChat sends the voter back: under the configured public address (its domain is the one registered
    with the official account), else the address this request came to."""
    base = public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/c/{quote(campaign_id, safe='')}/wechat/return"


@router.get("/c/{campaign_id}/wechat")
async def wechat_start(campaign_id: str, request: Request, view: View, services: ServiceClient,
                       deps: Deps) -> Response:
    """To WeChat's authorisation page (inside WeChat's browser it returns at once, without asking: snsapi_base)."""
    back = wechat_return_address(request, deps.settings.public_url, campaign_id)
    r = await services.call("voting", "GET", f"/campaigns/{quote(campaign_id)}/voters/wechat/authorize",
                            params={"redirect_uri": back})
    if not r.ok:
        return view.problem(r.error, r.status)
    return RedirectResponse(r.body["authorize_url"], status_code=302, headers={"Cache-Control": "no-store"})


@router.get("/c/{campaign_id}/wechat/return")
async def wechat_return(campaign_id: str, request: Request, view: View, services: ServiceClient, deps: Deps,
                        code: str = "", state: str = "") -> Response:
    """Back from WeChat with a code and our state: the voting service gives a ticket for it, and the campaign page
    takes it from the address's fragment (never sent to a server) into the tab's storage."""
    if not code or not state:
        return view.problem({"code": "wechat_code_invalid"}, 400)
    back = wechat_return_address(request, deps.settings.public_url, campaign_id)
    r = await services.call("voting", "POST", f"/campaigns/{quote(campaign_id)}/voters/wechat/return",
                            json={"code": code, "state": state, "redirect_uri": back})
    if not r.ok:
        return view.problem(r.error, r.status)
    return RedirectResponse(f"/c/{quote(campaign_id)}#voter-ticket={r.body['ticket']}", status_code=303,
                            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
