"""Consoles of the review: the expert's scoring, the committee's final review and publication, the operator's view."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from prometheus_client.parser import text_string_to_metric_families

from . import texts

log = logging.getLogger("massline.gateway")

EXPERT_ROLES = ("expert",)
REVIEW_ROLES = ("committee", "supervisor", "admin")
OPERATOR_ROLES = ("operator", "admin")
SIGN_IN_AGAIN = ("unauthenticated", "token_expired", "token_invalid")
REOPEN_REASON_MIN = 2  # the scoring service's own minimum for a reopening's reason
COMPONENT_ORDER = {"expert": 0, "activity": 1}


@dataclass
class Kit:
    """What the consoles borrow from the public pages: the service call, rendering, sign-in and refusals."""
    call: Callable[..., Any]
    render: Callable[..., HTMLResponse]
    problem: Callable[..., HTMLResponse]
    sign_in_again: Callable[[Request], HTMLResponse]
    staff_of: Callable[[Request], Any]
    lang_of: Callable[[Request], str]
    public_campaign: Callable[[str], Any]
    detail_sentence: Callable[[dict[str, Any], str], str]
    upstreams: dict[str, str]
    client: Callable[[], httpx.AsyncClient]


class VoteRate:
    """Votes per minute, from the voting service's own counters sampled every few seconds (last 30 minutes)."""

    INTERVAL_S = 15.0
    KEEP = 120

    def __init__(self, voting_base: str | None, client: Callable[[], httpx.AsyncClient]) -> None:
        self.base = voting_base
        self.client = client
        self.samples: deque[tuple[float, float, dict[str, float]]] = deque(maxlen=self.KEEP)

    async def sample(self) -> bool:
        if not self.base:
            return False
        try:
            r = await self.client().get(f"{self.base}/metrics", timeout=3)
            r.raise_for_status()
        except httpx.HTTPError:
            return False
        accepted, refused = 0.0, {}
        for family in text_string_to_metric_families(r.text):
            for s in family.samples:
                if s.name == "massline_votes_accepted_total":
                    accepted += s.value
                elif s.name == "massline_votes_rejected_total":
                    code = s.labels.get("code", "")
                    refused[code] = refused.get(code, 0.0) + s.value
        self.samples.append((time.time(), accepted, refused))
        return True

    async def fresh(self) -> None:
        """A sample taken now if the last is older than a few seconds, so the page is never stale."""
        if not self.samples or time.time() - self.samples[-1][0] > 5:
            await self.sample()

    async def run(self) -> None:
        while True:
            try:
                await self.sample()
            except Exception:  # the chart must never take the gateway down
                log.warning("sampling the vote rate failed", exc_info=True)
            await asyncio.sleep(self.INTERVAL_S)

    def view(self) -> dict[str, Any]:
        """Per interval votes/minute, the figures to show, and the chart as SVG coordinates."""
        pts = list(self.samples)
        rates: list[tuple[float, float]] = []
        for (t0, a0, _), (t1, a1, _) in zip(pts, pts[1:]):
            if t1 > t0:
                rates.append((t1, max(0.0, a1 - a0) * 60.0 / (t1 - t0)))  # a restart resets the counter
        last = pts[-1] if pts else None
        width, height = 320, 120
        peak = max((r for _, r in rates), default=0.0)
        top = max(peak, 1.0)
        chart = None
        if len(rates) >= 2:
            span = rates[-1][0] - rates[0][0] or 1.0
            coords = [(round((t - rates[0][0]) / span * width, 1), round(height - r / top * (height - 10), 1))
                      for t, r in rates]
            chart = {"width": width, "height": height, "line": " ".join(f"{x},{y}" for x, y in coords),
                     "area": f"0,{height} " + " ".join(f"{x},{y}" for x, y in coords) + f" {width},{height}",
                     "minutes": round(span / 60, 1)}
        return {"now": round(rates[-1][1], 1) if rates else None, "peak": round(peak, 1),
                "accepted": int(last[1]) if last else None,
                "refused": {k: int(v) for k, v in sorted(last[2].items())} if last else {},
                "chart": chart, "top": round(top, 1)}


