"""A unit's requests on its filed accounts (change, suspend, resume, close), corrections and withdrawals, and what it
may do without review (say an account is in operation, name another person in charge)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from massline.approval import HistoryEntry
from massline.auth import Caller

from .. import repository as repo
from ..deps import RegistryDeps
from ..domain import rules
from ..domain.accounts import CHANGEABLE, Account, PersonInCharge
from ..domain.errors import NotFound, Refusal
from ..domain.review import NEED_REASON, Request, RequestKind, chain_for
from ..schemas import ChangeBody
from .access import own_account, require_unit
from .filing import unknown_unit

# From which statuses each kind of request may be made.
_ALLOWED: dict[str, tuple[str, ...]] = {"change": ("filed", "active", "suspended"), "suspend": ("filed", "active"),
                                        "resume": ("suspended",), "close": ("filed", "active", "suspended")}


def request_not_found(request_id: object) -> NotFound:
    return NotFound("request_not_found", "申请不存在", "No such request", {"request_id": str(request_id)})


def proposal_of(deps: RegistryDeps, account: Account, change: ChangeBody) -> dict[str, Any]:
    """The fields that change, checked: the new name carries its region (recorded with it)."""
    proposed = {k: getattr(change, k) for k in CHANGEABLE if getattr(change, k) is not None}
    proposed = {k: v for k, v in proposed.items() if v != getattr(account, k)}
    if not proposed:
        raise rules.refusal("nothing_changed")
    if "verified_name" in proposed:
        proposed["region"] = rules.check_name(proposed["verified_name"], deps.gazetteer)
    return proposed


async def request(deps: RegistryDeps, caller: Caller, account_id: uuid.UUID, kind: RequestKind,
                  change: ChangeBody | None, reason: str | None) -> Request:
    """The owning unit asks for a change, suspension, resumption or closing; the offices review it."""
    unit_id = require_unit(caller)
    try:
        async with deps.rt.unit_of_work() as uow:
            conn = uow.conn
            account = await own_account(conn, caller, await repo.lock_account(conn, account_id), account_id)
            account.require_open()
            if account.status not in _ALLOWED[kind]:
                raise rules.conflict("status_not_allowed", {"status": account.status, "allowed": list(_ALLOWED[kind])})
            if kind in NEED_REASON and not (reason or "").strip():
                raise rules.refusal("reason_required", {"field": "reason"})
            if await repo.open_request_of(conn, account.id):
                raise rules.conflict("request_pending", {"account_id": str(account.id)})
            proposal = proposal_of(deps, account, change) if kind == "change" and change else {}
            if kind == "change" and not proposal:
                raise rules.refusal("nothing_changed")
            if "platform_account_id" in proposal or "exception_reason" in proposal:
                await repo.lock_unit(conn, unit_id)
                rules.check_unique(unit_id, account.platform, proposal.get("platform_account_id",
                                   account.platform_account_id), proposal.get("exception_reason",
                                   account.exception_reason), await repo.holdings_on_platform(conn, account.platform),
                                   itself=str(account.id))
            orgs = await repo.organisations(conn)
            if unit_id not in orgs:
                raise unknown_unit(unit_id)
            made = Request(id=uuid.uuid4(), account_id=account.id, unit_id=unit_id, kind=kind, status="pending",
                           step_index=0, steps=tuple(chain_for(unit_id, orgs)), proposal=proposal, reason=reason,
                           requested_by=caller.username)
            try:
                await repo.insert_request(conn, made)
            except asyncpg.UniqueViolationError:  # another request on the account, made at the same moment
                raise rules.conflict("request_pending", {"account_id": str(account.id)}) from None
            await repo.add_history(conn, account.id, made.id, [HistoryEntry(f"requested_{kind}", "unit",
                                                                            caller.username, reason)])
    except Refusal as refusal:
        deps.metrics.refusals.labels(refusal.code).inc()
        raise
    deps.metrics.requests.labels(kind, "submitted").inc()
    return made


async def _own_request(deps: RegistryDeps, conn: Any, caller: Caller, request_id: uuid.UUID) -> Request:
    unit_id = require_unit(caller)
    found = await repo.lock_request(conn, request_id)
    if found is None or found.unit_id != unit_id:
        raise request_not_found(request_id)
    return found


async def resubmit(deps: RegistryDeps, caller: Caller, request_id: uuid.UUID, change: ChangeBody | None,
                   reason: str | None) -> Request:
    """The unit sends a returned request back to the first office, corrected where it was a change."""
    async with deps.rt.unit_of_work() as uow:
        found = await _own_request(deps, uow.conn, caller, request_id)
        proposal = None
        if change is not None and found.kind == "change":
            account = await repo.lock_account(uow.conn, found.account_id)
            assert account is not None
            proposal = proposal_of(deps, account, change)
        new, line = found.resubmit(proposal, by=caller.username, reason=reason)
        await repo.update_request(uow.conn, new)
        await repo.add_history(uow.conn, new.account_id, new.id, [line])
    deps.metrics.requests.labels(new.kind, "resubmitted").inc()
    return new


async def withdraw(deps: RegistryDeps, caller: Caller, request_id: uuid.UUID) -> Request:
    """The unit withdraws its request; a withdrawn opening frees the platform id."""
    async with deps.rt.unit_of_work() as uow:
        found = await _own_request(deps, uow.conn, caller, request_id)
        new, line = found.withdraw(by=caller.username)
        await repo.update_request(uow.conn, new)
        if new.kind == "open":
            account = await repo.lock_account(uow.conn, new.account_id)
            assert account is not None
            await repo.update_account(uow.conn, Account(**{**account.__dict__, "status": "withdrawn"}))
        await repo.add_history(uow.conn, new.account_id, new.id, [line])
    deps.metrics.requests.labels(new.kind, "withdrawn").inc()
    return new


async def activate(deps: RegistryDeps, caller: Caller, account_id: uuid.UUID) -> Account:
    """The unit says a filed account is in operation: active, announced as AccountChanged."""
    async with deps.rt.unit_of_work() as uow:
        account = await own_account(uow.conn, caller, await repo.lock_account(uow.conn, account_id), account_id)
        account.require_open()
        if account.status != "filed":
            raise rules.conflict("status_not_allowed", {"status": account.status, "allowed": ["filed"]})
        new, event = account.activated()
        await repo.update_account(uow.conn, new)
        await repo.add_history(uow.conn, new.id, None, [HistoryEntry("activated", None, caller.username)])
        await uow.record(event, campaign_id=REGISTRY)
    return new


async def name_person(deps: RegistryDeps, caller: Caller, account_id: uuid.UUID, person: PersonInCharge) -> None:
    """The unit names another person in charge (private: recorded in history without the person)."""
    async with deps.rt.unit_of_work() as uow:
        account = await own_account(uow.conn, caller, await repo.lock_account(uow.conn, account_id), account_id)
        account.require_open()
        await repo.save_person(uow.conn, account.id, person)
        await repo.add_history(uow.conn, account.id, None, [HistoryEntry("person_changed", None, caller.username)])


# The envelope's campaign for registry events, which belong to no campaign.
REGISTRY = "registry"
