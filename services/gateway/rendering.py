"""How a page is written: the templates, the words in the page's language, and the pages for refusals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from massline.numbers import score_text

from . import texts, times
from .visitor import LANG_COOKIE, STAFF_COOKIE, Staff

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
SIGN_IN_AGAIN = ("unauthenticated", "token_expired", "token_invalid")


def is_link(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def text_blocks(text: Any) -> list[tuple[str, Any]]:
    """A campaign's rules or statement, written as plain lines, as blocks a template writes (escaped, never as
    markup): `## ` starts a heading, `- ` a list item, a blank line ends a paragraph."""
    blocks: list[tuple[str, Any]] = []
    lines: list[str] = []

    def end_paragraph() -> None:
        if lines:
            blocks.append(("p", " ".join(lines) if all(line.isascii() for line in lines) else "".join(lines)))
            lines.clear()

    for raw in str(text or "").splitlines():
        line = raw.strip()
        if line.startswith("## "):
            end_paragraph()
            blocks.append(("h", line[3:].strip()))
        elif line.startswith(("- ", "* ")):
            end_paragraph()
            if blocks and blocks[-1][0] == "ul":
                blocks[-1][1].append(line[2:].strip())
            else:
                blocks.append(("ul", [line[2:].strip()]))
        elif line:
            lines.append(line)
        else:
            end_paragraph()
    end_paragraph()
    return blocks


@pass_context
def _local_time(context: Any, value: Any, tz: str | None = None, fmt: str = "datetime", with_zone: bool = True) -> str:
    """`{{ moment | local_time }}`: in the page's time zone (the campaign's) and language, the zone said."""
    return times.local_time(value, tz or context.get("time_zone"), context.get("lang", "zh"), fmt, with_zone)


def page_templates() -> Jinja2Templates:
    """The gateway's Jinja2 templates with their globals and filters."""
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.globals["is_link"] = is_link
    templates.env.globals["text_blocks"] = text_blocks
    templates.env.filters["local_time"] = _local_time
    # Every score on a page: half-up at two decimals, as the explanations write them (massline.numbers).
    templates.env.filters["score"] = score_text
    return templates


def explanation_lines(explanation: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A component's explanation as "name: value" lines, nested values flattened with dotted names."""
    lines: list[tuple[str, str]] = []
    if isinstance(explanation, dict):
        for k, v in explanation.items():
            name = f"{prefix}{k}"
            if isinstance(v, dict):
                lines += explanation_lines(v, name + ".")
            elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                for i, x in enumerate(v, 1):
                    lines += explanation_lines(x, f"{name}[{i}].")
            elif isinstance(v, list):
                lines.append((name, ", ".join(_shown(x) for x in v)))
            else:
                lines.append((name, _shown(v)))
    return lines


def _shown(value: Any) -> str:
    """An explanation's value as the page writes it: a fractional number (a score) half-up at two decimals."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return score_text(value)
    return str(value)


def detail_sentence(error: dict[str, Any], lang: str) -> str:
    """A refusal said in one sentence; a missing reason or summary is named as such."""
    details = error.get("details")
    if error.get("code") == "validation_failed" and isinstance(details, list) and details:
        field = str(details[0].get("field", ""))
        if field == "reason" or field == "summary":
            return texts.pick(texts.ERRORS, "reason_required" if field == "reason" else "validation_failed", lang)
    return texts.error_sentence(error, lang)


# Punctuation between a template's words: Chinese's full-width marks, or English's (`punct.colon` and so on).
PUNCTUATION = {"zh": {"colon": "：", "lp": "（", "rp": "）", "comma": "，"},
               "en": {"colon": ": ", "lp": " (", "rp": ")", "comma": ", "}}


def _words(lang: str) -> dict[str, Any]:
    """The template's functions that say a thing in the page's language, and its punctuation (`punct`)."""

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

    def named(table: dict[str, tuple[str, str]]) -> Callable[[str], str]:
        return lambda key: texts.pick(table, key, lang)

    return {"t": t, "loc": loc, "said": said, "public_reason": public_reason,
            "status_name": named(texts.STATUS), "action_name": named(texts.ACTIONS),
            "platform_name": named(texts.PLATFORMS), "phase_name": named(texts.PHASES),
            "case_status_name": named(texts.CASE_STATUS), "service_name": named(texts.SERVICES),
            "vote_state": named(texts.VOTE_STATES), "case_action": named(texts.CASE_ACTIONS),
            "refusal_name": named(texts.REFUSALS), "topic_name": named(texts.TOPICS),
            "alert_state": named(texts.ALERT_STATES), "severity_name": named(texts.SEVERITIES),
            "group_name": lambda group: texts.group_name(group, lang), "punct": PUNCTUATION[lang]}


@dataclass
class PageView:
    """One request's page: its language and signed-in staff member, and the ways to answer it with a page."""

    request: Request
    lang: str
    staff: Staff | None
    templates: Jinja2Templates

    @property
    def done(self) -> str | None:
        """The `?done=` flash a redirect after a post asks the page to show."""
        return self.request.query_params.get("done")

    def render(self, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        """A template in the page's language and the campaign's time zone (`c` in the context, when there is one)."""
        request, lang = self.request, self.lang
        campaign = context.get("c")
        zone = (campaign.get("timezone") if isinstance(campaign, dict) else None) or times.DEFAULT_ZONE
        other = "en" if lang == "zh" else "zh"
        page = self.templates.TemplateResponse(request, name, {
            "lang": lang, "html_lang": "en" if lang == "en" else "zh-CN", **_words(lang),
            "time_zone": zone, "zone_note": lambda: times.zone_note(zone, lang),
            "platforms": [(k, v[1] if lang == "en" else v[0]) for k, v in texts.PLATFORMS.items()],
            "switch_url": f"{request.url.path}?{urlencode({**request.query_params, 'lang': other})}",
            "staff": self.staff, **context,
        }, status_code=status)
        if request.query_params.get("lang") in texts.LANGS:
            page.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
        return page

    def problem(self, error: dict[str, Any], status: int) -> Response:
        """The page for a refusal: the sentence for its code; a sign-in again when the token no longer serves."""
        if error.get("code") in SIGN_IN_AGAIN:
            return self.sign_in_again()
        return self.render("problem.html", {"message": texts.error_sentence(error, self.lang),
                                            "code": error.get("code")}, status=status if status >= 400 else 502)

    def sign_in_again(self) -> Response:
        """To the sign-in page, back here afterwards; the stale token is forgotten."""
        page = RedirectResponse(f"/login?next={quote(self.request.url.path)}", status_code=303)
        page.delete_cookie(STAFF_COOKIE, path="/")
        return page

    def refusal(self, error: dict[str, Any]) -> str:
        """A service's refusal as the sentence a form shows above itself."""
        return detail_sentence(error, self.lang)
