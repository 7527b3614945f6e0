"""Staff accounts kept from the command line (`massline users ...`), straight on the submission database.

The first administrator of an empty system can only be made here: the API needs an administrator's token.
Passwords are hashed as the service hashes them at sign-in (massline.auth).
"""

from __future__ import annotations

import asyncio
from typing import Literal

import asyncpg

from massline.auth import hash_password

from .. import repository as repo
from ..domain import accounts, sign_in
from ..domain.errors import NotFound, NotNow
from ..repository import StoredUser, UserListing


async def create_admin(pool: asyncpg.Pool, username: str, display_name: str,
                       password: str) -> Literal["created", "exists"]:
    """Adds an administrator. An administrator of that name who can sign in is left as it is ("exists"),
    so a deployment's one-shot job may run again; any other user of that name is refused."""
    accounts.check_username(username)
    accounts.check_password(password)
    password_hash = await asyncio.to_thread(hash_password, password)
    async with pool.acquire() as conn, conn.transaction():
        if await repo.insert_user(conn, StoredUser(username, display_name, password_hash, "admin", None)):
            return "created"
        current = await repo.get_user(conn, username)
    if current is not None and current.role == "admin" and current.disabled_at is None:
        return "exists"
    if current is not None and current.disabled_at is not None:
        raise NotNow("user_disabled", "该用户已停用，请先启用", "This user is disabled; enable it first",
                     {"username": username})
    raise NotNow("user_exists", "该用户名已被其他角色的用户使用", "A user with another role has this username",
                 {"username": username, "role": current.role if current else None})


async def list_users(pool: asyncpg.Pool) -> list[UserListing]:
    return await repo.list_users(pool)


async def reset_password(pool: asyncpg.Pool, username: str, password: str) -> None:
    """Sets a new password; the username's failed sign-ins and its sign-in lock are forgotten with it."""
    accounts.check_password(password)
    password_hash = await asyncio.to_thread(hash_password, password)
    async with pool.acquire() as conn, conn.transaction():
        await _existing(conn, username)
        await repo.set_password(conn, username, password_hash)
        await repo.forget_sign_in_attempts(conn, sign_in.user_key(username))


async def set_disabled(pool: asyncpg.Pool, username: str, disabled: bool) -> bool:
    """Disables (or enables again) a user; whether anything changed. The last administrator who can sign in
    is never disabled (409 `last_admin`)."""
    async with pool.acquire() as conn, conn.transaction():
        # The admins' rows stay locked to the end: two admins disabled at once take turns, and the second is refused.
        admins = await repo.lock_admins(conn)
        user = await _existing(conn, username)
        if (user.disabled_at is not None) == disabled:
            return False
        if disabled:
            accounts.check_disable(username, user.role, admins)
        await repo.set_disabled(conn, username, disabled)
    return True


async def _existing(conn: repo.Db, username: str) -> StoredUser:
    user = await repo.get_user(conn, username)
    if user is None:
        raise NotFound("user_not_found", "没有这个用户", "There is no such user", {"username": username})
    return user
