"""The committee's final review: rankings, adjustments, approval and publication; every expert's score, reopened."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .. import texts
from ..deps import ServiceClient, StaffMember, View
from ..forms import names_field, number, posted
from ..rendering import SIGN_IN_AGAIN, PageView, explanation_lines
from ..score_sheet import score_sheet
from ..upstream import Services
from ..visitor import Staff

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

REOPEN_REASON_MIN = 2  # the scoring service's own minimum for a reopening's reason


async def final_page(view: PageView, services: Services, staff: Staff, campaign_id: str, *, status: int = 200,
                     kept: dict[str, Any] | None = None) -> Response:
    """The final review's page, with what a refused post typed kept in its form, and the voting period's jumps of an
    entry's share (what no rule held is for the committee to know of; None when the anti-fraud service is out)."""
    c = await services.campaign(campaign_id)
    if not c.ok:
        return view.problem(c.error, c.status)
    r, jumps = await asyncio.gather(
        services.call("scoring", "GET", f"/campaigns/{quote(campaign_id)}/final-review", token=staff.token),
        services.call("antifraud", "GET", f"/campaigns/{quote(campaign_id)}/jumps?whole_campaign=true",
                      token=staff.token))
    if not r.ok:
        return view.problem(r.error, r.status)
    return view.render("final_review.html", {
        "c": c.body, "f": r.body, "flash": view.done, "kept": kept or {}, "explain": explanation_lines,
        "jumps": jumps.body.get("jumps", []) if jumps.ok else None}, status=status)


@router.get("/console/c/{campaign_id}/final-review")
async def final_review(campaign_id: str, view: View, staff: StaffMember, services: ServiceClient) -> Response:
    if staff is None:
        return view.sign_in_again()
    return await final_page(view, services, staff, campaign_id)


async def committee_post(view: PageView, services: Services, staff: Staff | None, campaign_id: str, path: str,
                         body: dict[str, Any], done: str, kept: dict[str, Any]) -> Response:
    """One of the committee's decisions posted to the scoring service; back to the final review either way."""
    if staff is None:
        return view.sign_in_again()
    r = await services.call("scoring", "POST", f"/campaigns/{quote(campaign_id)}/{path}", token=staff.token,
                            json=body)
    if r.ok:
        return RedirectResponse(f"/console/c/{quote(campaign_id)}/final-review?done={done}", status_code=303)
    if r.error.get("code") in SIGN_IN_AGAIN:
        return view.sign_in_again()
    return await final_page(view, services, staff, campaign_id, status=422 if r.status < 500 else 502,
                            kept={**kept, "error": view.refusal(r.error)})


@router.post("/console/c/{campaign_id}/adjustments")
async def adjust(campaign_id: str, request: Request, view: View, staff: StaffMember,
                 services: ServiceClient) -> Response:
    form = await posted(request)
    entry, points, reason = form.get("entry_id", ""), form.get("points", "").strip(), form.get("reason", "").strip()
    kept = {"form": "adjust", "entry_id": entry, "points": points, "reason": reason}
    value = number(points)
    if points == "" or isinstance(value, str):
        if staff is None:
            return view.sign_in_again()
        return await final_page(view, services, staff, campaign_id, status=422, kept={
            **kept, "error": texts.pick(texts.ERRORS, "points_invalid", view.lang)})
    return await committee_post(view, services, staff, campaign_id, "adjustments",
                                {"entry_id": entry, "points": value, "reason": reason}, "adjusted_ok", kept)


@router.post("/console/c/{campaign_id}/approval")
async def approve(campaign_id: str, request: Request, view: View, staff: StaffMember,
                  services: ServiceClient) -> Response:
    note = (await posted(request)).get("note", "").strip()
    return await committee_post(view, services, staff, campaign_id, "approval", {"note": note}, "approved_ok",
                                {"form": "approve", "note": note})


@router.post("/console/c/{campaign_id}/publication")
async def publish(campaign_id: str, request: Request, view: View, staff: StaffMember,
                  services: ServiceClient) -> Response:
    form = await posted(request)
    winners: dict[str, Any] = {}
    for k, v in form.items():
        if k.startswith("w_") and v.strip():
            winners[k.removeprefix("w_")] = number(v)
    return await committee_post(view, services, staff, campaign_id, "publication", {"winners": winners},
                                "published_ok", {"form": "publish", "winners": {k: str(v) for k, v in winners.items()}})


# --- every expert's score, and reopening a locked one ---------------------------------------------

def scores_url(campaign_id: str, category: str, **query: str) -> str:
    params = {**({"category": category} if category else {}), **query}
    return f"/console/c/{quote(campaign_id)}/expert-scores" + (f"?{urlencode(params)}" if params else "")


def score_anchor(target: dict[str, str]) -> str:
    """Where one expert's score of one entry stands on the scores page."""
    return f"#s-{target['entry_id']}-{target['expert_id']}-{target['component']}"


