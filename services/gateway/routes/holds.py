"""The operator holding an entry's votes of a time window by hand (a jump no rule explained): the form, a preview of
what it would hold and the ranks if those votes stopped counting, and the hold itself, which opens a case."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import texts
from ..deps import Deps, StaffMember, View
from ..forms import posted
from ..rendering import SIGN_IN_AGAIN, PageView
from ..times import instant, zone, zone_label
from ..visitor import Staff

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what an <input type="datetime-local"> sends and shows


def local_input(value: Any, tz: str | None) -> str:
    """A time the service sent, as the form's field shows it in the campaign's zone ("" when none)."""
    moment = instant(value)
    if moment is None:
        return ""
    try:
        local = moment.astimezone(zone(tz)[0])
    except OverflowError:  # the last day a datetime holds, moved past it
        return ""
    return local.strftime(LOCAL_INPUT + (":%S" if local.second else ""))


def from_local(text: str, tz: str | None) -> str | None:
    """The form's local time as the service takes it (ISO with its offset); None when empty or not a time. A time
    typed with its own offset keeps it."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(tz)[0])
    return moment.isoformat()


def _moment(text: str, tz: str | None) -> str:
    text = text.strip()
    return from_local(text, tz) or text  # what is no time goes as typed: the service says what is wrong with it


def hold_body(form: dict[str, str], tz: str | None) -> dict[str, Any]:
    """The form as the service's hold takes it, its local times with the campaign's offset."""
    end = _moment(form.get("end", ""), tz)
    return {"entry_id": form.get("entry_id", "").strip(), "start": _moment(form.get("start", ""), tz),
            **({"end": end} if end else {}), "identities": form.get("identities", "new"),
            "reason": form.get("reason", "").strip()}


def ranks_rows(preview: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The preview's categories whose ranks would change, or that hold the entry, as the page lists them."""
    if not preview:
        return []
    entry = preview.get("entry_id")
    return [c for c in preview.get("categories", [])
            if c.get("moved") or any(e.get("entry_id") == entry for e in c.get("entries", []))]


async def hold_page(view: PageView, deps: Deps, campaign: dict[str, Any], form: dict[str, str], *,
                    preview: dict[str, Any] | None = None, error: str | None = None, code: int = 200) -> Response:
    rows = ranks_rows(preview)
    entry = next((e for cat in rows for e in cat.get("entries", []) if e.get("entry_id") == form.get("entry_id")),
                 None) or await entry_named(deps, campaign["id"], form.get("entry_id", ""))
    return view.render("hold.html", {
        "c": campaign, "form": form, "preview": preview, "ranks": rows, "error": error, "entry": entry,
        "zone": zone_label(campaign.get("timezone"), view.lang)}, status=code)


async def entry_named(deps: Deps, campaign_id: str, entry_id: str) -> dict[str, Any] | None:
    """The entry's name and unit as the public list has them (when there is no preview to name it)."""
    r = await deps.services.call("voting", "GET", f"/campaigns/{quote(campaign_id)}/entries")
    found = next((e for e in (r.body.get("entries", []) if r.ok else []) if e.get("entry_id") == entry_id), None)
    return {"entry_id": entry_id, "entry_name": found.get("name"), "unit_name": found.get("unit_name")} \
        if found else None


def still_open(value: str | None) -> bool:
    """A window's end the clock has not reached (a jump of the last ten minutes)."""
    moment = instant(value)
    return moment is not None and moment > datetime.now(UTC)


@router.get("/console/c/{campaign_id}/holds/new")
async def new_hold(campaign_id: str, request: Request, view: View, staff: StaffMember, deps: Deps) -> Response:
    """The form, filled from a jump of the operations page (entry, its ten minutes), with its preview."""
    if staff is None:
        return view.sign_in_again()
    c = await deps.services.campaign(campaign_id)
    if not c.ok:
        return view.problem(c.error, c.status)
    tz = c.body.get("timezone")
    q = request.query_params
    form = {"entry_id": q.get("entry_id", ""), "start": local_input(q.get("start"), tz),
            # a window still open is held up to now (the field left empty): only votes cast can be held
            "end": "" if still_open(q.get("end")) else local_input(q.get("end"), tz),
            "identities": q.get("identities", "new"), "reason": ""}
    preview, error = None, None
    if form["entry_id"] and form["start"]:
        r = await call_hold(deps, staff, campaign_id, {**hold_body(form, tz), "reason": "preview"}, preview=True)
        if r.ok:
            preview = r.body
        elif r.error.get("code") in SIGN_IN_AGAIN:
            return view.sign_in_again()
        else:
            error = view.refusal(r.error)
    return await hold_page(view, deps, c.body, form, preview=preview, error=error)


async def call_hold(deps: Deps, staff: Staff, campaign_id: str, body: dict[str, Any], *, preview: bool) -> Any:
    return await deps.services.call("antifraud", "POST", f"/campaigns/{quote(campaign_id)}/holds", token=staff.token,
                                    json={**body, "preview": preview})


@router.post("/console/c/{campaign_id}/holds")
async def post_hold(campaign_id: str, request: Request, view: View, staff: StaffMember, deps: Deps) -> Response:
    """Preview (the form as typed, nothing changed) or hold; a hold goes to its new case's page."""
    if staff is None:
        return view.sign_in_again()
    form = await posted(request)
    c = await deps.services.campaign(campaign_id)
    if not c.ok:
        return view.problem(c.error, c.status)
    body = hold_body(form, c.body.get("timezone"))
    if not body["entry_id"] or not body["start"]:
        return await hold_page(view, deps, c.body, form, code=422,
                               error=texts.pick(texts.UI, "hold_fields_missing", view.lang))
    previewing = form.get("action") != "hold"
    if previewing:
        body["reason"] = body["reason"] if len(body["reason"]) >= 2 else "preview"
    r = await call_hold(deps, staff, campaign_id, body, preview=previewing)
    if r.ok and not previewing:
        return RedirectResponse(f"/console/cases/{quote(r.body['case_id'])}?done=hold_created", status_code=303)
    if r.ok:
        return await hold_page(view, deps, c.body, form, preview=r.body)
    if r.error.get("code") in SIGN_IN_AGAIN:
        return view.sign_in_again()
    return await hold_page(view, deps, c.body, form, error=view.refusal(r.error), code=422)
