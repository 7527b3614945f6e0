"""What offices and the committee take away: units short of the minimum, the statistics and nomination sheets."""

from __future__ import annotations

from typing import Literal

from massline.auth import Caller

from .. import exports
from .. import repository as repo
from ..deps import SubmissionDeps
from ..domain.rules import count_by_unit_and_category, quota_shortfalls
from ..views import Shortfall, Shortfalls
from .access import campaign, now, units_or_all, visible_units

# Roles that may see personal data in an export (the offices read the forms).
PERSONAL_DATA_ROLES = ("office", "admin")


async def shortfalls(deps: SubmissionDeps, campaign_id: str, caller: Caller) -> Shortfalls:
    """Units under the caller short of the campaign's minimum per category (原则上不少于N个); never a block."""
    async with deps.rt.pool.acquire() as conn:
        d = (await campaign(conn, campaign_id)).definition
        visible = await units_or_all(conn, await visible_units(conn, caller))
        units = {u["id"]: u["name"] for u in await repo.units_in(conn, visible)}
        existing = [e for e in await repo.active_nominations(conn, campaign_id) if e.unit_id in units]
    found = quota_shortfalls(d, count_by_unit_and_category(existing), units)
    return Shortfalls(
        campaign_id=campaign_id,
        minimum_per_unit_per_category=d.quotas.min_per_unit_per_category,
        shortfalls=[Shortfall(unit_id=f.unit_id, unit_name=units[f.unit_id], category_id=f.category,
                              minimum=f.minimum, actual=f.actual, missing=f.missing, message=f.message_en,
                              message_zh=f.message_zh) for f in found],
    )


async def export_sheet(
    deps: SubmissionDeps, campaign_id: str, sheet: Literal["statistics", "nominations"],
    file_format: Literal["xlsx", "csv"], caller: Caller,
) -> bytes:
    """The statistics sheet (征集统计表) per reporting unit, or every nomination, for the caller's units.

    An office gets the units under it, admins, the committee and the supervisor every unit; personal data
    only for offices and admins.
    """
    async with deps.rt.pool.acquire() as conn:
        d = (await campaign(conn, campaign_id)).definition
        visible = await units_or_all(conn, None if caller.role != "office" else await visible_units(conn, caller))
        rows = await repo.export_nominations(conn, campaign_id, visible)
        units = await repo.units_in(conn, visible)
        reporter = await repo.get_organisation(conn, caller.organisation_id) if caller.organisation_id else None
    if sheet == "statistics":
        table = exports.statistics_sheet(d, units, rows, reported_by=reporter.name if reporter else caller.username,
                                         at=now())
    else:
        table = exports.nominations_sheet(d, rows, include_personal=caller.role in PERSONAL_DATA_ROLES)
    return exports.to_xlsx(table) if file_format == "xlsx" else exports.to_csv(table)
