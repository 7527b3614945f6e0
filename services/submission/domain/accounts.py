"""Rules on staff accounts: the system always keeps at least one administrator who can sign in."""

from __future__ import annotations

import re
from collections.abc import Collection

from .errors import Invalid, NotNow

# The same bounds the API puts on a user's username and password (PUT /users).
USERNAME = re.compile(r"^[a-zA-Z0-9_.-]{3,64}$")
PASSWORD_MIN, PASSWORD_MAX = 10, 200


def check_role_change(username: str, current_role: str | None, new_role: str, admins: Collection[str]) -> None:
    """Refuse to take the admin role from the last administrator (`admins`: every admin's username who can
    sign in).

    Without an administrator nobody could manage users, load campaigns or lift a sign-in lock again.
    """
    if current_role != "admin" or new_role == "admin":
        return
    _keep_an_admin(username, admins)


def check_disable(username: str, role: str, admins: Collection[str]) -> None:
    """Refuse to disable the last administrator who can sign in: it would leave the system without one."""
    if role == "admin":
        _keep_an_admin(username, admins)


def _keep_an_admin(username: str, admins: Collection[str]) -> None:
    if not set(admins) - {username}:
        raise NotNow("last_admin", "不能撤销最后一位管理员的管理员角色，请先指定另一位管理员",
                     "This is the last administrator; make another user an admin first",
                     {"username": username})


def check_username(username: str) -> None:
    if not USERNAME.match(username):
        raise Invalid("invalid_username", "用户名须为 3 到 64 个字母、数字或 _ . -",
                      "A username is 3 to 64 letters, digits or _ . -", {"username": username})


def check_password(password: str) -> None:
    """Passwords set from the command line obey the same length bounds as those set through the API."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise Invalid("invalid_password", f"密码长度须为 {PASSWORD_MIN} 到 {PASSWORD_MAX} 个字符",
                      f"A password is {PASSWORD_MIN} to {PASSWORD_MAX} characters long",
                      {"min": PASSWORD_MIN, "max": PASSWORD_MAX})
