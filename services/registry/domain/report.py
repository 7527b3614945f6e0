"""The monthly registry report (seed 004, 月报): per unit and per region, activity, findings, response times and
idle accounts; written as an XLSX workbook and as a printable HTML page with bar charts (inline SVG)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date, timedelta
from html import escape
from typing import Any


@dataclass(frozen=True)
class ReportAccount:
    id: str
    unit_id: str
    unit_name: str
    region: str
    verified_name: str
    platform: str


@dataclass(frozen=True)
class ReportSnapshot:
    account_id: str
    taken_on: date
    followers: int
    posts: int
    reposts: int
    comments: int


@dataclass(frozen=True)
class ReportFinding:
    account_id: str
    code: str
    idle: bool
    observed_on: date
    fixed_on: date | None
    closed_on: date | None


@dataclass
class Line:
    """One row of the report: a unit or a region."""

    key: str
    name: str
    accounts: int = 0
    posts: int = 0
    followers_start: int = 0
    followers_end: int = 0
    interactions: int = 0
    findings_opened: int = 0
    findings_closed: int = 0
    response_days: list[int] = field(default_factory=list)
    idle_accounts: int = 0

    @property
    def followers_change(self) -> int:
        return self.followers_end - self.followers_start

    @property
    def mean_response_days(self) -> float | None:
        return round(sum(self.response_days) / len(self.response_days), 1) if self.response_days else None

    def figures(self) -> dict[str, Any]:
        return {**asdict(self), "followers_change": self.followers_change,
                "mean_response_days": self.mean_response_days}


@dataclass
class MonthlyReport:
    month: str
    scope: str
    units: list[Line]
    regions: list[Line]
    idle: list[dict[str, str]]
    open_findings: int

    @property
    def accounts(self) -> int:
        return sum(u.accounts for u in self.units)

    @classmethod
    def from_figures(cls, figures: Mapping[str, Any]) -> MonthlyReport:
        """The report as it was produced (the stored figures), to write out again."""
        names = {f.name for f in fields(Line)}

        def lines(items: Iterable[Mapping[str, Any]]) -> list[Line]:
            return [Line(**{k: v for k, v in item.items() if k in names}) for item in items]

        return cls(figures["month"], figures["scope"], lines(figures["units"]), lines(figures["regions"]),
                   list(figures["idle"]), int(figures["open_findings"]))

    def figures(self) -> dict[str, Any]:
        return {"month": self.month, "scope": self.scope, "units": [u.figures() for u in self.units],
                "regions": [r.figures() for r in self.regions], "idle": self.idle,
                "open_findings": self.open_findings}


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of a YYYY-MM month; ValueError when it is not one."""
    first = date.fromisoformat(f"{month}-01")
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt - timedelta(days=1)


