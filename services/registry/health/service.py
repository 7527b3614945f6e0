"""Health use cases: record snapshots, run the checks and escalations, follow findings, produce monthly reports.
Each runs in one unit of work with the events it records."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from massline.auth import Caller
from massline.contracts import (
    AccountFindingClosed,
    AccountFindingEscalated,
    AccountFindingOpened,
    AccountSnapshotRecorded,
    RegistryReportProduced,
)
from massline.db import Connection

from .. import repository as registry_repo
from ..deps import RegistryDeps
from ..domain.errors import Forbidden, Invalid, NotFound
from ..domain.health import Finding, HealthRules, Snapshot, check_account
from ..domain.report import MonthlyReport, build_report, month_bounds
from ..domain.snapshots import RowError, SnapshotRow, error_list
from ..service.access import visible_units
from . import repository as repo

REGISTRY = "registry"  # the envelope's campaign id for registry events (they belong to no campaign)
SERVING = ("filed", "active")
PUBLISHES = [AccountSnapshotRecorded, AccountFindingOpened, AccountFindingEscalated, AccountFindingClosed,
             RegistryReportProduced]


def today_of(deps: RegistryDeps) -> date:
    return datetime.now(ZoneInfo(deps.settings.report_timezone)).date()


# --- snapshots ---------------------------------------------------------------------------------

@dataclass
class Recorded:
    recorded: list[uuid.UUID] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)


def require_unit(caller: Caller) -> str:
    if caller.role != "unit" or not caller.organisation_id:
        raise Forbidden("role_not_allowed", "只有账号主办单位可以报送数据", "Only the owning unit reports figures",
                        {"role": caller.role, "allowed": ["unit"]})
    return caller.organisation_id


def _resolve(rows: Sequence[SnapshotRow], accounts: Sequence[repo.UnitAccount], unit_id: str,
             source: Literal["reported", "imported"]) -> tuple[list[Snapshot], list[RowError]]:
    """Each row's account among the unit's own; rows naming another unit's (or no) account are refused."""
    by_id = {a.id: a for a in accounts}
    by_ref = {(a.platform, a.platform_account_id): a for a in accounts}
    good: list[Snapshot] = []
    bad: list[RowError] = []
    for row in rows:
        ref = row.account
        account = by_id.get(ref.account_id) if ref.account_id else by_ref.get((ref.platform, ref.platform_account_id))
        if account is None:
            bad.append(RowError(row.line, "account_unknown", "account_id"))
        elif account.status not in SERVING:
            bad.append(RowError(row.line, "account_not_in_service", "account_id"))
        else:
            good.append(Snapshot(account_id=account.id, unit_id=unit_id, taken_on=row.taken_on,
                                 followers=row.followers, posts=row.posts, reposts=row.reposts,
                                 comments=row.comments, last_update_on=row.last_update_on,
                                 open_questions=row.open_questions, oldest_question_on=row.oldest_question_on,
                                 source=source))
    return good, bad


async def record_snapshots(deps: RegistryDeps, caller: Caller, rows: Sequence[SnapshotRow],
                           parse_errors: Sequence[RowError], *, keep_good: bool,
                           source: Literal["reported", "imported"] = "imported") -> Recorded:
    """Store the unit's rows. Any refused row refuses the whole import (422 `import_refused`, nothing written)
    unless `keep_good`, when the good rows are stored and the refused ones returned."""
    unit_id = require_unit(caller)
    async with deps.rt.unit_of_work() as uow:
        good, bad = _resolve(rows, await repo.unit_accounts(uow.conn, unit_id), unit_id, source)
        refused = error_list([*parse_errors, *bad])
        if refused and not keep_good:
            raise Invalid("import_refused", "有数据行不符合要求，未写入任何数据",
                          "Some rows were refused; nothing was written", {"refused": refused})
        out = Recorded(refused=refused)
        for s in good:
            snapshot_id = await repo.save_snapshot(uow.conn, s)
            out.recorded.append(snapshot_id)
            await uow.record(AccountSnapshotRecorded(
                snapshot_id=snapshot_id, account_id=s.account_id, unit_id=s.unit_id, taken_on=s.taken_on,
                followers=s.followers, posts=s.posts, reposts=s.reposts, comments=s.comments,
                last_update_on=s.last_update_on, source=s.source, open_questions=s.open_questions),
                campaign_id=REGISTRY)
    return out