async def scores_page(view: PageView, services: Services, staff: Staff, campaign_id: str, category: str, *,
                      status: int = 200, kept: dict[str, Any] | None = None) -> Response:
    """Every expert's score of a category (all when none), with what a refused reopening typed kept in place."""
    c = await services.campaign(campaign_id)
    if not c.ok:
        return view.problem(c.error, c.status)
    r = await services.call("scoring", "GET", f"/campaigns/{quote(campaign_id)}/final-review", token=staff.token)
    if not r.ok:
        return view.problem(r.error, r.status)
    shown = category if category in r.body.get("rankings", {}) else ""
    return view.render("expert_scores.html", {
        "c": c.body, "f": r.body, "sheet": score_sheet(r.body, shown), "category": shown,
        "categories": list(r.body.get("rankings", {})), "flash": view.done,
        "kept": kept or {}, "scores_url": scores_url}, status=status)


@router.get("/console/c/{campaign_id}/expert-scores")
async def expert_scores(campaign_id: str, view: View, staff: StaffMember, services: ServiceClient,
                        category: str = "") -> Response:
    if staff is None:
        return view.sign_in_again()
    return await scores_page(view, services, staff, campaign_id, category)


@router.get("/console/c/{campaign_id}/expert-scores/reopen")
async def reopen_link(campaign_id: str, request: Request) -> Response:
    # The language link of a page answered to a post points here: back to the scores, in that language.
    lang = request.query_params.get("lang")
    return RedirectResponse(scores_url(campaign_id, "", **({"lang": lang} if lang in texts.LANGS else {})),
                            status_code=303)


@router.post("/console/c/{campaign_id}/expert-scores/reopen")
async def reopen(campaign_id: str, request: Request, view: View, staff: StaffMember,
                 services: ServiceClient) -> Response:
    """Two steps: the reason first, then a page that says what reopening does; only its confirmation posts."""
    if staff is None:
        return view.sign_in_again()
    form = await posted(request)
    target = {k: form.get(k, "").strip() for k in ("expert_id", "entry_id", "component")}
    category, reason = form.get("category", "").strip(), form.get("reason", "").strip()
    kept = {"key": f"{target['entry_id']}/{target['expert_id']}/{target['component']}", "reason": reason}
    if len(reason) < REOPEN_REASON_MIN:
        return await scores_page(view, services, staff, campaign_id, category, status=422, kept={
            **kept, "error": texts.pick(texts.ERRORS, "reopen_reason_required", view.lang)})
    if form.get("confirmed") != "yes":
        return await reopen_confirmation(view, services, staff, campaign_id, category, target, reason, kept)
    r = await services.call("scoring", "POST", f"/campaigns/{quote(campaign_id)}/expert-scores/reopen",
                            token=staff.token, json={**target, "reason": reason})
    if r.ok:
        return RedirectResponse(scores_url(campaign_id, category, done="reopened_ok") + score_anchor(target),
                                status_code=303)
    if r.error.get("code") in SIGN_IN_AGAIN:
        return view.sign_in_again()
    if names_field(r.error, "reason"):
        sentence = texts.pick(texts.ERRORS, "reopen_reason_required", view.lang)
    else:
        sentence = view.refusal(r.error)
    return await scores_page(view, services, staff, campaign_id, category, status=422 if r.status < 500 else 502,
                             kept={**kept, "error": sentence})


def sheet_row(final: dict[str, Any], target: dict[str, str]) -> dict[str, Any] | None:
    """The score a reopening is about, with its entry and category; None when the sheet has no such score."""
    wanted = (target["expert_id"], target["entry_id"], target["component"])
    row = None
    for cat in score_sheet(final, ""):
        for entry in cat["entries"]:
            for x in entry["rows"]:
                if (x["expert_id"], entry["entry_id"], x["component"]) == wanted:
                    row = {**x, "entry": entry, "category_id": cat["category_id"]}
    return row


async def reopen_confirmation(view: PageView, services: Services, staff: Staff, campaign_id: str, category: str,
                              target: dict[str, str], reason: str, kept: dict[str, Any]) -> Response:
    """The page that says what reopening this score does, asking to confirm."""
    c = await services.campaign(campaign_id)
    if not c.ok:
        return view.problem(c.error, c.status)
    r = await services.call("scoring", "GET", f"/campaigns/{quote(campaign_id)}/final-review", token=staff.token)
    if not r.ok:
        return view.problem(r.error, r.status)
    row = sheet_row(r.body, target)
    if row is not None and not row["reopenable"]:
        # Already unlocked (another member was quicker) or never locked: said now, not after a confirmation.
        return await scores_page(view, services, staff, campaign_id, category, status=422, kept={
            **kept, "error": texts.pick(texts.ERRORS, "score_not_submitted", view.lang)})
    return view.render("reopen_confirm.html", {
        "c": c.body, "f": r.body, "target": target, "row": row, "reason": reason, "category": category,
        "back": scores_url(campaign_id, category) + score_anchor(target)})
