"""The operator's pages: the campaign's vote rate, errors and pipeline, the queue of anti-fraud cases, one case."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from .. import texts
from ..alerts import ALERT_NAME, read_alerting
from ..deps import Deps, ServiceClient, StaffMember, View
from ..forms import posted, posted_pairs, whole_number
from ..operations_view import errors_view, pipeline_view, vote_rate_view, what_if_view
from ..rendering import SIGN_IN_AGAIN, PageView, explanation_lines
from ..service_metrics import Sample, ServiceMetrics
from ..upstream import Services, Upstream
from ..visitor import Staff

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

CASE_STATUSES = ("flagged", "invalidated", "overturned")
QUEUE_ORDERS = ("impact", "newest")
RUNBOOKS = Path(__file__).resolve().parents[3] / "docs" / "runbooks"  # one file per alert, named as the alert
QUEUE_PAGE = 20  # cases per page of the operator's review queue


def operations_url(campaign_id: str, status: str, sort: str, offset: int = 0, **more: Any) -> str:
    params = {"status": status or "all", "sort": sort, **({"offset": offset} if offset else {}), **more}
    return f"/console/c/{quote(campaign_id)}/operations?{urlencode(params)}"


def queue_pages(campaign_id: str, queue: dict[str, Any], shown: str, order: str) -> dict[str, Any]:
    """Where this page of the case queue stands: its first and last case of the total, and the pages around it."""
    first = queue.get("offset", 0)
    return {"total": queue.get("total", 0), "from": first + 1, "to": first + len(queue.get("cases", [])),
            "previous": operations_url(campaign_id, shown, order, max(first - QUEUE_PAGE, 0)) if first else None,
            "next": operations_url(campaign_id, shown, order, queue["next"]) if queue.get("next") else None}


def bulk_outcome(request: Request, done: str | None) -> dict[str, int] | None:
    """After a bulk decision: how many cases it changed and skipped, as its redirect said."""
    if done != "bulk_decided":
        return None
    return {k: whole_number(request.query_params.get(k, "0")) or 0 for k in ("changed", "skipped")}


async def case_queue(services: Services, sampler: ServiceMetrics, staff: Staff, campaign_id: str,
                     params: dict[str, Any]) -> tuple[list[Upstream], Sample]:
    """The anti-fraud service's cases, invalidations per entry, both what-if scenarios and the entries whose share
    jumped, with a fresh sample."""
    base = f"/campaigns/{quote(campaign_id)}"
    calls = asyncio.gather(
        services.call("antifraud", "GET", f"{base}/cases", token=staff.token, params=params),
        services.call("antifraud", "GET", f"{base}/invalidations", token=staff.token),
        *(services.call("antifraud", "GET", f"{base}/what-if", token=staff.token, params={"scenario": scenario})
          for scenario in ("all_held_released", "all_held_confirmed")),
        services.call("antifraud", "GET", f"{base}/jumps", token=staff.token))
    answers, now = await asyncio.gather(calls, sampler.sample())
    return list(answers), now


async def operations_page(view: PageView, deps: Deps, staff: Staff, campaign_id: str, status: str, sort: str,
                          offset: int, *, code: int = 200, kept: dict[str, Any] | None = None) -> Response:
    """The operator's page of a campaign, with what a refused bulk decision typed kept in place."""
    c = await deps.services.campaign(campaign_id)
    if not c.ok:
        return view.problem(c.error, c.status)
    shown = status if status in CASE_STATUSES else ""
    order = sort if sort in QUEUE_ORDERS else "impact"
    params = {"sort": order, "limit": QUEUE_PAGE, "offset": max(offset, 0), **({"status": shown} if shown else {})}
    ((cases, per_entry, released, confirmed, jumps), now), alerting = await asyncio.gather(
        case_queue(deps.services, deps.sampler, staff, campaign_id, params),
        read_alerting(deps.services.client, deps.settings.prometheus_url))
    if not cases.ok:
        return view.problem(cases.error, cases.status)
    samples = list(deps.sampler.samples)
    queue = cases.body
    done = view.done
    return view.render("operations.html", {
        "c": c.body, "cases": queue.get("cases", []), "shown": shown, "order": order,
        "pages": queue_pages(campaign_id, queue, shown, order), "offset": queue.get("offset", 0), "kept": kept or {},
        "per_entry": per_entry.body.get("entries", []) if per_entry.ok else None,
        "jumps": jumps.body.get("jumps", []) if jumps.ok else None,
        "what_if": what_if_view(released.body if released.ok else None,
                                confirmed.body if confirmed.ok else None, c.body),
        "rate": vote_rate_view(samples, campaign_id, c.body.get("timezone")),
        "pipeline": pipeline_view(now, alerting.broker_lag), "alerting": alerting,
        "errors": errors_view(samples), "bulk": bulk_outcome(view.request, done),
        "flash": done if done and done != "bulk_decided" else None}, status=code)


@router.get("/console/c/{campaign_id}/operations")
async def operations(campaign_id: str, view: View, staff: StaffMember, deps: Deps, status: str = "flagged",
                     sort: str = "impact", offset: str = "0") -> Response:
    if staff is None:
        return view.sign_in_again()
    return await operations_page(view, deps, staff, campaign_id, status, sort, whole_number(offset) or 0)


