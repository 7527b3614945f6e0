"""A unit's pages: its nominations in a campaign, the nomination form, a nomination with its activity."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..deps import ServiceClient, StaffMember, View
from ..forms import field_messages, nomination_values, posted, uploaded_file
from ..rendering import SIGN_IN_AGAIN, PageView
from ..upstream import Services, Upstream
from ..visitor import Staff

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


# The form fields a registry account fills in (its verified values and its snapshot's figures).
REGISTRY_FILLED = frozenset({"account_name", "account_id", "platform", "level", "followers", "posts", "interactions"})


def render_form(view: PageView, c: dict[str, Any], *, category: str, raw: dict[str, str],
                errors: dict[str, list[str]] | None = None, general: list[str] | None = None,
                unit_opinion: str = "", correcting: bool = False, status: int = 200,
                registry: dict[str, Any] | None = None, picked: str = "") -> HTMLResponse:
    """The nomination form, posting back to where it was asked for, with what was typed and what was refused; in a
    campaign that takes registry accounts, the unit's accounts to pick from (`registry`) and the one picked."""
    return view.render("nomination_form.html", {
        "c": c, "action": view.request.url.path, "category": category, "raw": raw, "errors": errors or {},
        "general": general or [], "unit_opinion": unit_opinion, "correcting": correcting, "registry": registry,
        "picked": picked, "registry_filled": REGISTRY_FILLED}, status=status)


async def registry_accounts(services: Services, staff: Staff, c: dict[str, Any]) -> dict[str, Any] | None:
    """The unit's registry accounts for the picker, in a campaign that takes them (None otherwise)."""
    if c.get("nomination_accounts", "free_text") == "free_text":
        return None
    r = await services.call("submission", "GET", f"/campaigns/{quote(c['id'])}/registry-accounts", token=staff.token)
    return r.body if r.ok else {"accounts": [], "error": r.error}


def with_account(body: dict[str, Any], form: Any) -> str:
    """Puts the picked registry account (if any) into the request body; returns it to show again."""
    picked = str(form.get("registry_account_id", "")).strip()
    if picked:
        body["registry_account_id"] = picked
    return picked


async def nomination_and_campaign(view: PageView, services: Services, staff: Staff,
                                  nomination_id: uuid.UUID) -> tuple[Upstream, Upstream] | Response:
    """The nomination as the signed-in staff member may see it, and its campaign; or the page saying why not."""
    r = await services.call("submission", "GET", f"/nominations/{nomination_id}", token=staff.token)
    if not r.ok:
        return view.problem(r.error, r.status)
    c = await services.campaign(r.body["campaign_id"])
    if not c.ok:
        return view.problem(c.error, c.status)
    return r, c


async def nomination_again(view: PageView, services: Services, staff: Staff, nomination_id: uuid.UUID,
                           **kept: Any) -> Response:
    """The nomination's page once more after a refused post, with what was typed and the refusal."""
    found = await nomination_and_campaign(view, services, staff, nomination_id)
    if isinstance(found, Response):
        return found
    r, c = found
    context = {"c": c.body, "n": r.body, "flash": None, "reason": kept.get("reason", ""),
               "decision": kept.get("decision", ""), "summary": kept.get("summary", ""),
               "links": kept.get("links", ""), "held_on": kept.get("held_on", ""), "review_error": None,
               "activity_error": None, "image_error": None}
    for key in ("review_error", "activity_error", "image_error"):
        if kept.get(key):
            context[key] = view.refusal(kept[key])
    return view.render("nomination.html", context, status=422)


