"""Refusals the registry rules give: a stable code, a message in Chinese and English, and details."""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    """Something a caller asked for that the rules do not allow; the code is what clients key on."""

    status = 422

    def __init__(self, code: str, message_zh: str, message_en: str, details: Any = None) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.details = details


class Invalid(Refusal):
    """The request breaks a rule: a name without its region, a platform not approved, a missing reason."""


class Conflict(Refusal):
    """Not possible against what is filed: a duplicate, a closed account, a request already under review."""

    status = 409


class NotFound(Refusal):
    """The account or request does not exist (or the caller may not know of it)."""

    status = 404


class Forbidden(Refusal):
    """The caller may not act here: another unit's account, a request awaiting another office."""

    status = 403
