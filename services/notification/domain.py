"""Notification rules without I/O: who is told what about which event, and how event text is made safe."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from massline import localtime
from massline.contracts import (
    AccountFindingClosed,
    AccountFindingEscalated,
    AccountFindingOpened,
    Event,
    ExpertAssigned,
    ExpertScoreReopened,
    NominationApproved,
    NominationRejected,
    NominationReturned,
    NominationSubmitted,
    RankingComputed,
    RegistryReportProduced,
    ResultsPublished,
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


class NotYourInbox(PermissionError):
    """The caller may not read or mark this recipient's notices."""


class NotificationNotFound(LookupError):
    """The recipient has no inbox notice with this id."""


class ContactInvalid(ValueError):
    """An e-mail address or mobile number that cannot be used; `field_name` says which."""

    def __init__(self, field_name: str) -> None:
        super().__init__(field_name)
        self.field_name = field_name


class EventTypesUnknown(ValueError):
    """Event types a webhook may not subscribe to (internal, or no such event)."""

    def __init__(self, unknown: Sequence[str]) -> None:
        super().__init__(", ".join(unknown))
        self.unknown = list(unknown)


class SubscriptionNotFound(LookupError):
    """No webhook subscription has this id."""


class DeliveryNotFound(LookupError):
    """No webhook delivery has this id."""


class DeliveryInProgress(ValueError):
    """A webhook delivery still being attempted cannot be sent again."""


class DeliveryNotRedeliverable(ValueError):
    """Only a dead or delivered e-mail or SMS can be sent again."""


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


def check_inbox_reader(role: str, username: str, organisation_id: str | None, address: str) -> str:
    """The address when the caller may read that inbox; NotYourInbox otherwise."""
    if not may_read_inbox(role, username, organisation_id, address):
        raise NotYourInbox(address)
    return address


def may_read_inbox(role: str, username: str, organisation_id: str | None, address: str) -> bool:
    """A unit or office reads its own inbox, an expert theirs, the committee the committee's;
    administrators and operators read any (to help)."""
    kind, _, ident = address.partition(":")
    if role in ("admin", "operator"):
        return True
    if kind in ("unit", "office"):
        return role == kind and organisation_id == ident
    if kind == "expert":
        return role == "expert" and username == ident
    if kind == "committee":
        return role in ("committee", "supervisor")
    return False


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

# A deadline reaches a template as text in the campaign's time zone, the zone named (see template_context).
_DEADLINE_SAMPLE: dict[str, Any] = {
    "campaign_title": _NOMINATION_SAMPLE["campaign_title"],
    "deadline": "北京时间 2024-09-21 00:00",
    "days_left": 3,
}
_RESULT_SAMPLE: dict[str, Any] = {
    "campaign_title": _NOMINATION_SAMPLE["campaign_title"],
    "version": 1,
    "entries": [{"entry_name": "示例大学官方微信公众号", "category_name": "机构/政务账号", "rank": 3}],
}

_FINDING_SAMPLE: dict[str, Any] = {
    "verified_name": "西安发布", "code": "idle_no_update", "deadline": "2024-09-30",
    "finding_ref": "7c1e2d3f",
}
_REPORT_SAMPLE: dict[str, Any] = {"month": "2024-08", "accounts": 120, "idle_accounts": 3, "open_findings": 7}

