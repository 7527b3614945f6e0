"""Sending the one-time verification code to a voter's phone. The code itself is stored (hashed, with its expiry and
attempts) in PostgreSQL by the use case; this only sends it."""

from __future__ import annotations

import logging

import httpx

from massline.sms import SmsSender, SmsSendError, build_sender, mask_phone

from .settings import VotingSettings

log = logging.getLogger(__name__)


class SmsProvider:
    """Sends the code through the configured vendor (`MASSLINE_SMS_PROVIDER`).

    The development provider (`dev`, refused in production) sends nothing: it keeps the last code per phone hash in
    this process's memory, for the development page `GET /dev/sms-codes/{phone}` and the tests."""

    def __init__(self, settings: VotingSettings, client: httpx.AsyncClient | None = None) -> None:
        self.template = settings.sms_code_template
        self.vendor: SmsSender | None = build_sender(settings, client)
        self.sent: dict[str, str] = {}

    async def send(self, phone_hash: str, phone: str, code: str) -> None:
        """Send the code; `SmsSendError` when the vendor did not take it (logged with the number masked)."""
        if self.vendor is None:
            self.sent[phone_hash] = code
            log.info("verification code sent (development provider)", extra={"phone_hash": phone_hash[:12]})
            return
        try:
            await self.vendor.send(phone, self.template, {"code": code})
        except SmsSendError as exc:
            log.warning("verification code not sent", extra={"provider": self.vendor.name, "phone": mask_phone(phone),
                                                             "error": exc.code, "vendor_code": exc.vendor_code})
            raise
