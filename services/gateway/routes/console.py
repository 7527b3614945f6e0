"""Staff sign-in and sign-out, the console's front page and the signed-in staff member's inbox."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import texts
from ..addresses import voter_address
from ..deps import Deps, Language, ServiceClient, StaffMember, View
from ..forms import posted, safe_next
from ..visitor import STAFF_COOKIE

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/login")
async def login_page(view: View, next: str = "/console") -> Response:
    return view.render("login.html", {"next": safe_next(next), "username": "", "error": None})


@router.post("/login")
async def login(request: Request, view: View, services: ServiceClient, deps: Deps) -> Response:
    form = await posted(request)
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    target = safe_next(str(form.get("next", "/console")))
    address = voter_address(request.client.host if request.client else "", request.headers.get("x-forwarded-for"),
                            deps.trusted)
    r = await services.call("submission", "POST", "/auth/login", json={"username": username, "password": password},
                            client_ip=address)
    if not r.ok:
        error = r.error if r.status != 422 else {"code": "invalid_credentials"}
        return view.render("login.html", {"next": target, "username": username,
                                          "error": texts.error_sentence(error, view.lang)}, status=200)
    page = RedirectResponse(target, status_code=303)
    # HttpOnly: no script on any page can read the staff token; SameSite=Strict: no other site can post with it.
    page.set_cookie(STAFF_COOKIE, r.body["access_token"], httponly=True, samesite="strict", path="/",
                    secure=request.url.scheme == "https")
    return page


@router.post("/logout")
async def logout() -> Response:
    page = RedirectResponse("/", status_code=303)
    page.delete_cookie(STAFF_COOKIE, path="/")
    return page


@router.get("/console")
async def console(view: View, staff: StaffMember, services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    r = await services.call("submission", "GET", "/campaigns", cache_as="campaigns")
    if not r.ok:
        return view.problem(r.error, r.status)
    return view.render("console.html", {"campaigns": r.body.get("campaigns", [])})


@router.get("/console/inbox")
async def staff_inbox(view: View, staff: StaffMember, lang: Language, services: ServiceClient) -> Response:
    """The signed-in unit's, office's or expert's notices (received, returned with reason, assignments…)."""
    if staff is None:
        return view.sign_in_again()
    kind = {"unit": "unit", "office": "office", "expert": "expert"}.get(staff.role)
    ident = staff.username if kind == "expert" else staff.organisation_id
    notices: list[dict[str, Any]] = []
    if kind and ident:
        r = await services.call("notification", "GET", f"/inbox/{quote(kind + ':' + ident, safe=':')}",
                                token=staff.token, params={"lang": lang})
        if not r.ok:
            return view.problem(r.error, r.status)
        notices = r.body.get("notifications", [])
    # Each notice's time in the zone of the campaign it is about.
    ids = sorted({n["campaign_id"] for n in notices if n.get("campaign_id")})
    found = await asyncio.gather(*(services.campaign(i) for i in ids))
    zones = {i: c.body.get("timezone") for i, c in zip(ids, found, strict=True) if c.ok}
    return view.render("inbox.html", {"notices": notices, "has_inbox": bool(kind and ident), "zones": zones})
