"""Notification service factory: builds its dependencies, mounts its routes, subscribes its consumers and runs
the dispatcher."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from massline.contracts import NotificationFailed, NotificationSent
from massline.service import ServiceRuntime

from . import handlers, routes
from .channels import EmailSender, WebhookSender, build_sms
from .deps import Metrics, NotificationDeps
from .dispatch import Dispatcher
from .rendering import TEMPLATES, TemplateCatalog
from .settings import NotificationSettings

MIGRATIONS = Path(__file__).with_name("migrations")


def build_deps(settings: NotificationSettings | None = None) -> NotificationDeps:
    """The runtime and everything the routes, consumers and dispatcher share, consumers subscribed."""
    settings = settings or NotificationSettings()
    # Compiled and tried here, so a broken template stops the service at start, naming the file,
    # instead of failing the first notice that needs it.
    templates = TemplateCatalog.load(settings.templates_dir or TEMPLATES)
    rt = ServiceRuntime(
        "notification",
        settings,
        migrations_dir=MIGRATIONS,
        publishes=[NotificationSent, NotificationFailed],
    )
    deps = NotificationDeps(rt=rt, metrics=Metrics(rt), templates=templates, sms=build_sms(settings))
    handlers.register(deps)
    _run_dispatcher(deps)
    return deps


def _run_dispatcher(deps: NotificationDeps) -> None:
    """Send due e-mail, SMS and webhooks, and due reminders, for the life of the service."""
    running: list[Dispatcher] = []

    async def start_dispatcher(rt: ServiceRuntime[NotificationSettings]) -> None:
        # Built inside the running loop: the HTTP client belongs to it.
        settings = deps.settings
        running.append(Dispatcher(deps, email=EmailSender(settings), sms=deps.sms, webhooks=WebhookSender(settings)))

    async def dispatch(rt: ServiceRuntime[NotificationSettings]) -> None:
        await running[0].run()

    async def reminders(rt: ServiceRuntime[NotificationSettings]) -> None:
        await running[0].run_reminders()

    deps.rt.on_startup(start_dispatcher)
    deps.rt.background(dispatch)
    deps.rt.background(reminders)


def build_runtime(settings: NotificationSettings | None = None) -> ServiceRuntime[NotificationSettings]:
    return build_deps(settings).rt


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    deps = build_deps(settings)
    return deps.rt.build_app(
        [routes.router],
        title="massline notification",
        description="Tells nominating units, offices, experts and the committee what happened (inbox, e-mail, SMS) "
        "and posts public events, signed, to downstream webhooks.",
        deps=deps,
    )
