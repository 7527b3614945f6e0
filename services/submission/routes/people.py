"""Routes for signing in and for the organisations and users admins manage."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Header, Path, Response
from pydantic import Field

from massline.auth import CallerDep, require_role
from massline.errors import RequestBody

from ..deps import Deps
from ..repository import Organisation
from ..service import people
from ..views import CallerView, LoginAnswer, OrganisationView
from .refusals import submission_router

router = submission_router()

_ORGANISATION_ID = r"^[a-z0-9][a-z0-9_-]{1,63}$"


class LoginRequest(RequestBody):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


@router.post("/auth/login", tags=["auth"], response_model=LoginAnswer)
async def login(body: LoginRequest, deps: Deps, x_real_ip: Annotated[str | None, Header()] = None) -> LoginAnswer:
    """Sign in with a username and password; the token goes in `Authorization: Bearer …`.

    Five wrong passwords for a username within 15 minutes, or thirty from one address, lock further tries for
    15 minutes (429 `too_many_sign_ins` with Retry-After), the right password included; each further lock of the
    same name or address lasts twice as long (at most a day). A disabled account is refused with 401
    `account_disabled` (`massline users disable`/`enable`)."""
    return await people.login(deps, body.username, body.password, (x_real_ip or "").strip()[:64] or None)


@router.get("/auth/me", tags=["auth"], response_model=CallerView)
async def me(caller: CallerDep) -> CallerView:
    return CallerView(username=caller.username, role=caller.role, organisation_id=caller.organisation_id)


class OrganisationRequest(RequestBody):
    id: str = Field(pattern=_ORGANISATION_ID)
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["office", "unit"]
    level: Literal["provincial", "city", "unit"]
    parent_id: str | None = Field(None, pattern=_ORGANISATION_ID, description="Omitted or null for none.")


@router.put("/organisations", tags=["people"], response_model=OrganisationView)
async def put_organisation(body: OrganisationRequest, deps: Deps, caller: CallerDep) -> OrganisationView:
    """Create or update a nominating unit or reviewing office in the hierarchy (admins)."""
    require_role(caller, "admin")
    return await people.save_organisation(
        deps, Organisation(id=body.id, name=body.name, kind=body.kind, level=body.level, parent_id=body.parent_id))


class UserRequest(RequestBody):
    username: str = Field(pattern=r"^[a-zA-Z0-9_.-]{3,64}$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=10, max_length=200)
    role: Literal["unit", "office", "admin", "expert", "committee", "supervisor", "operator"]
    organisation_id: str | None = Field(None, pattern=_ORGANISATION_ID, description="Omitted or null for none.")


@router.put("/users", tags=["people"], response_model=CallerView)
async def put_user(body: UserRequest, deps: Deps, caller: CallerDep) -> CallerView:
    """Create or update a user (admins). Unit and office users belong to an organisation of that kind; the last
    administrator keeps the admin role (409 `last_admin`)."""
    require_role(caller, "admin")
    return await people.save_user(deps, body.username, body.display_name, body.password, body.role,
                                  body.organisation_id)


@router.delete("/users/{username}/sign-in-lock", tags=["people"], status_code=204)
async def lift_sign_in_lock(username: Annotated[str, Path(pattern=r"^[a-zA-Z0-9_.-]{3,64}$")], deps: Deps,
                            caller: CallerDep) -> Response:
    """Lift a user's sign-in lock (admins): the username's failed sign-ins and earlier locks are forgotten."""
    require_role(caller, "admin")
    await people.lift_sign_in_lock(deps, username)
    return Response(status_code=204)
