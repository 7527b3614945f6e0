"""The expert's scoring: their assignments in a campaign, a score saved or submitted, a recusal."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..deps import ServiceClient, StaffMember, View
from ..forms import number, posted
from ..rendering import SIGN_IN_AGAIN, PageView
from ..upstream import Services
from ..visitor import Staff

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


async def scoring_page(view: PageView, services: Services, staff: Staff, campaign_id: str, *, status: int = 200,
                       kept: dict[str, Any] | None = None) -> Response:
    """The expert's assignments, with what a refused post typed kept in place."""
    c = await services.campaign(campaign_id)
    if not c.ok:
        return view.problem(c.error, c.status)
    r = await services.call("scoring", "GET", f"/campaigns/{quote(campaign_id)}/my-assignments", token=staff.token)
    if not r.ok:
        return view.problem(r.error, r.status)
    return view.render("scoring.html", {"c": c.body, "a": r.body, "flash": view.done, "kept": kept or {}},
                       status=status)


@router.get("/console/c/{campaign_id}/scoring")
async def scoring(campaign_id: str, view: View, staff: StaffMember, services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    return await scoring_page(view, services, staff, campaign_id)


# Before the scoring route: "recusal" would otherwise be read as a component name.
@router.post("/console/c/{campaign_id}/scoring/{entry_id}/recusal")
async def recuse(campaign_id: str, entry_id: uuid.UUID, request: Request, view: View, staff: StaffMember,
                 services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    reason = (await posted(request)).get("reason", "").strip()
    r = await services.call("scoring", "POST", f"/campaigns/{quote(campaign_id)}/my-assignments/{entry_id}/recusal",
                            token=staff.token, json={"reason": reason})
    if r.ok:
        return RedirectResponse(f"/console/c/{quote(campaign_id)}/scoring?done=recused_ok", status_code=303)
    if r.error.get("code") in SIGN_IN_AGAIN:
        return view.sign_in_again()
    return await scoring_page(view, services, staff, campaign_id, status=422, kept={
        "recusal": str(entry_id), "reason": reason, "error": view.refusal(r.error)})


@router.post("/console/c/{campaign_id}/scoring/{entry_id}/{component}")
async def score(campaign_id: str, entry_id: uuid.UUID, component: str, request: Request, view: View,
                staff: StaffMember, services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    form = await posted(request)
    points = {k.removeprefix("p_"): number(v) for k, v in form.items() if k.startswith("p_")}
    submit = form.get("action") == "submit"
    error: dict[str, Any]
    if any(v == "" for v in points.values()):
        error = {"code": "criteria_incomplete"}
    else:
        r = await services.call("scoring", "PUT", f"/campaigns/{quote(campaign_id)}/my-assignments/{entry_id}/"
                                f"{quote(component)}", token=staff.token, json={"criteria": points, "submit": submit})
        if r.ok:
            done = "score_submitted" if submit else "score_saved"
            return RedirectResponse(f"/console/c/{quote(campaign_id)}/scoring?done={done}#a-{entry_id}-"
                                    f"{component}", status_code=303)
        if r.error.get("code") in SIGN_IN_AGAIN:
            return view.sign_in_again()
        error = r.error
    typed = {k.removeprefix("p_"): v for k, v in form.items() if k.startswith("p_")}
    return await scoring_page(view, services, staff, campaign_id, status=422, kept={
        "key": f"{entry_id}/{component}", "points": typed, "error": view.refusal(error)})
