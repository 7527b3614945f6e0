"""Who may see what: the units a caller's role and organisation reach, and the campaign or nomination asked for."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from massline.auth import Caller

from .. import repository as repo
from ..domain.campaign_state import effective_phase
from ..domain.errors import Forbidden, NotFound
from ..repository import Db, NominationRecord, StoredCampaign


def now() -> datetime:
    return datetime.now(UTC)


async def campaign(db: Db, campaign_id: str) -> StoredCampaign:
    """The campaign, or `campaign_not_found`."""
    found = await repo.get_campaign(db, campaign_id)
    if found is None:
        raise NotFound("campaign_not_found", "活动不存在", "No such campaign")
    return found


def phase_of(c: StoredCampaign) -> str | None:
    """The campaign's phase now: the operator's, else the one its dates give."""
    return effective_phase(c.current_phase, c.definition, now())


async def visible_units(db: Db, caller: Caller) -> list[str] | None:
    """None means all (admins); a unit sees itself; an office sees every unit under it."""
    if caller.role == "admin":
        return None
    if caller.organisation_id is None:
        return []
    if caller.role == "unit":
        return [caller.organisation_id]
    return await repo.subtree(db, caller.organisation_id)


async def units_or_all(db: Db, visible: list[str] | None) -> list[str]:
    """The visible organisations, every organisation when the caller sees all."""
    return await repo.all_organisation_ids(db) if visible is None else visible


async def nomination_for(
    db: Db, nomination_id: uuid.UUID, caller: Caller, *, lock: bool = False
) -> NominationRecord:
    """The nomination if the caller may see or handle it: its unit, the offices above it, admins."""
    record = await repo.get_nomination(db, nomination_id, lock=lock)
    if record is None:
        raise NotFound("nomination_not_found", "推荐不存在", "No such nomination")
    visible = await visible_units(db, caller)
    if visible is not None and record.unit_id not in visible:
        code = "not_your_nomination" if caller.role == "unit" else "outside_your_jurisdiction"
        raise Forbidden(code, "无权查看或处理该推荐", "This nomination is not yours to see or handle")
    return record