NOTICE_KINDS: dict[str, NoticeKind] = {
    kind.template: kind
    for kind in (
        NoticeKind("nomination_to_review", _NOMINATION_VARS | {"unit_name", "resubmission"},
                   {**_NOMINATION_SAMPLE, "unit_name": "示例大学", "resubmission": False}),
        NoticeKind("activity_deadline_near", frozenset(_DEADLINE_SAMPLE), _DEADLINE_SAMPLE),
        NoticeKind("results_published", frozenset(_RESULT_SAMPLE), _RESULT_SAMPLE),
        NoticeKind("ranking_ready", frozenset({"campaign_title", "category_name", "entries_count", "rule_version"}),
                   {"campaign_title": _NOMINATION_SAMPLE["campaign_title"], "category_name": "机构/政务账号",
                    "entries_count": 42, "rule_version": "shaanxi-2024@1"}),
        NoticeKind("expert_assigned", frozenset({"campaign_title", "category_name", "entries_count", "deadline"}),
                   {"campaign_title": _NOMINATION_SAMPLE["campaign_title"], "category_name": "机构/政务账号",
                    "entries_count": 12, "deadline": "北京时间 2024-09-30 18:00"}),
        NoticeKind("expert_deadline_near", frozenset(_DEADLINE_SAMPLE), _DEADLINE_SAMPLE),
        NoticeKind("expert_score_reopened",
                   frozenset({"campaign_title", "category_name", "entry_name", "part", "reason"}),
                   {"campaign_title": _NOMINATION_SAMPLE["campaign_title"], "category_name": "机构/政务账号",
                    "entry_name": "示例大学官方微信公众号", "part": "expert",
                    "reason": "专家申请更正第三项评分的录入错误。"}),
        NoticeKind("nomination_received", _NOMINATION_VARS | {"resubmission"},
                   {**_NOMINATION_SAMPLE, "resubmission": False}),
        NoticeKind("nomination_approved", _NOMINATION_VARS, _NOMINATION_SAMPLE),
        NoticeKind("nomination_returned", _NOMINATION_VARS | {"reason"},
                   {**_NOMINATION_SAMPLE, "reason": "账号简介材料不完整，请补充近一年发稿量。"}),
        NoticeKind("webhook_dead",
                   frozenset({"campaign_title", "event_type", "delivery_ref", "subscription", "attempts", "reason"}),
                   {"campaign_title": _NOMINATION_SAMPLE["campaign_title"], "event_type": "ResultsPublished",
                    "delivery_ref": "5d0c2f6e-1b7a-5e0e-9c1d-3f2a8b7c6d5e", "subscription": "成果门户",
                    "attempts": 48, "reason": "connection: ConnectError"}),
        NoticeKind("nomination_rejected", _NOMINATION_VARS | {"reason"},
                   {**_NOMINATION_SAMPLE, "reason": "该账号近一年内曾被通报，不符合参评条件。"}),
        NoticeKind("account_finding_opened", frozenset(_FINDING_SAMPLE) | {"message", "message_en"},
                   {**_FINDING_SAMPLE, "message": "账号超过14天未更新", "message_en": "No update for 14 days"}),
        NoticeKind("account_finding_escalated", frozenset(_FINDING_SAMPLE) | {"escalations"},
                   {**_FINDING_SAMPLE, "escalations": 1}),
        NoticeKind("account_finding_closed", frozenset(_FINDING_SAMPLE) | {"resolution", "closed_on"},
                   {**_FINDING_SAMPLE, "resolution": "fixed", "closed_on": "2024-09-28"}),
        NoticeKind("registry_report_ready", frozenset(_REPORT_SAMPLE), _REPORT_SAMPLE),
    )
}


@dataclass(frozen=True)
class Notice:
    """One thing to tell one recipient, before it is rendered. `facts` are raw event values; a time is an
    aware datetime, written out per locale in the campaign's time zone when the notice is rendered."""

    template: str
    recipient: str
    facts: Mapping[str, Any]
    refs: Mapping[str, str] = field(default_factory=dict)


