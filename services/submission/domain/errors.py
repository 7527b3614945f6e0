"""Refusals the submission rules give: a stable code, a message in Chinese and English, and details."""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    """Something a caller asked for that the rules do not allow; the code is what clients key on."""

    def __init__(self, code: str, message_zh: str, message_en: str, details: Any = None) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.details = details


class NotNow(Refusal):
    """Not possible in the nomination's status or the campaign's phase (or against what is stored)."""


class Invalid(Refusal):
    """The request itself breaks a rule: a form field, a missing reason, a definition with errors."""


class NotFound(Refusal):
    """The campaign or nomination does not exist."""


class Forbidden(Refusal):
    """The caller may not see or handle this (another unit's nomination, outside an office's jurisdiction)."""


class TooManyAttempts(Refusal):
    """Too many wrong passwords for this username or from this address: wait before trying again."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("too_many_sign_ins", f"登录失败次数过多，请 {retry_after_s} 秒后再试",
                         f"Too many failed sign-ins; try again in {retry_after_s} seconds",
                         {"retry_after_s": retry_after_s})
        self.retry_after_s = retry_after_s


class Unauthenticated(Refusal):
    """The caller could not be identified (wrong username or password)."""
