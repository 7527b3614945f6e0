"""Notification service factory."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from massline.contracts import NotificationFailed, NotificationSent
from massline.service import ServiceRuntime

from . import handlers
from .rendering import TEMPLATES, TemplateCatalog
from .settings import NotificationSettings

MIGRATIONS = Path(__file__).with_name("migrations")


def build_runtime(settings: NotificationSettings | None = None) -> ServiceRuntime:
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
    handlers.register(rt, templates)
    return rt


def create_app(settings: NotificationSettings | None = None) -> FastAPI:
    rt = build_runtime(settings)
    return rt.build_app(
        [handlers.router],
        title="massline notification",
        description="Tells nominating units, offices, experts and the committee what happened (inbox, e-mail, SMS) "
        "and posts public events, signed, to downstream webhooks.",
    )
