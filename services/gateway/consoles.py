"""Consoles of the review: the expert's scoring, the committee's final review and publication, the operator's view."""

from __future__ import annotations

import asyncio
import itertools
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
CASE_STATUSES = ("flagged", "invalidated", "overturned")
QUEUE_ORDERS = ("impact", "newest")
QUEUE_PAGE = 20  # cases per page of the operator's review queue


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


@dataclass(frozen=True)
class ServiceReading:
    """What one service's `/metrics` said at one moment, reduced to what the operator's view shows."""

    lag: dict[str, float]  # consumer group -> messages waiting
    dead: dict[str, float]  # topic -> messages dead-lettered
    server_errors: float  # requests answered 5xx
    accepted: dict[str, float]  # campaign -> votes accepted (the voting service)
    refused: dict[tuple[str, str], float]  # (campaign, code) -> vote requests refused (the voting service)


@dataclass(frozen=True)
class Sample:
    at: float
    services: dict[str, ServiceReading | None]  # None: the service's metrics could not be read


def read_metrics(text: str) -> ServiceReading:
    lag: dict[str, float] = {}
    dead: dict[str, float] = {}
    accepted: dict[str, float] = {}
    refused: dict[tuple[str, str], float] = {}
    server_errors = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "massline_consumer_lag":
                group = s.labels.get("group", "")
                lag[group] = lag.get(group, 0.0) + s.value
            elif s.name == "massline_dead_letters_total":
                topic = s.labels.get("topic", "")
                dead[topic] = dead.get(topic, 0.0) + s.value
            elif s.name == "massline_http_responses_total" and s.labels.get("status") == "5xx":
                server_errors += s.value
            elif s.name == "massline_votes_accepted_total":
                campaign = s.labels.get("campaign", "")
                accepted[campaign] = accepted.get(campaign, 0.0) + s.value
            elif s.name == "massline_votes_rejected_total":
                key = (s.labels.get("campaign", ""), s.labels.get("code", ""))
                refused[key] = refused.get(key, 0.0) + s.value
    return ServiceReading(lag, dead, server_errors, accepted, refused)


def increase(values: list[float | None]) -> float | None:
    """How much a counter grew over readings in time order (None: not read then); a drop is a restart, from 0.

    None when fewer than two readings exist: growth cannot be told from one.
    """
    total, previous, seen = 0.0, None, 0
    for v in values:
        if v is None:
            continue
        if previous is not None:
            total += v - previous if v >= previous else v
        previous, seen = v, seen + 1
    return total if seen >= 2 else None


class ServiceMetrics:
    """Every service's own counters, sampled every 15 s in the background and when the operations page opens.

    The samples of the last 30 minutes are kept in memory: the vote rate per campaign and the errors per service
    are the growth of counters between them. The last sample is always the newest reading, but one taken within a
    few seconds of the sample before it is replaced by the next, so page views do not crowd the history out.
    """

    INTERVAL_S = 15.0
    KEEP_S = 1800.0
    MIN_SPACING_S = 5.0
    ERROR_WINDOW_S = 600.0

    def __init__(self, upstreams: dict[str, str], client: Callable[[], httpx.AsyncClient]) -> None:
        self.upstreams = upstreams
        self.client = client
        self.samples: deque[Sample] = deque(maxlen=1000)

    async def read(self) -> Sample:
        async def one(name: str, base: str) -> tuple[str, ServiceReading | None]:
            try:
                r = await self.client().get(f"{base}/metrics", timeout=3)
                r.raise_for_status()
                return name, read_metrics(r.text)
            except (httpx.HTTPError, ValueError):
                return name, None

        got = await asyncio.gather(*(one(n, b) for n, b in sorted(self.upstreams.items())))
        return Sample(time.time(), dict(got))

    async def sample(self) -> Sample:
        taken = await self.read()
        if len(self.samples) >= 2 and self.samples[-1].at - self.samples[-2].at < self.MIN_SPACING_S:
            self.samples[-1] = taken
        else:
            self.samples.append(taken)
        while self.samples and taken.at - self.samples[0].at > self.KEEP_S:
            self.samples.popleft()
        return taken

    async def run(self) -> None:
        while True:
            try:
                await self.sample()
            except Exception:  # the operator's view must never take the gateway down
                log.warning("sampling the services' metrics failed", exc_info=True)
            await asyncio.sleep(self.INTERVAL_S)