def notices_for(event: Event, campaign_id: str = "", reviewers: Sequence[str] = ()) -> list[Notice]:
    """What an event means for the people concerned; empty when nobody needs to be told.

    `reviewers` are the recipients an administrator named for the campaign's new nominations.
    """
    if isinstance(event, NominationSubmitted):
        to_reviewers = [
            replace(_nomination_notice("nomination_to_review", event, unit_name=event.unit_name,
                                       resubmission=event.resubmission), recipient=reviewer)
            for reviewer in reviewers
        ]
        return [_nomination_notice("nomination_received", event, resubmission=event.resubmission), *to_reviewers]
    if isinstance(event, RankingComputed):
        return [Notice(
            template="ranking_ready",
            recipient=recipient_address("committee", campaign_id),
            facts={"category_id": event.category_id, "entries_count": len(event.entries),
                   "rule_version": event.rule_version},
            refs={"category_id": event.category_id, "inputs_digest": event.inputs_digest},
        )]
    if isinstance(event, ResultsPublished):
        return _result_notices(event)
    if isinstance(event, ExpertAssigned):
        return [Notice(
            template="expert_assigned",
            recipient=recipient_address("expert", event.expert_id),
            facts={"category_id": event.category_ids[0] if event.category_ids else "",
                   "entries_count": event.entries_count,
                   "deadline": event.deadline or "—"},
            refs={"panel_id": event.panel_id},
        )]
    if isinstance(event, ExpertScoreReopened):
        return [Notice(
            template="expert_score_reopened",
            recipient=recipient_address("expert", event.expert_id),
            facts={"category_id": event.category_id, "entry_name": event.entry_name or str(event.entry_id),
                   "part": event.component, "reason": event.reason},
            refs={"entry_id": str(event.entry_id), "component": event.component},
        )]
    if isinstance(event, AccountFindingOpened | AccountFindingEscalated | AccountFindingClosed
                  | RegistryReportProduced):
        return registry_notices(event)
    if isinstance(event, NominationApproved):
        # Intermediate steps are the offices' business; the unit hears once, when the entry is in.
        return [_nomination_notice("nomination_approved", event)] if event.final else []
    if isinstance(event, NominationReturned):
        return [_nomination_notice("nomination_returned", event, reason=event.reason)]
    if isinstance(event, NominationRejected):
        return [_nomination_notice("nomination_rejected", event, reason=event.reason)]
    return []


def registry_notices(event: Event) -> list[Notice]:
    """A finding goes to the owning unit (an escalation also to the office now following it); a monthly report
    to the office it covers. Names of accounts only: no person in charge travels on the bus."""
    if isinstance(event, RegistryReportProduced):
        if event.scope == "all":
            return []
        return [Notice("registry_report_ready", recipient_address("office", event.scope),
                       {"month": event.month, "accounts": event.accounts, "idle_accounts": event.idle_accounts,
                        "open_findings": event.open_findings}, {"report_id": str(event.report_id)})]
    if not isinstance(event, AccountFindingOpened | AccountFindingEscalated | AccountFindingClosed):
        return []
    facts: dict[str, Any] = {"verified_name": event.verified_name or str(event.account_id), "code": event.code,
                             "finding_ref": str(event.finding_id)[:8]}
    refs = {"finding_id": str(event.finding_id), "account_id": str(event.account_id)}
    unit = recipient_address("unit", event.unit_id)
    if isinstance(event, AccountFindingOpened):
        return [Notice("account_finding_opened", unit, {**facts, "deadline": event.deadline.isoformat(),
                                                        "message": event.message,
                                                        "message_en": event.message_en or event.message}, refs)]
    if isinstance(event, AccountFindingEscalated):
        facts |= {"deadline": event.deadline.isoformat(), "escalations": event.escalations}
        return [Notice("account_finding_escalated", recipient_address("office", event.escalated_to), facts, refs),
                Notice("account_finding_escalated", unit, facts, refs)]
    return [Notice("account_finding_closed", unit,
                   {**facts, "resolution": event.resolution, "closed_on": event.closed_on.isoformat()}, refs)]


# --- coalescing -----------------------------------------------------------------------------

# Notices of these kinds go to one recipient at most once per window: while voting is open a ranking is
# recomputed many times a minute, and the committee needs to hear that one is ready, not each recomputation.
COALESCED_TEMPLATES = frozenset({"ranking_ready"})
COALESCE_WINDOW = timedelta(minutes=15)

S = TypeVar("S")  # what a notice is about (the event it came from), carried along untouched


