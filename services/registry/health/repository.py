"""Health storage: snapshots, findings and their history, check runs, monthly reports.

The only module that runs the named queries of health/queries.sql.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from massline.queries import load_queries

from ..domain.health import Finding, Snapshot
from ..domain.report import ReportAccount, ReportFinding, ReportSnapshot

Q = load_queries(Path(__file__).with_name("queries.sql"))

Db = Any  # an asyncpg connection (pooled or not) or the pool


@dataclass(frozen=True)
class UnitAccount:
    id: uuid.UUID
    unit_id: str
    platform: str
    platform_account_id: str
    verified_name: str
    status: str


@dataclass(frozen=True)
class InService:
    """An account the checks look at: filed or active, with the office above its unit."""

    id: uuid.UUID
    unit_id: str
    verified_name: str
    since: date
    office_id: str


# --- snapshots ---------------------------------------------------------------------------------

async def unit_accounts(db: Db, unit_id: str) -> list[UnitAccount]:
    return [UnitAccount(**dict(r)) for r in await db.fetch(Q.unit_accounts, unit_id)]


async def save_snapshot(db: Db, s: Snapshot) -> uuid.UUID:
    """Store the day's figures (a second report of the same day replaces the first); the snapshot's id."""
    snapshot_id: uuid.UUID = await db.fetchval(
        Q.upsert_snapshot, s.id or uuid.uuid4(), s.account_id, s.unit_id, s.taken_on, s.followers, s.posts,
        s.reposts, s.comments, s.last_update_on, s.open_questions, s.oldest_question_on, s.source)
    return snapshot_id


def _snapshot(r: Mapping[str, Any]) -> Snapshot:
    return Snapshot(id=r["id"], account_id=r["account_id"], unit_id=r["unit_id"], taken_on=r["taken_on"],
                    followers=r["followers"], posts=r["posts"], reposts=r["reposts"], comments=r["comments"],
                    last_update_on=r["last_update_on"], open_questions=r["open_questions"],
                    oldest_question_on=r["oldest_question_on"], source=r["source"])


async def snapshots_of_account(db: Db, account_id: uuid.UUID, limit: int) -> list[Snapshot]:
    return [_snapshot(r) for r in await db.fetch(Q.snapshots_of_account, account_id, limit)]


async def accounts_in_service(db: Db, unit_ids: Sequence[str] | None) -> list[InService]:
    rows = await db.fetch(Q.accounts_in_service, list(unit_ids) if unit_ids is not None else None)
    return [InService(**dict(r)) for r in rows]


async def snapshots_between(db: Db, account_ids: Sequence[uuid.UUID], after: date, until: date) -> list[Snapshot]:
    return [_snapshot(r) for r in await db.fetch(Q.snapshots_between, list(account_ids), after, until)]


# --- findings ----------------------------------------------------------------------------------

def _finding(r: Mapping[str, Any]) -> Finding:
    return Finding(id=r["id"], account_id=r["account_id"], unit_id=r["unit_id"], code=r["code"], idle=r["idle"],
                   observed_on=r["observed_on"], deadline=r["deadline"], status=r["status"],
                   followed_by=r["followed_by"], escalations=r["escalations"], message=r["message"],
                   message_en=r["message_en"], fixed_on=r["fixed_on"], closed_on=r["closed_on"],
                   resolution=r["resolution"], verified_name=r["verified_name"])


async def unclosed_finding_keys(db: Db) -> set[tuple[uuid.UUID, str]]:
    return {(r["account_id"], r["code"]) for r in await db.fetch(Q.unclosed_finding_keys)}


async def insert_finding(db: Db, f: Finding) -> None:
    await db.execute(Q.insert_finding, f.id, f.account_id, f.unit_id, f.code, f.idle, f.observed_on, f.deadline,
                     f.status, f.followed_by, f.escalations, f.message, f.message_en)


async def update_finding(db: Db, f: Finding) -> None:
    await db.execute(Q.update_finding, f.id, f.status, f.followed_by, f.escalations, f.deadline, f.fixed_on,
                     f.closed_on, f.resolution)


async def lock_finding(db: Db, finding_id: uuid.UUID) -> Finding | None:
    r = await db.fetchrow(Q.lock_finding, finding_id)
    return _finding(r) if r else None


async def lock_overdue_findings(db: Db, today: date) -> list[Finding]:
    return [_finding(r) for r in await db.fetch(Q.lock_overdue_findings, today)]


async def parent_of(db: Db, organisation_id: str) -> str | None:
    parent: str | None = await db.fetchval(Q.parent_of, organisation_id)
    return parent


async def list_findings(db: Db, unit_ids: Sequence[str] | None, status: str | None, limit: int,
                        offset: int) -> list[tuple[Finding, dict[str, str]]]:
    """Findings of these units (None: all) with the account's public names."""
    rows = await db.fetch(Q.list_findings, list(unit_ids) if unit_ids is not None else None, status, limit, offset)
    return [(_finding(r), {"platform": r["platform"], "region": r["region"], "unit_name": r["unit_name"]})
            for r in rows]


async def add_finding_history(db: Db, finding_id: uuid.UUID, action: str, actor: str, note: str | None) -> None:
    await db.execute(Q.add_finding_history, finding_id, action, actor, note)


async def finding_history(db: Db, finding_id: uuid.UUID) -> list[dict[str, Any]]:
    return [dict(r) for r in await db.fetch(Q.finding_history, finding_id)]


# --- runs and reports --------------------------------------------------------------------------

async def last_run(db: Db, kind: str, today: date) -> date | None:
    """The latest day a run of this kind judged, up to today (a run as of a later day, on demand, is not one)."""
    ran_on: date | None = await db.fetchval(Q.last_run, kind, today)
    return ran_on


async def add_run(db: Db, kind: str, ran_on: date, opened: int = 0, escalated: int = 0) -> None:
    await db.execute(Q.add_run, kind, ran_on, opened, escalated)


async def report_inputs(db: Db, unit_ids: Sequence[str] | None, last: date) -> tuple[
        list[ReportAccount], list[ReportSnapshot], list[ReportFinding]]:
    units = list(unit_ids) if unit_ids is not None else None
    accounts = [ReportAccount(**dict(r)) for r in await db.fetch(Q.report_accounts, units)]
    snapshots = [ReportSnapshot(**dict(r)) for r in await db.fetch(Q.report_snapshots, units, last)]
    findings = [ReportFinding(**dict(r)) for r in await db.fetch(Q.report_findings, units, last)]
    return accounts, snapshots, findings


async def save_report(db: Db, month: str, scope: str, figures: dict[str, Any]) -> uuid.UUID:
    report_id: uuid.UUID = await db.fetchval(Q.save_report, uuid.uuid4(), month, scope, figures)
    return report_id


async def report_exists(db: Db, month: str, scope: str) -> bool:
    return bool(await db.fetchval(Q.report_exists, month, scope))


async def top_offices(db: Db) -> list[str]:
    return [r["id"] for r in await db.fetch(Q.top_offices)]


async def get_report(db: Db, month: str, scope: str) -> dict[str, Any] | None:
    r = await db.fetchrow(Q.get_report, month, scope)
    return dict(r) if r else None