def vote_rate_view(samples: list[Sample], campaign_id: str) -> dict[str, Any]:
    """One campaign's votes per minute between samples, the figures to show, and the chart as SVG coordinates."""
    pts = [(s.at, r) for s in samples if (r := s.services.get("voting")) is not None]
    rates: list[tuple[float, float]] = []
    for (t0, r0), (t1, r1) in itertools.pairwise(pts):
        if t1 > t0:
            grown = increase([r0.accepted.get(campaign_id, 0.0), r1.accepted.get(campaign_id, 0.0)]) or 0.0
            rates.append((t1, grown * 60.0 / (t1 - t0)))
    last = pts[-1][1] if pts else None
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
    refused = {code: int(n) for (campaign, code), n in sorted(last.refused.items())
               if campaign == campaign_id and n} if last else {}
    return {"now": round(rates[-1][1], 1) if rates else None, "peak": round(peak, 1),
            "accepted": int(last.accepted.get(campaign_id, 0.0)) if last else None,
            "refused": refused, "chart": chart, "top": round(top, 1)}


def pipeline_view(sample: Sample) -> dict[str, Any]:
    """Consumer lag per group and dead letters per topic, as every service's own metrics said last."""
    lag: dict[str, float] = {}
    dead: dict[str, float] = {}
    for reading in sample.services.values():
        if reading is None:
            continue
        for group, n in reading.lag.items():
            lag[group] = lag.get(group, 0.0) + n
        for topic, n in reading.dead.items():
            dead[topic] = dead.get(topic, 0.0) + n
    return {"lag": {g: int(v) for g, v in sorted(lag.items())},
            "dead": {t: int(v) for t, v in sorted(dead.items()) if v},
            "unreachable": sorted(n for n, r in sample.services.items() if r is None)}


def what_if_view(released: dict[str, Any] | None, confirmed: dict[str, Any] | None,
                 campaign: dict[str, Any]) -> dict[str, Any] | None:
    """The what-if panel: per category (in the campaign's order), each entry's votes and rank now, if every held vote
    counted again, and if every held case were confirmed, as the anti-fraud service computed them."""
    if released is None or confirmed is None:
        return None
    names = {cat.get("id"): cat for cat in campaign.get("categories", []) if isinstance(cat, dict)}
    order = {cid: i for i, cid in enumerate(names)}
    then = {(cat["category_id"], e["entry_id"]): e for cat in confirmed.get("categories", [])
            for e in cat.get("entries", [])}
    categories = []
    for cat in sorted(released.get("categories", []), key=lambda x: (order.get(x["category_id"], len(order)),
                                                                      x["category_id"])):
        rows = []
        for e in sorted(cat.get("entries", []), key=lambda x: (x["rank_now"], x.get("entry_name") or "")):
            other = then.get((cat["category_id"], e["entry_id"]), e)
            rows.append({"entry_id": e["entry_id"], "entry_name": e.get("entry_name"), "unit_name": e.get("unit_name"),
                         "now": (e["votes_now"], e["rank_now"]),
                         "released": (e["votes_then"], e["rank_then"], e["moved"]),
                         "confirmed": (other["votes_then"], other["rank_then"], other["moved"])})
        categories.append({"category_id": cat["category_id"], "category": names.get(cat["category_id"]),
                           "rows": rows})
    return {"held": bool(released.get("release")), "released_moves": released.get("entries_moved", 0),
            "confirmed_moves": confirmed.get("entries_moved", 0), "categories": categories}