@dataclass(frozen=True)
class Source:
    """What a notice is about: an event, or a reminder that fell due."""

    event_id: uuid.UUID
    event_type: str
    campaign_id: str


@dataclass(frozen=True)
class NoticeWindow(Generic[S]):
    """One recipient's coalesced notices of one kind: when the last went out, and the latest held back since."""

    last_sent_at: datetime | None = None
    held: tuple[S, Notice] | None = None

    def due(self, now: datetime, window: timedelta = COALESCE_WINDOW) -> bool:
        """Whether the held notice may go out now: the window since the last one has passed."""
        return self.held is not None and (self.last_sent_at is None or now - self.last_sent_at >= window)


@dataclass
class Coalesced(Generic[S]):
    """What to record now, and each (recipient, template)'s window afterwards."""

    send: list[tuple[S, Notice]] = field(default_factory=list)
    windows: dict[tuple[str, str], NoticeWindow[S]] = field(default_factory=dict)


def later_notice(earlier: Notice | None, later: Notice) -> Notice:
    """The notice that stands for both: the later one (the latest state), its refs listing every category the
    two were about (`categories`, comma-separated)."""
    categories = set(_categories(later))
    if earlier is not None:
        categories |= set(_categories(earlier))
    if not categories:
        return later
    return replace(later, refs={**later.refs, "categories": ",".join(sorted(categories))})


def _categories(notice: Notice) -> list[str]:
    listed = notice.refs.get("categories") or notice.refs.get("category_id") or ""
    return [c for c in str(listed).split(",") if c]


def coalesce(pending: Sequence[tuple[S, Notice]], windows: Mapping[tuple[str, str], NoticeWindow[S]],
             now: datetime, window: timedelta = COALESCE_WINDOW) -> Coalesced[S]:
    """At most one notice of a coalesced kind per recipient per `window`; the rest are held, the latest
    standing for all of them, and go out (by `NoticeWindow.due`) once the window has passed. Notices of other
    kinds all go out. `pending` is in the order the events happened; `windows` holds what is stored."""
    out: Coalesced[S] = Coalesced()
    for source, notice in pending:
        if notice.template not in COALESCED_TEMPLATES:
            out.send.append((source, notice))
            continue
        key = (notice.recipient, notice.template)
        current = out.windows.get(key) or windows.get(key) or NoticeWindow()
        held = current.held[1] if current.held else None
        merged = later_notice(held, notice)
        if current.last_sent_at is None or now - current.last_sent_at >= window:
            out.send.append((source, merged))
            out.windows[key] = NoticeWindow(last_sent_at=now)
        else:
            out.windows[key] = NoticeWindow(last_sent_at=current.last_sent_at, held=(source, merged))
    return out


def _result_notices(event: ResultsPublished) -> list[Notice]:
    """One notice per unit with an entry in the results, listing its entries and their ranks."""
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for category_id, ranking in sorted(event.categories.items()):
        for entry in ranking:
            by_unit.setdefault(entry.unit_id, []).append(
                {"entry_name": entry.entry_name, "category_id": category_id, "rank": entry.rank}
            )
    return [
        Notice(
            template="results_published",
            recipient=recipient_address("unit", unit_id),
            facts={"version": event.version, "entries": entries},
            refs={"results_version": str(event.version)},
        )
        for unit_id, entries in sorted(by_unit.items())
    ]


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
    """What notices say of a campaign, learned from CampaignLoaded: the title, each category's name per
    locale, and the time zone its deadlines are given in (Beijing time when it names none)."""

    title: str
    categories: Mapping[str, Mapping[str, str]]
    timezone: str | None = None


