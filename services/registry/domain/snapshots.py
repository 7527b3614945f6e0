"""Reading a unit's figures: one reported snapshot, or a CSV or XLSX file of them, checked row by row.

A file's first row names the columns (English or Chinese, see COLUMNS); each later row is one account on one day,
named by `account_id` or by `platform` and `platform_account_id`. A row that cannot be used is named by its line
in the file (the header is line 1) with a stable code; the caller decides whether the good rows are kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

# Column -> the names a file may give it.
COLUMNS: dict[str, tuple[str, ...]] = {
    "account_id": ("account_id", "账号编号"),
    "platform": ("platform", "平台"),
    "platform_account_id": ("platform_account_id", "平台账号", "平台账号ID"),
    "taken_on": ("taken_on", "date", "日期", "统计日期"),
    "followers": ("followers", "粉丝数"),
    "posts": ("posts", "发布数", "发布数量"),
    "reposts": ("reposts", "转发量", "转发数"),
    "comments": ("comments", "评论量", "评论数"),
    "last_update_on": ("last_update_on", "最近更新", "最近更新日期"),
    "open_questions": ("open_questions", "未答复提问", "未答复提问数"),
    "oldest_question_on": ("oldest_question_on", "最早未答复提问日期"),
}
COUNTS = ("followers", "posts", "reposts", "comments")
ALIASES = {alias.strip().lower(): name for name, aliases in COLUMNS.items() for alias in aliases}

# code -> (zh, en)
ROW_ERRORS: dict[str, tuple[str, str]] = {
    "column_missing": ("缺少必填列", "A required column is missing"),
    "value_missing": ("缺少必填值", "A required value is missing"),
    "not_a_count": ("应为非负整数", "Not a whole number of zero or more"),
    "not_a_date": ("日期格式应为YYYY-MM-DD", "Not a date (YYYY-MM-DD)"),
    "date_in_future": ("日期不能晚于今天", "The date is after today"),
    "after_taken_on": ("不能晚于统计日期", "Later than the day the figures describe"),
    "question_date_missing": ("有未答复提问时须填写最早提问日期", "Open questions need the oldest question's date"),
    "account_unknown": ("账号不存在或不属于本单位", "No such account of this unit"),
    "account_not_in_service": ("账号未备案或已注销", "The account is not filed or is closed"),
    "duplicate_row": ("同一账号同一日期重复", "The same account and day twice in the file"),
    "not_a_table": ("文件无法读取为CSV或XLSX", "The file is not a readable CSV or XLSX"),
}


@dataclass(frozen=True)
class RowError:
    line: int
    code: str
    field: str = ""

    def as_dict(self) -> dict[str, Any]:
        zh, en = ROW_ERRORS[self.code]
        return {"line": self.line, "code": self.code, "field": self.field, "message": zh, "message_en": en}


@dataclass(frozen=True)
class AccountRef:
    """How a row names its account."""

    account_id: uuid.UUID | None = None
    platform: str = ""
    platform_account_id: str = ""


@dataclass(frozen=True)
class SnapshotRow:
    """A row's figures, checked; the account still to be resolved against the registry."""

    line: int
    account: AccountRef
    taken_on: date
    followers: int
    posts: int
    reposts: int
    comments: int
    last_update_on: date | None = None
    open_questions: int = 0
    oldest_question_on: date | None = None


@dataclass
class Parsed:
    rows: list[SnapshotRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def parse_rows(rows: Iterable[tuple[int, Mapping[str, Any]]], today: date) -> Parsed:
    """Every row checked: the good ones as SnapshotRow, the others as RowError (each row's first problem)."""
    out = Parsed()
    seen: dict[tuple[Any, date], int] = {}
    for line, values in rows:
        try:
            row = parse_row(line, values, today)
        except _Bad as bad:
            out.errors.append(RowError(line, bad.code, bad.field))
            continue
        key = (row.account, row.taken_on)
        if key in seen:
            out.errors.append(RowError(line, "duplicate_row", "taken_on"))
            continue
        seen[key] = line
        out.rows.append(row)
    return out


class _Bad(Exception):
    def __init__(self, code: str, field_name: str) -> None:
        super().__init__(code)
        self.code = code
        self.field = field_name


def parse_row(line: int, values: Mapping[str, Any], today: date) -> SnapshotRow:
    taken_on = _date(values, "taken_on", required=True)
    assert taken_on is not None
    if taken_on > today:
        raise _Bad("date_in_future", "taken_on")
    counts = {name: _count(values, name, required=True) for name in COUNTS}
    last = _date(values, "last_update_on")
    oldest = _date(values, "oldest_question_on")
    for name, day in (("last_update_on", last), ("oldest_question_on", oldest)):
        if day is not None and day > taken_on:
            raise _Bad("after_taken_on", name)
    questions = _count(values, "open_questions")
    if questions and oldest is None:
        raise _Bad("question_date_missing", "oldest_question_on")
    return SnapshotRow(line=line, account=_account(values), taken_on=taken_on, last_update_on=last,
                       open_questions=questions, oldest_question_on=oldest, **counts)


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    return "" if value is None else str(value).strip()


def _account(values: Mapping[str, Any]) -> AccountRef:
    ident = _text(values, "account_id")
    if ident:
        try:
            return AccountRef(account_id=uuid.UUID(ident))
        except ValueError:
            raise _Bad("account_unknown", "account_id") from None
    platform, platform_id = _text(values, "platform"), _text(values, "platform_account_id")
    if not platform or not platform_id:
        raise _Bad("value_missing", "platform_account_id" if platform else "platform")
    return AccountRef(platform=platform.lower(), platform_account_id=platform_id)


def _count(values: Mapping[str, Any], name: str, required: bool = False) -> int:
    value = values.get(name)
    if isinstance(value, bool):
        raise _Bad("not_a_count", name)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        text = _text(values, name).replace(",", "")
        if not text:
            if required:
                raise _Bad("value_missing", name)
            return 0
        if not text.isdigit():
            raise _Bad("not_a_count", name)
        number = int(text)
    if number < 0:
        raise _Bad("not_a_count", name)
    return number


def _date(values: Mapping[str, Any], name: str, required: bool = False) -> date | None:
    value = values.get(name)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(values, name)
    if not text:
        if required:
            raise _Bad("value_missing", name)
        return None
    try:
        return date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise _Bad("not_a_date", name) from None


def error_list(errors: Sequence[RowError]) -> list[dict[str, Any]]:
    return [e.as_dict() for e in sorted(errors, key=lambda e: e.line)]
