"""A unit of work: one transaction on a service's pool, together with its outbox.

Service functions run inside one. What they write and the events they record commit together or not at all;
the relay publishes the events only after the commit.

    async with rt.unit_of_work() as uow:
        nomination = await repo.lock_nomination(uow.conn, nomination_id)
        event = nomination.approve(step, by=staff)
        await repo.save_status(uow.conn, nomination)
        await uow.record(event, campaign_id=nomination.campaign_id)
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from .contracts.envelope import Envelope, Event
from .db import Connection
from .outbox import Outbox


class UnitOfWork:
    """`async with` gives one connection inside a transaction; it commits on a clean exit and rolls back on error."""

    def __init__(self, pool: asyncpg.Pool, outbox: Outbox) -> None:
        self._pool = pool
        self._outbox = outbox
        self._conn: PoolConnectionProxy[asyncpg.Record] | None = None
        self._tx: asyncpg.transaction.Transaction | None = None

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open (use `async with`)")
        return self._conn

    async def __aenter__(self) -> UnitOfWork:
        conn = await self._pool.acquire()
        try:
            self._tx = conn.transaction()
            await self._tx.start()
        except BaseException:
            await self._pool.release(conn)
            raise
        self._conn = conn
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._conn is not None and self._tx is not None
        try:
            if exc_type is None:
                await self._tx.commit()
            else:
                await self._tx.rollback()
        finally:
            await self._pool.release(self._conn)
            self._conn = None
            self._tx = None

    async def record(self, event: Event, *, campaign_id: str) -> Envelope:
        """Record an event for the relay; it is published only if this unit of work commits."""
        return await self._outbox.record(self.conn, event, campaign_id=campaign_id)

    async def record_many(self, events: Sequence[tuple[Event, str]]) -> list[Envelope]:
        return await self._outbox.record_many(self.conn, events)
