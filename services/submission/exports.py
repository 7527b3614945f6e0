"""Exports for reviewers: the statistics sheet (征集统计表) per reporting unit and the nomination list, XLSX or CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from .domain.campaign import CampaignDefinition

__all__ = ["Sheet", "nominations_sheet", "statistics_sheet", "to_csv", "to_xlsx"]

STATUS_NAMES = {
    "submitted": "待审核",
    "held_for_review": "内容待人工审核",
    "returned": "已退回",
    "approved": "已通过",
    "rejected": "未通过",
    "withdrawn": "已撤回",
}
_ACTIVE = ("submitted", "held_for_review", "returned", "approved")
# A cell starting with one of these is a formula to a spreadsheet program; exported text must stay text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Sheet:
    title: str
    preamble: list[list[Any]]
    header: list[str]
    rows: list[list[Any]]


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, (list, tuple)):
        value = "；".join(str(v) for v in value)
    if isinstance(value, dict):
        value = "；".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, str):
        # A control character (a name typed with one, say) cannot be written to an XLSX sheet: drop it.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value.startswith(_FORMULA_START):
            return "'" + value
    return value


def statistics_sheet(
    d: CampaignDefinition, units: Sequence[Mapping[str, Any]], nominations: Sequence[Mapping[str, Any]],
    *, reported_by: str, at: datetime,
) -> Sheet:
    """One row per reporting unit: nominations per category (active ones), status counts, and any shortfall."""
    minimum = d.quotas.min_per_unit_per_category
    header = ["填报单位 Unit", "上级单位 Parent"]
    header += [f"{c.name} {c.id}" for c in d.categories]
    header += ["合计 Total"] + [f"{STATUS_NAMES[s]} {s}" for s in STATUS_NAMES]
    header += [f"尚缺（每类不少于{minimum}个）Short"] if minimum else []
    rows: list[list[Any]] = []
    for unit in units:
        own = [n for n in nominations if n["unit_id"] == unit["id"]]
        active = [n for n in own if n["status"] in _ACTIVE]
        per_category = [sum(1 for n in active if n["category_id"] == c.id) for c in d.categories]
        row: list[Any] = [unit["name"], unit.get("parent_name") or ""]
        row += [*per_category, len(active)]
        row += [sum(1 for n in own if n["status"] == s) for s in STATUS_NAMES]
        if minimum:
            row.append(sum(max(0, minimum - count) for count in per_category))
        rows.append(row)
    totals: list[Any] = ["合计 Total", ""] + [sum(r[i] for r in rows) for i in range(2, len(header))]
    preamble = [
        [f"“{d.title}”征集统计表"],
        ["填报单位：", reported_by],
        ["填报时间：", at.astimezone(d.zone).strftime("%Y-%m-%d %H:%M")],
        ["填报联系人及联系方式："],
    ]
    return Sheet("征集统计表", preamble, header, [*rows, totals] if rows else rows)


def nominations_sheet(
    d: CampaignDefinition, nominations: Sequence[Mapping[str, Any]], *, include_personal: bool
) -> Sheet:
    """Every nomination with its form; private fields (personal data) only when `include_personal`."""
    fields = [f for f in d.form if f.public or include_personal]
    header = ["编号 id", "推荐单位 unit", "上级单位 parent", "类别 category", "名称 name", "状态 status",
              "修订 revision", "个人自荐 self", "内容待审原因 held reasons"]
    header += [f"{f.label} {f.id}" for f in fields if f.id != "category"]
    header += ["报送粉丝量 reported followers", "报送发稿量 reported posts", "报送互动量 reported interactions",
               "核实粉丝量 verified followers", "核实发稿量 verified posts", "核实互动量 verified interactions",
               "实践活动总结报送 activity submitted", "提交时间 created", "更新时间 updated"]
    rows: list[list[Any]] = []
    for n in nominations:
        form = {**n["public_fields"], **(n["private_fields"] if include_personal else {})}
        category = d.category(n["category_id"])
        row: list[Any] = [str(n["id"]), n["unit_name"], n.get("parent_name") or "",
                          category.name if category else n["category_id"], n["entry_name"],
                          STATUS_NAMES.get(n["status"], n["status"]), n["revision"],
                          "是" if n["self_nomination"] else "否",
                          [r.get("message_zh", "") for r in n["held_reasons"]] if n["status"] == "held_for_review"
                          else ""]
        row += [form.get(f.id, "") for f in fields if f.id != "category"]
        row += [n[k] if n[k] is not None else "" for k in (
            "reported_followers", "reported_posts", "reported_interactions",
            "verified_followers", "verified_posts", "verified_interactions")]
        row += [n["activity_submitted_at"] or "", n["created_at"], n["updated_at"]]
        rows.append(row)
    return Sheet("推荐汇总", [], header, rows)


def to_csv(sheet: Sheet) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in [*sheet.preamble, sheet.header, *sheet.rows]:
        writer.writerow([_cell(v) for v in row])
    # A byte-order mark so spreadsheet programs open the Chinese text as UTF-8.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(sheet: Sheet) -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = sheet.title
    for row in sheet.preamble:
        ws.append([_cell(v) for v in row])
    ws.append([_cell(v) for v in sheet.header])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for row in sheet.rows:
        ws.append([_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