def template_context(
    notice: Notice, campaign_id: str, campaign: CampaignNames | None, locale: str
) -> dict[str, Any]:
    """The variables a template sees: names resolved, every piece of event text neutralised.

    A campaign not yet learned (its CampaignLoaded still in flight) falls back to the ids and Beijing
    time, so a notice is never held back for a display name. A time is written in the campaign's zone
    with the zone named: `北京时间 2024-09-21 00:00` in Chinese, `2024-09-21 00:00 (UTC+8)` in English.
    """
    facts = dict(notice.facts)
    category_id = facts.pop("category_id", None)
    context: dict[str, Any] = {"campaign_title": neutral_line(campaign.title if campaign else campaign_id, locale)}
    if category_id is not None:
        names = (campaign.categories.get(category_id) if campaign else None) or {}
        context["category_name"] = neutral_line(names.get(locale) or names.get(DEFAULT_LOCALE) or category_id, locale)
    for name, value in facts.items():
        if name == "entries":
            context[name] = [
                {
                    "entry_name": neutral_line(e["entry_name"], locale),
                    "category_name": neutral_line(_category_name(campaign, e["category_id"], locale), locale),
                    "rank": e["rank"],
                }
                for e in value
            ]
        elif name == "reason":
            context[name] = neutral_text(value, locale)
        elif isinstance(value, datetime):
            context[name] = local_time(value, campaign.timezone if campaign else None, locale)
        elif isinstance(value, str):
            context[name] = neutral_line(value, locale)
        else:
            context[name] = value
    return context


def _category_name(campaign: CampaignNames | None, category_id: str, locale: str) -> str:
    names = (campaign.categories.get(category_id) if campaign else None) or {}
    return names.get(locale) or names.get(DEFAULT_LOCALE) or category_id


