"""What every SMS vendor adapter is: one send of a template with its parameters, or a refusal with a stable code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Protocol

# The codes a voter's client (and an operator) reads; each vendor's own codes map onto them.
ErrorCode = Literal["sms_throttled", "phone_number_invalid", "sms_rejected", "sms_unavailable"]


class SmsSendError(Exception):
    """The vendor did not take the message.

    `code`: `sms_throttled` (the vendor's rate limit for this number or account), `phone_number_invalid` (the vendor
    says the number is not one), `sms_rejected` (configuration the vendor refuses: keys, signature, sign name,
    template, balance) or `sms_unavailable` (no answer, or a server error). `vendor_code` is the vendor's own code,
    for the logs; `permanent` says whether sending the same message again can succeed."""

    def __init__(self, code: ErrorCode, vendor_code: str, *, permanent: bool) -> None:
        super().__init__(f"{code} ({vendor_code})")
        self.code: ErrorCode = code
        self.vendor_code = vendor_code[:120]
        self.permanent = permanent


class SmsSender(Protocol):
    """Sends one templated message to one mainland mobile number (11 digits, or with +86)."""

    name: str

    async def send(self, phone: str, template_id: str, params: Mapping[str, str]) -> None: ...


def mask_phone(phone: str) -> str:
    """A number as logs may show it: the first three and last two digits (`138******00`); short ones fully masked."""
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 5) + digits[-2:]


def mainland(phone: str) -> str:
    """The number as E.164 (+86…); one given with + is kept."""
    phone = phone.strip()
    return phone if phone.startswith("+") else "+86" + phone
