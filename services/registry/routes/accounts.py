"""Routes for units: file accounts (one or an import), list their own, request changes, suspension, resumption and
closing, correct or withdraw a returned request, say an account is in operation, name the person in charge."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import Query

from massline.auth import CallerDep

from ..deps import Deps
from ..domain.accounts import PersonInCharge
from ..schemas import (
    AccountDetail,
    AccountList,
    AccountView,
    ChangeBody,
    FilingBody,
    ImportAnswer,
    ImportBody,
    PersonBody,
    ReasonBody,
    RequestView,
    ResubmitBody,
)
from ..service import filing, reads, requests
from .refusals import registry_router

router = registry_router()
Status = Literal["requested", "filed", "active", "suspended", "closed"]


@router.post("/accounts", tags=["accounts"], response_model=RequestView, status_code=201)
async def file_account(body: FilingBody, deps: Deps, caller: CallerDep) -> RequestView:
    """A unit files an account (备案): refused with a rule's code (`duplicate_platform_account`,
    `name_missing_region`, …), or stored as `requested` with an opening request awaiting its city office."""
    return reads.request_view(await filing.file_account(deps, caller, body))


@router.post("/accounts/import", tags=["accounts"], response_model=ImportAnswer)
async def import_accounts(body: ImportBody, deps: Deps, caller: CallerDep) -> ImportAnswer:
    """File many accounts. A refused row is named by its line and code; unless `keep_good`, one refused row means
    nothing is filed (422 `import_refused`, every refused row in `details.refused`)."""
    filed, refused = await filing.import_accounts(deps, caller, [(r.line, r.values) for r in body.rows],
                                                  body.keep_good)
    return ImportAnswer(filed=filed, refused=refused)


@router.get("/accounts", tags=["accounts"], response_model=AccountList)
async def list_accounts(deps: Deps, caller: CallerDep, status: Status | None = None,
                        limit: int | None = Query(None, ge=1, le=1000),
                        offset: int = Query(0, ge=0, le=1_000_000)) -> AccountList:
    """A unit's own accounts; an office's: every unit's under it; with the request under review on each."""
    return AccountList(accounts=await reads.list_accounts(deps, caller, status, limit, offset))


@router.get("/accounts/{account_id}", tags=["accounts"], response_model=AccountDetail)
async def account_detail(account_id: uuid.UUID, deps: Deps, caller: CallerDep) -> AccountDetail:
    """One account with its person in charge (private), its requests and its history."""
    return await reads.account_detail(deps, caller, account_id)


@router.post("/accounts/{account_id}/change", tags=["accounts"], response_model=RequestView, status_code=201)
async def request_change(account_id: uuid.UUID, body: ChangeBody, deps: Deps, caller: CallerDep) -> RequestView:
    """Ask to change the name, platform id, level or exception; the offices review it."""
    return reads.request_view(await requests.request(deps, caller, account_id, "change", body, body.reason))


@router.post("/accounts/{account_id}/suspend", tags=["accounts"], response_model=RequestView, status_code=201)
async def request_suspension(account_id: uuid.UUID, body: ReasonBody, deps: Deps, caller: CallerDep) -> RequestView:
    return reads.request_view(await requests.request(deps, caller, account_id, "suspend", None, body.reason))


@router.post("/accounts/{account_id}/resume", tags=["accounts"], response_model=RequestView, status_code=201)
async def request_resumption(account_id: uuid.UUID, body: ReasonBody, deps: Deps, caller: CallerDep) -> RequestView:
    return reads.request_view(await requests.request(deps, caller, account_id, "resume", None, body.reason))


@router.post("/accounts/{account_id}/close", tags=["accounts"], response_model=RequestView, status_code=201)
async def request_closing(account_id: uuid.UUID, body: ReasonBody, deps: Deps, caller: CallerDep) -> RequestView:
    return reads.request_view(await requests.request(deps, caller, account_id, "close", None, body.reason))


@router.post("/accounts/{account_id}/activate", tags=["accounts"], response_model=AccountView)
async def activate(account_id: uuid.UUID, deps: Deps, caller: CallerDep) -> AccountView:
    """The unit says a filed account is in operation (active); no review."""
    return reads.account_view(await requests.activate(deps, caller, account_id))


@router.put("/accounts/{account_id}/person", tags=["accounts"], status_code=204)
async def name_person(account_id: uuid.UUID, body: PersonBody, deps: Deps, caller: CallerDep) -> None:
    """Name another person in charge (private; no review, no event)."""
    await requests.name_person(deps, caller, account_id, PersonInCharge(body.username, body.contact))


@router.post("/requests/{request_id}/resubmit", tags=["accounts"], response_model=RequestView)
async def resubmit(request_id: uuid.UUID, body: ResubmitBody, deps: Deps, caller: CallerDep) -> RequestView:
    """Send a returned request back to the first office, corrected."""
    return reads.request_view(await requests.resubmit(deps, caller, request_id, body.change, body.reason))


@router.post("/requests/{request_id}/withdraw", tags=["accounts"], response_model=RequestView)
async def withdraw(request_id: uuid.UUID, deps: Deps, caller: CallerDep) -> RequestView:
    return reads.request_view(await requests.withdraw(deps, caller, request_id))
