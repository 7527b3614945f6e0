"""`massline users ...` on a real, empty submission database: the first administrator, listing, a new password,
disabling, and the rule that one administrator who can sign in always remains.

The commands run as an operator runs them (a process, MASSLINE_DATABASE_URL); signing in is checked through the
submission service's own API on the same database.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from massline.auth import verify_password
from massline.db import create_pool
from services.submission.app import app_for, build_deps, build_runtime
from services.submission.settings import SubmissionSettings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FIRST = "first-admin-password"
SECOND = "second-admin-password"


async def massline(database_url: str, *args: str, stdin: str | None = None,
                   env: dict[str, str] | None = None) -> tuple[int, str, str]:
    full_env = {**os.environ, "MASSLINE_DATABASE_URL": database_url, "MASSLINE_ENV": "production", **(env or {})}
    for name in ("MASSLINE_ADMIN_PASSWORD", "MASSLINE_NEW_PASSWORD", "MASSLINE_ADMIN_USERNAME"):
        if not env or name not in env:
            full_env.pop(name, None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.operations", *args, cwd=ROOT, env=full_env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate((stdin or "").encode()), 120)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
async def migrated(database_url: str) -> str:
    code, _, err = await massline(database_url, "migrate", "--service", "submission")
    assert code == 0, err
    return database_url


async def stored_hash(database_url: str, username: str) -> Any:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval("SELECT password_hash FROM submission.users WHERE username = $1", username)
    finally:
        await conn.close()


@pytest.fixture
async def sign_in(migrated: str) -> AsyncIterator[Any]:
    """Signs in through the submission service's API, on the database the commands change."""
    rt = build_runtime(SubmissionSettings(database_url=migrated, env="test"))
    rt._pool = await create_pool(migrated, "submission", min_size=1, max_size=4)
    app = app_for(rt, build_deps(rt), title="submission under test")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://submission") as http:
        async def login(username: str, password: str) -> httpx.Response:
            return await http.post("/auth/login", json={"username": username, "password": password})
        yield login
    await rt._pool.close()


async def test_the_first_admin_is_created_on_an_empty_system_and_signs_in(migrated: str, sign_in: Any) -> None:
    code, out, _ = await massline(migrated, "users", "list")
    assert code == 0 and out == ""

    code, out, err = await massline(migrated, "users", "create-admin", "--username", "chief", "--password-stdin",
                                    stdin=FIRST + "\n")
    assert code == 0, err
    assert out.strip() == "created administrator chief"
    assert FIRST not in out + err
    hashed = await stored_hash(migrated, "chief")
    assert hashed.startswith("$argon2") and verify_password(hashed, FIRST)  # hashed as the service hashes

    answer = await sign_in("chief", FIRST)
    assert answer.status_code == 200, answer.text
    assert answer.json()["role"] == "admin"

    code, out, _ = await massline(migrated, "users", "list")
    assert code == 0
    username, role, organisation, state, *_ = out.splitlines()[0].split("\t")
    assert (username, role, organisation, state) == ("chief", "admin", "-", "active")
    assert "$argon2" not in out


async def test_create_admin_runs_again_without_changing_the_admin(migrated: str) -> None:
    env = {"MASSLINE_ADMIN_USERNAME": "chief", "MASSLINE_ADMIN_PASSWORD": FIRST}
    assert (await massline(migrated, "users", "create-admin", env=env))[0] == 0
    before = await stored_hash(migrated, "chief")
    code, out, err = await massline(migrated, "users", "create-admin",
                                    env={**env, "MASSLINE_ADMIN_PASSWORD": SECOND})
    assert code == 0, err
    assert "exists; left unchanged" in out
    assert await stored_hash(migrated, "chief") == before


