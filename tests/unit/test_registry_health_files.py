"""Reading units' figures from CSV and XLSX (row errors by line) and the monthly report's figures and files."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook

from services.registry.domain.report import (
    ReportAccount,
    ReportFinding,
    ReportSnapshot,
    build_report,
    month_bounds,
    to_html,
)
from services.registry.domain.snapshots import parse_rows
from services.registry.health.files import read_table, to_xlsx

TODAY = date(2026, 12, 4)
A1 = "2b0c4a8e-8d4e-4a53-9a53-5f1a3e2c0001"


def test_a_csv_with_chinese_headers_is_read_with_its_line_numbers() -> None:
    text = ("平台,平台账号,统计日期,粉丝数,发布数,转发量,评论量,最近更新\n"
            "wechat,xa-fabu,2026-12-01,1200,8,30,12,2026-12-01\n"
            "\n"
            "weibo,xa-weibo,2026-12-01,900,\"1,024\",0,0,\n")
    parsed = parse_rows(read_table(text.encode("utf-8-sig")), TODAY)
    assert parsed.errors == []
    assert [r.line for r in parsed.rows] == [2, 4]
    assert parsed.rows[0].account.platform == "wechat" and parsed.rows[0].followers == 1200
    assert parsed.rows[1].posts == 1024 and parsed.rows[1].last_update_on is None


def test_bad_rows_are_named_by_line_and_code() -> None:
    text = ("account_id,taken_on,followers,posts,reposts,comments,last_update_on,open_questions,oldest_question_on\n"
            f"{A1},2026-12-01,10,1,1,1,,,\n"
            f"{A1},2026-13-01,10,1,1,1,,,\n"
            f"{A1},2026-12-02,-3,1,1,1,,,\n"
            f"{A1},2026-12-09,10,1,1,1,,,\n"
            f"{A1},2026-12-03,10,1,1,1,2026-12-04,,\n"
            f"{A1},2026-12-03,10,1,1,1,,2,\n"
            f"{A1},2026-12-01,10,1,1,1,,,\n")
    parsed = parse_rows(read_table(text.encode()), TODAY)
    assert [r.line for r in parsed.rows] == [2]
    assert [(e.line, e.code, e.field) for e in parsed.errors] == [
        (3, "not_a_date", "taken_on"), (4, "not_a_count", "followers"), (5, "date_in_future", "taken_on"),
        (6, "after_taken_on", "last_update_on"), (7, "question_date_missing", "oldest_question_on"),
        (8, "duplicate_row", "taken_on")]
    assert parsed.errors[0].as_dict()["message"] == "日期格式应为YYYY-MM-DD"


def test_an_xlsx_is_read_with_typed_cells() -> None:
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["account_id", "taken_on", "followers", "posts", "reposts", "comments"])
    ws.append([A1, date(2026, 12, 1), 10, 2.0, 0, 3])
    ws.append([A1, date(2026, 12, 2), "many", 2, 0, 3])
    out = io.BytesIO()
    book.save(out)
    parsed = parse_rows(read_table(out.getvalue(), "figures.xlsx"), TODAY)
    assert [(r.line, r.taken_on, r.posts) for r in parsed.rows] == [(2, date(2026, 12, 1), 2)]
    assert [(e.line, e.code) for e in parsed.errors] == [(3, "not_a_count")]


@pytest.mark.parametrize(("content", "problem"), [
    (b"taken_on,followers\n2026-12-01,3\n", "column_missing:posts,reposts,comments,account_id"),
    (b"PK\x03\x04 not really a workbook", "not_a_table"),
    (b"\xff\xfe\x00bad", "not_a_table"),
])
def test_files_that_cannot_be_used_are_refused_whole(content: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        read_table(content)


def _report() -> tuple[list[ReportAccount], list[ReportSnapshot], list[ReportFinding]]:
    accounts = [ReportAccount("a1", "u1", "西安市网信办", "西安", "西安发布", "wechat"),
                ReportAccount("a2", "u1", "西安市网信办", "西安", "西安发布微博", "weibo"),
                ReportAccount("a3", "u2", "宝鸡市网信办", "宝鸡", "宝鸡发布", "wechat")]
    snapshots = [ReportSnapshot("a1", date(2026, 10, 31), 1000, 50, 5, 5),
                 ReportSnapshot("a1", date(2026, 11, 15), 1100, 20, 3, 2),
                 ReportSnapshot("a1", date(2026, 11, 29), 1150, 10, 1, 0),
                 ReportSnapshot("a3", date(2026, 11, 10), 300, 2, 0, 0),
                 ReportSnapshot("a3", date(2026, 12, 2), 999, 99, 9, 9)]  # after the month: not counted
    findings = [ReportFinding("a2", "idle_no_update", True, date(2026, 11, 3), date(2026, 11, 6), date(2026, 11, 7)),
                ReportFinding("a3", "no_interaction", True, date(2026, 11, 20), None, None),
                ReportFinding("a3", "too_few_posts", False, date(2026, 10, 1), None, date(2026, 10, 9))]
    return accounts, snapshots, findings


def test_the_monthly_report_adds_up_per_unit_and_region() -> None:
    report = build_report("2026-11", "province", *_report())
    xian, baoji = (next(u for u in report.units if u.key == k) for k in ("u1", "u2"))
    assert (xian.accounts, xian.posts, xian.interactions) == (2, 30, 6)
    assert (xian.followers_start, xian.followers_end, xian.followers_change) == (1000, 1150, 150)
    assert (xian.findings_opened, xian.findings_closed, xian.mean_response_days, xian.idle_accounts) == (1, 1, 3.0, 1)
    assert (baoji.findings_opened, baoji.findings_closed, baoji.idle_accounts, baoji.posts) == (1, 0, 1, 2)
    assert report.open_findings == 1
    assert sorted(a["verified_name"] for a in report.idle) == ["宝鸡发布", "西安发布微博"]
    assert [r.key for r in report.regions] == ["宝鸡", "西安"]


def test_the_report_is_written_as_a_workbook_and_a_printable_page() -> None:
    report = build_report("2026-11", "province", *_report())
    book = load_workbook(io.BytesIO(to_xlsx(report)))
    assert book.sheetnames == ["单位 Units", "地区 Regions", "闲置账号 Idle"]
    units = list(book["单位 Units"].iter_rows(min_row=3, values_only=True))
    assert ("西安市网信办", 2, 30, 1000, 1150, 150, 6, 1, 1, 3.0, 1) in units
    page = to_html(report)
    assert page.count("<svg") == 3 and "西安发布微博" in page and "Monthly registry report" in page


def test_a_month_is_checked() -> None:
    assert month_bounds("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    with pytest.raises(ValueError):
        month_bounds("2026-13")