def previous_month(today: date) -> str:
    return (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def build_report(month: str, scope: str, accounts: Sequence[ReportAccount], snapshots: Iterable[ReportSnapshot],
                 findings: Iterable[ReportFinding]) -> MonthlyReport:
    """Aggregate the month: snapshots up to its last day (the latest before it gives the followers at the start),
    findings opened or closed in it; an account is idle when an idle finding was open at any time in the month."""
    first, last = month_bounds(month)
    by_account = {a.id: a for a in accounts}
    lines: dict[str, dict[str, Line]] = {"unit": {}, "region": {}}
    for a in accounts:
        for kind, key, name in (("unit", a.unit_id, a.unit_name or a.unit_id), ("region", a.region, a.region)):
            lines[kind].setdefault(key, Line(key, name)).accounts += 1
    series: dict[str, list[ReportSnapshot]] = defaultdict(list)
    for s in snapshots:
        if s.account_id in by_account and s.taken_on <= last:
            series[s.account_id].append(s)
    for account_id, points in series.items():
        _add_activity(_lines_of(lines, by_account[account_id]), sorted(points, key=lambda p: p.taken_on), first)
    idle: dict[str, ReportAccount] = {}
    open_at_end = 0
    for f in findings:
        owner = by_account.get(f.account_id)
        if owner is None:
            continue
        _add_finding(_lines_of(lines, owner), f, first, last)
        if f.observed_on <= last and (f.closed_on is None or f.closed_on > last):
            open_at_end += 1
        if f.idle and f.observed_on <= last and (f.closed_on is None or f.closed_on >= first):
            idle[owner.id] = owner
    for a in idle.values():
        for line in _lines_of(lines, a):
            line.idle_accounts += 1
    idle_list = [{"account_id": a.id, "verified_name": a.verified_name, "platform": a.platform,
                  "unit_name": a.unit_name, "region": a.region} for a in sorted(idle.values(), key=lambda a: a.id)]
    return MonthlyReport(month, scope, sorted(lines["unit"].values(), key=lambda x: x.name),
                         sorted(lines["region"].values(), key=lambda x: x.name), idle_list, open_at_end)


def _lines_of(lines: Mapping[str, Mapping[str, Line]], a: ReportAccount) -> tuple[Line, Line]:
    return lines["unit"][a.unit_id], lines["region"][a.region]


def _add_activity(targets: Sequence[Line], points: Sequence[ReportSnapshot], first: date) -> None:
    before = [p for p in points if p.taken_on < first]
    during = [p for p in points if p.taken_on >= first]
    start = before[-1].followers if before else (during[0].followers if during else 0)
    end = during[-1].followers if during else start
    for line in targets:
        line.followers_start += start
        line.followers_end += end
        line.posts += sum(p.posts for p in during)
        line.interactions += sum(p.reposts + p.comments for p in during)


def _add_finding(targets: Sequence[Line], f: ReportFinding, first: date, last: date) -> None:
    for line in targets:
        if first <= f.observed_on <= last:
            line.findings_opened += 1
        if f.closed_on is not None and first <= f.closed_on <= last:
            line.findings_closed += 1
            if f.fixed_on is not None:
                line.response_days.append((f.fixed_on - f.observed_on).days)


# --- writing it out ----------------------------------------------------------------------------

HEADER = ["名称 Name", "账号数 Accounts", "发布数 Posts", "月初粉丝 Followers at start", "月末粉丝 Followers at end",
          "粉丝变化 Change", "互动量 Interactions", "新发现问题 Findings opened", "已整改 Findings closed",
          "平均整改天数 Mean days to fix", "闲置账号 Idle accounts"]


def table_row(line: Line) -> list[Any]:
    return [line.name, line.accounts, line.posts, line.followers_start, line.followers_end, line.followers_change,
            line.interactions, line.findings_opened, line.findings_closed,
            "" if line.mean_response_days is None else line.mean_response_days, line.idle_accounts]


def bar_chart(title: str, bars: Sequence[tuple[str, int]], width: int = 640) -> str:
    """A horizontal bar chart as inline SVG, labelled, with a text alternative."""
    height = 28 * len(bars) + 40
    top = max((v for _, v in bars), default=0) or 1
    parts = [f'<svg role="img" aria-label="{escape(title)}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>']
    for i, (label, value) in enumerate(bars):
        y = 30 + i * 28
        length = int((width - 260) * value / top)
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{escape(label[:18])}</text>'
                     f'<rect x="200" y="{y}" width="{length}" height="18" fill="#2f6f9f"/>'
                     f'<text x="{205 + length}" y="{y + 14}" font-size="12">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)


def to_html(report: MonthlyReport) -> str:
    """A printable page: the charts, then the unit and region tables, then the idle accounts."""
    def table(lines: Sequence[Line]) -> str:
        head = "".join(f"<th>{escape(h)}</th>" for h in HEADER)
        body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in table_row(x)) + "</tr>" for x in lines)
        return (f'<table border="1" cellpadding="3" cellspacing="0"><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>")

    idle = "".join(f"<li>{escape(a['verified_name'])}（{escape(a['unit_name'])}，{escape(a['region'])}）</li>"
                   for a in report.idle) or "<li>无 None</li>"
    charts = (bar_chart("各单位发布数 Posts per unit", [(u.name, u.posts) for u in report.units])
              + bar_chart("各地区新发现问题 Findings opened per region",
                          [(r.name, r.findings_opened) for r in report.regions])
              + bar_chart("各地区闲置账号 Idle accounts per region",
                          [(r.name, r.idle_accounts) for r in report.regions]))
    title = f"{escape(report.month)} 政务新媒体账号月报 Monthly registry report"
    return (f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{title}</title>'
            f"</head><body><h1>{title}</h1><p>范围 Scope: {escape(report.scope)} · 账号 Accounts: {report.accounts} · "
            f"闲置 Idle: {len(report.idle)} · 未结问题 Open findings: {report.open_findings}</p>"
            f"<section>{charts}</section><h2>各单位 Units</h2>{table(report.units)}"
            f"<h2>各地区 Regions</h2>{table(report.regions)}<h2>闲置账号 Idle accounts</h2><ul>{idle}</ul>"
            "</body></html>")