async def test_passwords_never_come_from_the_arguments_and_must_be_long_enough(migrated: str, tmp_path: Path) -> None:
    code, _, err = await massline(migrated, "users", "create-admin", "--password", FIRST)
    assert code == 2 and "--password" in err
    code, _, err = await massline(migrated, "users", "create-admin")  # no file, stdin, variable, nor terminal
    assert code == 2 and "error: password_missing:" in err
    code, _, err = await massline(migrated, "users", "create-admin", "--password-stdin", stdin="short\n")
    assert code == 1 and "error: invalid_password:" in err
    code, _, err = await massline(migrated, "users", "create-admin", "--username", "a b", "--password-stdin",
                                  stdin=FIRST)
    assert code == 1 and "error: invalid_username:" in err
    secret = tmp_path / "password"
    secret.write_text(FIRST + "\n", encoding="utf-8")
    code, _, err = await massline(migrated, "users", "create-admin", "--password-file", str(secret))
    assert code == 0, err
    assert verify_password(await stored_hash(migrated, "admin"), FIRST)  # the file's line, without its newline


async def test_the_last_admin_who_can_sign_in_is_never_disabled(migrated: str, sign_in: Any) -> None:
    await massline(migrated, "users", "create-admin", "--username", "chief", "--password-stdin", stdin=FIRST)
    code, _, err = await massline(migrated, "users", "disable", "chief")
    assert code == 1 and "error: last_admin:" in err
    assert (await sign_in("chief", FIRST)).status_code == 200

    await massline(migrated, "users", "create-admin", "--username", "deputy", "--password-stdin", stdin=SECOND)
    code, out, err = await massline(migrated, "users", "disable", "chief")
    assert code == 0 and out.strip() == "chief disabled", err
    refused = await sign_in("chief", FIRST)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "account_disabled"
    wrong = await sign_in("chief", "not-the-password")
    assert wrong.json()["error"]["code"] == "invalid_credentials"  # a stranger learns nothing of the account
    code, out, _ = await massline(migrated, "users", "list")
    assert "\tdisabled " in next(line for line in out.splitlines() if line.startswith("chief\t"))

    # deputy is now the only admin who can sign in: a disabled admin does not count
    code, _, err = await massline(migrated, "users", "disable", "deputy")
    assert code == 1 and "error: last_admin:" in err
    code, out, _ = await massline(migrated, "users", "enable", "chief")
    assert code == 0 and out.strip() == "chief enabled"
    assert (await sign_in("chief", FIRST)).status_code == 200
    code, out, _ = await massline(migrated, "users", "disable", "deputy")
    assert code == 0 and out.strip() == "deputy disabled"
    code, _, err = await massline(migrated, "users", "create-admin", "--username", "deputy", "--password-stdin",
                                  stdin=SECOND)
    assert code == 1 and "error: user_disabled:" in err


async def test_a_new_password_replaces_the_old_one_and_lifts_the_lock(migrated: str, sign_in: Any) -> None:
    await massline(migrated, "users", "create-admin", "--username", "chief", "--password-stdin", stdin=FIRST)
    for _ in range(5):
        await sign_in("chief", "a-wrong-password")
    assert (await sign_in("chief", FIRST)).status_code == 429  # locked, the right password too
    code, out, err = await massline(migrated, "users", "reset-password", "chief", env={"MASSLINE_NEW_PASSWORD": SECOND})
    assert code == 0 and out.strip() == "password of chief changed", err
    assert (await sign_in("chief", FIRST)).json()["error"]["code"] == "invalid_credentials"
    assert (await sign_in("chief", SECOND)).status_code == 200

    code, _, err = await massline(migrated, "users", "reset-password", "nobody", "--password-stdin", stdin=SECOND)
    assert code == 1 and "error: user_not_found:" in err
    code, _, err = await massline(migrated, "users", "disable", "nobody")
    assert code == 1 and "error: user_not_found:" in err


async def test_an_unmigrated_or_unreachable_database_is_one_clear_line(database_url: str) -> None:
    code, _, err = await massline(database_url, "users", "list")
    assert code == 3 and "error: not_migrated:" in err and "Traceback" not in err
    unreachable = "postgresql://massline:massline@127.0.0.1:1/massline"
    code, _, err = await massline(unreachable, "users", "create-admin", "--password-stdin", stdin=FIRST)
    assert code == 3 and "error: database_unreachable:" in err and "Traceback" not in err
