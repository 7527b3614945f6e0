"""What the notification routes accept and answer: request bodies and the JSON answers, as OpenAPI shows them.

Times are ISO 8601 text with their offset, as the routes have always written them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from massline.errors import RequestBody

from .domain import AttemptOutcome, WebhookStatus

# --- requests ------------------------------------------------------------------------------


class ContactDetails(RequestBody):
    email: str | None = Field(None, max_length=254, description="Where e-mail notices go; null removes it.")
    mobile: str | None = Field(None, max_length=20, description="Where SMS notices go; null removes it.")
    locale: Literal["zh", "en"] | None = Field(None, description="Language of e-mail and SMS notices.")


class Reviewers(RequestBody):
    recipients: list[str] = Field(max_length=100, description="Who is told of new nominations, e.g. office:xian.")


class WebhookSubscriptionRequest(RequestBody):
    url: str = Field(max_length=2000, examples=["https://results.example.org/massline"])
    event_types: list[str] = Field(min_length=1, max_length=20, examples=[["ResultsPublished", "RankingComputed"]])
    campaign_id: str | None = Field(None, max_length=128, description="Only this campaign's events; all when unset.")
    secret: str | None = Field(
        None, min_length=16, max_length=200,
        description="Signs every payload; generated and returned once when unset. Never shown again.",
    )
    description: str = Field("", max_length=500)
    max_age_s: int | None = Field(
        None, description="Retry a delivery until this many seconds after it was recorded (60 to 604800); "
                          "MASSLINE_WEBHOOK_MAX_AGE_S (one day) when unset.")
    max_attempts: int | None = Field(
        None, description="At most this many attempts per delivery (1 to 1000); when unset, only the age bounds them.")
    retry_cap_s: int | None = Field(
        None, description="Longest wait between two attempts, in seconds (1 to 86400); MASSLINE_RETRY_CAP_S "
                          "(one hour) when unset.")
    contact: str | None = Field(
        None, max_length=200, examples=["office:provincial-net-office"],
        description="Recipient address told (inbox, and e-mail when on file) when a delivery is given up.")


# --- the inbox -----------------------------------------------------------------------------


class InboxNotice(BaseModel):
    """One notice, its subject and body in the language asked for (HTML-escaped plain text)."""

    id: str
    template: str
    subject: str
    body: str
    created_at: str
    read: bool
    read_at: str | None
    campaign_id: str
    event_type: str = Field(description="The event the notice is about; `ReminderDue` for a reminder.")
    refs: dict[str, Any] = Field(description="Ids the notice refers to, e.g. nomination_id.")


class Inbox(BaseModel):
    recipient: str
    unread: int
    notifications: list[InboxNotice]
    next_before: int | None = Field(description="Pass as `before` for the next page; null on the last page.")


class ReadReceipt(BaseModel):
    id: str
    read: bool
    read_at: str


# --- deliveries ----------------------------------------------------------------------------


class DeliveryView(BaseModel):
    """A delivery (inbox, e-mail or SMS) without its text."""

    id: str
    source_event_id: str
    source_event_type: str
    campaign_id: str
    recipient: str
    channel: str
    template: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: str | None
    created_at: str
    delivered_at: str | None
    read_at: str | None


class Deliveries(BaseModel):
    deliveries: list[DeliveryView]


class AttemptView(BaseModel):
    attempt: int
    started_at: str
    duration_ms: int
    outcome: AttemptOutcome
    status_code: int | None
    error: str | None


class AttemptLog(BaseModel):
    id: str
    attempt_log: list[AttemptView]


class RedeliveryView(BaseModel):
    id: str
    status: str


# --- contacts and reviewers ----------------------------------------------------------------


class ContactView(BaseModel):
    """Which channels a recipient can be reached on; never the details themselves."""

    recipient: str
    locale: str
    email: bool
    sms: bool


class ReviewersView(BaseModel):
    campaign_id: str
    recipients: list[str]


# --- webhooks ------------------------------------------------------------------------------


class SubscriptionView(BaseModel):
    id: str
    url: str
    event_types: list[str]
    campaign_id: str | None
    description: str
    active: bool
    created_at: str
    max_age_s: int
    max_attempts: int | None
    retry_cap_s: int
    contact: str | None


class CreatedSubscription(SubscriptionView):
    """The new subscription; `secret` only when it was generated (shown this once, never again)."""

    secret: str | None = None


class Subscriptions(BaseModel):
    subscriptions: list[SubscriptionView]


class Deactivated(BaseModel):
    id: str
    active: bool


class WebhookDeliveryView(BaseModel):
    id: str
    subscription_id: str
    source_event_id: str
    event_type: str
    campaign_id: str
    status: WebhookStatus
    attempts: int
    next_attempt_at: str | None = Field(description="When it is tried again; only while pending.")
    last_error: str | None
    created_at: str
    delivered_at: str | None


class WebhookDeliveries(BaseModel):
    deliveries: list[WebhookDeliveryView]


class WebhookDeliveryDetail(WebhookDeliveryView):
    attempt_log: list[AttemptView]


# --- development ---------------------------------------------------------------------------


class RecordedSmsView(BaseModel):
    mobile: str
    text: str


class RecordedSmsList(BaseModel):
    messages: list[RecordedSmsView]
