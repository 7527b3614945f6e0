"""Registry storage: organisations learned from submission, accounts, the private person in charge, requests and
their history.

The only module that runs the named queries of queries.sql. Every function takes a connection (inside a unit of
work or a consumer's transaction) or the pool (for reads).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from massline.approval import ApprovalStep, HistoryEntry
from massline.queries import load_queries

from .domain.accounts import Account, PersonInCharge
from .domain.review import Org, Request, ReviewStep
from .domain.rules import Holding

Q = load_queries(Path(__file__).with_name("queries.sql"))

Db = Any  # an asyncpg connection (pooled or not) or the pool


# --- organisations ---------------------------------------------------------------------------


async def upsert_organisation(db: Db, org: Org) -> None:
    await db.execute(Q.upsert_organisation, org.id, org.name, org.kind, org.level, org.parent_id)


async def organisations(db: Db) -> dict[str, Org]:
    return {r["id"]: Org(**dict(r)) for r in await db.fetch(Q.all_organisations)}


async def subtree(db: Db, organisation_id: str) -> list[str]:
    """The organisation and every organisation under it."""
    return [r["id"] for r in await db.fetch(Q.subtree, organisation_id)]


# --- accounts --------------------------------------------------------------------------------


def _account(r: Mapping[str, Any]) -> Account:
    return Account(id=r["id"], unit_id=r["unit_id"], unit_name=r["unit_name"], platform=r["platform"],
                   level=r["level"], platform_account_id=r["platform_account_id"], verified_name=r["verified_name"],
                   region=r["region"], status=r["status"], purpose=r["purpose"],
                   exception_reason=r["exception_reason"])


async def lock_unit(db: Db, unit_id: str) -> None:
    """Serialise filings of one unit, so its one-account-per-platform rule holds under concurrent requests."""
    await db.execute(Q.lock_unit, unit_id)


async def insert_account(db: Db, a: Account) -> None:
    await db.execute(Q.insert_account, a.id, a.unit_id, a.platform, a.level, a.platform_account_id,
                     a.verified_name, a.region, a.status, a.purpose, a.exception_reason)


async def update_account(db: Db, a: Account) -> None:
    await db.execute(Q.update_account, a.id, a.level, a.platform_account_id, a.verified_name, a.region, a.status,
                     a.exception_reason)


async def get_account(db: Db, account_id: uuid.UUID) -> Account | None:
    r = await db.fetchrow(Q.get_account, account_id)
    return _account(r) if r else None


async def lock_account(db: Db, account_id: uuid.UUID) -> Account | None:
    r = await db.fetchrow(Q.lock_account, account_id)
    return _account(r) if r else None


async def holdings_on_platform(db: Db, platform: str) -> list[Holding]:
    return [Holding(str(r["id"]), r["unit_id"], r["platform"], r["platform_account_id"])
            for r in await db.fetch(Q.holdings_on_platform, platform)]


async def list_accounts(db: Db, unit_ids: Sequence[str], status: str | None, limit: int,
                        offset: int) -> list[tuple[Account, dict[str, Any] | None]]:
    """Accounts of these units with the request under review on each, if any."""
    rows = await db.fetch(Q.list_accounts, list(unit_ids), status, limit, offset)
    return [(_account(r), {"id": r["request_id"], "kind": r["request_kind"], "status": r["request_status"]}
             if r["request_id"] else None) for r in rows]


async def save_person(db: Db, account_id: uuid.UUID, person: PersonInCharge) -> None:
    await db.execute(Q.upsert_person, account_id, person.username, person.contact)


async def get_person(db: Db, account_id: uuid.UUID) -> PersonInCharge | None:
    r = await db.fetchrow(Q.get_person, account_id)
    return PersonInCharge(r["username"], r["contact"]) if r else None


# --- requests and history ---------------------------------------------------------------------


def _steps_json(steps: Iterable[ReviewStep]) -> list[dict[str, Any]]:
    return [{**s.step.model_dump(), "office_id": s.office_id} for s in steps]


def _request(r: Mapping[str, Any]) -> Request:
    steps = tuple(ReviewStep(ApprovalStep(**{k: v for k, v in s.items() if k != "office_id"}), s["office_id"])
                  for s in r["steps"])
    return Request(id=r["id"], account_id=r["account_id"], unit_id=r["unit_id"], kind=r["kind"], status=r["status"],
                   step_index=r["step_index"], steps=steps, proposal=r["proposal"], reason=r["reason"],
                   requested_by=r["requested_by"])


async def insert_request(db: Db, q: Request) -> None:
    await db.execute(Q.insert_request, q.id, q.account_id, q.unit_id, q.kind, q.status, q.step_index,
                     _steps_json(q.steps), dict(q.proposal), q.reason, q.requested_by)


async def update_request(db: Db, q: Request) -> None:
    await db.execute(Q.update_request, q.id, q.status, q.step_index, dict(q.proposal), q.reason)


async def lock_request(db: Db, request_id: uuid.UUID) -> Request | None:
    r = await db.fetchrow(Q.lock_request, request_id)
    return _request(r) if r else None


async def open_request_of(db: Db, account_id: uuid.UUID) -> uuid.UUID | None:
    value: uuid.UUID | None = await db.fetchval(Q.open_request_of, account_id)
    return value


async def awaiting_office(db: Db, office_id: str) -> list[tuple[Request, dict[str, Any]]]:
    """Requests whose awaited step is this office's, oldest first, with the account they concern."""
    rows = await db.fetch(Q.awaiting_office, office_id)
    return [(_request(r), {k: r[k] for k in ("platform", "verified_name", "platform_account_id", "level",
                                                "account_status", "unit_name", "created_at")}) for r in rows]


async def requests_of_account(db: Db, account_id: uuid.UUID) -> list[Request]:
    return [_request(r) for r in await db.fetch(Q.requests_of_account, account_id)]


async def add_history(db: Db, account_id: uuid.UUID, request_id: uuid.UUID | None,
                      entries: Iterable[HistoryEntry]) -> None:
    await db.execute(Q.add_history, account_id, request_id, [asdict(e) for e in entries])


async def history_of(db: Db, account_id: uuid.UUID) -> list[dict[str, Any]]:
    rows: list[asyncpg.Record] = await db.fetch(Q.history_of, account_id)
    return [{**dict(r), "at": r["at"].isoformat() if isinstance(r["at"], datetime) else r["at"]} for r in rows]
