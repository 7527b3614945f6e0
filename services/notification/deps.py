"""What the notification service's routes, consumers and dispatcher share: the runtime, metrics, the compiled
templates, the SMS provider and the dispatcher's wake-up signal."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import Counter

from massline.service import ServiceRuntime

from .channels import DevelopmentSmsProvider, VendorSmsProvider
from .rendering import TemplateCatalog
from .settings import NotificationSettings


class Metrics:
    """Deliveries sent per channel and webhook attempts per outcome."""

    def __init__(self, rt: ServiceRuntime[NotificationSettings]) -> None:
        # Counted in the transaction that records the deliveries: a batch that is rolled back and
        # retried one event at a time counts twice. The deliveries table holds the exact number.
        self.sent = Counter(
            "massline_notifications_sent", "Notifications recorded as sent", ["channel"], registry=rt.registry
        )
        self.webhooks = Counter(
            "massline_webhook_attempts", "Webhook delivery attempts by outcome", ["outcome"], registry=rt.registry
        )


@dataclass
class NotificationDeps:
    """The notification service's dependencies, built once by app.build_deps."""

    rt: ServiceRuntime[NotificationSettings]
    metrics: Metrics
    templates: TemplateCatalog
    # The development provider records what it would send (shown by GET /dev/sms outside production); a vendor's
    # (MASSLINE_SMS_PROVIDER=aliyun|tencent) sends.
    sms: DevelopmentSmsProvider | VendorSmsProvider
    # Set when e-mail, SMS or webhook deliveries became due, so the dispatcher claims them without waiting
    # for its next poll.
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def settings(self) -> NotificationSettings:
        return self.rt.settings

    def wake_dispatcher(self) -> None:
        self.wake.set()


def deps_of(request: Request) -> NotificationDeps:
    """FastAPI dependency: the notification service's dependencies."""
    deps: NotificationDeps = request.app.state.deps
    return deps


Deps = Annotated[NotificationDeps, Depends(deps_of)]
