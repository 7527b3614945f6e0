"""Health routes: units report figures (one, or a CSV/XLSX file) and report findings fixed; offices run checks,
follow findings on their region's board (also as CSV or XLSX), and produce monthly reports (XLSX or a printable
page)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from fastapi import Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from massline.auth import CallerDep

from ..deps import Deps
from ..domain.errors import Forbidden, Invalid, NotFound
from ..domain.health import Finding, Snapshot
from ..domain.report import previous_month, to_html
from ..domain.snapshots import parse_rows
from ..routes.refusals import registry_router
from ..service.access import visible_units
from . import service
from .files import read_table, rows_to_csv, rows_to_xlsx, to_xlsx

router = registry_router()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SnapshotBody(BaseModel):
    taken_on: date
    followers: int = Field(ge=0)
    posts: int = Field(ge=0)
    reposts: int = Field(ge=0)
    comments: int = Field(ge=0)
    last_update_on: date | None = None
    open_questions: int = Field(0, ge=0)
    oldest_question_on: date | None = None


class SnapshotView(SnapshotBody):
    id: uuid.UUID | None
    account_id: uuid.UUID
    source: str


class ImportAnswer(BaseModel):
    recorded: int
    refused: list[dict[str, Any]]


class FindingView(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    unit_id: str
    unit_name: str = ""
    verified_name: str
    platform: str = ""
    region: str = ""
    code: str
    idle: bool
    message: str
    message_en: str
    observed_on: date
    deadline: date
    status: str
    followed_by: str
    escalations: int
    fixed_on: date | None
    closed_on: date | None
    resolution: str | None


class NoteBody(BaseModel):
    note: str | None = Field(None, max_length=2000)


class DecisionBody(NoteBody):
    decision: Literal["accept", "reject", "withdraw"]


class CheckBody(BaseModel):
    on: date | None = Field(None, description="The day the checks judge (an administrator may name another).")


class CheckAnswer(BaseModel):
    on: date
    opened: list[FindingView]
    escalated: list[FindingView]


class ReportBody(BaseModel):
    month: str | None = Field(None, description="YYYY-MM; the previous month when absent.")
    scope: str | None = Field(None, description="An administrator's choice of organisation, or `all`.")


def finding_view(f: Finding, about: dict[str, str] | None = None) -> FindingView:
    return FindingView(id=f.id, account_id=f.account_id, unit_id=f.unit_id, verified_name=f.verified_name,
                       code=f.code, idle=f.idle, message=f.message, message_en=f.message_en,
                       observed_on=f.observed_on, deadline=f.deadline, status=f.status, followed_by=f.followed_by,
                       escalations=f.escalations, fixed_on=f.fixed_on, closed_on=f.closed_on,
                       resolution=f.resolution, **(about or {}))


def snapshot_view(s: Snapshot) -> SnapshotView:
    return SnapshotView(id=s.id, account_id=s.account_id, source=s.source, taken_on=s.taken_on,
                        followers=s.followers, posts=s.posts, reposts=s.reposts, comments=s.comments,
                        last_update_on=s.last_update_on, open_questions=s.open_questions,
                        oldest_question_on=s.oldest_question_on)


@router.post("/accounts/{account_id}/snapshots", tags=["health"], response_model=ImportAnswer, status_code=201)
async def report_figures(account_id: uuid.UUID, body: SnapshotBody, deps: Deps, caller: CallerDep) -> ImportAnswer:
    """A unit reports one account's figures for a day (a second report of the day replaces the first)."""
    parsed = parse_rows([(1, {**body.model_dump(), "account_id": str(account_id)})], service.today_of(deps))
    done = await service.record_snapshots(deps, caller, parsed.rows, parsed.errors, keep_good=False,
                                          source="reported")
    return ImportAnswer(recorded=len(done.recorded), refused=done.refused)


@router.post("/snapshots/import", tags=["health"], response_model=ImportAnswer)
async def import_figures(request: Request, deps: Deps, caller: CallerDep, keep_good: bool = False,
                         filename: str = "") -> ImportAnswer:
    """A unit imports a CSV or XLSX file (the request body). A refused row is named by its line and code; unless
    `keep_good`, one refused row means nothing is written (422 `import_refused`, the rows in `details.refused`)."""
    service.require_unit(caller)
    content = await request.body()  # the service's body limit (MASSLINE_MAX_BODY_BYTES) applies
    try:
        table = read_table(content, filename)
    except ValueError as bad:
        code, _, columns = str(bad).partition(":")
        raise Invalid(code, "文件无法读取或缺少必填列", "The file cannot be read or lacks required columns",
                      {"columns": columns.split(",") if columns else []}) from None
    parsed = parse_rows(table, service.today_of(deps))
    done = await service.record_snapshots(deps, caller, parsed.rows, parsed.errors, keep_good=keep_good)
    return ImportAnswer(recorded=len(done.recorded), refused=done.refused)