@router.get("/console/c/{campaign_id}/nominations")
async def unit_nominations(campaign_id: str, view: View, staff: StaffMember, services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    c = await services.campaign(campaign_id)
    if not c.ok:
        return view.problem(c.error, c.status)
    r = await services.call("submission", "GET", f"/campaigns/{quote(campaign_id)}/nominations", token=staff.token)
    if not r.ok:
        return view.problem(r.error, r.status)
    return view.render("nominations.html", {"c": c.body, "nominations": r.body.get("nominations", []),
                                            "flash": view.done})


@router.get("/console/c/{campaign_id}/nominations/new")
async def new_nomination(campaign_id: str, view: View, staff: StaffMember, services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    c = await services.campaign(campaign_id)
    if not c.ok:
        return view.problem(c.error, c.status)
    return render_form(view, c.body, category="", raw={}, registry=await registry_accounts(services, staff, c.body))


@router.post("/console/c/{campaign_id}/nominations/new")
async def create_nomination(campaign_id: str, request: Request, view: View, staff: StaffMember,
                            services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    c = await services.campaign(campaign_id)
    if not c.ok:
        return view.problem(c.error, c.status)
    form = await posted(request)
    category, values, raw = nomination_values(c.body, form)
    opinion = str(form.get("unit_opinion", "")).strip()
    body: dict[str, Any] = {"category_id": category, "form": values}
    picked = with_account(body, form)
    if opinion:
        body["unit_opinion"] = opinion
    r = await services.call("submission", "POST", f"/campaigns/{quote(campaign_id)}/nominations", token=staff.token,
                            json=body)
    if r.ok:
        return RedirectResponse(f"/console/nominations/{r.body['id']}?done=submitted_ok", status_code=303)
    if r.error.get("code") in SIGN_IN_AGAIN:
        return view.sign_in_again()
    errors, general = field_messages(r.error, view.lang)
    return render_form(view, c.body, category=category, raw=raw, errors=errors, general=general,
                       unit_opinion=opinion, status=422 if r.status < 500 else 502,
                       registry=await registry_accounts(services, staff, c.body), picked=picked)


@router.get("/console/nominations/{nomination_id}")
async def nomination_page(nomination_id: uuid.UUID, view: View, staff: StaffMember,
                          services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    found = await nomination_and_campaign(view, services, staff, nomination_id)
    if isinstance(found, Response):
        return found
    r, c = found
    return view.render("nomination.html", {"c": c.body, "n": r.body, "flash": view.done, "review_error": None,
                                           "reason": "", "decision": "", "activity_error": None})


@router.post("/console/nominations/{nomination_id}/image")
async def upload_image(nomination_id: uuid.UUID, request: Request, view: View, staff: StaffMember,
                       services: ServiceClient) -> Response:
    """The unit's avatar or logo from the nomination page's file field, passed on to be checked and kept."""
    if staff is None:
        return view.sign_in_again()
    data = uploaded_file(await request.body(), request.headers.get("content-type", ""), "image")
    if not data:
        return await nomination_again(view, services, staff, nomination_id, image_error={"code": "image_missing"})
    try:
        r = await services.client.put(services.url("submission", f"/nominations/{nomination_id}/image"),
                                      content=data, headers={"authorization": f"Bearer {staff.token}",
                                                             "content-type": "application/octet-stream"})
        answer = r.json()
    except (httpx.HTTPError, ValueError):
        return await nomination_again(view, services, staff, nomination_id,
                                      image_error={"code": "service_unavailable"})
    if r.status_code == 200:
        return RedirectResponse(f"/console/nominations/{nomination_id}?done=image_ok", status_code=303)
    error = answer.get("error") or {"code": "internal_error"}
    if error.get("code") in SIGN_IN_AGAIN:
        return view.sign_in_again()
    return await nomination_again(view, services, staff, nomination_id, image_error=error)


@router.get("/console/nominations/{nomination_id}/image/{size}")
async def nomination_image(nomination_id: uuid.UUID, size: int, view: View, staff: StaffMember,
                           services: ServiceClient) -> Response:
    """The nomination's picture as the signed-in staff member may see it (before the entry is public too)."""
    if staff is None:
        return Response(status_code=401)
    try:
        r = await services.client.get(services.url("submission", f"/nominations/{nomination_id}/image/{size}"),
                                      headers={"authorization": f"Bearer {staff.token}"})
    except httpx.HTTPError:
        return Response(status_code=502)
    if r.status_code != 200:
        return Response(status_code=r.status_code if r.status_code < 500 else 502)
    return Response(r.content, media_type=r.headers.get("content-type", "image/webp"),
                    headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"})


@router.post("/console/nominations/{nomination_id}/activity")
async def activity(nomination_id: uuid.UUID, request: Request, view: View, staff: StaffMember,
                   services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    form = await posted(request)
    summary = str(form.get("summary", "")).strip()
    links = [line.strip() for line in str(form.get("links", "")).splitlines() if line.strip()]
    held_on = str(form.get("held_on", "")).strip()
    r = await services.call("submission", "POST", f"/nominations/{nomination_id}/activity", token=staff.token,
                            json={"summary": summary, "links": links, "held_on": held_on or None})
    if r.ok:
        return RedirectResponse(f"/console/nominations/{nomination_id}?done=activity_ok", status_code=303)
    return await nomination_again(view, services, staff, nomination_id, activity_error=r.error, summary=summary,
                                  links="\n".join(links), held_on=held_on)


@router.get("/console/nominations/{nomination_id}/edit")
async def edit_nomination(nomination_id: uuid.UUID, view: View, staff: StaffMember,
                          services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    found = await nomination_and_campaign(view, services, staff, nomination_id)
    if isinstance(found, Response):
        return found
    r, c = found
    raw = {k: "" if v is None else str(v) for k, v in r.body.get("form", {}).items()}
    picked = (r.body.get("registry") or {}).get("account_id", "")
    return render_form(view, c.body, category=r.body["category_id"], raw=raw, correcting=True,
                       registry=await registry_accounts(services, staff, c.body), picked=picked)


@router.post("/console/nominations/{nomination_id}/edit")
async def correct_nomination(nomination_id: uuid.UUID, request: Request, view: View, staff: StaffMember,
                             services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    form = await posted(request)
    c = await services.campaign(str(form.get("campaign_id", "")))
    if not c.ok:
        return view.problem(c.error, c.status)
    category, values, raw = nomination_values(c.body, form)
    body: dict[str, Any] = {"category_id": category, "form": values}
    picked = with_account(body, form)
    r = await services.call("submission", "PUT", f"/nominations/{nomination_id}", token=staff.token, json=body)
    if r.ok:
        return RedirectResponse(f"/console/nominations/{nomination_id}?done=submitted_ok", status_code=303)
    errors, general = field_messages(r.error, view.lang)
    return render_form(view, c.body, category=category, raw=raw, errors=errors, general=general, correcting=True,
                       status=422 if r.status < 500 else 502,
                       registry=await registry_accounts(services, staff, c.body), picked=picked)
