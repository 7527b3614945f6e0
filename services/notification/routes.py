"""Notification HTTP routes: the inbox, what operators see of deliveries, contact details, reviewers and
webhook subscriptions. Each parses its input, checks the caller's role, calls one service function and maps
a domain refusal to its API error."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from massline.auth import Caller, CallerDep, require_role
from massline.errors import ApiError

from . import domain, service
from .deps import Deps
from .schemas import (
    AttemptLog,
    ContactDetails,
    ContactView,
    CreatedSubscription,
    Deactivated,
    Deliveries,
    Inbox,
    ReadReceipt,
    RecordedSmsList,
    RedeliveryView,
    Reviewers,
    ReviewersView,
    Subscriptions,
    WebhookDeliveries,
    WebhookDeliveryDetail,
    WebhookSubscriptionRequest,
)

router = APIRouter(tags=["notification"])


# --- errors --------------------------------------------------------------------------------

def recipient_invalid(address: str) -> ApiError:
    return ApiError(
        422, "recipient_invalid", "收件人地址无效，应为“类型:编号”，如 unit:123",
        "Not a recipient address; expected <kind>:<id>, e.g. unit:123",
        {"recipient": address[:200], "kinds": list(domain.RECIPIENT_KINDS)},
    )


def contact_invalid(field_name: str) -> ApiError:
    zh = {"email": "电子邮箱格式不正确", "mobile": "手机号码格式不正确"}[field_name]
    return ApiError(422, f"{field_name}_invalid", zh, f"The {field_name} is not valid", {"field": field_name})


def delivery_not_found() -> ApiError:
    return ApiError(404, "delivery_not_found", "没有这条投递记录", "No such delivery")


@contextmanager
def api_errors() -> Iterator[None]:
    """Answer a domain refusal with its stable API error."""
    try:
        yield
    except domain.RecipientInvalid as exc:
        raise recipient_invalid(str(exc)) from None
    except domain.NotYourInbox:
        raise ApiError(403, "not_your_inbox", "只能查看本人或本单位的消息",
                       "You may read only your own inbox") from None
    except domain.NotificationNotFound:
        raise ApiError(404, "notification_not_found", "该收件人没有这条消息",
                       "This recipient has no such notification") from None
    except domain.ContactInvalid as exc:
        raise contact_invalid(exc.field_name) from None
    except domain.EventTypesUnknown as exc:
        raise ApiError(422, "event_type_unknown", "不能订阅这些事件类型", "These event types cannot be subscribed to",
                       {"unknown": exc.unknown, "allowed": sorted(domain.WEBHOOK_EVENTS)}) from None
    except domain.RetryPolicyInvalid as exc:
        low, high = exc.allowed
        raise ApiError(422, "webhook_retry_invalid", f"{exc.field_name} 应在 {low} 到 {high} 之间",
                       f"{exc.field_name} must be between {low} and {high}",
                       {"field": exc.field_name, "min": low, "max": high}) from None
    except domain.SubscriptionNotFound:
        raise ApiError(404, "subscription_not_found", "没有这个 Webhook 订阅", "No such webhook subscription") from None
    except domain.DeliveryNotFound:
        raise delivery_not_found() from None
    except domain.DeliveryInProgress:
        raise ApiError(409, "delivery_in_progress", "该投递仍在进行中，无需重新投递",
                       "This delivery is still being attempted; nothing to redeliver") from None
    except domain.DeliveryNotRedeliverable:
        raise ApiError(409, "delivery_not_redeliverable", "只有已失败或已送达的邮件、短信可以重新投递",
                       "Only a dead or delivered e-mail or SMS can be sent again") from None
    except service.NotAvailable:
        raise ApiError(404, "not_available", "生产环境不提供此接口", "Not available in production") from None


def _admin(caller: Caller) -> None:
    require_role(caller, "admin", "operator")


# --- inbox ---------------------------------------------------------------------------------

@router.get("/inbox/{recipient}", response_model=Inbox)
async def inbox(
    recipient: str,
    deps: Deps,
    caller: CallerDep,
    lang: Annotated[Literal["zh", "en"], Query(description="Language of subject and body.")] = "zh",
    unread_only: bool = False,
    limit: Annotated[int | None, Query(ge=1, le=500)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1,  # the column is a bigint
                                        description="`next_before` of the previous page.")] = None,
) -> Inbox:
    """A recipient's notices, newest first, with how many are unread.

    `subject` and `body` are plain text with HTML special characters escaped: insert them into a
    page as they are (with `white-space: pre-line` for the line breaks), never escape them again
    and never unescape them.

    Signed in: a unit or office reads only its own inbox, an expert theirs, the committee the
    committee's (403 `not_your_inbox` otherwise).
    """
    with api_errors():
        return await service.read_inbox(deps, caller, recipient, lang=lang, unread_only=unread_only, limit=limit,
                                        before=before)


@router.post("/inbox/{recipient}/{notification_id}/read", response_model=ReadReceipt)
async def mark_read(recipient: str, notification_id: uuid.UUID, deps: Deps, caller: CallerDep) -> ReadReceipt:
    """Mark one notice read (its recipient only). Repeating it changes nothing and keeps the first reading time."""
    with api_errors():
        return await service.mark_read(deps, caller, recipient, notification_id)


# --- operators -----------------------------------------------------------------------------

@router.get("/deliveries", response_model=Deliveries)
async def deliveries(
    deps: Deps,
    caller: CallerDep,
    source_event_id: uuid.UUID | None = None,
    recipient: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Deliveries:
    """Every delivery with its status, newest first: what was told to whom about which event.

    For operators and administrators; the notice text is left out.
    """
    require_role(caller, "operator", "admin")
    with api_errors():
        return await service.list_deliveries(deps, source_event_id, recipient, limit)


@router.post("/deliveries/{delivery_id}/redeliver", status_code=202, response_model=RedeliveryView)
async def redeliver_message(delivery_id: uuid.UUID, deps: Deps, caller: CallerDep) -> RedeliveryView:
    """Send a dead-lettered e-mail or SMS again (operators), e.g. after the address was corrected."""
    _admin(caller)
    with api_errors():
        return await service.redeliver_message(deps, delivery_id)


@router.get("/deliveries/{delivery_id}/attempts", response_model=AttemptLog)
async def delivery_attempts(delivery_id: uuid.UUID, deps: Deps, caller: CallerDep) -> AttemptLog:
    """Every attempt at an e-mail, SMS or webhook delivery: when, how long, the outcome, the error."""
    _admin(caller)
    return await service.delivery_attempts(deps, delivery_id)


@router.get("/dev/sms", response_model=RecordedSmsList)
async def development_sms(deps: Deps) -> RecordedSmsList:
    """What the development SMS provider recorded (not in production)."""
    with api_errors():
        return service.development_sms(deps)


# --- administration: contact details, reviewers --------------------------------------------

@router.put("/contacts/{recipient}", response_model=ContactView)
async def set_contact(recipient: str, body: ContactDetails, deps: Deps, caller: CallerDep) -> ContactView:
    """Set a recipient's e-mail address and mobile number (administrators).

    The answer says only which channels are on file: the details are never shown, logged or published.
    """
    _admin(caller)
    with api_errors():
        return await service.set_contact(deps, recipient, body.email, body.mobile, body.locale)


@router.get("/contacts/{recipient}", response_model=ContactView)
async def get_contact(recipient: str, deps: Deps, caller: CallerDep) -> ContactView:
    """Which channels a recipient can be reached on (administrators); never the details themselves."""
    _admin(caller)
    with api_errors():
        return await service.get_contact(deps, recipient)


@router.put("/campaigns/{campaign_id}/reviewers", response_model=ReviewersView)
async def set_reviewers(campaign_id: str, body: Reviewers, deps: Deps, caller: CallerDep) -> ReviewersView:
    """Name who is told of each new nomination of a campaign (administrators); replaces the list."""
    _admin(caller)
    with api_errors():
        return await service.set_reviewers(deps, campaign_id, body.recipients)


@router.get("/campaigns/{campaign_id}/reviewers", response_model=ReviewersView)
async def get_reviewers(campaign_id: str, deps: Deps, caller: CallerDep) -> ReviewersView:
    """Who is told of each new nomination of a campaign (administrators)."""
    _admin(caller)
    return await service.get_reviewers(deps, campaign_id)


# --- webhooks ------------------------------------------------------------------------------

@router.post("/webhooks", status_code=201, response_model=CreatedSubscription, response_model_exclude_unset=True)
async def create_subscription(body: WebhookSubscriptionRequest, deps: Deps, caller: CallerDep) -> CreatedSubscription:
    """Subscribe a downstream system's URL to public events (administrators). See docs/integration.md."""
    _admin(caller)
    try:
        with api_errors():
            return await service.create_subscription(deps, body)
    except domain.WebhookUrlRefused as exc:
        raise ApiError(422, exc.code, exc.zh, exc.en, {"url": body.url[:200]}) from None


