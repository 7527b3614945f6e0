"""What a posted HTML form says, as the services want it, and what their refusals say about its fields."""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from . import texts


async def posted_pairs(request: Request) -> list[tuple[str, str]]:
    """A posted HTML form (urlencoded) as its name/value pairs, in order, repeated names kept."""
    body = await request.body()
    return parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def uploaded_file(body: bytes, content_type: str, name: str) -> bytes | None:
    """The file of one field of a posted multipart form (`enctype="multipart/form-data"`), or None."""
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.lower().startswith("multipart/form-data") or not found:
        return None
    delimiter = b"\r\n--" + found.group(1).encode("latin-1")
    for part in (b"\r\n" + body).split(delimiter)[1:]:
        head, separator, data = part.partition(b"\r\n\r\n")
        if separator and re.search(rf'name="{re.escape(name)}"', head.decode("latin-1")):
            return data
    return None


async def posted(request: Request) -> dict[str, str]:
    """A posted HTML form; the last value of a repeated name wins, as the pages never repeat one."""
    return dict(await posted_pairs(request))


def whole_number(text: str) -> int | None:
    """Typed ASCII digits as a number, or None: not "²" or "١" (digits to str.isdigit, not to int), nor more digits
    than any count here has (int() refuses over 4,300 of them)."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def number(text: str) -> float | int | str:
    """A typed number as the API wants it; anything else goes as typed, for the service to refuse in words."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return text
    if not math.isfinite(value):  # "inf", "nan", 1e400: no JSON number; the service refuses the text instead
        return text
    return int(value) if value.is_integer() else value


def safe_next(target: str) -> str:
    """Only a path on this site: a sign-in never sends anyone elsewhere."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/console"


def nomination_values(campaign: dict[str, Any], form: Any) -> tuple[str, dict[str, Any], dict[str, str]]:
    """What the unit typed, as the API wants it (integers as numbers), and the raw text to show again."""
    category = str(form.get("category_id", ""))
    values: dict[str, Any] = {}
    raw: dict[str, str] = {}
    for f in campaign.get("form", []):
        if f["type"] == "category":
            continue
        text = str(form.get(f"f_{f['id']}", "")).strip()
        raw[f["id"]] = text
        if text == "":
            continue
        typed = whole_number(text) if f["type"] == "integer" else None
        values[f["id"]] = typed if typed is not None else text
    return category, values, raw


def field_messages(error: dict[str, Any], lang: str) -> tuple[dict[str, list[str]], list[str]]:
    """Refusal details by form field; what names no field goes to the summary at the top."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    details = error.get("details")
    if isinstance(details, list) and details:
        for d in details:
            if not isinstance(d, dict):
                continue
            message = (d.get("message") if lang == "en" else d.get("message_zh")) or d.get("message") or ""
            field = str(d.get("field") or "").removeprefix("form.")
            if field == "category":
                field = "category_id"
            if field:
                by_field.setdefault(field, []).append(message)
            else:
                general.append(message)
    if not by_field and not general:
        general.append(texts.error_sentence(error, lang))
    return by_field, general


def names_field(error: dict[str, Any], field: str) -> bool:
    """Whether a validation refusal is about the given request field."""
    details = error.get("details")
    return error.get("code") == "validation_failed" and isinstance(details, list) and any(
        isinstance(d, dict) and str(d.get("field", "")).removeprefix("body.") == field for d in details)
