"""Routes for offices: the requests awaiting them and their decisions."""

from __future__ import annotations

import uuid

from massline.auth import CallerDep

from ..deps import Deps
from ..schemas import DecisionBody, RequestList, RequestView
from ..service import reads, review
from .refusals import registry_router

router = registry_router()


@router.get("/review", tags=["review"], response_model=RequestList)
async def review_queue(deps: Deps, caller: CallerDep) -> RequestList:
    """The requests awaiting the caller's office, oldest first."""
    return RequestList(requests=[reads.request_view(q, about) for q, about in await review.queue(deps, caller)])


@router.post("/requests/{request_id}/decision", tags=["review"], response_model=RequestView)
async def decide(request_id: uuid.UUID, body: DecisionBody, deps: Deps, caller: CallerDep) -> RequestView:
    """The awaited office approves (the last office's approval files or changes the account) or returns the request
    with a reason (`reason_required` without one)."""
    return reads.request_view(await review.decide(deps, caller, request_id, body.decision, body.reason))
