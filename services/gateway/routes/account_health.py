"""Account health pages: a unit's findings (report one fixed, import its figures), an office's findings board for
its region (decide on reported fixes, export), and the monthly registry report with its charts."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..deps import ServiceClient, StaffMember, View
from ..forms import posted, uploaded_file

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
STATUSES = ("open", "reported_fixed", "closed")
DOWNLOADS = {"csv": "findings", "xlsx": "findings"}


def _last_month() -> str:
    return (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


async def _board(view: View, staff: Any, services: ServiceClient, status: str | None,
                 error: dict[str, Any] | None = None, result: dict[str, Any] | None = None) -> Response:
    params = {"status": status} if status in STATUSES else {}
    r = await services.call("registry", "GET", "/findings", token=staff.token, params=params)
    if not r.ok:
        return view.problem(r.error, r.status)
    return view.render("account_findings.html", {
        "findings": r.body.get("findings", []), "status": status if status in STATUSES else "",
        "statuses": STATUSES, "flash": view.done, "error": view.refusal(error) if error else None,
        "refused_rows": _refused_rows(error),
        "result": result, "month": _last_month()}, status=422 if error else 200)


def _refused_rows(error: dict[str, Any] | None) -> list[dict[str, Any]]:
    details = (error or {}).get("details")
    rows = details.get("refused") if isinstance(details, dict) else None
    return rows if isinstance(rows, list) else []


@router.get("/console/accounts/findings")
async def findings(view: View, staff: StaffMember, services: ServiceClient, status: str | None = None) -> Response:
    """A unit: its own findings. An office: every finding of the units in its region. An admin: all."""
    if staff is None:
        return view.sign_in_again()
    return await _board(view, staff, services, status)


@router.post("/console/accounts/findings/{finding_id}/fixed")
async def report_fixed(finding_id: uuid.UUID, request: Request, view: View, staff: StaffMember,
                       services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    note = str((await posted(request)).get("note", "")).strip() or None
    r = await services.call("registry", "POST", f"/findings/{finding_id}/fixed", token=staff.token,
                            json={"note": note})
    if r.ok:
        return RedirectResponse("/console/accounts/findings?done=finding_fixed_reported", status_code=303)
    return await _board(view, staff, services, None, r.error)


@router.post("/console/accounts/findings/{finding_id}/decision")
async def decide(finding_id: uuid.UUID, request: Request, view: View, staff: StaffMember,
                 services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    form = await posted(request)
    body = {"decision": str(form.get("decision", "")), "note": str(form.get("note", "")).strip() or None}
    r = await services.call("registry", "POST", f"/findings/{finding_id}/decision", token=staff.token, json=body)
    if r.ok:
        return RedirectResponse("/console/accounts/findings?done=finding_decided", status_code=303)
    return await _board(view, staff, services, None, r.error)


@router.post("/console/accounts/snapshots")
async def import_figures(request: Request, view: View, staff: StaffMember, services: ServiceClient) -> Response:
    """A unit imports a CSV or XLSX of its accounts' figures; refused rows are listed by line."""
    if staff is None:
        return view.sign_in_again()
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    data = uploaded_file(body, content_type, "file") or b""
    keep_good = uploaded_file(body, content_type, "keep_good") is not None
    try:
        r = await services.client.post(services.url("registry", "/snapshots/import"), content=data,
                                       params={"keep_good": str(keep_good).lower()},
                                       headers={"authorization": f"Bearer {staff.token}"})
        answer = r.json()
    except (httpx.HTTPError, ValueError):
        return view.problem({"code": "service_unavailable"}, 502)
    if r.status_code != 200:
        return await _board(view, staff, services, None, answer.get("error", {}))
    return await _board(view, staff, services, None, None, answer)


async def _download(view: View, staff: Any, services: ServiceClient, path: str, params: dict[str, str]) -> Response:
    """A registry file fetched with the signed-in token, so a plain link works."""
    try:
        r = await services.client.get(services.url("registry", path), params=params,
                                      headers={"authorization": f"Bearer {staff.token}"})
    except httpx.HTTPError:
        return view.problem({"code": "service_unavailable"}, 502)
    if r.status_code != 200:
        try:
            return view.problem(r.json().get("error", {}), r.status_code)
        except ValueError:
            return view.problem({"code": "internal_error"}, r.status_code)
    keep = {k: v for k, v in r.headers.items() if k.lower() in ("content-type", "content-disposition")}
    return Response(r.content, headers=keep)


@router.get("/console/accounts/findings.{fmt}")
async def export_findings(fmt: str, view: View, staff: StaffMember, services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    if fmt not in DOWNLOADS:
        return view.problem({"code": "not_found"}, 404)
    return await _download(view, staff, services, "/findings", {"format": fmt})


@router.get("/console/accounts/report")
async def report(view: View, staff: StaffMember, services: ServiceClient, month: str | None = None) -> Response:
    """The monthly report of the office's region: charts and tables, printable; the XLSX to download."""
    if staff is None:
        return view.sign_in_again()
    month = month or _last_month()
    r = await services.call("registry", "GET", f"/reports/{quote(month)}", token=staff.token)
    if not r.ok and r.error.get("code") not in ("report_not_found",):
        return view.problem(r.error, r.status)
    figures = r.body if r.ok else None
    return view.render("account_report.html", {"month": month, "report": figures, "flash": view.done,
                                               "charts": _charts(figures) if figures else []})


@router.post("/console/accounts/report")
async def produce(request: Request, view: View, staff: StaffMember, services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    month = str((await posted(request)).get("month", "")).strip() or _last_month()
    r = await services.call("registry", "POST", "/reports", token=staff.token, json={"month": month})
    if not r.ok:
        return view.problem(r.error, r.status)
    return RedirectResponse(f"/console/accounts/report?month={quote(month)}&done=report_produced", status_code=303)


@router.get("/console/accounts/report/{month}.xlsx")
async def report_xlsx(month: str, view: View, staff: StaffMember, services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    return await _download(view, staff, services, f"/reports/{quote(month)}", {"format": "xlsx"})


def _charts(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Bar charts as the template draws them in SVG: each bar's label, value and length in per cent."""
    def chart(key: str, lines: list[dict[str, Any]], field: str) -> dict[str, Any]:
        top = max((int(x.get(field) or 0) for x in lines), default=0) or 1
        return {"key": key, "bars": [{"label": str(x.get("name", ""))[:18], "value": int(x.get(field) or 0),
                                      "length": round(340 * int(x.get(field) or 0) / top)} for x in lines]}

    units, regions = figures.get("units", []), figures.get("regions", [])
    return [chart("chart_posts_per_unit", units, "posts"),
            chart("chart_findings_per_region", regions, "findings_opened"),
            chart("chart_idle_per_region", regions, "idle_accounts")]