async def pipeline_view(kit: "Kit") -> dict[str, Any]:
    """Consumer lag per group and dead letters per topic, read from every service's own metrics."""
    async def one(name: str, base: str) -> tuple[str, str | None]:
        try:
            r = await kit.client().get(f"{base}/metrics", timeout=3)
            r.raise_for_status()
            return name, r.text
        except httpx.HTTPError:
            return name, None

    lag: dict[str, float] = {}
    dead: dict[str, float] = {}
    unreachable = []
    for name, text in await asyncio.gather(*(one(n, b) for n, b in sorted(kit.upstreams.items()))):
        if text is None:
            unreachable.append(name)
            continue
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "massline_consumer_lag":
                    group = sample.labels.get("group", "")
                    lag[group] = lag.get(group, 0.0) + sample.value
                elif sample.name == "massline_dead_letters_total":
                    topic = sample.labels.get("topic", "")
                    dead[topic] = dead.get(topic, 0.0) + sample.value
    return {"lag": {g: int(v) for g, v in sorted(lag.items())},
            "dead": {t: int(v) for t, v in sorted(dead.items()) if v},
            "unreachable": unreachable}


async def _posted(request: Request) -> dict[str, str]:
    body = await request.body()
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def _number(text: str) -> float | int | str:
    """A typed number as the API wants it; anything else goes as typed, for the service to refuse in words."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def install_review_consoles(app: FastAPI, kit: Kit) -> VoteRate:
    rate = VoteRate(kit.upstreams.get("voting"), kit.client)

    def staff_or_none(request: Request) -> Any:
        return kit.staff_of(request)

    def refusal(error: dict[str, Any], lang: str) -> str:
        return kit.detail_sentence(error, lang)

    # --- the expert --------------------------------------------------------------------------

    async def scoring_page(request: Request, staff: Any, campaign_id: str, *, status: int = 200,
                           kept: dict[str, Any] | None = None) -> Response:
        c = await kit.public_campaign(campaign_id)
        if not c.ok:
            return kit.problem(request, c.error, c.status)
        r = await kit.call("scoring", "GET", f"/campaigns/{quote(campaign_id)}/my-assignments", token=staff.token)
        if not r.ok:
            return kit.problem(request, r.error, r.status)
        return kit.render(request, "scoring.html", {
            "c": c.body, "a": r.body, "flash": request.query_params.get("done"), "kept": kept or {}}, status=status)

    @app.get("/console/c/{campaign_id}/scoring", response_class=HTMLResponse, include_in_schema=False)
    async def scoring(campaign_id: str, request: Request) -> Response:
        staff = staff_or_none(request)
        if staff is None:
            return kit.sign_in_again(request)
        return await scoring_page(request, staff, campaign_id)

    @app.post("/console/c/{campaign_id}/scoring/{entry_id}/{component}", response_class=HTMLResponse,
              include_in_schema=False)
    async def score(campaign_id: str, entry_id: uuid.UUID, component: str, request: Request) -> Response:
        staff = staff_or_none(request)
        if staff is None:
            return kit.sign_in_again(request)
        form = await _posted(request)
        points = {k.removeprefix("p_"): _number(v) for k, v in form.items() if k.startswith("p_")}
        submit = form.get("action") == "submit"
        key = f"{entry_id}/{component}"
        if any(v == "" for v in points.values()):
            error = {"code": "criteria_incomplete"}
        else:
            r = await kit.call("scoring", "PUT", f"/campaigns/{quote(campaign_id)}/my-assignments/{entry_id}/"
                               f"{quote(component)}", token=staff.token, json={"criteria": points, "submit": submit})
            if r.ok:
                done = "score_submitted" if submit else "score_saved"
                return RedirectResponse(f"/console/c/{quote(campaign_id)}/scoring?done={done}#a-{entry_id}-"
                                        f"{component}", status_code=303)
            if r.error.get("code") in SIGN_IN_AGAIN:
                return kit.sign_in_again(request)
            error = r.error
        typed = {k.removeprefix("p_"): v for k, v in form.items() if k.startswith("p_")}
        return await scoring_page(request, staff, campaign_id, status=422, kept={
            "key": key, "points": typed, "error": refusal(error, kit.lang_of(request))})

    @app.post("/console/c/{campaign_id}/scoring/{entry_id}/recusal", response_class=HTMLResponse,
              include_in_schema=False)
    async def recuse(campaign_id: str, entry_id: uuid.UUID, request: Request) -> Response:
        staff = staff_or_none(request)
        if staff is None:
            return kit.sign_in_again(request)
        reason = (await _posted(request)).get("reason", "").strip()
        r = await kit.call("scoring", "POST", f"/campaigns/{quote(campaign_id)}/my-assignments/{entry_id}/recusal",
                           token=staff.token, json={"reason": reason})
        if r.ok:
            return RedirectResponse(f"/console/c/{quote(campaign_id)}/scoring?done=recused_ok", status_code=303)
        if r.error.get("code") in SIGN_IN_AGAIN:
            return kit.sign_in_again(request)
        return await scoring_page(request, staff, campaign_id, status=422, kept={
            "recusal": str(entry_id), "reason": reason, "error": refusal(r.error, kit.lang_of(request))})

    # --- the committee and the supervisor ---------------------------------------------------

    async def final_page(request: Request, staff: Any, campaign_id: str, *, status: int = 200,
                         kept: dict[str, Any] | None = None) -> Response:
        c = await kit.public_campaign(campaign_id)
        if not c.ok:
            return kit.problem(request, c.error, c.status)
        r = await kit.call("scoring", "GET", f"/campaigns/{quote(campaign_id)}/final-review", token=staff.token)
        if not r.ok:
            return kit.problem(request, r.error, r.status)
        return kit.render(request, "final_review.html", {
            "c": c.body, "f": r.body, "flash": request.query_params.get("done"), "kept": kept or {},
            "explain": _explanation_lines}, status=status)

    @app.get("/console/c/{campaign_id}/final-review", response_class=HTMLResponse, include_in_schema=False)
    async def final_review(campaign_id: str, request: Request) -> Response:
        staff = staff_or_none(request)
        if staff is None:
            return kit.sign_in_again(request)
        return await final_page(request, staff, campaign_id)

    async def committee_post(request: Request, campaign_id: str, path: str, body: dict[str, Any], done: str,
                             kept: dict[str, Any]) -> Response:
        staff = staff_or_none(request)
        if staff is None:
            return kit.sign_in_again(request)
        r = await kit.call("scoring", "POST", f"/campaigns/{quote(campaign_id)}/{path}", token=staff.token, json=body)
        if r.ok:
            return RedirectResponse(f"/console/c/{quote(campaign_id)}/final-review?done={done}", status_code=303)
        if r.error.get("code") in SIGN_IN_AGAIN:
            return kit.sign_in_again(request)
        return await final_page(request, staff, campaign_id, status=422 if r.status < 500 else 502,
                                kept={**kept, "error": refusal(r.error, kit.lang_of(request))})

    @app.post("/console/c/{campaign_id}/adjustments", response_class=HTMLResponse, include_in_schema=False)
    async def adjust(campaign_id: str, request: Request) -> Response:
        form = await _posted(request)
        entry, points, reason = form.get("entry_id", ""), form.get("points", "").strip(), form.get("reason", "").strip()
        kept = {"form": "adjust", "entry_id": entry, "points": points, "reason": reason}
        value = _number(points)
        if points == "" or isinstance(value, str):
            staff = staff_or_none(request)
            if staff is None:
                return kit.sign_in_again(request)
            return await final_page(request, staff, campaign_id, status=422, kept={
                **kept, "error": texts.pick(texts.ERRORS, "points_invalid", kit.lang_of(request))})
        return await committee_post(request, campaign_id, "adjustments",
                                    {"entry_id": entry, "points": value, "reason": reason}, "adjusted_ok", kept)

    @app.post("/console/c/{campaign_id}/approval", response_class=HTMLResponse, include_in_schema=False)
    async def approve(campaign_id: str, request: Request) -> Response:
        note = (await _posted(request)).get("note", "").strip()
        return await committee_post(request, campaign_id, "approval", {"note": note}, "approved_ok",
                                    {"form": "approve", "note": note})

    @app.post("/console/c/{campaign_id}/publication", response_class=HTMLResponse, include_in_schema=False)
    async def publish(campaign_id: str, request: Request) -> Response:
        form = await _posted(request)
        winners: dict[str, Any] = {}
        for k, v in form.items():
            if k.startswith("w_") and v.strip():
                winners[k.removeprefix("w_")] = _number(v)
        return await committee_post(request, campaign_id, "publication", {"winners": winners}, "published_ok",
                                    {"form": "publish", "winners": {k: str(v) for k, v in winners.items()}})

    # --- the committee: every expert's score, and reopening a locked one ---------------------

    def scores_url(campaign_id: str, category: str, **query: str) -> str:
        params = {**({"category": category} if category else {}), **query}
        return f"/console/c/{quote(campaign_id)}/expert-scores" + (f"?{urlencode(params)}" if params else "")

    async def scores_page(request: Request, staff: Any, campaign_id: str, category: str, *, status: int = 200,
                          kept: dict[str, Any] | None = None) -> Response:
        c = await kit.public_campaign(campaign_id)
        if not c.ok:
            return kit.problem(request, c.error, c.status)
        r = await kit.call("scoring", "GET", f"/campaigns/{quote(campaign_id)}/final-review", token=staff.token)
        if not r.ok:
            return kit.problem(request, r.error, r.status)
        shown = category if category in r.body.get("rankings", {}) else ""
        return kit.render(request, "expert_scores.html", {
            "c": c.body, "f": r.body, "sheet": score_sheet(r.body, shown), "category": shown,
            "categories": list(r.body.get("rankings", {})), "flash": request.query_params.get("done"),
            "kept": kept or {}, "scores_url": scores_url}, status=status)

    @app.get("/console/c/{campaign_id}/expert-scores", response_class=HTMLResponse, include_in_schema=False)
    async def expert_scores(campaign_id: str, request: Request, category: str = "") -> Response:
        staff = staff_or_none(request)
        if staff is None:
            return kit.sign_in_again(request)
        return await scores_page(request, staff, campaign_id, category)

    @app.get("/console/c/{campaign_id}/expert-scores/reopen", include_in_schema=False)
    async def reopen_link(campaign_id: str, request: Request) -> Response:
        # The language link of a page answered to a post points here: back to the scores, in that language.
        lang = request.query_params.get("lang")
        return RedirectResponse(scores_url(campaign_id, "", **({"lang": lang} if lang in texts.LANGS else {})),
                                status_code=303)

    @app.post("/console/c/{campaign_id}/expert-scores/reopen", response_class=HTMLResponse, include_in_schema=False)
    async def reopen(campaign_id: str, request: Request) -> Response:
        """Two steps: the reason first, then a page that says what reopening does; only its confirmation posts."""
        staff = staff_or_none(request)
        if staff is None:
            return kit.sign_in_again(request)
        form = await _posted(request)
        target = {k: form.get(k, "").strip() for k in ("expert_id", "entry_id", "component")}
        category, reason = form.get("category", "").strip(), form.get("reason", "").strip()
        lang = kit.lang_of(request)
        kept = {"key": f"{target['entry_id']}/{target['expert_id']}/{target['component']}", "reason": reason}
        if len(reason) < REOPEN_REASON_MIN:
            return await scores_page(request, staff, campaign_id, category, status=422, kept={
                **kept, "error": texts.pick(texts.ERRORS, "reopen_reason_required", lang)})
        if form.get("confirmed") != "yes":
            return await reopen_confirmation(request, staff, campaign_id, category, target, reason, kept)
        r = await kit.call("scoring", "POST", f"/campaigns/{quote(campaign_id)}/expert-scores/reopen",
                           token=staff.token, json={**target, "reason": reason})
        anchor = f"#s-{target['entry_id']}-{target['expert_id']}-{target['component']}"
        if r.ok:
            return RedirectResponse(scores_url(campaign_id, category, done="reopened_ok") + anchor, status_code=303)
        if r.error.get("code") in SIGN_IN_AGAIN:
            return kit.sign_in_again(request)
        if _names_field(r.error, "reason"):
            sentence = texts.pick(texts.ERRORS, "reopen_reason_required", lang)
        else:
            sentence = refusal(r.error, lang)
        return await scores_page(request, staff, campaign_id, category, status=422 if r.status < 500 else 502,
                                 kept={**kept, "error": sentence})

    async def reopen_confirmation(request: Request, staff: Any, campaign_id: str, category: str,
                                  target: dict[str, str], reason: str, kept: dict[str, Any]) -> Response:
        c = await kit.public_campaign(campaign_id)
        if not c.ok:
            return kit.problem(request, c.error, c.status)
        r = await kit.call("scoring", "GET", f"/campaigns/{quote(campaign_id)}/final-review", token=staff.token)
        if not r.ok:
            return kit.problem(request, r.error, r.status)
        wanted = (target["expert_id"], target["entry_id"], target["component"])
        row = None
        for cat in score_sheet(r.body, ""):
            for entry in cat["entries"]:
                for x in entry["rows"]:
                    if (x["expert_id"], entry["entry_id"], x["component"]) == wanted:
                        row = {**x, "entry": entry, "category_id": cat["category_id"]}
        if row is not None and not row["reopenable"]:
            # Already unlocked (another member was quicker) or never locked: said now, not after a confirmation.
            return await scores_page(request, staff, campaign_id, category, status=422, kept={
                **kept, "error": texts.pick(texts.ERRORS, "score_not_submitted", kit.lang_of(request))})
        return kit.render(request, "reopen_confirm.html", {
            "c": c.body, "f": r.body, "target": target, "row": row, "reason": reason, "category": category,
            "back": scores_url(campaign_id, category) + f"#s-{target['entry_id']}-{target['expert_id']}-"
                                                       f"{target['component']}"})

    # --- the operator -----------------------------------------------------------------------

    @app.get("/console/c/{campaign_id}/operations", response_class=HTMLResponse, include_in_schema=False)
    async def operations(campaign_id: str, request: Request, status: str = "flagged") -> Response:
        staff = staff_or_none(request)
        if staff is None:
            return kit.sign_in_again(request)
        c = await kit.public_campaign(campaign_id)
        if not c.ok:
            return kit.problem(request, c.error, c.status)
        shown = status if status in ("flagged", "invalidated", "overturned") else ""
        params = {"status": shown} if shown else None
        cases = await kit.call("antifraud", "GET", f"/campaigns/{quote(campaign_id)}/cases", token=staff.token,
                               params=params)
        if not cases.ok:
            return kit.problem(request, cases.error, cases.status)
        per_entry = await kit.call("antifraud", "GET", f"/campaigns/{quote(campaign_id)}/invalidations",
                                   token=staff.token)
        await rate.fresh()
        return kit.render(request, "operations.html", {
            "c": c.body, "cases": cases.body.get("cases", []), "shown": shown,
            "per_entry": per_entry.body.get("entries", []) if per_entry.ok else None,
            "rate": rate.view(), "pipeline": await pipeline_view(kit),
            "flash": request.query_params.get("done")})

    async def case_page(request: Request, staff: Any, case_id: uuid.UUID, *, status: int = 200,
                        kept: dict[str, Any] | None = None) -> Response:
        r = await kit.call("antifraud", "GET", f"/cases/{case_id}", token=staff.token, params={"votes": 50})
        if not r.ok:
            return kit.problem(request, r.error, r.status)
        c = await kit.public_campaign(r.body["campaign_id"])
        return kit.render(request, "case.html", {"c": c.body if c.ok else {"id": r.body["campaign_id"]},
                                                 "case": r.body, "kept": kept or {}, "explain": _explanation_lines,
                                                 "flash": request.query_params.get("done")}, status=status)

    @app.get("/console/cases/{case_id}", response_class=HTMLResponse, include_in_schema=False)
    async def case(case_id: uuid.UUID, request: Request) -> Response:
        staff = staff_or_none(request)
        if staff is None:
            return kit.sign_in_again(request)
        return await case_page(request, staff, case_id)

    @app.post("/console/cases/{case_id}/decision", response_class=HTMLResponse, include_in_schema=False)
    async def decide(case_id: uuid.UUID, request: Request) -> Response:
        staff = staff_or_none(request)
        if staff is None:
            return kit.sign_in_again(request)
        form = await _posted(request)
        decision, reason = form.get("decision", ""), form.get("reason", "").strip()
        r = await kit.call("antifraud", "POST", f"/cases/{case_id}/decision", token=staff.token,
                           json={"decision": decision, "reason": reason})
        if r.ok:
            return RedirectResponse(f"/console/cases/{case_id}?done=case_decided_ok", status_code=303)
        if r.error.get("code") in SIGN_IN_AGAIN:
            return kit.sign_in_again(request)
        return await case_page(request, staff, case_id, status=422, kept={
            "decision": decision, "reason": reason, "error": refusal(r.error, kit.lang_of(request))})

    return rate


def _names_field(error: dict[str, Any], field: str) -> bool:
    """Whether a validation refusal is about the given request field."""
    details = error.get("details")
    return error.get("code") == "validation_failed" and isinstance(details, list) and any(
        isinstance(d, dict) and str(d.get("field", "")).removeprefix("body.") == field for d in details)


def score_sheet(final: dict[str, Any], category: str) -> list[dict[str, Any]]:
    """The final review's expert scores per category and ranked entry, each with its state and its reopenings.

    A state is what the committee acts on: `locked` (submitted, counts), `resubmitted` (locked again after a
    reopening), `reopened` (unlocked, waiting for the expert, does not count), `draft`, `to_score`, `recused`.
    Only `locked` and `resubmitted` scores can be reopened.
    """
    review = final.get("expert_review") or {}
    reopenings: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in review.get("reopenings", []):
        reopenings.setdefault((r["expert_id"], r["entry_id"], r["component"]), []).append(r)
    recused = {(x["expert_id"], x["entry_id"]) for x in review.get("recusals", [])}
    rows: dict[str, list[dict[str, Any]]] = {}
    scored = set()
    for s in final.get("expert_scores", []):
        key = (s["expert_id"], s["entry_id"], s["component"])
        scored.add(key)
        history = reopenings.get(key, [])
        if (s["expert_id"], s["entry_id"]) in recused:
            state = "recused"
        elif s["submitted"]:
            state = "resubmitted" if history else "locked"
        else:
            state = "reopened" if history else "draft"
        rows.setdefault(s["entry_id"], []).append({
            "expert_id": s["expert_id"], "component": s["component"], "score": s["score"],
            "criteria": s.get("criteria") or {}, "state": state, "reopenings": history,
            "reopenable": state in ("locked", "resubmitted")})
    for p in review.get("pending", []):
        key = (p["expert_id"], p["entry_id"], p["component"])
        if key not in scored:
            rows.setdefault(p["entry_id"], []).append({
                "expert_id": p["expert_id"], "component": p["component"], "score": None, "criteria": {},
                "state": "to_score", "reopenings": reopenings.get(key, []), "reopenable": False})
    sheet = []
    for category_id, ranking in final.get("rankings", {}).items():
        if category and category_id != category:
            continue
        entries = [{"entry_id": e["entry_id"], "entry_name": e.get("entry_name", ""), "rank": e.get("rank"),
                    "rows": sorted(rows.get(e["entry_id"], []),
                                   key=lambda x: (COMPONENT_ORDER.get(x["component"], 9), x["expert_id"]))}
                   for e in ranking.get("entries", [])]
        sheet.append({"category_id": category_id, "entries": entries})
    return sheet


def _explanation_lines(explanation: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A component's explanation as "name: value" lines, nested values flattened with dotted names."""
    lines: list[tuple[str, str]] = []
    if isinstance(explanation, dict):
        for k, v in explanation.items():
            name = f"{prefix}{k}"
            if isinstance(v, dict):
                lines += _explanation_lines(v, name + ".")
            elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                for i, x in enumerate(v, 1):
                    lines += _explanation_lines(x, f"{name}[{i}].")
            elif isinstance(v, list):
                lines.append((name, ", ".join(str(x) for x in v)))
            else:
                lines.append((name, "—" if v is None else str(v)))
    return lines
