"""Content safety for text that may reach a public page: markup neutralised, spam and foreign links held for review."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .rules import CONTENT_HOLD_CODES, RuleViolation

__all__ = ["HoldReason", "hold_reasons", "neutralise", "neutralise_form", "split_holds"]

# Whole blocks whose content is code, not text: removed with what they contain.
_CODE_BLOCKS = re.compile(r"<\s*(script|style|iframe|object|embed|template)\b[^>]*>.*?<\s*/\s*\1\s*>",
                          re.IGNORECASE | re.DOTALL)
_UNCLOSED_CODE = re.compile(r"<\s*(script|style|iframe|object|embed|template)\b.*", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"</?[a-zA-Z!][^<>]*>")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# Control characters other than tab and line breaks can hide text from reviewers.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def neutralise(text: str) -> str:
    """The text with markup removed and stray angle brackets made harmless (full-width), so no page can run it."""
    text = _COMMENT.sub("", text)
    text = _CODE_BLOCKS.sub("", text)
    text = _UNCLOSED_CODE.sub("", text)
    text = _TAG.sub("", text)
    text = _CONTROL.sub("", text)
    return text.replace("<", "＜").replace(">", "＞")


def neutralise_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """Every text value of a form neutralised; numbers and other values unchanged."""
    out: dict[str, Any] = {}
    for key, value in form.items():
        if isinstance(value, str):
            out[key] = neutralise(value)
        elif isinstance(value, list):
            out[key] = [neutralise(v) if isinstance(v, str) else v for v in value]
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class HoldReason:
    """Why a nomination waits for a person before it can be published."""

    code: str
    field: str | None
    message_zh: str
    message_en: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "message_zh": self.message_zh, "message": self.message_en}


def split_holds(violations: Iterable[RuleViolation]) -> tuple[list[RuleViolation], list[HoldReason]]:
    """Violations that refuse the nomination, and content concerns that only hold it for review."""
    refused: list[RuleViolation] = []
    holds: list[HoldReason] = []
    for v in violations:
        if str(v.code) in CONTENT_HOLD_CODES:
            holds.append(HoldReason(str(v.code), v.field, v.message_zh, v.message_en))
        else:
            refused.append(v)
    return refused, holds


def hold_reasons(violations: Iterable[RuleViolation]) -> list[dict[str, Any]]:
    return [h.to_dict() for h in split_holds(violations)[1]]
