"""The health schedule: checks every `check_interval_days` (weekly by default), escalations daily, and each
month's report on the first days of the next month; each is recorded as a run, so a restart does not repeat it."""

from __future__ import annotations

import asyncio
import logging

from massline.service import ServiceRuntime

from ..deps import RegistryDeps
from ..domain.report import previous_month
from ..settings import RegistrySettings
from . import repository as repo
from . import service

log = logging.getLogger(__name__)


async def run_due(deps: RegistryDeps) -> list[str]:
    """Run what is due today; the names of what ran."""
    today = service.today_of(deps)
    ran: list[str] = []
    async with deps.rt.pool.acquire() as conn:
        last_check = await repo.last_run(conn, "check", today)
        last_escalation = await repo.last_run(conn, "escalate", today)
    if last_check is None or (today - last_check).days >= deps.settings.check_interval_days:
        await service.run_checks(deps, today)  # escalates too
        ran.append("check")
    elif last_escalation is None or last_escalation < today:
        await service.escalate_overdue(deps, today)
        ran.append("escalate")
    if await service.scheduled_reports(deps, previous_month(today)):
        ran.append("report")
    return ran


def register(deps: RegistryDeps) -> None:
    """Look for due work every `schedule_poll_s` for the life of the service."""

    async def health_schedule(_: ServiceRuntime[RegistrySettings]) -> None:
        while True:
            await asyncio.sleep(deps.settings.schedule_poll_s)
            try:
                ran = await run_due(deps)
                if ran:
                    log.info("scheduled health work ran", extra={"ran": ran})
            except Exception as exc:
                log.error("scheduled health work failed (%s)", type(exc).__name__, exc_info=True)

    if deps.settings.schedule_enabled:
        deps.rt.background(health_schedule)
