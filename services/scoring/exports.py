"""Published results as files: CSV and XLSX tables and a printable commendation list (HTML)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from jinja2 import Environment, select_autoescape
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from massline.localtime import local_time
from massline.numbers import score_text, score_value

COLUMNS = [
    ("category", "类别"), ("rank", "名次"), ("entry_name", "名称"), ("unit_name", "推荐单位"),
    ("total", "总分"), ("initial", "初评得分"), ("vote", "投票得分"), ("expert", "专家评审得分"),
    ("activity", "实践活动得分"), ("adjustment", "委员会调整"), ("activity_forfeited", "实践活动视作放弃"),
    ("winner", "入选"),
]
# Score columns: half-up at two decimals, written with both decimals (CSV) or shown so (XLSX), as on the pages.
SCORE_COLUMNS = frozenset({"total", "initial", "vote", "expert", "activity", "adjustment"})


def result_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat row per entry, categories in id order, entries by rank."""
    rows = []
    for category_id in sorted(results["categories"]):
        category = results["categories"][category_id]
        for e in category["entries"]:
            rows.append({
                "category": category.get("name") or category_id,
                "rank": e["rank"], "entry_name": e["entry_name"], "unit_name": e.get("unit_name", ""),
                "total": score_value(e["total"]),
                **{c: score_value(e["components"].get(c, 0.0)) for c in ("initial", "vote", "expert", "activity")},
                "adjustment": score_value(e.get("adjustment", 0.0)),
                "activity_forfeited": "是" if e.get("activity_forfeited") else "",
                "winner": "是" if e.get("winner") else "",
            })
    return rows


def _safe_cell(value: Any) -> Any:
    """A name starting with = + - @ would run as a formula in a spreadsheet: keep it text. A control character
    cannot be written to an XLSX sheet: it is dropped."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if value[:1] in ("=", "+", "-", "@"):
            return "'" + value
    return value


def to_csv(results: Mapping[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([zh for _, zh in COLUMNS])
    for row in result_rows(results):
        writer.writerow([score_text(row[key]) if key in SCORE_COLUMNS else _safe_cell(row[key]) for key, _ in COLUMNS])
    # The byte-order mark lets spreadsheet programs read the Chinese text as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(results: Mapping[str, Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = f"结果 v{results['version']}"
    sheet.append([zh for _, zh in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in result_rows(results):
        sheet.append([_safe_cell(row[key]) for key, _ in COLUMNS])
        for cell, (key, _) in zip(sheet[sheet.max_row], COLUMNS, strict=True):
            if key in SCORE_COLUMNS:
                cell.number_format = "0.00"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
_COMMENDATION = _env.from_string("""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{{ title }} 表扬名单</title>
<style>
  body { font-family: "SimSun", "Songti SC", serif; margin: 2cm; color: #000; }
  h1 { text-align: center; font-size: 22pt; } h2 { font-size: 16pt; margin-top: 1.5em; }
  p.meta { text-align: center; font-size: 10pt; color: #444; }
  table { width: 100%; border-collapse: collapse; } th, td { border: 1px solid #000; padding: 4pt 6pt; }
  section { page-break-inside: avoid; } @media print { section { page-break-after: always; } }
</style></head>
<body>
<h1>{{ title }}<br>入选名单</h1>
<p class="meta">第 {{ version }} 版 · 发布于 {{ published_at }}
{%- if supersedes %} · 更正并取代第 {{ supersedes }} 版{% endif %}</p>
{% for category in categories %}
<section>
<h2>{{ category.name }}（{{ category.winners|length }}）</h2>
<table><thead><tr><th>序号</th><th>名称</th><th>推荐单位</th></tr></thead><tbody>
{% for e in category.winners %}<tr><td>{{ loop.index }}</td><td>{{ e.entry_name }}</td><td>{{ e.unit_name }}</td></tr>
{% endfor %}</tbody></table>
</section>
{% endfor %}
</body></html>
""")


def commendation_html(results: Mapping[str, Any]) -> str:
    """The winners per category in rank order, one printed page per category.

    `timezone` in `results` is the campaign's time zone; without it the publication time is in Beijing time."""
    categories = []
    for category_id in sorted(results["categories"]):
        category = results["categories"][category_id]
        categories.append({"name": category.get("name") or category_id,
                           "winners": [e for e in category["entries"] if e.get("winner")]})
    # Printed for people: the publication time in the campaign's zone, named (北京时间 when it gives none).
    published_at = local_time(results["published_at"], results.get("timezone"), "zh")
    return _COMMENDATION.render(title=results.get("title", ""), version=results["version"],
                                published_at=published_at, supersedes=results.get("supersedes"),
                                categories=categories)
