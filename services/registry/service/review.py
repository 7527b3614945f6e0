"""The offices' review: the requests awaiting an office, and its decision (approve or return, with reason). The last
office's approval changes the account and records its event (AccountFiled, AccountChanged, AccountSuspended,
AccountClosed) in the same transaction."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from massline.auth import Caller

from .. import repository as repo
from ..deps import RegistryDeps
from ..domain import rules
from ..domain.errors import Forbidden
from ..domain.review import Request, settle
from .requests import REGISTRY, request_not_found


def require_office(caller: Caller) -> str:
    if caller.role != "office" or not caller.organisation_id:
        raise Forbidden("role_not_allowed", "只有审核部门可以审核", "Only a reviewing office can decide",
                        {"role": caller.role, "allowed": ["office"]})
    return caller.organisation_id


async def queue(deps: RegistryDeps, caller: Caller) -> list[tuple[Request, dict[str, Any]]]:
    """The requests awaiting the caller's office, oldest first."""
    return await repo.awaiting_office(deps.rt.pool, require_office(caller))


async def decide(deps: RegistryDeps, caller: Caller, request_id: uuid.UUID, decision: str,
                 reason: str | None) -> Request:
    """The awaited office approves or returns; approval by the last office settles the request."""
    office_id = require_office(caller)
    async with deps.rt.unit_of_work() as uow:
        conn = uow.conn
        found = await repo.lock_request(conn, request_id)
        if found is None:
            raise request_not_found(request_id)
        if decision == "return":
            new, line = found.return_(office_id, by=caller.username, reason=reason)
            final = False
        else:
            new, line, final = found.approve(office_id, by=caller.username, reason=reason)
        await repo.update_request(conn, new)
        await repo.add_history(conn, new.account_id, new.id, [line])
        if final:
            await _settle(uow, conn, new)
    deps.metrics.requests.labels(new.kind, "approved" if final else line.action).inc()
    return new


async def _settle(uow: Any, conn: Any, request: Request) -> None:
    account = await repo.lock_account(conn, request.account_id)
    assert account is not None
    account.require_open()
    new, event = settle(account, request)
    try:
        await repo.update_account(conn, new)
    except asyncpg.UniqueViolationError:
        raise rules.conflict("platform_account_taken", {"platform": new.platform,
                                                        "platform_account_id": new.platform_account_id}) from None
    await uow.record(event, campaign_id=REGISTRY)
