"""`massline users ...`: staff accounts, straight on the submission database (MASSLINE_DATABASE_URL).

The database, not the API, because the first administrator of an empty system has nobody to sign in as.
A password never comes from the command line's arguments (they show in `ps` and shell history): it is read
from --password-file, from standard input (--password-stdin), from an environment variable, or asked for.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer

users_app = typer.Typer(
    help="Staff accounts on the submission database: create the first admin, list, reset a password, disable.",
    no_args_is_help=True,
)

T = TypeVar("T")

_PASSWORD_FILE = typer.Option(None, "--password-file", help="Read the password from this file (first line).")
_PASSWORD_STDIN = typer.Option(False, "--password-stdin", help="Read the password from standard input.")


def _fail(code: str, en: str, zh: str, exit_code: int) -> None:
    typer.echo(f"error: {code}: {en} / {zh}", err=True)
    raise typer.Exit(exit_code)


def read_password(file: Path | None, stdin: bool, env: str) -> str:
    """The password from the file, standard input, the environment variable `env`, or a prompt, in that order."""
    if file is not None:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            _fail("password_unreadable", f"cannot read {file}: {exc.strerror}", "无法读取密码文件", 2)
        return lines[0] if lines else ""
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if os.environ.get(env):
        return os.environ[env]
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    _fail("password_missing", f"give the password with --password-file, --password-stdin or {env}",
          f"请通过 --password-file、--password-stdin 或 {env} 提供密码", 2)
    raise AssertionError  # _fail always exits


def _on_database(work: Callable[..., Awaitable[T]], *args: object) -> T:
    """Runs `work(pool, *args)` on the submission schema; refusals and an unreachable database become one line."""
    import asyncpg

    from massline.db import create_pool
    from massline.settings import ServiceSettings
    from services.submission.domain.errors import Refusal

    async def go() -> T:
        try:
            pool = await create_pool(ServiceSettings().database_url, "submission", min_size=1, max_size=2)
        except (OSError, asyncpg.PostgresError) as exc:
            _fail("database_unreachable", f"cannot reach the database ({type(exc).__name__}: {exc})",
                  "无法连接数据库", 3)
        try:
            return await work(pool, *args)
        except asyncpg.UndefinedTableError:
            _fail("not_migrated", "the submission schema has no users table; run `massline migrate` first",
                  "数据库尚未迁移，请先运行 massline migrate", 3)
            raise
        finally:
            await pool.close()

    try:
        return asyncio.run(go())
    except Refusal as exc:
        _fail(exc.code, exc.message_en, exc.message_zh, 1)
        raise


@users_app.command("create-admin")
def create_admin(
    username: str = typer.Option("admin", envvar="MASSLINE_ADMIN_USERNAME", help="The administrator's username."),
    display_name: str = typer.Option("Administrator", help="Shown in the console."),
    password_file: Path | None = _PASSWORD_FILE,
    password_stdin: bool = _PASSWORD_STDIN,
) -> None:
    """Create an administrator; works on an empty system. The password comes from --password-file,
    --password-stdin, MASSLINE_ADMIN_PASSWORD or a prompt.

    Runs again safely: an administrator of that name is left as it is (its password too); a user of that
    name with another role is refused (exit 1, `user_exists`).
    """
    from services.submission.service import staff

    password = read_password(password_file, password_stdin, "MASSLINE_ADMIN_PASSWORD")
    outcome = _on_database(staff.create_admin, username, display_name, password)
    if outcome == "created":
        typer.echo(f"created administrator {username}")
    else:
        typer.echo(f"administrator {username} exists; left unchanged (its password too: "
                   "`massline users reset-password` changes it)")


@users_app.command("list")
def list_users() -> None:
    """Every user: username, role, organisation, active or disabled, created at (never a password hash)."""
    from services.submission.service import staff

    for user in _on_database(staff.list_users):
        state = f"disabled {user.disabled_at:%Y-%m-%d %H:%M}" if user.disabled_at else "active"
        typer.echo(f"{user.username}\t{user.role}\t{user.organisation_id or '-'}\t{state}\t"
                   f"{user.created_at:%Y-%m-%d}\t{user.display_name}")


@users_app.command("reset-password")
def reset_password(
    username: str = typer.Argument(..., help="Whose password."),
    password_file: Path | None = _PASSWORD_FILE,
    password_stdin: bool = _PASSWORD_STDIN,
) -> None:
    """Set a user's password (from --password-file, --password-stdin, MASSLINE_NEW_PASSWORD or a prompt);
    the user's sign-in lock is lifted with it."""
    from services.submission.service import staff

    password = read_password(password_file, password_stdin, "MASSLINE_NEW_PASSWORD")
    _on_database(staff.reset_password, username, password)
    typer.echo(f"password of {username} changed")


@users_app.command("disable")
def disable(username: str = typer.Argument(..., help="Who may no longer sign in.")) -> None:
    """Stop a user signing in (401 `account_disabled`); tokens already issued run out by themselves
    (MASSLINE_TOKEN_TTL_S). The last administrator who can sign in is never disabled (`last_admin`)."""
    from services.submission.service import staff

    changed = _on_database(staff.set_disabled, username, True)
    typer.echo(f"{username} disabled" if changed else f"{username} was already disabled")


@users_app.command("enable")
def enable(username: str = typer.Argument(..., help="Who may sign in again.")) -> None:
    """Let a disabled user sign in again."""
    from services.submission.service import staff

    changed = _on_database(staff.set_disabled, username, False)
    typer.echo(f"{username} enabled" if changed else f"{username} was not disabled")
