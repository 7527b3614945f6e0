"""The audit trail on the real PostgreSQL: decisions appended side by side form one unbroken chain, and
`massline audit verify` names exactly the row someone changed or deleted in the database."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg
import pytest

from massline import audit
from massline.db import create_pool, migrate
from services.submission.app import MIGRATIONS

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


async def _massline(database_url: str, *args: str) -> tuple[int, str]:
    env = {**os.environ, "MASSLINE_DATABASE_URL": database_url, "MASSLINE_ENV": "test"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.operations", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode()


async def _decide(pool: asyncpg.Pool, campaign: str, n: int) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await audit.append(conn, [audit.Entry(campaign, "nomination.approve", f"nomination:{n}",
                                              {"step": "office", "reason": f"决定 {n}"}, audit.staff("office", "o1"))])


async def _tamper(pool: asyncpg.Pool, statement: str, *args: object) -> None:
    """What someone with the database in hand does: step around the append-only trigger, then change a row."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        await conn.execute(statement, *args)
        await conn.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")


def test_concurrent_decisions_chain_and_verify_names_the_changed_then_the_deleted_row(database_url: str) -> None:
    async def go() -> None:
        await migrate(database_url, "submission", MIGRATIONS)
        pool = await create_pool(database_url, "submission", min_size=2, max_size=8)
        try:
            # Twenty decisions at once on one campaign and five on another: the head lock orders them.
            await asyncio.gather(*[_decide(pool, "camp-a", n) for n in range(20)],
                                 *[_decide(pool, "camp-b", n) for n in range(5)])
            async with pool.acquire() as conn:
                rows = await audit.rows(conn, "camp-a", limit=100)
                head = await audit.head(conn, "submission", "camp-a")
            assert [r.seq for r in rows] == list(range(1, 21))
            assert [r.at for r in rows] == sorted(r.at for r in rows)
            assert head is not None and (head.seq, head.hash) == (20, rows[-1].hash)

            code, out = await _massline(database_url, "audit", "verify")
            assert code == 0, out
            assert "2 chain(s) intact, 0 broken" in out

            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await pool.execute("UPDATE audit_log SET actor = 'admin:x' WHERE campaign_id = 'camp-a' AND seq = 1")

            await _tamper(pool, "UPDATE audit_log SET details = replace(details, '决定', '否决') "
                                "WHERE campaign_id = 'camp-a' AND seq = 7")
            code, out = await _massline(database_url, "audit", "verify")
            assert code == 1, out
            assert "BROKEN  submission camp-a seq 7: hash_mismatch" in out
            assert "ok      submission camp-b" in out
            # Only the campaign asked for is checked.
            code, out = await _massline(database_url, "audit", "verify", "--campaign", "camp-b")
            assert code == 0 and "1 chain(s) intact, 0 broken" in out, out

            original = next(r for r in rows if r.seq == 7).details
            await _tamper(pool, "UPDATE audit_log SET details = $1 WHERE campaign_id = 'camp-a' AND seq = 7",
                          original)
            await _tamper(pool, "DELETE FROM audit_log WHERE campaign_id = 'camp-a' AND seq = 12")
            code, out = await _massline(database_url, "audit", "verify", "--campaign", "camp-a")
            assert code == 1, out
            assert "BROKEN  submission camp-a seq 12: broken_link: row 12 is missing" in out
        finally:
            await pool.close()

    asyncio.run(go())