@router.get("/accounts/{account_id}/snapshots", tags=["health"], response_model=list[SnapshotView])
async def account_snapshots(account_id: uuid.UUID, deps: Deps, caller: CallerDep,
                            limit: int = Query(60, ge=1, le=1000)) -> list[SnapshotView]:
    """The account's figures over time, latest first."""
    return [snapshot_view(s) for s in await service.snapshots_of(deps, caller, account_id, limit)]


@router.post("/checks/run", tags=["health"], response_model=CheckAnswer)
async def run_checks(body: CheckBody, deps: Deps, caller: CallerDep) -> CheckAnswer:
    """Run the checks now: an office over its region's units, an administrator over all (and as of any day)."""
    if caller.role not in ("office", "admin"):
        raise Forbidden("role_not_allowed", "只有审核机构可以发起检查", "Only an office runs checks",
                        {"role": caller.role, "allowed": ["office", "admin"]})
    if body.on is not None and caller.role != "admin":
        raise Forbidden("role_not_allowed", "只有管理员可以指定检查日期", "Only an administrator names the day",
                        {"role": caller.role, "allowed": ["admin"]})
    units = None
    if caller.role == "office":
        async with deps.rt.pool.acquire() as conn:
            units = await visible_units(conn, caller)
    run = await service.run_checks(deps, body.on, units)
    return CheckAnswer(on=run.on, opened=[finding_view(f) for f in run.opened],
                       escalated=[finding_view(f) for f in run.escalated])


FINDING_COLUMNS = ["verified_name", "platform", "unit_name", "region", "code", "message", "observed_on", "deadline",
                   "status", "followed_by", "escalations", "fixed_on", "closed_on", "resolution"]


class FindingList(BaseModel):
    findings: list[FindingView]


@router.get("/findings", tags=["health"], response_model=FindingList)
async def findings(deps: Deps, caller: CallerDep, status: Literal["open", "reported_fixed", "closed"] | None = None,
                   format: Literal["json", "csv", "xlsx"] = "json", limit: int = Query(500, ge=1, le=10000),
                   offset: int = Query(0, ge=0)) -> Any:
    """A unit's findings; an office's board: every finding of the units in its region (CSV or XLSX to export)."""
    views = [finding_view(f, about) for f, about in await service.list_findings(deps, caller, status, limit, offset)]
    if format == "json":
        return FindingList(findings=views)
    rows = [[_cell(getattr(v, c)) for c in FINDING_COLUMNS] for v in views]
    if format == "csv":
        return Response(rows_to_csv(FINDING_COLUMNS, rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="findings.csv"'})
    return Response(rows_to_xlsx(FINDING_COLUMNS, rows), media_type=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="findings.xlsx"'})


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else value


@router.get("/findings/{finding_id}/history", tags=["health"])
async def finding_history(finding_id: uuid.UUID, deps: Deps, caller: CallerDep) -> list[dict[str, Any]]:
    return await service.finding_history(deps, caller, finding_id)


@router.post("/findings/{finding_id}/fixed", tags=["health"], response_model=FindingView)
async def report_fixed(finding_id: uuid.UUID, body: NoteBody, deps: Deps, caller: CallerDep) -> FindingView:
    """The owning unit says the problem is fixed; the finding awaits an office's decision."""
    return finding_view(await service.report_fixed(deps, caller, finding_id, body.note))


@router.post("/findings/{finding_id}/decision", tags=["health"], response_model=FindingView)
async def decide(finding_id: uuid.UUID, body: DecisionBody, deps: Deps, caller: CallerDep) -> FindingView:
    """An office accepts a reported fix (closed), rejects it (open again; a note is required) or withdraws the
    finding (closed; a note is required)."""
    return finding_view(await service.decide(deps, caller, finding_id, body.decision, body.note))


@router.post("/reports", tags=["health"])
async def produce_report(body: ReportBody, deps: Deps, caller: CallerDep) -> dict[str, Any]:
    """Produce (or produce again) a month's report for the caller's organisation; the office is told."""
    if caller.role not in ("office", "admin"):
        raise Forbidden("role_not_allowed", "只有审核机构可以生成月报", "Only an office produces reports",
                        {"role": caller.role, "allowed": ["office", "admin"]})
    month = body.month or previous_month(service.today_of(deps))
    report = await service.produce_report(deps, month, service.report_scope(caller, body.scope))
    return report.figures()


@router.get("/reports/{month}", tags=["health"])
async def get_report(month: str, deps: Deps, caller: CallerDep, scope: str | None = None,
                     format: Literal["json", "xlsx", "html"] = "json") -> Any:
    """A produced report: its figures, the XLSX workbook, or the printable page with charts."""
    chosen = service.report_scope(caller, scope)
    report = await service.stored_report(deps, month, chosen)
    if report is None:
        raise NotFound("report_not_found", "该月报尚未生成", "No report for this month yet",
                       {"month": month, "scope": chosen})
    if format == "xlsx":
        return Response(to_xlsx(report), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="registry-{month}.xlsx"'})
    if format == "html":
        return HTMLResponse(to_html(report))
    return report.figures()
