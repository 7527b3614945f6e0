"""Sending the one-time verification code to a voter's phone."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class SmsProvider:
    """Sends the one-time code. The development provider keeps the last code per phone hash in memory."""

    def __init__(self) -> None:
        self.sent: dict[str, str] = {}

    async def send(self, phone_hash: str, phone: str, text: str, code: str) -> None:
        self.sent[phone_hash] = code
        log.info("verification code sent (development provider)", extra={"phone_hash": phone_hash[:12]})