# --- neutralising text from events --------------------------------------------------------
# Entry names come from nominating units and reasons from reviewers: free text. Before it reaches
# a notice it loses what could disguise it (bidi overrides, zero-width and control characters),
# what could smuggle a line into the subject, and anything that looks like personal data. HTML
# escaping is the template's job (autoescape), because the inbox is shown in web pages.

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
_PERSONAL = re.compile(
    r"(?P<uuid>(?<![0-9A-Za-z-])[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}(?![0-9A-Za-z-]))"  # kept: an id
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail address
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
    mask = _MASK.get(locale, _MASK["en"])
    # A delivery's or a subscription's id is a UUID whose digits may run long: it stays as written.
    return _PERSONAL.sub(lambda m: m.group() if m.group("uuid") else mask, text)


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


# --- channels ------------------------------------------------------------------------------

EMAIL = "email"
SMS = "sms"
WEBHOOK = "webhook"
# An SMS is short and costs money: only what a unit must act on or will want to know at once.
SMS_TEMPLATES = frozenset({"nomination_returned", "nomination_approved", "activity_deadline_near",
                           "results_published", "expert_assigned", "expert_deadline_near",
                           "expert_score_reopened"})


@dataclass(frozen=True)
class ContactChannels:
    """Which outbound channels a recipient can be reached on; the details themselves stay in the table."""

    email: bool = False
    sms: bool = False


def channels_for(template: str, contact: ContactChannels | None) -> list[str]:
    """The inbox always; e-mail and SMS when the recipient has the detail (SMS for urgent notices only)."""
    channels = [INBOX]
    if contact and contact.email:
        channels.append(EMAIL)
    if contact and contact.sms and template in SMS_TEMPLATES:
        channels.append(SMS)
    return channels


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` outbound messages per recipient and channel in any `window_s` seconds."""

    limit: int
    window_s: float


def rate_limited_until(sent_times: Sequence[float], now: float, rule: RateLimit) -> float | None:
    """When the next message may go, or None if it may go now. `sent_times` are epoch seconds.

    A message over the limit is held, never dropped: it goes when the oldest one in the window ages out.
    """
    recent = sorted(t for t in sent_times if t > now - rule.window_s)
    if len(recent) < rule.limit:
        return None
    return recent[len(recent) - rule.limit] + rule.window_s


_EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_MOBILE = re.compile(r"^\+?\d{6,15}$")


def valid_email(text: str) -> bool:
    return len(text) <= 254 and bool(_EMAIL.match(text))


def valid_mobile(text: str) -> bool:
    return bool(_MOBILE.match(text))


def normal_mobile(text: str) -> str:
    """A mobile number as stored: the spaces and dashes people type to group digits left out."""
    return text.replace(" ", "").replace("-", "")


def checked_contact(email: str | None, mobile: str | None) -> tuple[str | None, str | None]:
    """The e-mail address and mobile number to store (None removes one); ContactInvalid names a bad one."""
    if email is not None and not valid_email(email):
        raise ContactInvalid("email")
    if mobile is not None and not valid_mobile(normal_mobile(mobile)):
        raise ContactInvalid("mobile")
    return email, normal_mobile(mobile) if mobile else None


def initial_status(channel: str) -> str:
    """A delivery's status when recorded: the inbox is the service's own database, so written is delivered;
    every other channel waits for the dispatcher."""
    return "delivered" if channel == INBOX else "pending"


# --- retries -------------------------------------------------------------------------------

def backoff_s(attempt: int, base_s: float, cap_s: float, jitter: float) -> float:
    """Delay before retry number `attempt` (1 = first retry): exponential, capped, with full jitter.

    The step doubles from `base_s` up to `cap_s`; the delay is anywhere from 0 to the step (`jitter` is a
    number in [0, 1): random in production, fixed in tests). Spreading retries keeps a recovering endpoint
    from being hit by every waiting delivery at the same instant.
    """
    ceiling = min(cap_s, base_s * float(2 ** min(max(0, attempt - 1), 62)))
    return jitter * ceiling


# What became of one attempt, as the attempt log says: `deferred` was held back by a rate limit.
AttemptOutcome = Literal["delivered", "retry", "dead", "deferred"]
WebhookStatus = Literal["pending", "sending", "delivered", "dead"]

# How each status after an attempt is written in the attempt log.
ATTEMPT_OUTCOMES: dict[str, AttemptOutcome] = {"delivered": "delivered", "pending": "retry", "dead": "dead"}


def status_after_failure(attempts: int, *, permanent: bool, max_attempts: int) -> str:
    """`dead` when a failed attempt cannot succeed later or was the last allowed; `pending` (retried) otherwise.

    `attempts` counts the attempt that just failed.
    """
    return "dead" if permanent or attempts >= max_attempts else "pending"


# Bounds of a subscription's retry policy, checked when it is created.
WEBHOOK_MAX_AGE_RANGE_S = (60, 7 * 86400)
WEBHOOK_MAX_ATTEMPTS_RANGE = (1, 1000)
WEBHOOK_RETRY_CAP_RANGE_S = (1, 86400)


@dataclass(frozen=True)
class RetryPolicy:
    """How one subscription's deliveries are retried: until `max_age_s` after the delivery was recorded
    (the last attempt falls at that moment), at most `max_attempts` attempts (None: the age alone bounds
    them), waiting at most `cap_s` between two."""

    max_age_s: int
    max_attempts: int | None
    cap_s: int


class RetryPolicyInvalid(ValueError):
    """A retry setting out of its range; `field_name` and `allowed` say which and what is accepted."""

    def __init__(self, field_name: str, allowed: tuple[int, int]) -> None:
        super().__init__(field_name)
        self.field_name = field_name
        self.allowed = allowed


def check_retry_policy(max_age_s: int, max_attempts: int | None, cap_s: int) -> RetryPolicy:
    """The policy when every value is in its range; RetryPolicyInvalid naming the first that is not."""
    for name, value, allowed in (("max_age_s", max_age_s, WEBHOOK_MAX_AGE_RANGE_S),
                                 ("max_attempts", max_attempts, WEBHOOK_MAX_ATTEMPTS_RANGE),
                                 ("retry_cap_s", cap_s, WEBHOOK_RETRY_CAP_RANGE_S)):
        if value is not None and not allowed[0] <= value <= allowed[1]:
            raise RetryPolicyInvalid(name, allowed)
    return RetryPolicy(max_age_s, max_attempts, cap_s)


def webhook_after_failure(attempts: int, *, permanent: bool, policy: RetryPolicy, created_at: datetime,
                          now: datetime, base_s: float, jitter: float) -> datetime | None:
    """When a webhook delivery whose attempt number `attempts` just failed is tried again; None when it is dead
    (permanent failure, attempts used up, or its age reached). A retry that would fall past the delivery's
    age is made at that age instead, so the last attempt is made when the age is reached, not before."""
    deadline = created_at + timedelta(seconds=policy.max_age_s)
    if permanent or now >= deadline:
        return None
    if policy.max_attempts is not None and attempts >= policy.max_attempts:
        return None
    delay = backoff_s(attempts, base_s, float(policy.cap_s), jitter)
    return min(now + timedelta(seconds=delay), deadline)


# --- webhooks ------------------------------------------------------------------------------

# The public events downstream systems may subscribe to, and the topic each travels on.
WEBHOOK_EVENTS: dict[str, str] = {
    "ResultsPublished": "massline.result.v1",
    "RankingComputed": "massline.scoring.v1",
    "NominationSubmitted": "massline.nomination.v1",
    "NominationApproved": "massline.nomination.v1",
    "NominationReturned": "massline.nomination.v1",
    "NominationRejected": "massline.nomination.v1",
    "NominationWithdrawn": "massline.nomination.v1",
}
SIGNATURE_HEADER = "X-Massline-Signature"


def unknown_event_types(event_types: Sequence[str]) -> list[str]:
    """The requested event types no webhook may subscribe to, sorted."""
    return sorted(set(event_types) - set(WEBHOOK_EVENTS))


def check_event_types(event_types: Sequence[str]) -> list[str]:
    """The distinct event types, sorted, when every one may be subscribed to; EventTypesUnknown otherwise."""
    unknown = unknown_event_types(event_types)
    if unknown:
        raise EventTypesUnknown(unknown)
    return sorted(set(event_types))


@dataclass(frozen=True)
class WebhookSubscriber:
    """An active subscription as fan-out sees it: which events, and which campaign (all when None)."""

    id: uuid.UUID
    event_types: Sequence[str]
    campaign_id: str | None

    def wants(self, event_type: str, campaign_id: str) -> bool:
        return event_type in self.event_types and self.campaign_id in (None, campaign_id)

    def delivery_id(self, source_event_id: uuid.UUID) -> uuid.UUID:
        """Stable per (subscription, event), so an event applied again is posted once."""
        return delivery_id(source_event_id, f"webhook:{self.id}", WEBHOOK)

TIMESTAMP_HEADER = "X-Massline-Timestamp"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>`, the value of X-Massline-Signature."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signature_valid(secret: str, timestamp: str, body: bytes, header: str, now: float,
                    tolerance_s: float = 300) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent (no replays)."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, ts, body), header)


