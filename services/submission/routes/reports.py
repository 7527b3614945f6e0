"""Routes for what offices and the committee take away: shortfalls and the exported sheets."""

from __future__ import annotations

from typing import Literal

from fastapi import Response

from massline.auth import CallerDep, require_role

from ..deps import Deps
from ..service import reports
from ..views import Shortfalls
from .refusals import submission_router

router = submission_router()

# Roles that may export.
_EXPORT_ROLES = ("office", "admin", "committee", "supervisor")
_MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          "csv": "text/csv; charset=utf-8"}


@router.get("/campaigns/{campaign_id}/shortfalls", tags=["nominations"], response_model=Shortfalls)
async def shortfalls(campaign_id: str, deps: Deps, caller: CallerDep) -> Shortfalls:
    """Units under the caller short of the campaign's minimum per category (原则上不少于N个); never a block."""
    require_role(caller, "office", "admin")
    return await reports.shortfalls(deps, campaign_id, caller)


@router.get("/campaigns/{campaign_id}/exports/{sheet}", tags=["exports"],
            responses={200: {"content": {_MEDIA["xlsx"]: {}, _MEDIA["csv"]: {}}}})
async def export_sheet(
    campaign_id: str, sheet: Literal["statistics", "nominations"], deps: Deps, caller: CallerDep,
    format: Literal["xlsx", "csv"] = "xlsx",
) -> Response:
    """The statistics sheet (征集统计表) per reporting unit, or every nomination, for the caller's units.

    An office gets the units under it, admins, the committee and the supervisor every unit; personal data
    (contact names, phone numbers, birth months …) only for offices and admins.
    """
    require_role(caller, *_EXPORT_ROLES)
    body = await reports.export_sheet(deps, campaign_id, sheet, format, caller)
    filename = f"{campaign_id}-{sheet}.{format}"
    return Response(body, media_type=_MEDIA[format],
                    headers={"content-disposition": f'attachment; filename="{filename}"'})