def errors_view(samples: list[Sample], window_s: float = ServiceMetrics.ERROR_WINDOW_S) -> dict[str, Any]:
    """Per service, over the last minutes: requests answered 5xx, messages dead-lettered, and for the voting
    service its refusals by code; each with its count since the service started.

    With a single sample (the gateway has just started) the growth is unknown and the counts since each service
    started stand in for it.
    """
    if not samples:
        return {"services": [], "seconds": 0, "clean": True, "recent": False}
    last = samples[-1]
    # From the last sample before the window on: growth is measured from a reading, not from the window's edge.
    first = max((i for i, s in enumerate(samples) if s.at <= last.at - window_s), default=0)
    window = samples[first:]
    seconds = int(last.at - window[0].at)
    rows = []
    for name in sorted(last.services):
        now = last.services[name]
        if now is None:
            rows.append({"service": name, "unreachable": True, "clean": False})  # no news is not good news
            continue
        series = [s.services.get(name) for s in window]
        server = increase([r.server_errors if r else None for r in series])
        dead = increase([sum(r.dead.values()) if r else None for r in series])
        codes = sorted({code for _, code in now.refused})
        refused = {}
        for code in codes:
            def total(r: ServiceReading, code: str = code) -> float:
                return sum(n for (_, c), n in r.refused.items() if c == code)
            grown = increase([total(r) if r else None for r in series])
            shown = total(now) if grown is None else grown
            if shown:
                refused[code] = int(shown)
        shown_server = now.server_errors if server is None else server
        shown_dead = sum(now.dead.values()) if dead is None else dead
        rows.append({"service": name, "unreachable": False, "server_errors": int(shown_server),
                     "server_errors_total": int(now.server_errors), "dead": int(shown_dead),
                     "dead_total": int(sum(now.dead.values())), "refused": refused,
                     "clean": not shown_server and not shown_dead})
    return {"services": rows, "seconds": seconds, "recent": len(window) >= 2,
            "clean": all(r["clean"] for r in rows)}


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


