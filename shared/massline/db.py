"""The asyncpg pool of a service (bound to its own schema) and the forward-only SQL migration runner."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# A connection as the services see it: a pooled one (what `pool.acquire()` gives) or a plain one.
if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    Connection = asyncpg.Connection | PoolConnectionProxy

log = logging.getLogger(__name__)

INFRA_MIGRATIONS = Path(__file__).parent / "sql"
_SCHEMA_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def _check_schema(schema: str) -> str:
    # Schema names come from code, never from requests; still, refuse anything but a plain identifier.
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return schema


async def _init_connection(conn: asyncpg.Connection) -> None:
    for typ in ("json", "jsonb"):
        await conn.set_type_codec(typ, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Released connections need no reset query: the services keep no session state.

    asyncpg still rolls back an open transaction and drops listener callbacks on release; what the
    default reset adds (RESET ALL, advisory unlock, UNLISTEN *) is a round trip per release, and the
    code never sets session variables, takes only transaction-level advisory locks, and the outbox
    relay unlistens its own connection.
    """


async def create_pool(dsn: str, schema: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """One pool per service; every connection sees only the service's schema by default."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": _check_schema(schema), "application_name": f"massline-{schema}"},
        init=_init_connection,
        reset=_keep_session,
        # While the server is down, a request waits at most this long for a connection, then is told 503.
        timeout=5,
    )


def _migration_files(directory: Path, prefix: str) -> list[tuple[str, str]]:
    if not directory.is_dir():
        return []
    return [(f"{prefix}{p.name}", p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.sql"))]


async def migrate(dsn: str, schema: str, migrations_dir: Path) -> list[str]:
    """Apply the shared infrastructure migrations, then the service's own, each once, in order.

    Forward-only: an applied file that changed since is an error, not something to re-run.
    """
    _check_schema(schema)
    files = _migration_files(INFRA_MIGRATIONS, "infra/") + _migration_files(migrations_dir, "")
    applied_now: list[str] = []
    conn = await asyncpg.connect(dsn)
    try:
        # Replicas start together; one of them migrates, the others wait and find nothing to do.
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"massline-migrate-{schema}")
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".schema_migrations ('
            "name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {
            r["name"]: r["checksum"]
            for r in await conn.fetch(f'SELECT name, checksum FROM "{schema}".schema_migrations')
        }
        for name, sql in files:
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if name in done:
                if done[name] != checksum:
                    raise RuntimeError(
                        f"migration {name} in schema {schema} changed after it was applied; add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(f'SET LOCAL search_path TO "{schema}"')
                await conn.execute(sql)
                await conn.execute(
                    f'INSERT INTO "{schema}".schema_migrations (name, checksum) VALUES ($1, $2)', name, checksum
                )
            applied_now.append(name)
            log.info("migration applied", extra={"schema": schema, "migration": name})
    finally:
        try:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"massline-migrate-{schema}")
        finally:
            await conn.close()
    return applied_now
