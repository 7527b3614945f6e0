"""Who may see and act on which accounts: a unit its own, an office the units under it, an admin all."""

from __future__ import annotations

from massline.auth import Caller
from massline.db import Connection

from .. import repository as repo
from ..domain.accounts import Account
from ..domain.errors import Forbidden, NotFound

STAFF_ROLES = ("unit", "office", "admin")


def not_found(account_id: object) -> NotFound:
    return NotFound("account_not_found", "账号不存在", "No such account", {"account_id": str(account_id)})


async def visible_units(conn: Connection, caller: Caller) -> list[str] | None:
    """The units whose accounts the caller sees; None: every unit (an admin)."""
    if caller.role == "admin":
        return None
    if not caller.organisation_id or caller.role not in STAFF_ROLES:
        raise Forbidden("forbidden", "无权查看", "Not allowed")
    if caller.role == "unit":
        return [caller.organisation_id]
    return await repo.subtree(conn, caller.organisation_id)


async def may_see(conn: Connection, caller: Caller, account: Account) -> bool:
    units = await visible_units(conn, caller)
    return units is None or account.unit_id in units


async def own_account(conn: Connection, caller: Caller, account: Account | None, account_id: object) -> Account:
    """The account, when the caller is the unit that owns it (others are told it does not exist)."""
    if account is None or caller.role != "unit" or account.unit_id != caller.organisation_id:
        raise not_found(account_id)
    return account


def require_unit(caller: Caller) -> str:
    if caller.role != "unit" or not caller.organisation_id:
        raise Forbidden("role_not_allowed", "只有账号主办单位可以提交申请", "Only the owning unit can file requests",
                        {"role": caller.role, "allowed": ["unit"]})
    return caller.organisation_id