def install_review_consoles(app: FastAPI, kit: Kit) -> ServiceMetrics:
    sampler = ServiceMetrics(kit.upstreams, kit.client)

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

    def operations_url(campaign_id: str, status: str, sort: str, offset: int = 0, **more: Any) -> str:
        params = {"status": status or "all", "sort": sort, **({"offset": offset} if offset else {}), **more}
        return f"/console/c/{quote(campaign_id)}/operations?{urlencode(params)}"

    async def operations_page(request: Request, staff: Any, campaign_id: str, status: str, sort: str, offset: int,
                              *, code: int = 200, kept: dict[str, Any] | None = None) -> Response:
        c = await kit.public_campaign(campaign_id)
        if not c.ok:
            return kit.problem(request, c.error, c.status)
        shown = status if status in CASE_STATUSES else ""
        order = sort if sort in QUEUE_ORDERS else "impact"
        params = {"sort": order, "limit": QUEUE_PAGE, "offset": max(offset, 0), **({"status": shown} if shown else {})}
        base = f"/campaigns/{quote(campaign_id)}"
        cases, per_entry, released, confirmed, now = await asyncio.gather(
            kit.call("antifraud", "GET", f"{base}/cases", token=staff.token, params=params),
            kit.call("antifraud", "GET", f"{base}/invalidations", token=staff.token),
            *(kit.call("antifraud", "GET", f"{base}/what-if", token=staff.token, params={"scenario": scenario})
              for scenario in ("all_held_released", "all_held_confirmed")),
            sampler.sample())
        if not cases.ok:
            return kit.problem(request, cases.error, cases.status)
        samples = list(sampler.samples)
        queue = cases.body
        first = queue.get("offset", 0)
        pages = {"total": queue.get("total", 0), "from": first + 1, "to": first + len(queue.get("cases", [])),
                 "previous": operations_url(campaign_id, shown, order, max(first - QUEUE_PAGE, 0)) if first else None,
                 "next": operations_url(campaign_id, shown, order, queue["next"]) if queue.get("next") else None}
        done = request.query_params.get("done")
        bulk = None
        if done == "bulk_decided":
            bulk = {k: int(v) if (v := request.query_params.get(k, "0")).isdigit() else 0
                    for k in ("changed", "skipped")}
        return kit.render(request, "operations.html", {
            "c": c.body, "cases": queue.get("cases", []), "shown": shown, "order": order, "pages": pages,
            "offset": first, "kept": kept or {},
            "per_entry": per_entry.body.get("entries", []) if per_entry.ok else None,
            "what_if": what_if_view(released.body if released.ok else None,
                                    confirmed.body if confirmed.ok else None, c.body),
            "rate": vote_rate_view(samples, campaign_id), "pipeline": pipeline_view(now),
            "errors": errors_view(samples), "bulk": bulk,
            "flash": done if done and done != "bulk_decided" else None}, status=code)

    @app.get("/console/c/{campaign_id}/operations", response_class=HTMLResponse, include_in_schema=False)
    async def operations(campaign_id: str, request: Request, status: str = "flagged", sort: str = "impact",
                         offset: str = "0") -> Response:
        staff = staff_or_none(request)
        if staff is None:
            return kit.sign_in_again(request)
        return await operations_page(request, staff, campaign_id, status, sort, int(offset) if offset.isdigit() else 0)

    @app.get("/console/c/{campaign_id}/operations/decisions", include_in_schema=False)
    async def bulk_link(campaign_id: str, request: Request) -> Response:
        # The language link of a page answered to a post points here: back to the queue, in that language.
        lang = request.query_params.get("lang")
        return RedirectResponse(operations_url(campaign_id, request.query_params.get("status", "flagged"),
                                               request.query_params.get("sort", "impact"),
                                               **({"lang": lang} if lang in texts.LANGS else {})), status_code=303)

    @app.post("/console/c/{campaign_id}/operations/decisions", response_class=HTMLResponse, include_in_schema=False)
    async def bulk_decide(campaign_id: str, request: Request) -> Response:
        """The queue's checkboxes: the selected cases confirmed or overturned at once, with one reason."""
        staff = staff_or_none(request)
        if staff is None:
            return kit.sign_in_again(request)
        pairs = parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True)
        form = dict(pairs)
        chosen = list(dict.fromkeys(v for k, v in pairs if k == "case_id" and v))
        decision, reason = form.get("decision", ""), form.get("reason", "").strip()
        status, sort = form.get("status", "flagged"), form.get("sort", "impact")
        offset = int(form["offset"]) if form.get("offset", "").isdigit() else 0
        lang = kit.lang_of(request)
        kept = {"chosen": chosen, "decision": decision, "reason": reason}
        if not chosen:
            error = texts.pick(texts.UI, "bulk_none_selected", lang)
        elif decision not in ("confirm", "overturn"):
            error = texts.pick(texts.UI, "bulk_decision_missing", lang)
        elif len(reason) < 2:
            error = texts.pick(texts.ERRORS, "reason_required", lang)
        else:
            r = await kit.call("antifraud", "POST", f"/campaigns/{quote(campaign_id)}/cases/decisions",
                               token=staff.token, json={"case_ids": chosen, "decision": decision, "reason": reason})
            if r.ok:
                return RedirectResponse(operations_url(campaign_id, status, sort, done="bulk_decided",
                                                       changed=r.body.get("changed", 0),
                                                       skipped=r.body.get("skipped", 0)), status_code=303)
            if r.error.get("code") in SIGN_IN_AGAIN:
                return kit.sign_in_again(request)
            error = refusal(r.error, lang)
        return await operations_page(request, staff, campaign_id, status, sort, offset, code=422,
                                     kept={**kept, "error": error})

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

    return sampler


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
            "criteria": s.get("criteria") or {}, "criteria_points": s.get("criteria_points") or [],
            "state": state, "reopenings": history,
            "reopenable": state in ("locked", "resubmitted")})
    for p in review.get("pending", []):
        key = (p["expert_id"], p["entry_id"], p["component"])
        if key not in scored:
            rows.setdefault(p["entry_id"], []).append({
                "expert_id": p["expert_id"], "component": p["component"], "score": None, "criteria": {},
                "criteria_points": [],
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