async def snapshots_of(deps: RegistryDeps, caller: Caller, account_id: uuid.UUID, limit: int) -> list[Snapshot]:
    async with deps.rt.pool.acquire() as conn:
        units = await visible_units(conn, caller)
        found = await repo.snapshots_of_account(conn, account_id, limit)
    if units is not None and any(s.unit_id not in units for s in found):
        raise NotFound("account_not_found", "账号不存在", "No such account", {"account_id": str(account_id)})
    return found


# --- checks and escalations --------------------------------------------------------------------

@dataclass
class CheckRun:
    on: date
    opened: list[Finding] = field(default_factory=list)
    escalated: list[Finding] = field(default_factory=list)


async def run_checks(deps: RegistryDeps, on: date | None = None, unit_ids: Sequence[str] | None = None) -> CheckRun:
    """Check every filed or active account (of these units; None: all) as of `on`, open a finding for each rule
    newly broken (one per account and rule until it is closed), then escalate the overdue ones."""
    rules = deps.settings.health_rules()
    run = CheckRun(on or today_of(deps))
    async with deps.rt.unit_of_work() as uow:
        accounts = await repo.accounts_in_service(uow.conn, unit_ids)
        look_back = max(rules.stale_days, rules.period_days) + 1
        snapshots = await repo.snapshots_between(uow.conn, [a.id for a in accounts],
                                                 run.on - timedelta(days=look_back), run.on)
        unclosed = await repo.unclosed_finding_keys(uow.conn)
        for a in accounts:
            mine = [s for s in snapshots if s.account_id == a.id]
            for seen in check_account(mine, run.on, rules, a.since):
                if (a.id, seen.code) in unclosed:
                    continue
                finding, event = Finding.open(a.id, a.unit_id, seen, run.on, rules, a.office_id, a.verified_name)
                await repo.insert_finding(uow.conn, finding)
                await repo.add_finding_history(uow.conn, finding.id, "opened", "check", None)
                await uow.record(event, campaign_id=REGISTRY)
                run.opened.append(finding)
        await repo.add_run(uow.conn, "check", run.on, opened=len(run.opened))
    run.escalated = await escalate_overdue(deps, run.on)
    return run


async def escalate_overdue(deps: RegistryDeps, on: date) -> list[Finding]:
    """Every open finding past its deadline goes to the office above the one following it, with a new deadline;
    one already followed by the top office stays with it."""
    rules: HealthRules = deps.settings.health_rules()
    done: list[Finding] = []
    async with deps.rt.unit_of_work() as uow:
        for f in await repo.lock_overdue_findings(uow.conn, on):
            above = await repo.parent_of(uow.conn, f.followed_by) if f.followed_by else None
            if not above:
                continue
            new, event = f.escalate(above, on, rules)
            await repo.update_finding(uow.conn, new)
            await repo.add_finding_history(uow.conn, f.id, "escalated", "schedule", above)
            await uow.record(event, campaign_id=REGISTRY)
            done.append(new)
        await repo.add_run(uow.conn, "escalate", on, escalated=len(done))
    return done


# --- following a finding -----------------------------------------------------------------------

Decision = Literal["accept", "reject", "withdraw"]


def _finding_not_found(finding_id: uuid.UUID) -> NotFound:
    return NotFound("finding_not_found", "问题不存在", "No such finding", {"finding_id": str(finding_id)})


async def _locked(conn: Connection, caller: Caller, finding_id: uuid.UUID) -> Finding:
    f = await repo.lock_finding(conn, finding_id)
    units = await visible_units(conn, caller)
    if f is None or (units is not None and f.unit_id not in units):
        raise _finding_not_found(finding_id)
    return f


async def report_fixed(deps: RegistryDeps, caller: Caller, finding_id: uuid.UUID, note: str | None) -> Finding:
    """The owning unit says it fixed the problem; an office then accepts or rejects."""
    unit_id = require_unit(caller)
    async with deps.rt.unit_of_work() as uow:
        f = await _locked(uow.conn, caller, finding_id)
        new = f.report_fixed(unit_id, today_of(deps))
        await repo.update_finding(uow.conn, new)
        await repo.add_finding_history(uow.conn, f.id, "reported_fixed", caller.username, note)
    return new