@router.get("/console/runbooks/{name}")
async def runbook(name: str, staff: StaffMember) -> Response:
    """An alert's runbook (docs/runbooks/<alertname>.md) as the operations page links it, for signed-in staff."""
    if staff is None:
        return RedirectResponse(f"/login?next={quote(f'/console/runbooks/{name}')}", status_code=303)
    path = RUNBOOKS / f"{name}.md"
    if not ALERT_NAME.match(name) or not path.is_file():
        return PlainTextResponse(f"No runbook docs/runbooks/{name}.md here / 没有这份处理手册", status_code=404)
    return PlainTextResponse(path.read_text(encoding="utf-8"), media_type="text/markdown; charset=utf-8")


@router.get("/console/c/{campaign_id}/operations/decisions")
async def bulk_link(campaign_id: str, request: Request) -> Response:
    # The language link of a page answered to a post points here: back to the queue, in that language.
    lang = request.query_params.get("lang")
    return RedirectResponse(operations_url(campaign_id, request.query_params.get("status", "flagged"),
                                           request.query_params.get("sort", "impact"), 0,
                                           **({"lang": lang} if lang in texts.LANGS else {})), status_code=303)


def bulk_refusal(chosen: list[str], decision: str, reason: str, lang: str) -> str | None:
    """What the bulk form lacks before it goes to the service: cases, a decision, a reason; None when complete."""
    if not chosen:
        return texts.pick(texts.UI, "bulk_none_selected", lang)
    if decision not in ("confirm", "overturn"):
        return texts.pick(texts.UI, "bulk_decision_missing", lang)
    if len(reason) < 2:
        return texts.pick(texts.ERRORS, "reason_required", lang)
    return None


@router.post("/console/c/{campaign_id}/operations/decisions")
async def bulk_decide(campaign_id: str, request: Request, view: View, staff: StaffMember, deps: Deps) -> Response:
    """The queue's checkboxes: the selected cases confirmed or overturned at once, with one reason."""
    if staff is None:
        return view.sign_in_again()
    pairs = await posted_pairs(request)
    form = dict(pairs)
    chosen = list(dict.fromkeys(v for k, v in pairs if k == "case_id" and v))
    decision, reason = form.get("decision", ""), form.get("reason", "").strip()
    status, sort = form.get("status", "flagged"), form.get("sort", "impact")
    offset = whole_number(form.get("offset", "")) or 0
    error = bulk_refusal(chosen, decision, reason, view.lang)
    if error is None:
        r = await deps.services.call("antifraud", "POST", f"/campaigns/{quote(campaign_id)}/cases/decisions",
                                     token=staff.token, json={"case_ids": chosen, "decision": decision,
                                                              "reason": reason})
        if r.ok:
            return RedirectResponse(operations_url(campaign_id, status, sort, done="bulk_decided",
                                                   changed=r.body.get("changed", 0),
                                                   skipped=r.body.get("skipped", 0)), status_code=303)
        if r.error.get("code") in SIGN_IN_AGAIN:
            return view.sign_in_again()
        error = view.refusal(r.error)
    return await operations_page(view, deps, staff, campaign_id, status, sort, offset, code=422,
                                 kept={"chosen": chosen, "decision": decision, "reason": reason, "error": error})


async def case_page(view: PageView, services: Services, staff: Staff, case_id: uuid.UUID, *, status: int = 200,
                    kept: dict[str, Any] | None = None) -> Response:
    """One case: its evidence, a sample of its votes, and the decision form."""
    r = await services.call("antifraud", "GET", f"/cases/{case_id}", token=staff.token, params={"votes": 50})
    if not r.ok:
        return view.problem(r.error, r.status)
    c = await services.campaign(r.body["campaign_id"])
    return view.render("case.html", {"c": c.body if c.ok else {"id": r.body["campaign_id"]}, "case": r.body,
                                     "kept": kept or {}, "explain": explanation_lines, "flash": view.done},
                       status=status)


@router.get("/console/cases/{case_id}")
async def case(case_id: uuid.UUID, view: View, staff: StaffMember, services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    return await case_page(view, services, staff, case_id)


async def decide_with_overlapping(services: Services, staff: Staff, case_id: uuid.UUID, decision: str,
                                  reason: str) -> Upstream:
    """The case and the other cases holding some of its votes (as the service lists them now), decided at once."""
    r = await services.call("antifraud", "GET", f"/cases/{case_id}", token=staff.token, params={"votes": 0})
    if not r.ok:
        return r
    ids = [str(case_id)] + [o["id"] for o in r.body.get("overlapping_cases", [])]
    return await services.call("antifraud", "POST", f"/campaigns/{quote(r.body['campaign_id'])}/cases/decisions",
                               token=staff.token, json={"case_ids": ids, "decision": decision, "reason": reason})


@router.post("/console/cases/{case_id}/decision")
async def decide(case_id: uuid.UUID, request: Request, view: View, staff: StaffMember,
                 services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    form = await posted(request)
    decision, reason = form.get("decision", ""), form.get("reason", "").strip()
    if form.get("with_overlapping"):
        r = await decide_with_overlapping(services, staff, case_id, decision, reason)
    else:
        r = await services.call("antifraud", "POST", f"/cases/{case_id}/decision", token=staff.token,
                                json={"decision": decision, "reason": reason})
    if r.ok:
        return RedirectResponse(f"/console/cases/{case_id}?done=case_decided_ok", status_code=303)
    if r.error.get("code") in SIGN_IN_AGAIN:
        return view.sign_in_again()
    return await case_page(view, services, staff, case_id, status=422, kept={
        "decision": decision, "reason": reason, "with_overlapping": bool(form.get("with_overlapping")),
        "error": view.refusal(r.error)})
