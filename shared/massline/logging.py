"""Structured JSON logs that carry the event and campaign being handled."""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from pythonjsonlogger.json import JsonFormatter

event_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("event_id", default=None)
campaign_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("campaign_id", default=None)
service_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("service", default=None)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in (("event_id", event_id_var), ("campaign_id", campaign_id_var), ("service", service_var)):
            value = var.get()
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every log line of the process to stdout as one JSON object."""
    service_var.set(service)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        )
    )
    handler.addFilter(_ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Per-request access lines would drown the event log; errors still come through.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    # Request lines would carry URLs (ids, sometimes a phone number in development routes).
    logging.getLogger("httpx").setLevel(logging.WARNING)


@contextmanager
def event_context(event_id: str | None, campaign_id: str | None) -> Iterator[None]:
    """Tag every log line inside the block with the event being applied."""
    t1 = event_id_var.set(event_id)
    t2 = campaign_id_var.set(campaign_id)
    try:
        yield
    finally:
        event_id_var.reset(t1)
        campaign_id_var.reset(t2)
