"""Notification rules without I/O: who is told what about which event, and how event text is made safe."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

from massline.contracts import (
    Event,
    NominationApproved,
    NominationRejected,
    NominationReturned,
    NominationSubmitted,
)

LOCALES = ("zh", "en")
DEFAULT_LOCALE = "zh"
FALLBACK_LOCALE = "en"
INBOX = "inbox"
CHANNELS = ("inbox", "email", "sms", "webhook")
RECIPIENT_KINDS = ("unit", "office", "expert", "committee")

# Stable, so a delivery keeps its id when the same event is applied again after a rebuild or replay.
_DELIVERY_NAMESPACE = uuid.UUID("6f1c1d0e-2b7a-4c55-9a51-7d3c0e5b9a11")

# Ids come from other services and may be in any script; a slash or space would break the URL.
_RECIPIENT = re.compile(r"^(unit|office|expert|committee):([^\s/?#]{1,128})$")


class RecipientInvalid(ValueError):
    """The text is not a recipient address of the form `<kind>:<id>`."""


def recipient_address(kind: str, ident: str) -> str:
    return parse_recipient(f"{kind}:{ident}")


def parse_recipient(address: str) -> str:
    """The address itself when it is well formed (unit:<id>, office:<id>, expert:<id>, committee:<campaign>)."""
    if not _RECIPIENT.match(address):
        raise RecipientInvalid(address)
    return address


def resolve_locale(locale: str) -> str:
    """The locale a notice is written in: the one asked for when there is text for it, else English."""
    return locale if locale in LOCALES else FALLBACK_LOCALE


def delivery_id(source_event_id: uuid.UUID, recipient: str, channel: str) -> uuid.UUID:
    return uuid.uuid5(_DELIVERY_NAMESPACE, f"{source_event_id}|{recipient}|{channel}")


# --- what each notice says ----------------------------------------------------------------

@dataclass(frozen=True)
class NoticeKind:
    """A template and the variables it may use; templates that use anything else fail at load."""

    template: str
    variables: frozenset[str]
    sample: Mapping[str, Any]


_NOMINATION_SAMPLE: dict[str, Any] = {
    "campaign_title": "2024年陕西省“走好网上群众路线”成绩突出账号推选活动",
    "category_name": "机构/政务账号",
    "entry_name": "示例大学官方微信公众号",
    "nomination_ref": "1a2b3c4d",
}
_NOMINATION_VARS = frozenset(_NOMINATION_SAMPLE)

NOTICE_KINDS: dict[str, NoticeKind] = {
    kind.template: kind
    for kind in (
        NoticeKind("nomination_received", _NOMINATION_VARS | {"resubmission"},
                   {**_NOMINATION_SAMPLE, "resubmission": False}),
        NoticeKind("nomination_approved", _NOMINATION_VARS, _NOMINATION_SAMPLE),
        NoticeKind("nomination_returned", _NOMINATION_VARS | {"reason"},
                   {**_NOMINATION_SAMPLE, "reason": "账号简介材料不完整，请补充近一年发稿量。"}),
        NoticeKind("nomination_rejected", _NOMINATION_VARS | {"reason"},
                   {**_NOMINATION_SAMPLE, "reason": "该账号近一年内曾被通报，不符合参评条件。"}),
    )
}


@dataclass(frozen=True)
class Notice:
    """One thing to tell one recipient, before it is rendered. `facts` are raw event values."""

    template: str
    recipient: str
    facts: Mapping[str, Any]
    refs: Mapping[str, str] = field(default_factory=dict)


def notices_for(event: Event) -> list[Notice]:
    """What an event means for the people concerned; empty when nobody needs to be told."""
    if isinstance(event, NominationSubmitted):
        return [_nomination_notice("nomination_received", event, resubmission=event.resubmission)]
    if isinstance(event, NominationApproved):
        # Intermediate steps are the offices' business; the unit hears once, when the entry is in.
        return [_nomination_notice("nomination_approved", event)] if event.final else []
    if isinstance(event, NominationReturned):
        return [_nomination_notice("nomination_returned", event, reason=event.reason)]
    if isinstance(event, NominationRejected):
        return [_nomination_notice("nomination_rejected", event, reason=event.reason)]
    return []


def _nomination_notice(template: str, event: Any, **extra: Any) -> Notice:
    return Notice(
        template=template,
        recipient=recipient_address("unit", event.unit_id),
        facts={
            "category_id": event.category_id,
            "entry_name": event.entry_name,
            "nomination_ref": event.nomination_id.hex[:8],
            **extra,
        },
        refs={"nomination_id": str(event.nomination_id)},
    )


@dataclass(frozen=True)
class CampaignNames:
    """Display names learned from CampaignLoaded: the title and each category's name per locale."""

    title: str
    categories: Mapping[str, Mapping[str, str]]


def template_context(
    notice: Notice, campaign_id: str, campaign: CampaignNames | None, locale: str
) -> dict[str, Any]:
    """The variables a template sees: names resolved, every piece of event text neutralised.

    A campaign not yet learned (its CampaignLoaded still in flight) falls back to the ids, so a
    notice is never held back for a display name.
    """
    facts = dict(notice.facts)
    category_id = facts.pop("category_id", None)
    context: dict[str, Any] = {"campaign_title": neutral_line(campaign.title if campaign else campaign_id, locale)}
    if category_id is not None:
        names = (campaign.categories.get(category_id) if campaign else None) or {}
        context["category_name"] = neutral_line(names.get(locale) or names.get(DEFAULT_LOCALE) or category_id, locale)
    for name, value in facts.items():
        if name == "reason":
            context[name] = neutral_text(value, locale)
        elif isinstance(value, str):
            context[name] = neutral_line(value, locale)
        else:
            context[name] = value
    return context


# --- neutralising text from events --------------------------------------------------------
# Entry names come from nominating units and reasons from reviewers: free text. Before it reaches
# a notice it loses what could disguise it (bidi overrides, zero-width and control characters),
# what could smuggle a line into the subject, and anything that looks like personal data. HTML
# escaping is the template's job (autoescape), because the inbox is shown in web pages.

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
_PERSONAL = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail address
    r"|(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])"  # resident identity card number
    r"|(?<!\d)1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)"  # mainland mobile number, also written 138 0013 8000
    r"|(?<!\d)\d{11,}(?!\d)"  # any other long number (bank cards, landlines with area code)
)
_MASK = {"zh": "［已隐去］", "en": "[removed]"}
LINE_LIMIT = 120
TEXT_LIMIT = 1000


def _clean(text: str, locale: str) -> str:
    text = unicodedata.normalize("NFC", str(text))
    text = _INVISIBLE.sub("", text)
    text = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return _PERSONAL.sub(_MASK.get(locale, _MASK["en"]), text)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def neutral_line(text: str, locale: str = DEFAULT_LOCALE) -> str:
    """One line of plain text: no line breaks, so it cannot add lines to a subject or a body."""
    return _cut(" ".join(_clean(text, locale).split()), LINE_LIMIT)


def neutral_text(text: str, locale: str = DEFAULT_LOCALE) -> str:
    """Plain text that may keep its paragraphs, at most one blank line between them."""
    unified = str(text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [" ".join(line.split()) for line in _clean(unified, locale).split("\n")]
    paragraphs = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return _cut(paragraphs, TEXT_LIMIT)
