"""Entry pictures: a unit uploads its entry's avatar or logo; the public reads an approved entry's."""

from __future__ import annotations

import uuid

from massline.auth import Caller

from .. import repository as repo
from ..deps import SubmissionDeps
from ..domain.errors import NotFound, NotNow
from ..domain.images import SIZES, prepare_image
from .access import nomination_for

CLOSED = ("withdrawn", "rejected")


def _no_picture() -> NotFound:
    return NotFound("image_not_found", "没有这张图片", "There is no such picture")


async def upload(deps: SubmissionDeps, nomination_id: uuid.UUID, data: bytes, caller: Caller) -> dict[str, object]:
    """The unit's picture for its nomination, checked and resized (domain.images), replacing any earlier one."""
    prepared = prepare_image(data)
    async with deps.rt.unit_of_work() as uow:
        record = await nomination_for(uow.conn, nomination_id, caller, lock=True)
        if record.status in CLOSED:
            raise NotNow("nomination_closed", "推荐已撤回或未通过，不能再修改",
                         "The nomination was withdrawn or rejected; it can no longer change")
        await repo.save_entry_image(uow.conn, nomination_id, prepared.version, prepared.sizes[256],
                                    prepared.sizes[64], caller.username)
    return {"nomination_id": str(nomination_id), "version": prepared.version, "sizes": list(SIZES)}


async def picture(deps: SubmissionDeps, nomination_id: uuid.UUID, size: int, caller: Caller) -> tuple[str, bytes]:
    """A nomination's picture for those who may see the nomination (its unit, the offices above it, admins)."""
    if size not in SIZES:
        raise _no_picture()
    async with deps.rt.pool.acquire() as conn:
        await nomination_for(conn, nomination_id, caller)
        found = await repo.entry_image(conn, nomination_id, size)
    if found is None:
        raise _no_picture()
    return found


async def public_picture(deps: SubmissionDeps, campaign_id: str, entry_id: str, size: int) -> tuple[str, bytes]:
    """An approved entry's picture; any other entry has none to the public."""
    try:
        entry = uuid.UUID(entry_id)
    except ValueError:
        raise _no_picture() from None
    if size not in SIZES:
        raise _no_picture()
    found = await repo.public_entry_image(deps.rt.pool, campaign_id, entry, size)
    if found is None:
        raise _no_picture()
    return found