@router.get("/webhooks", response_model=Subscriptions)
async def list_subscriptions(deps: Deps, caller: CallerDep) -> Subscriptions:
    """Every webhook subscription, oldest first; never their secrets."""
    _admin(caller)
    return await service.list_subscriptions(deps)


@router.delete("/webhooks/{subscription_id}", response_model=Deactivated)
async def deactivate_subscription(subscription_id: uuid.UUID, deps: Deps, caller: CallerDep) -> Deactivated:
    """Stop a subscription; deliveries not yet made are dead-lettered at their next attempt."""
    _admin(caller)
    with api_errors():
        return await service.deactivate_subscription(deps, subscription_id)


@router.get("/webhooks/deliveries", response_model=WebhookDeliveries)
async def webhook_deliveries(
    deps: Deps,
    caller: CallerDep,
    subscription_id: uuid.UUID | None = None,
    status: Literal["pending", "sending", "delivered", "dead"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> WebhookDeliveries:
    """The delivery log, newest first: status, attempts and last error of each webhook delivery."""
    _admin(caller)
    return await service.list_webhook_deliveries(deps, subscription_id, status, limit)


@router.get("/webhooks/deliveries/{delivery_id}", response_model=WebhookDeliveryDetail)
async def webhook_delivery(delivery_id: uuid.UUID, deps: Deps, caller: CallerDep) -> WebhookDeliveryDetail:
    """One webhook delivery with every attempt: when, how long, the answer's status code, the error."""
    _admin(caller)
    with api_errors():
        return await service.webhook_delivery(deps, delivery_id)


@router.post("/webhooks/deliveries/{delivery_id}/redeliver", status_code=202, response_model=RedeliveryView)
async def redeliver_webhook(delivery_id: uuid.UUID, deps: Deps, caller: CallerDep) -> RedeliveryView:
    """Send a dead-lettered (or delivered) webhook again with the same body and event id."""
    _admin(caller)
    with api_errors():
        return await service.redeliver_webhook(deps, delivery_id)
