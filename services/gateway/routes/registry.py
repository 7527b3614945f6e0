"""The account registry's pages: a unit files and maintains its accounts, an office reviews the requests awaiting it
and sees the accounts of its region (docs/registry.md)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..deps import ServiceClient, StaffMember, View
from ..forms import posted

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

# The platforms the registry accepts (MASSLINE_PLATFORMS of the registry service, by default).
PLATFORMS = ("wechat", "weibo", "douyin", "toutiao", "kuaishou", "bilibili", "website", "app", "other")
LEVELS = ("unit", "county", "city", "provincial")
FILING_FIELDS = ("platform", "level", "platform_account_id", "verified_name", "purpose", "exception_reason", "reason")
# What a unit may ask of an account, and the posted form field carrying its reason.
UNIT_ACTIONS = ("change", "suspend", "resume", "close", "activate")


def _filing(form: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {k: form.get(k, "").strip() for k in FILING_FIELDS}
    body = {k: v for k, v in body.items() if v or k in ("platform", "level", "platform_account_id", "verified_name")}
    body["person_in_charge"] = {"username": form.get("person_username", "").strip(),
                                "contact": form.get("person_contact", "").strip()}
    return body


@router.get("/console/registry")
async def registry_home(view: View, staff: StaffMember, services: ServiceClient) -> Response:
    """A unit's accounts and the filing form; an office's region, with a link to its review queue."""
    if staff is None:
        return view.sign_in_again()
    r = await services.call("registry", "GET", "/accounts", token=staff.token)
    if not r.ok:
        return view.problem(r.error, r.status)
    return view.render("registry.html", {"accounts": r.body.get("accounts", []), "flash": view.done,
                                         "form": {}, "error": None, "platform_ids": PLATFORMS, "levels": LEVELS})


@router.post("/console/registry")
async def file_account(request: Request, view: View, staff: StaffMember, services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    form = await posted(request)
    r = await services.call("registry", "POST", "/accounts", token=staff.token, json=_filing(form))
    if r.ok:
        return RedirectResponse(f"/console/registry/accounts/{r.body['account_id']}?done=registry_filed_ok",
                                status_code=303)
    mine = await services.call("registry", "GET", "/accounts", token=staff.token)
    return view.render("registry.html", {"accounts": mine.body.get("accounts", []) if mine.ok else [],
                                         "flash": None, "form": form, "error": view.refusal(r.error),
                                         "platform_ids": PLATFORMS, "levels": LEVELS}, status=200)


async def _account_page(view: View, services: ServiceClient, staff: Any, account_id: uuid.UUID,
                        error: str | None = None) -> Response:
    r = await services.call("registry", "GET", f"/accounts/{account_id}", token=staff.token)
    if not r.ok:
        return view.problem(r.error, r.status)
    account = r.body
    pending = next((q for q in account.get("requests", []) if q["status"] in ("pending", "returned")), None)
    return view.render("registry_account.html", {"a": account, "pending": pending, "flash": view.done,
                                                 "error": error, "levels": LEVELS})


@router.get("/console/registry/accounts/{account_id}")
async def account_page(account_id: uuid.UUID, view: View, staff: StaffMember, services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    return await _account_page(view, services, staff, account_id)


@router.post("/console/registry/accounts/{account_id}/{action}")
async def unit_action(account_id: uuid.UUID, action: str, request: Request, view: View, staff: StaffMember,
                      services: ServiceClient) -> Response:
    """The unit asks for a change, suspension, resumption or closing, or says the account is in operation."""
    if staff is None:
        return view.sign_in_again()
    if action not in UNIT_ACTIONS:
        return view.problem({"code": "not_found"}, 404)
    form = await posted(request)
    if action == "change":
        keep = ("verified_name", "platform_account_id", "level", "reason")
        body: dict[str, Any] | None = {k: v.strip() for k, v in form.items() if k in keep and v.strip()}
    else:
        body = None if action == "activate" else {"reason": form.get("reason", "").strip()}
    r = await services.call("registry", "POST", f"/accounts/{account_id}/{action}", token=staff.token, json=body)
    if r.ok:
        done = "registry_activated_ok" if action == "activate" else "registry_request_ok"
        return RedirectResponse(f"/console/registry/accounts/{account_id}?done={done}", status_code=303)
    return await _account_page(view, services, staff, account_id, view.refusal(r.error))


@router.post("/console/registry/requests/{request_id}/{action}")
async def request_action(request_id: uuid.UUID, action: str, request: Request, view: View, staff: StaffMember,
                         services: ServiceClient) -> Response:
    """An office's decision (approve or return, with reason), or the unit's resubmission or withdrawal."""
    if staff is None:
        return view.sign_in_again()
    if action not in ("decision", "resubmit", "withdraw"):
        return view.problem({"code": "not_found"}, 404)
    form = await posted(request)
    reason = form.get("reason", "").strip() or None
    body = {"decision": form.get("decision", ""), "reason": reason} if action == "decision" else \
        {"reason": reason} if action == "resubmit" else None
    r = await services.call("registry", "POST", f"/requests/{request_id}/{action}", token=staff.token, json=body)
    account_id = form.get("account_id", "")
    if r.ok:
        done = {"decision": "registry_decided_ok", "resubmit": "registry_resubmitted_ok",
                "withdraw": "registry_withdrawn_ok"}[action]
        target = "/console/registry/review" if action == "decision" else f"/console/registry/accounts/{account_id}"
        return RedirectResponse(f"{target}?done={done}", status_code=303)
    try:
        return await _account_page(view, services, staff, uuid.UUID(account_id), view.refusal(r.error))
    except ValueError:
        return view.problem(r.error, r.status)


@router.get("/console/registry/review")
async def review_queue(view: View, staff: StaffMember, services: ServiceClient) -> Response:
    """The requests awaiting the signed-in office, oldest first."""
    if staff is None:
        return view.sign_in_again()
    r = await services.call("registry", "GET", "/review", token=staff.token)
    if not r.ok:
        return view.problem(r.error, r.status)
    return view.render("registry_review.html", {"queue": r.body.get("requests", []), "flash": view.done})
