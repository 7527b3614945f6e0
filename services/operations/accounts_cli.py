"""`massline accounts ...`: a unit's accounts in the registry, through the gateway of a running system.

`check` runs the registry's health checks now and prints what they found (new findings, and overdue ones escalated
to the office above). `import` files many accounts from a CSV or XLSX sheet (a header row, then one account a row).
Every refused row is named by its line number and code; nothing is filed unless every row passes, or
`--keep-good` files the good ones. The unit signs in like on the site (MASSLINE_USER, password from
--password-file, --password-stdin or MASSLINE_PASSWORD).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import typer

from .users import read_password

accounts_app = typer.Typer(help="The account registry: list a unit's or an office's accounts, import accounts to "
                                "file, run the health checks (docs/registry.md).", no_args_is_help=True)

# Column headings an import sheet may use, in English (the API's names) or in Chinese.
HEADINGS = {
    "platform": "platform", "平台": "platform",
    "level": "level", "级别": "level",
    "platform_account_id": "platform_account_id", "平台账号": "platform_account_id", "账号ID": "platform_account_id",
    "verified_name": "verified_name", "认证名称": "verified_name", "账号名称": "verified_name",
    "purpose": "purpose", "用途": "purpose",
    "exception_reason": "exception_reason", "例外理由": "exception_reason",
    "person_username": "person_username", "负责人账号": "person_username",
    "person_contact": "person_contact", "负责人联系方式": "person_contact",
    "reason": "reason", "说明": "reason",
}
LEVELS = {"省级": "provincial", "市级": "city", "县级": "county", "单位": "unit"}
PLATFORMS = {"微信": "wechat", "微信公众号": "wechat", "微博": "weibo", "抖音": "douyin", "今日头条": "toutiao",
             "头条": "toutiao", "快手": "kuaishou", "哔哩哔哩": "bilibili", "B站": "bilibili", "网站": "website",
             "客户端": "app", "其他": "other"}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet's 12345.0 for an id typed as a number
    return str(value).strip()


def read_sheet(path: Path) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV or XLSX file as (line number, values by column), the header on line 1; blank rows skipped."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        lines = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    elif path.suffix.lower() == ".csv":
        text = path.read_text(encoding="utf-8-sig")
        lines = [[_cell(v) for v in row] for row in csv.reader(io.StringIO(text))]
    else:
        raise typer.BadParameter(f"{path}: give a .csv or .xlsx file")
    if not lines:
        return []
    header = [HEADINGS.get(h, h) for h in lines[0]]
    rows = []
    for number, values in enumerate(lines[1:], start=2):
        if not any(values):
            continue
        row = {h: v for h, v in zip(header, values, strict=False) if h}
        row["level"] = LEVELS.get(row.get("level", ""), row.get("level", ""))
        row["platform"] = PLATFORMS.get(row.get("platform", ""), row.get("platform", ""))
        rows.append((number, row))
    return rows


def _token(url: str, username: str, password: str) -> str:
    from .cli import _refused, _request

    r = _request(url, "POST", "/api/submission/auth/login", json={"username": username, "password": password})
    if r.status_code != 200:
        _refused(r)
    return str(r.json()["access_token"])


def _say_refused(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        typer.echo(f"line {row['line']}: {row['code']}: {row['message_en']} / {row['message']}"
                   + (f" {row['details']}" if row.get("details") else ""), err=True)


_URL_HELP = "Entry URL of a running system (env MASSLINE_GATEWAY_URL)."
_USER = typer.Option(..., "--username", envvar="MASSLINE_USER", help="The unit's (or office's) username.")
_PASSWORD_FILE = typer.Option(None, "--password-file", help="Read the password from this file (first line).")
_PASSWORD_STDIN = typer.Option(False, "--password-stdin", help="Read the password from standard input.")


@accounts_app.command("import")
def accounts_import(
    path: Path,
    keep_good: bool = typer.Option(False, "--keep-good", help="File the good rows even when some are refused."),
    url: str = typer.Option("http://127.0.0.1:8000", envvar="MASSLINE_GATEWAY_URL", help=_URL_HELP),
    username: str = _USER,
    password_file: Path | None = _PASSWORD_FILE,
    password_stdin: bool = _PASSWORD_STDIN,
) -> None:
    """File the accounts of a CSV or XLSX sheet; each goes to the city and provincial offices for review."""
    from .cli import _refused, _request

    rows = read_sheet(path)
    if not rows:
        typer.echo(f"{path}: no rows to import", err=True)
        raise typer.Exit(1)
    token = _token(url, username, read_password(password_file, password_stdin, "MASSLINE_PASSWORD"))
    r = _request(url, "POST", "/api/registry/accounts/import", token,
                 json={"rows": [{"line": n, "values": v} for n, v in rows], "keep_good": keep_good})
    body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
    if r.status_code == 422 and body.get("error", {}).get("code") == "import_refused":
        _say_refused(body["error"]["details"]["refused"])
        typer.echo(f"refused: nothing was filed ({len(body['error']['details']['refused'])} row(s) refused; "
                   "--keep-good files the good rows)", err=True)
        raise typer.Exit(1)
    if r.status_code >= 300:
        _refused(r)
    _say_refused(body["refused"])
    typer.echo(f"filed {body['filed']} account(s) for review; {len(body['refused'])} row(s) refused")
    if body["refused"]:
        raise typer.Exit(1)


@accounts_app.command("list")
def accounts_list(
    status: str | None = typer.Option(None, help="Only accounts in this status (requested, filed, active, "
                                                 "suspended, closed)."),
    url: str = typer.Option("http://127.0.0.1:8000", envvar="MASSLINE_GATEWAY_URL", help=_URL_HELP),
    username: str = _USER,
    password_file: Path | None = _PASSWORD_FILE,
    password_stdin: bool = _PASSWORD_STDIN,
) -> None:
    """The signed-in unit's accounts (an office's: every unit's under it), one a line, tab-separated:
    id, unit, platform, platform id, verified name, region, status, request under review."""
    from .cli import _refused, _request

    token = _token(url, username, read_password(password_file, password_stdin, "MASSLINE_PASSWORD"))
    r = _request(url, "GET", "/api/registry/accounts", token, params={"status": status} if status else None)
    if r.status_code >= 300:
        _refused(r)
    for a in r.json()["accounts"]:
        pending = a.get("open_request") or {}
        typer.echo("\t".join([a["id"], a["unit_id"], a["platform"], a["platform_account_id"], a["verified_name"],
                              a["region"], a["status"], pending.get("kind", "-")]))


def _finding_line(f: dict[str, Any]) -> str:
    return (f"{f['code']:<22} {f['verified_name'] or f['account_id']}  unit {f['unit_id']}  "
            f"deadline {f['deadline']}  followed by {f['followed_by'] or '-'}\n    {f['message']} / {f['message_en']}")


@accounts_app.command("check")
def accounts_check(
    url: str = typer.Option("http://127.0.0.1:8000", envvar="MASSLINE_GATEWAY_URL", help=_URL_HELP),
    username: str = typer.Option("admin", envvar="MASSLINE_ADMIN_USER"),
    password: str = typer.Option("admin-demo-password", envvar="MASSLINE_ADMIN_PASSWORD"),
    on: str | None = typer.Option(None, help="Judge as of this day (YYYY-MM-DD) instead of today."),
) -> None:
    """Run the checks over every filed or active account now; print the findings opened and escalated.
    Exit 0 when the run completed (whatever it found), 1 when refused, 2 when the system cannot be reached."""
    from .cli import _admin_token, _refused, _request

    r = _request(url, "POST", "/api/registry/checks/run", _admin_token(url, username, password),
                 json={"on": on} if on else {})
    if r.status_code != 200:
        _refused(r)
    run = r.json()
    typer.echo(f"checked as of {run['on']}: {len(run['opened'])} finding(s) opened, "
               f"{len(run['escalated'])} escalated")
    for title, findings in (("opened", run["opened"]), ("escalated", run["escalated"])):
        if findings:
            typer.echo(f"{title}:")
            for f in findings:
                typer.echo(f"  {_finding_line(f)}")