async def decide(deps: RegistryDeps, caller: Caller, finding_id: uuid.UUID, decision: Decision,
                 note: str | None) -> Finding:
    """An office above the unit (or an admin) accepts the fix (AccountFindingClosed), rejects it (the finding is
    open again, same deadline) or withdraws the finding (AccountFindingClosed, withdrawn)."""
    if caller.role not in ("office", "admin"):
        raise Forbidden("role_not_allowed", "只有审核机构可以处理", "Only an office decides",
                        {"role": caller.role, "allowed": ["office", "admin"]})
    if decision in ("reject", "withdraw") and not (note or "").strip():
        raise Invalid("reason_required", "请填写理由", "A reason is required", {"field": "note"})
    async with deps.rt.unit_of_work() as uow:
        f = await _locked(uow.conn, caller, finding_id)
        today = today_of(deps)
        if decision == "reject":
            new = f.reject()
        else:
            new, event = f.accept(today) if decision == "accept" else f.withdraw(today)
            await uow.record(event, campaign_id=REGISTRY)
        await repo.update_finding(uow.conn, new)
        await repo.add_finding_history(uow.conn, f.id, decision, caller.username, note)
    return new


async def list_findings(deps: RegistryDeps, caller: Caller, status: str | None, limit: int,
                        offset: int) -> list[tuple[Finding, dict[str, str]]]:
    async with deps.rt.pool.acquire() as conn:
        units = await visible_units(conn, caller)
        return await repo.list_findings(conn, units, status, limit, offset)


async def finding_history(deps: RegistryDeps, caller: Caller, finding_id: uuid.UUID) -> list[dict[str, Any]]:
    async with deps.rt.unit_of_work() as uow:
        await _locked(uow.conn, caller, finding_id)
        return await repo.finding_history(uow.conn, finding_id)


# --- monthly reports ---------------------------------------------------------------------------

def check_month(month: str) -> str:
    try:
        month_bounds(month)
    except ValueError:
        raise Invalid("month_invalid", "月份格式应为YYYY-MM", "The month is not YYYY-MM", {"month": month}) from None
    return month


async def produce_report(deps: RegistryDeps, month: str, scope: str) -> MonthlyReport:
    """Aggregate the month for the scope's units, store it, record RegistryReportProduced (the office is told)."""
    _, last = month_bounds(check_month(month))
    async with deps.rt.unit_of_work() as uow:
        units = None if scope == "all" else await _subtree(uow.conn, scope)
        report = build_report(month, scope, *await repo.report_inputs(uow.conn, units, last))
        report_id = await repo.save_report(uow.conn, month, scope, report.figures())
        await uow.record(RegistryReportProduced(report_id=report_id, month=month, scope=scope,
                                                accounts=report.accounts, idle_accounts=len(report.idle),
                                                open_findings=report.open_findings), campaign_id=REGISTRY)
        await repo.add_run(uow.conn, "report", today_of(deps))
    return report


async def _subtree(conn: Connection, scope: str) -> list[str]:
    return await registry_repo.subtree(conn, scope)


def report_scope(caller: Caller, scope: str | None) -> str:
    """The scope a caller may ask for: an office its own organisation (the default), an admin any ("all")."""
    if caller.role == "admin":
        return scope or "all"
    if caller.role in ("office", "unit") and caller.organisation_id:
        return caller.organisation_id
    raise Forbidden("role_not_allowed", "无权查看月报", "Not allowed to see reports",
                    {"role": caller.role, "allowed": ["office", "unit", "admin"]})


async def stored_report(deps: RegistryDeps, month: str, scope: str) -> MonthlyReport | None:
    async with deps.rt.pool.acquire() as conn:
        row = await repo.get_report(conn, check_month(month), scope)
    return MonthlyReport.from_figures(row["figures"]) if row else None


async def scheduled_reports(deps: RegistryDeps, month: str) -> list[MonthlyReport]:
    """The month's report for every top office (and "all") not produced yet."""
    async with deps.rt.pool.acquire() as conn:
        scopes = [s for s in ["all", *await repo.top_offices(conn)] if not await repo.report_exists(conn, month, s)]
    return [await produce_report(deps, month, s) for s in scopes]

