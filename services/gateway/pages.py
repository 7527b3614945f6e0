"""Web pages served by the gateway: the public's campaign, entries, voting, standings and results; staff consoles."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, urlencode

import httpx
import jwt
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from . import texts, times
from .consoles import Kit, ServiceMetrics, install_review_consoles

HERE = Path(__file__).parent
STAFF_COOKIE = "massline_staff"
LANG_COOKIE = "massline_lang"

# Public answers are cached briefly in the gateway so that a page stays cheap during a vote surge;
# the seconds are short enough that a phase change or a new entry shows within a few seconds.
_PUBLIC_TTL_S = {"campaigns": 1.0, "campaign": 2.0, "entries": 2.0, "standings": 2.0, "results": 5.0}


@dataclass
class Upstream:
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> dict[str, Any]:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return self.body["error"]
        return {"code": "internal_error"}


@dataclass
class Staff:
    token: str
    username: str
    role: str
    organisation_id: str | None


def _is_link(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


@pass_context
def _local_time(context: Any, value: Any, tz: str | None = None, fmt: str = "datetime", with_zone: bool = True) -> str:
    """`{{ moment | local_time }}`: in the page's time zone (the campaign's) and language, the zone said."""
    return times.local_time(value, tz or context.get("time_zone"), context.get("lang", "zh"), fmt, with_zone)


def install_pages(app: FastAPI, upstreams: dict[str, str],
                  client: Callable[[], httpx.AsyncClient]) -> ServiceMetrics:
    """Add every page to the app; returns the sampler of the services' metrics the app runs in the background."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["is_link"] = _is_link
    templates.env.filters["local_time"] = _local_time
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    cache: dict[tuple[str, str], tuple[float, Upstream]] = {}

    async def call(service: str, method: str, path: str, *, token: str | None = None, json: Any = None,
                   params: dict[str, Any] | None = None, cache_as: str | None = None) -> Upstream:
        key = (service, path + "?" + urlencode(params or {}))
        if cache_as:
            hit = cache.get(key)
            if hit and time.monotonic() - hit[0] < _PUBLIC_TTL_S[cache_as]:
                return hit[1]
        headers = {"authorization": f"Bearer {token}"} if token else {}
        try:
            r = await client().request(method, f"{upstreams[service]}{path}", json=json, params=params,
                                       headers=headers)
        except httpx.HTTPError:
            return Upstream(502, {"error": {"code": "service_unavailable"}})
        try:
            body = r.json()
        except ValueError:
            body = {"error": {"code": "internal_error"}} if r.status_code >= 400 else {}
        answer = Upstream(r.status_code, body)
        if cache_as and answer.ok:
            if len(cache) > 2000:
                cache.clear()
            cache[key] = (time.monotonic(), answer)
        return answer

    def lang_of(request: Request) -> str:
        asked = request.query_params.get("lang")
        if asked in texts.LANGS:
            return asked
        saved = request.cookies.get(LANG_COOKIE)
        return saved if saved in texts.LANGS else "zh"

    def staff_of(request: Request) -> Staff | None:
        token = request.cookies.get(STAFF_COOKIE)
        if not token:
            return None
        try:
            # Read only to choose what to show; every service checks the signature on each call.
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        if claims.get("exp") and claims["exp"] < time.time():
            return None
        return Staff(token, str(claims.get("sub", "")), str(claims.get("role", "")), claims.get("org"))

    def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        lang = lang_of(request)

        def t(key: str, **values: Any) -> str:
            return texts.fill(texts.pick(texts.UI, key, lang), values)

        def loc(obj: Any, field: str = "name") -> str:
            if not isinstance(obj, dict):
                return ""
            return (obj.get(f"{field}_en") if lang == "en" else None) or obj.get(field) or ""

        def said(obj: Any, field: str) -> str:
            """A service's text in the page's language: `<field>_zh` in Chinese when there is one, else `<field>`."""
            if not isinstance(obj, dict):
                return ""
            return (obj.get(f"{field}_zh") if lang == "zh" else None) or obj.get(field) or ""

        def public_reason(reason: Any) -> str:
            """A reason of the public standings: the rule's label as the anti-fraud decision carried it, in the
            page's language (the gateway keeps no copy of the rules' texts); the code only for decisions recorded
            before the events carried a label."""
            if not isinstance(reason, dict):
                return ""
            return said(reason, "reason") or str(reason.get("reason_code") or "")

        campaign = context.get("c")
        zone = (campaign.get("timezone") if isinstance(campaign, dict) else None) or times.DEFAULT_ZONE

        other = "en" if lang == "zh" else "zh"
        page = templates.TemplateResponse(request, name, {
            "lang": lang, "html_lang": "en" if lang == "en" else "zh-CN", "t": t, "loc": loc, "said": said,
            "status_name": lambda s: texts.pick(texts.STATUS, s, lang),
            "action_name": lambda a: texts.pick(texts.ACTIONS, a, lang),
            "platform_name": lambda p: texts.pick(texts.PLATFORMS, p, lang),
            "phase_name": lambda p: texts.pick(texts.PHASES, p, lang),
            "case_status_name": lambda s: texts.pick(texts.CASE_STATUS, s, lang),
            "public_reason": public_reason,
            "service_name": lambda s: texts.pick(texts.SERVICES, s, lang),
            "vote_state": lambda s: texts.pick(texts.VOTE_STATES, s, lang),
            "case_action": lambda a: texts.pick(texts.CASE_ACTIONS, a, lang),
            "time_zone": zone, "zone_note": lambda: times.zone_note(zone, lang),
            "platforms": [(k, v[1] if lang == "en" else v[0]) for k, v in texts.PLATFORMS.items()],
            "switch_url": f"{request.url.path}?{urlencode({**request.query_params, 'lang': other})}",
            "staff": staff_of(request), **context,
        }, status_code=status)
        if request.query_params.get("lang") in texts.LANGS:
            page.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
        return page

    def problem(request: Request, error: dict[str, Any], status: int) -> HTMLResponse:
        if error.get("code") in ("unauthenticated", "token_expired", "token_invalid"):
            return sign_in_again(request)
        return render(request, "problem.html", {"message": texts.error_sentence(error, lang_of(request)),
                                                "code": error.get("code")}, status=status if status >= 400 else 502)

    def sign_in_again(request: Request) -> HTMLResponse:
        target = request.url.path
        page = RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        page.delete_cookie(STAFF_COOKIE, path="/")
        return page  # type: ignore[return-value]

    def campaign_phase(campaign: dict[str, Any], phase_id: str | None) -> dict[str, Any] | None:
        return next((p for p in campaign.get("phases", []) if p.get("id") == phase_id), None)

    # --- the public -------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home(request: Request) -> Response:
        r = await call("submission", "GET", "/campaigns", cache_as="campaigns")
        if not r.ok:
            return problem(request, r.error, r.status)
        return render(request, "home.html", {"campaigns": r.body.get("campaigns", [])})

    async def public_campaign(campaign_id: str) -> Upstream:
        return await call("submission", "GET", f"/campaigns/{quote(campaign_id)}", cache_as="campaign")

    @app.get("/c/{campaign_id}", response_class=HTMLResponse, include_in_schema=False)
    async def campaign_page(campaign_id: str, request: Request) -> Response:
        r = await public_campaign(campaign_id)
        if not r.ok:
            return problem(request, r.error, r.status)
        return render(request, "campaign.html", {"c": r.body, "phase": campaign_phase(r.body, r.body["current_phase"])})

    @app.get("/c/{campaign_id}/entries", response_class=HTMLResponse, include_in_schema=False)
    async def entries_page(campaign_id: str, request: Request, category: str = "", q: str = "") -> Response:
        c = await public_campaign(campaign_id)
        if not c.ok:
            return problem(request, c.error, c.status)
        r = await call("submission", "GET", f"/public/campaigns/{quote(campaign_id)}/entries", cache_as="entries")
        if not r.ok:
            return problem(request, r.error, r.status)
        needle = q.strip().lower()
        shown = [e for e in r.body.get("entries", [])
                 if (not category or e.get("category_id") == category)
                 and (not needle or needle in (e.get("name") or "").lower()
                      or needle in (e.get("unit_name") or "").lower())]
        return render(request, "entries.html", {"c": c.body, "entries": shown, "category": category, "q": q,
                                                "messages": texts.messages_for_script(lang_of(request))})

    @app.get("/c/{campaign_id}/entries/{entry_id}", response_class=HTMLResponse, include_in_schema=False)
    async def entry_page(campaign_id: str, entry_id: str, request: Request) -> Response:
        c = await public_campaign(campaign_id)
        if not c.ok:
            return problem(request, c.error, c.status)
        r = await call("submission", "GET", f"/public/campaigns/{quote(campaign_id)}/entries", cache_as="entries")
        if not r.ok:
            return problem(request, r.error, r.status)
        entry = next((e for e in r.body.get("entries", []) if e.get("entry_id") == entry_id), None)
        if entry is None:
            return problem(request, {"code": "not_found"}, 404)
        labels = {f["id"]: f for f in c.body.get("form", []) if f.get("public")}
        fields = [(labels.get(k), k, v) for k, v in entry.get("fields", {}).items()
                  if k not in ("category", "account_name", "platform") and v not in (None, "")]
        return render(request, "entry.html", {"c": c.body, "e": entry, "fields": fields,
                                              "messages": texts.messages_for_script(lang_of(request))})

    @app.get("/c/{campaign_id}/standings", response_class=HTMLResponse, include_in_schema=False)
    async def standings_page(campaign_id: str, request: Request) -> Response:
        c = await public_campaign(campaign_id)
        if not c.ok:
            return problem(request, c.error, c.status)
        r = await call("voting", "GET", f"/campaigns/{quote(campaign_id)}/standings", cache_as="standings")
        if not r.ok:
            return problem(request, r.error, r.status)
        show = (c.body.get("voting") or {}).get("show_counts", "always")
        return render(request, "standings.html", {"c": c.body, "s": r.body, "show": show})

    @app.get("/c/{campaign_id}/results", response_class=HTMLResponse, include_in_schema=False)
    async def results_page(campaign_id: str, request: Request) -> Response:
        c = await public_campaign(campaign_id)
        if not c.ok:
            return problem(request, c.error, c.status)
        r = await call("scoring", "GET", f"/campaigns/{quote(campaign_id)}/results", cache_as="results")
        if r.status == 404 or (not r.ok and r.status < 500):
            return render(request, "results.html", {"c": c.body, "r": None})
        if not r.ok:
            return problem(request, r.error, r.status)
        return render(request, "results.html", {"c": c.body, "r": r.body})

    # --- staff sign-in --------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    async def login_page(request: Request, next: str = "/console") -> Response:
        return render(request, "login.html", {"next": _safe_next(next), "username": "", "error": None})

    @app.post("/login", response_class=HTMLResponse, include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await _form(request)
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        target = _safe_next(str(form.get("next", "/console")))
        r = await call("submission", "POST", "/auth/login", json={"username": username, "password": password})
        if not r.ok:
            error = r.error if r.status != 422 else {"code": "invalid_credentials"}
            return render(request, "login.html", {"next": target, "username": username,
                                                  "error": texts.error_sentence(error, lang_of(request))}, status=200)
        page = RedirectResponse(target, status_code=303)
        # HttpOnly: no script on any page can read the staff token; SameSite=Strict: no other site can post with it.
        page.set_cookie(STAFF_COOKIE, r.body["access_token"], httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
        return page

    @app.post("/logout", include_in_schema=False)
    async def logout() -> Response:
        page = RedirectResponse("/", status_code=303)
        page.delete_cookie(STAFF_COOKIE, path="/")
        return page

    # --- consoles -------------------------------------------------------------------------------

    @app.get("/console", response_class=HTMLResponse, include_in_schema=False)
    async def console(request: Request) -> Response:
        staff = staff_of(request)
        if staff is None:
            return sign_in_again(request)
        r = await call("submission", "GET", "/campaigns", cache_as="campaigns")
        if not r.ok:
            return problem(request, r.error, r.status)
        return render(request, "console.html", {"campaigns": r.body.get("campaigns", [])})

    @app.get("/console/inbox", response_class=HTMLResponse, include_in_schema=False)
    async def staff_inbox(request: Request) -> Response:
        """The signed-in unit's, office's or expert's notices (received, returned with reason, assignments…)."""
        staff = staff_of(request)
        if staff is None:
            return sign_in_again(request)
        kind = {"unit": "unit", "office": "office", "expert": "expert"}.get(staff.role)
        ident = staff.username if kind == "expert" else staff.organisation_id
        notices: list[dict[str, Any]] = []
        if kind and ident:
            r = await call("notification", "GET", f"/inbox/{quote(kind + ':' + ident, safe=':')}", token=staff.token,
                           params={"lang": lang_of(request)})
            if not r.ok:
                return problem(request, r.error, r.status)
            notices = r.body.get("notifications", [])
        # Each notice's time in the zone of the campaign it is about.
        ids = sorted({n["campaign_id"] for n in notices if n.get("campaign_id")})
        found = await asyncio.gather(*(public_campaign(i) for i in ids))
        zones = {i: c.body.get("timezone") for i, c in zip(ids, found) if c.ok}
        return render(request, "inbox.html", {"notices": notices, "has_inbox": bool(kind and ident),
                                              "zones": zones})

    @app.get("/console/c/{campaign_id}/nominations", response_class=HTMLResponse, include_in_schema=False)
    async def unit_nominations(campaign_id: str, request: Request) -> Response:
        staff = staff_of(request)
        if staff is None:
            return sign_in_again(request)
        c = await public_campaign(campaign_id)
        if not c.ok:
            return problem(request, c.error, c.status)
        r = await call("submission", "GET", f"/campaigns/{quote(campaign_id)}/nominations", token=staff.token)
        if not r.ok:
            return problem(request, r.error, r.status)
        return render(request, "nominations.html", {"c": c.body, "nominations": r.body.get("nominations", []),
                                                    "flash": request.query_params.get("done")})

    def form_values(c: dict[str, Any], form: Any) -> tuple[str, dict[str, Any], dict[str, str]]:
        """What the unit typed, as the API wants it (integers as numbers), and the raw text to show again."""
        category = str(form.get("category_id", ""))
        values: dict[str, Any] = {}
        raw: dict[str, str] = {}
        for f in c.get("form", []):
            if f["type"] == "category":
                continue
            text = str(form.get(f"f_{f['id']}", "")).strip()
            raw[f["id"]] = text
            if text == "":
                continue
            if f["type"] == "integer" and text.isascii() and text.isdigit():
                values[f["id"]] = int(text)
            else:
                values[f["id"]] = text
        return category, values, raw

    def field_messages(error: dict[str, Any], lang: str) -> tuple[dict[str, list[str]], list[str]]:
        """Refusal details by form field; what names no field goes to the summary at the top."""
        by_field: dict[str, list[str]] = {}
        general: list[str] = []
        details = error.get("details")
        if isinstance(details, list) and details:
            for d in details:
                if not isinstance(d, dict):
                    continue
                message = (d.get("message") if lang == "en" else d.get("message_zh")) or d.get("message") or ""
                field = str(d.get("field") or "").removeprefix("form.")
                if field == "category":
                    field = "category_id"
                if field:
                    by_field.setdefault(field, []).append(message)
                else:
                    general.append(message)
        if not by_field and not general:
            general.append(texts.error_sentence(error, lang))
        return by_field, general

    def render_form(request: Request, c: dict[str, Any], *, action: str, category: str, raw: dict[str, str],
                    errors: dict[str, list[str]] | None = None, general: list[str] | None = None,
                    unit_opinion: str = "", correcting: bool = False, status: int = 200) -> HTMLResponse:
        return render(request, "nomination_form.html", {
            "c": c, "action": action, "category": category, "raw": raw, "errors": errors or {},
            "general": general or [], "unit_opinion": unit_opinion, "correcting": correcting}, status=status)

    @app.get("/console/c/{campaign_id}/nominations/new", response_class=HTMLResponse, include_in_schema=False)
    async def new_nomination(campaign_id: str, request: Request) -> Response:
        if staff_of(request) is None:
            return sign_in_again(request)
        c = await public_campaign(campaign_id)
        if not c.ok:
            return problem(request, c.error, c.status)
        return render_form(request, c.body, action=request.url.path, category="", raw={})

    @app.post("/console/c/{campaign_id}/nominations/new", response_class=HTMLResponse, include_in_schema=False)
    async def create_nomination(campaign_id: str, request: Request) -> Response:
        staff = staff_of(request)
        if staff is None:
            return sign_in_again(request)
        c = await public_campaign(campaign_id)
        if not c.ok:
            return problem(request, c.error, c.status)
        form = await _form(request)
        category, values, raw = form_values(c.body, form)
        opinion = str(form.get("unit_opinion", "")).strip()
        body: dict[str, Any] = {"category_id": category, "form": values}
        if opinion:
            body["unit_opinion"] = opinion
        r = await call("submission", "POST", f"/campaigns/{quote(campaign_id)}/nominations", token=staff.token,
                       json=body)
        if r.ok:
            return RedirectResponse(f"/console/nominations/{r.body['id']}?done=submitted_ok", status_code=303)
        if r.error.get("code") in ("unauthenticated", "token_expired", "token_invalid"):
            return sign_in_again(request)
        errors, general = field_messages(r.error, lang_of(request))
        return render_form(request, c.body, action=request.url.path, category=category, raw=raw, errors=errors,
                           general=general, unit_opinion=opinion, status=422 if r.status < 500 else 502)

    async def nomination_and_campaign(
        request: Request, staff: Staff, nomination_id: uuid.UUID
    ) -> tuple[Upstream, Upstream] | Response:
        """The nomination as the signed-in staff member may see it, and its campaign; or the page saying why not."""
        r = await call("submission", "GET", f"/nominations/{nomination_id}", token=staff.token)
        if not r.ok:
            return problem(request, r.error, r.status)
        c = await public_campaign(r.body["campaign_id"])
        if not c.ok:
            return problem(request, c.error, c.status)
        return r, c

    @app.get("/console/nominations/{nomination_id}", response_class=HTMLResponse, include_in_schema=False)
    async def nomination_page(nomination_id: uuid.UUID, request: Request) -> Response:
        staff = staff_of(request)
        if staff is None:
            return sign_in_again(request)
        found = await nomination_and_campaign(request, staff, nomination_id)
        if isinstance(found, Response):
            return found
        r, c = found
        return render(request, "nomination.html", {"c": c.body, "n": r.body, "flash": request.query_params.get("done"),
                                                   "review_error": None, "reason": "", "decision": "",
                                                   "activity_error": None})

    @app.post("/console/nominations/{nomination_id}/review", response_class=HTMLResponse, include_in_schema=False)
    async def review(nomination_id: uuid.UUID, request: Request) -> Response:
        staff = staff_of(request)
        if staff is None:
            return sign_in_again(request)
        form = await _form(request)
        decision, reason = str(form.get("decision", "")), str(form.get("reason", "")).strip()
        r = await call("submission", "POST", f"/nominations/{nomination_id}/review", token=staff.token,
                       json={"decision": decision, "reason": reason})
        if r.ok:
            return RedirectResponse(f"/console/c/{quote(r.body['campaign_id'])}/review?done=review_ok", status_code=303)
        return await _nomination_again(request, staff, nomination_id, review_error=r.error, reason=reason,
                                       decision=decision)

    @app.post("/console/nominations/{nomination_id}/activity", response_class=HTMLResponse, include_in_schema=False)
    async def activity(nomination_id: uuid.UUID, request: Request) -> Response:
        staff = staff_of(request)
        if staff is None:
            return sign_in_again(request)
        form = await _form(request)
        summary = str(form.get("summary", "")).strip()
        links = [line.strip() for line in str(form.get("links", "")).splitlines() if line.strip()]
        r = await call("submission", "POST", f"/nominations/{nomination_id}/activity", token=staff.token,
                       json={"summary": summary, "links": links})
        if r.ok:
            return RedirectResponse(f"/console/nominations/{nomination_id}?done=activity_ok", status_code=303)
        return await _nomination_again(request, staff, nomination_id, activity_error=r.error, summary=summary,
                                       links="\n".join(links))

    async def _nomination_again(request: Request, staff: Staff, nomination_id: uuid.UUID, **kept: Any) -> Response:
        lang = lang_of(request)
        found = await nomination_and_campaign(request, staff, nomination_id)
        if isinstance(found, Response):
            return found
        r, c = found
        context = {"c": c.body, "n": r.body, "flash": None, "reason": kept.get("reason", ""),
                   "decision": kept.get("decision", ""), "summary": kept.get("summary", ""),
                   "links": kept.get("links", ""), "review_error": None, "activity_error": None}
        for key in ("review_error", "activity_error"):
            if kept.get(key):
                context[key] = _detail_sentence(kept[key], lang)
        return render(request, "nomination.html", context, status=422)

    def _detail_sentence(error: dict[str, Any], lang: str) -> str:
        details = error.get("details")
        if error.get("code") == "validation_failed" and isinstance(details, list) and details:
            field = str(details[0].get("field", ""))
            if field == "reason" or field == "summary":
                return texts.pick(texts.ERRORS, "reason_required" if field == "reason" else "validation_failed", lang)
        return texts.error_sentence(error, lang)

    @app.get("/console/nominations/{nomination_id}/edit", response_class=HTMLResponse, include_in_schema=False)
    async def edit_nomination(nomination_id: uuid.UUID, request: Request) -> Response:
        staff = staff_of(request)
        if staff is None:
            return sign_in_again(request)
        found = await nomination_and_campaign(request, staff, nomination_id)
        if isinstance(found, Response):
            return found
        r, c = found
        raw = {k: "" if v is None else str(v) for k, v in r.body.get("form", {}).items()}
        return render_form(request, c.body, action=request.url.path, category=r.body["category_id"], raw=raw,
                           correcting=True)

    @app.post("/console/nominations/{nomination_id}/edit", response_class=HTMLResponse, include_in_schema=False)
    async def correct_nomination(nomination_id: uuid.UUID, request: Request) -> Response:
        staff = staff_of(request)
        if staff is None:
            return sign_in_again(request)
        form = await _form(request)
        campaign_id = str(form.get("campaign_id", ""))
        c = await public_campaign(campaign_id)
        if not c.ok:
            return problem(request, c.error, c.status)
        category, values, raw = form_values(c.body, form)
        r = await call("submission", "PUT", f"/nominations/{nomination_id}", token=staff.token,
                       json={"category_id": category, "form": values})
        if r.ok:
            return RedirectResponse(f"/console/nominations/{nomination_id}?done=submitted_ok", status_code=303)
        errors, general = field_messages(r.error, lang_of(request))
        return render_form(request, c.body, action=request.url.path, category=category, raw=raw, errors=errors,
                           general=general, correcting=True, status=422 if r.status < 500 else 502)

    @app.get("/console/c/{campaign_id}/review", response_class=HTMLResponse, include_in_schema=False)
    async def review_queue(campaign_id: str, request: Request) -> Response:
        staff = staff_of(request)
        if staff is None:
            return sign_in_again(request)
        c = await public_campaign(campaign_id)
        if not c.ok:
            return problem(request, c.error, c.status)
        r = await call("submission", "GET", f"/campaigns/{quote(campaign_id)}/nominations", token=staff.token,
                       params={"status": "submitted"})
        if not r.ok:
            return problem(request, r.error, r.status)
        short = await call("submission", "GET", f"/campaigns/{quote(campaign_id)}/shortfalls", token=staff.token)
        return render(request, "review.html", {
            "c": c.body, "queue": r.body.get("nominations", []),
            "shortfalls": short.body.get("shortfalls", []) if short.ok else None,
            "flash": request.query_params.get("done")})

    @app.get("/console/c/{campaign_id}/exports/{sheet}.{fmt}", include_in_schema=False)
    async def export(campaign_id: str, sheet: str, fmt: str, request: Request) -> Response:
        """The office's export, fetched with its signed-in token so a plain link works."""
        staff = staff_of(request)
        if staff is None:
            return sign_in_again(request)
        try:
            r = await client().get(f"{upstreams['submission']}/campaigns/{quote(campaign_id)}/exports/{quote(sheet)}",
                                   params={"format": fmt}, headers={"authorization": f"Bearer {staff.token}"})
        except httpx.HTTPError:
            return problem(request, {"code": "service_unavailable"}, 502)
        if r.status_code != 200:
            try:
                return problem(request, r.json().get("error", {}), r.status_code)
            except ValueError:
                return problem(request, {"code": "internal_error"}, r.status_code)
        keep = {k: v for k, v in r.headers.items() if k.lower() in ("content-type", "content-disposition")}
        return Response(r.content, headers=keep)

    return install_review_consoles(app, Kit(call=call, render=render, problem=problem, sign_in_again=sign_in_again,
                                            staff_of=staff_of, lang_of=lang_of, public_campaign=public_campaign,
                                            detail_sentence=_detail_sentence, upstreams=upstreams, client=client))


async def _form(request: Request) -> dict[str, str]:
    """A posted HTML form (urlencoded); the last value of a repeated name wins, as the pages never repeat one."""
    body = await request.body()
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def _safe_next(target: str) -> str:
    """Only a path on this site: a sign-in never sends anyone elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/console"