class WebhookUrlRefused(ValueError):
    """The URL cannot be a webhook target; `code` is the stable error code."""

    def __init__(self, code: str, en: str, zh: str) -> None:
        super().__init__(en)
        self.code, self.en, self.zh = code, en, zh


Resolver = Callable[[str], Sequence[str]]


def check_webhook_url(url: str, *, production: bool, resolve: Resolver | None = None) -> str:
    """The URL when it may be a target: http(s), a host, and in production no private address.

    `resolve(host)` returns the host's addresses; in production a name is resolved so a public-looking
    name that points inside the network is refused too. Delivery checks again at send time.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebhookUrlRefused("webhook_url_scheme", "A webhook URL must start with http:// or https://",
                                "Webhook 地址必须以 http:// 或 https:// 开头")
    if not parts.hostname or parts.username or parts.password:
        raise WebhookUrlRefused("webhook_url_invalid", "A webhook URL needs a host and no user name or password",
                                "Webhook 地址须包含主机名，且不能含用户名或密码")
    if production:
        addresses = _addresses(parts.hostname, resolve)
        if not addresses or any(not ip.is_global for ip in addresses):
            raise WebhookUrlRefused("webhook_url_private",
                                    "In production a webhook must point at a public address",
                                    "生产环境中 Webhook 地址必须是公网地址")
    return url


def _addresses(host: str, resolve: Resolver | None) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return [ipaddress.ip_address("127.0.0.1")]
    try:
        return [ipaddress.ip_address(a) for a in (resolve(host) if resolve else [])]
    except (OSError, ValueError):
        return []


# --- reminders -----------------------------------------------------------------------------

def reminder_id(campaign_id: str, template: str, deadline: datetime) -> uuid.UUID:
    """Stable, so a campaign loaded again schedules the same reminder and it is sent once."""
    return uuid.uuid5(_DELIVERY_NAMESPACE, f"reminder|{campaign_id}|{template}|{deadline.isoformat()}")


@dataclass(frozen=True)
class Reminder:
    """A reminder to send once at `due_at`: to `recipient`, or to every unit with an entry when None."""

    id: uuid.UUID
    campaign_id: str
    template: str
    deadline: datetime
    due_at: datetime
    recipient: str | None = None


def activity_reminder(campaign_id: str, deadline: datetime, days_before: int) -> Reminder:
    """Units with an entry are reminded `days_before` their activity summaries are due."""
    template = "activity_deadline_near"
    return Reminder(reminder_id(campaign_id, template, deadline), campaign_id, template, deadline,
                    deadline - timedelta(days=days_before))


def expert_reminder(campaign_id: str, expert_id: str, deadline: datetime, days_before: int) -> Reminder:
    """An assigned expert is reminded `days_before` the review deadline."""
    recipient = recipient_address("expert", expert_id)
    template = "expert_deadline_near"
    return Reminder(reminder_id(campaign_id, f"{template}:{recipient}", deadline), campaign_id, template,
                    deadline, deadline - timedelta(days=days_before), recipient)


def reminder_notices(reminder: Reminder, unit_ids: Sequence[str], now: datetime) -> list[Notice]:
    """What a reminder that fell due says, and to whom: its recipient, else each unit with an entry."""
    days_left = max(1, math.ceil((reminder.deadline - now).total_seconds() / 86400))
    # Written out per locale in the campaign's time zone, the zone named, when rendered.
    facts = {"deadline": reminder.deadline, "days_left": days_left}
    if reminder.recipient:
        recipients = [reminder.recipient]
    else:
        recipients = [recipient_address("unit", unit_id) for unit_id in unit_ids]
    return [Notice(reminder.template, recipient, facts, {"deadline": reminder.deadline.isoformat()})
            for recipient in recipients]


def activity_deadline(scoring: Mapping[str, Any], phases: Sequence[Any], tz: str = "Asia/Shanghai") -> datetime | None:
    """When the units' activity summaries are due.

    CampaignLoaded does not carry the definition's activity section, so an explicit deadline in the
    scoring section wins, else the start of the expert review (summaries are due before experts score).
    """
    for key in ("activity_deadline", "summary_deadline"):
        value = scoring.get(key)
        if value:
            return _aware(datetime.fromisoformat(str(value)), tz)
    for phase in phases:
        if phase.id == "expert_review" and phase.starts_at is not None:
            return _aware(phase.starts_at, tz)
    return None


def _aware(moment: datetime, tz: str) -> datetime:
    """Campaign dates without a zone are in the campaign's own time zone."""
    if moment.tzinfo:
        return moment
    try:
        return moment.replace(tzinfo=ZoneInfo(tz))
    except (KeyError, ValueError):
        return moment.replace(tzinfo=UTC)


def local_time(moment: datetime, tz: str | None, locale: str = DEFAULT_LOCALE) -> str:
    """A deadline as people there read it, the zone named as the pages name it: `北京时间 2024-09-21 00:00`,
    `2024-09-21 00:00 (UTC+8)`; another zone by its offset then, `2024-09-21 00:00（UTC+2）`."""
    text: str = localtime.local_time(moment, tz, locale)
    return text
