"""Reading the registry: a unit's own accounts, an office's region, one account with its history."""

from __future__ import annotations

import uuid
from typing import Any

from massline.auth import Caller

from .. import repository as repo
from ..deps import RegistryDeps
from ..domain.accounts import Account
from ..domain.review import Request
from ..schemas import AccountDetail, AccountView, RequestView
from .access import may_see, not_found, visible_units


def account_view(account: Account, open_request: dict[str, Any] | None = None) -> AccountView:
    return AccountView(id=account.id, unit_id=account.unit_id, unit_name=account.unit_name, platform=account.platform,
                       level=account.level, platform_account_id=account.platform_account_id,
                       verified_name=account.verified_name, region=account.region, status=account.status,
                       exception_reason=account.exception_reason,
                       open_request={k: str(v) for k, v in open_request.items()} if open_request else None)


def request_view(r: Request, account: dict[str, Any] | None = None) -> RequestView:
    awaited = r.awaited if r.status == "pending" else None
    about = dict(account or {})
    return RequestView(id=r.id, account_id=r.account_id, unit_id=r.unit_id,
                       unit_name=str(about.pop("unit_name", "") or ""), kind=r.kind, status=r.status,
                       step=awaited.step.id if awaited else None, office_id=awaited.office_id if awaited else None,
                       proposal=dict(r.proposal), reason=r.reason, requested_by=r.requested_by,
                       account={k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in about.items()})


async def list_accounts(deps: RegistryDeps, caller: Caller, status: str | None, limit: int | None,
                        offset: int) -> list[AccountView]:
    """The unit's own accounts; an office's: those of every unit under it; an admin's: all."""
    async with deps.rt.pool.acquire() as conn:
        units = await visible_units(conn, caller)
        if units is None:
            units = list(await repo.organisations(conn))
        rows = await repo.list_accounts(conn, units, status, limit or deps.settings.page_size, offset)
    return [account_view(a, q) for a, q in rows]


async def account_detail(deps: RegistryDeps, caller: Caller, account_id: uuid.UUID) -> AccountDetail:
    """One account, with its person in charge, its requests and its history, for its unit and the offices above."""
    async with deps.rt.pool.acquire() as conn:
        account = await repo.get_account(conn, account_id)
        if account is None or account.status == "withdrawn" or not await may_see(conn, caller, account):
            raise not_found(account_id)
        person = await repo.get_person(conn, account_id)
        history = await repo.history_of(conn, account_id)
        requests = await repo.requests_of_account(conn, account_id)
    base = account_view(account).model_dump()
    return AccountDetail(**base, person_in_charge={"username": person.username, "contact": person.contact}
                         if person else None, history=history, requests=[request_view(q) for q in requests])
