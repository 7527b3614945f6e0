"""The office's initial review: the queue of submitted nominations, a decision on one, the exports."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..deps import ServiceClient, StaffMember, View
from ..forms import posted
from .nominations import nomination_again

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.post("/console/nominations/{nomination_id}/review")
async def review(nomination_id: uuid.UUID, request: Request, view: View, staff: StaffMember,
                 services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    form = await posted(request)
    decision, reason = str(form.get("decision", "")), str(form.get("reason", "")).strip()
    r = await services.call("submission", "POST", f"/nominations/{nomination_id}/review", token=staff.token,
                            json={"decision": decision, "reason": reason})
    if r.ok:
        return RedirectResponse(f"/console/c/{quote(r.body['campaign_id'])}/review?done=review_ok", status_code=303)
    return await nomination_again(view, services, staff, nomination_id, review_error=r.error, reason=reason,
                                  decision=decision)


@router.get("/console/c/{campaign_id}/review")
async def review_queue(campaign_id: str, view: View, staff: StaffMember, services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    c = await services.campaign(campaign_id)
    if not c.ok:
        return view.problem(c.error, c.status)
    base = f"/campaigns/{quote(campaign_id)}"
    r = await services.call("submission", "GET", f"{base}/nominations", token=staff.token,
                            params={"status": "submitted"})
    if not r.ok:
        return view.problem(r.error, r.status)
    short = await services.call("submission", "GET", f"{base}/shortfalls", token=staff.token)
    return view.render("review.html", {
        "c": c.body, "queue": r.body.get("nominations", []),
        "shortfalls": short.body.get("shortfalls", []) if short.ok else None, "flash": view.done})


@router.get("/console/c/{campaign_id}/exports/{sheet}.{fmt}")
async def export(campaign_id: str, sheet: str, fmt: str, view: View, staff: StaffMember,
                 services: ServiceClient) -> Response:
    """The office's export, fetched with its signed-in token so a plain link works."""
    if staff is None:
        return view.sign_in_again()
    try:
        r = await services.client.get(
            services.url("submission", f"/campaigns/{quote(campaign_id)}/exports/{quote(sheet)}"),
            params={"format": fmt}, headers={"authorization": f"Bearer {staff.token}"})
    except httpx.HTTPError:
        return view.problem({"code": "service_unavailable"}, 502)
    if r.status_code != 200:
        try:
            return view.problem(r.json().get("error", {}), r.status_code)
        except ValueError:
            return view.problem({"code": "internal_error"}, r.status_code)
    keep = {k: v for k, v in r.headers.items() if k.lower() in ("content-type", "content-disposition")}
    return Response(r.content, headers=keep)
