"""Rules on staff accounts: the system always keeps at least one administrator."""

from __future__ import annotations

from collections.abc import Collection

from .errors import NotNow


def check_role_change(username: str, current_role: str | None, new_role: str, admins: Collection[str]) -> None:
    """Refuse to take the admin role from the last administrator (`admins`: every admin's username).

    Without an administrator nobody could manage users, load campaigns or lift a sign-in lock again.
    """
    if current_role != "admin" or new_role == "admin":
        return
    if not set(admins) - {username}:
        raise NotNow("last_admin", "不能撤销最后一位管理员的管理员角色，请先指定另一位管理员",
                     "This is the last administrator; make another user an admin first",
                     {"username": username})
