"""Files in and out of the health checks: reading a CSV or XLSX of figures, writing the monthly report and the
findings board as XLSX or CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from ..domain.report import HEADER, MonthlyReport, table_row
from ..domain.snapshots import ALIASES, COUNTS


def read_table(content: bytes, filename: str = "") -> list[tuple[int, dict[str, Any]]]:
    """The data rows of a CSV or XLSX file with their line numbers, keyed by column name (aliases resolved).
    Raises ValueError("not_a_table") when the file cannot be read, ("column_missing:<names>") without the columns."""
    if content[:2] == b"PK" or filename.lower().endswith(".xlsx"):
        table = _xlsx_rows(content)
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError("not_a_table") from None
        table = [list(r) for r in csv.reader(io.StringIO(text))]
    if not table:
        raise ValueError("not_a_table")
    header = [ALIASES.get(str(h or "").strip().lower(), "") for h in table[0]]
    missing = [c for c in ("taken_on", *COUNTS) if c not in header]
    if "account_id" not in header and not {"platform", "platform_account_id"} <= set(header):
        missing.append("account_id")
    if missing:
        raise ValueError("column_missing:" + ",".join(missing))
    rows = []
    for line, raw in enumerate(table[1:], start=2):
        if all(v is None or str(v).strip() == "" for v in raw):
            continue
        rows.append((line, {name: value for name, value in zip(header, raw, strict=False) if name}))
    return rows


def _xlsx_rows(content: bytes) -> list[list[Any]]:
    try:
        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
        return [list(r) for r in sheet.iter_rows(values_only=True)]
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        raise ValueError("not_a_table") from None


def _safe(value: Any) -> Any:
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        return "'" + value if value.startswith(("=", "+", "-", "@")) else value
    return value


def to_xlsx(report: MonthlyReport) -> bytes:
    """Three sheets: units (单位), regions (地区), idle accounts (闲置账号)."""
    book = Workbook()
    sheets = [("单位 Units", [table_row(u) for u in report.units]),
              ("地区 Regions", [table_row(r) for r in report.regions])]
    for index, (title, rows) in enumerate(sheets):
        ws = book.active if index == 0 else book.create_sheet()
        assert ws is not None
        ws.title = title
        ws.append([f"{report.month} 政务新媒体账号月报 Monthly registry report — {report.scope}"])
        ws.append(HEADER)
        for cell in ws[2]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append([_safe(v) for v in row])
    ws = book.create_sheet("闲置账号 Idle")
    ws.append(["账号名称 Verified name", "平台 Platform", "单位 Unit", "地区 Region"])
    for a in report.idle:
        ws.append([_safe(a["verified_name"]), a["platform"], _safe(a["unit_name"]), _safe(a["region"])])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()




def rows_to_xlsx(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(list(header))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([_safe(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rows_to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([[_safe(v) for v in row] for row in rows])
    return out.getvalue().encode("utf-8-sig")
