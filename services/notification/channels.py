"""Outbound channels: e-mail over SMTP, SMS through a provider, and signed webhook posts."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

import aiosmtplib
import httpx
from markupsafe import Markup

from massline.sms import SmsSender, SmsSendError, build_sender

from . import domain
from .settings import NotificationSettings


class SendFailed(Exception):
    """An attempt that did not deliver; `permanent` ones are dead-lettered at once."""

    def __init__(self, reason: str, *, permanent: bool = False, status_code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason[:300]
        self.permanent = permanent
        self.status_code = status_code


def plain(text: str) -> str:
    """Stored notices are HTML-escaped for the inbox pages; mail and SMS want the raw text."""
    return Markup(text).unescape()


class EmailSender:
    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings

    async def send(self, to: str, subject: str, body: str, message_ref: str) -> None:
        message = EmailMessage()
        message["From"] = self.settings.smtp_sender
        message["To"] = to
        message["Subject"] = plain(subject)
        message["Message-ID"] = make_msgid(idstring=message_ref, domain="massline")
        message.set_content(plain(body))
        s = self.settings
        try:
            await aiosmtplib.send(
                message, hostname=s.smtp_host, port=s.smtp_port, username=s.smtp_username or None,
                password=s.smtp_password or None, start_tls=s.smtp_start_tls, timeout=30,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise SendFailed(f"recipient refused: {_codes(exc)}", permanent=True) from None
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"smtp: {type(exc).__name__}") from None


def _codes(exc: aiosmtplib.SMTPRecipientsRefused) -> str:
    # The refused addresses are personal data; only the server's codes are kept.
    return ",".join(str(r.code) for r in exc.recipients)


class SmsProvider(Protocol):
    async def send(self, mobile: str, subject: str) -> None: ...


@dataclass(frozen=True)
class RecordedSms:
    mobile: str
    text: str
    at: float


class DevelopmentSmsProvider:
    """Records messages instead of sending them, for development and tests."""

    def __init__(self) -> None:
        self.sent: list[RecordedSms] = []

    async def send(self, mobile: str, subject: str) -> None:
        self.sent.append(RecordedSms(mobile, sms_text(subject), time.time()))


class VendorSmsProvider:
    """Sends a notice through the configured vendor (massline.sms) as its notice template, the subject its one
    parameter; a vendor's refusal is a failed attempt (permanent unless sending again can succeed)."""

    def __init__(self, settings: NotificationSettings, sender: SmsSender) -> None:
        self.sender = sender
        self.template = settings.sms_notice_template
        self.param_max = settings.sms_notice_param_max

    async def send(self, mobile: str, subject: str) -> None:
        try:
            await self.sender.send(mobile, self.template, {"subject": notice_param(subject, self.param_max)})
        except SmsSendError as exc:
            # The reason is kept on the delivery: the codes only, never the number.
            raise SendFailed(f"{self.sender.name}: {exc.code} ({exc.vendor_code})", permanent=exc.permanent) from None


def build_sms(settings: NotificationSettings) -> DevelopmentSmsProvider | VendorSmsProvider:
    """The provider the settings name: the development one records, a vendor's sends."""
    sender = build_sender(settings)
    return DevelopmentSmsProvider() if sender is None else VendorSmsProvider(settings, sender)


def sms_text(subject: str) -> str:
    return f"【群众路线推选】{plain(subject)}"


def notice_param(subject: str, limit: int) -> str:
    """The subject as a template parameter: raw text, one line, at most `limit` characters (… when cut)."""
    text = " ".join(plain(subject).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class WebhookResponse:
    status_code: int


class WebhookSender:
    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings
        self.client = httpx.AsyncClient(
            timeout=settings.webhook_timeout_s, follow_redirects=False,
            limits=httpx.Limits(max_connections=settings.dispatch_concurrency, max_keepalive_connections=32),
        )

    async def post(self, url: str, secret: str, body: str, headers: dict[str, str]) -> WebhookResponse:
        """One signed attempt. 2xx delivers; 4xx other than 408/429 is permanent; anything else is retried."""
        production = self.settings.env == "production"
        try:
            # Checked again at send time: a name may have been pointed inside the network since.
            domain.check_webhook_url(url, production=production, resolve=resolve_host if production else None)
        except domain.WebhookUrlRefused as exc:
            raise SendFailed(exc.code, permanent=True) from None
        raw = body.encode()
        timestamp = int(time.time())
        signed = {
            **headers,
            "Content-Type": "application/json",
            "User-Agent": "massline-webhooks/1",
            domain.TIMESTAMP_HEADER: str(timestamp),
            domain.SIGNATURE_HEADER: domain.signature(secret, timestamp, raw),
        }
        try:
            response = await self.client.post(url, content=raw, headers=signed)
        except httpx.TimeoutException:
            raise SendFailed("timeout") from None
        except httpx.HTTPError as exc:
            raise SendFailed(f"connection: {type(exc).__name__}") from None
        code = response.status_code
        if 200 <= code < 300:
            return WebhookResponse(code)
        permanent = 400 <= code < 500 and code not in (408, 425, 429)
        raise SendFailed(f"http {code}", permanent=permanent, status_code=code)

    async def close(self) -> None:
        await self.client.aclose()


def resolve_host(host: str) -> list[str]:
    """The addresses a host name resolves to, for the production check that a webhook is public."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
