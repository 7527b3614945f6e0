"""Signing in, and the organisations and users admins manage."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Literal

from massline.auth import Caller, hash_password, issue_token, verify_password
from massline.contracts import OrganisationSaved

from .. import repository as repo
from ..deps import SubmissionDeps
from ..domain import accounts, sign_in
from ..domain.errors import Invalid, NotFound, TooManyAttempts, Unauthenticated
from ..repository import Organisation, StoredUser
from ..views import CallerView, LoginAnswer, OrganisationView

log = logging.getLogger(__name__)

# Roles that belong to an organisation of the same kind (a unit user to a unit, an office user to an office).
ORGANISATION_ROLES = ("unit", "office")


async def login(deps: SubmissionDeps, username: str, password: str, address: str | None = None) -> LoginAnswer:
    """A staff token for a username and password, unless too many wrong ones came for the name or the address."""
    keys = sign_in.keys_for(username, address)
    wait = sign_in.wait_seconds(await repo.sign_in_attempts(deps.rt.pool, keys), _now())
    if wait:
        raise TooManyAttempts(wait)
    user = await repo.get_user(deps.rt.pool, username)
    # Password hashing is deliberately slow: off the event loop, so one sign-in does not stall other requests.
    # An unknown username is checked against a stand-in hash, so it takes as long as a real one.
    async with deps.password_checks:
        right = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if user is None or not right:
        await _count_failure(deps, keys)
        raise Unauthenticated("invalid_credentials", "用户名或密码错误", "Wrong username or password")
    if user.disabled_at is not None:
        # Said only to whoever knows the password: a stranger learns nothing about the account.
        raise Unauthenticated("account_disabled", "该账号已停用，请联系管理员",
                              "This account is disabled; ask an administrator")
    await repo.forget_sign_in_attempts(deps.rt.pool, keys[0])
    caller = Caller(user.username, user.role, user.organisation_id)
    return LoginAnswer(
        access_token=issue_token(deps.settings.secret_key, caller, deps.settings.token_ttl_s),
        token_type="bearer",
        role=caller.role,
        organisation_id=caller.organisation_id,
        display_name=user.display_name,
    )


def _now() -> datetime:
    return datetime.now(UTC)


async def _count_failure(deps: SubmissionDeps, keys: list[str]) -> None:
    now = _now()
    async with deps.rt.unit_of_work() as uow:
        for attempts in await repo.lock_sign_in_attempts(uow.conn, keys, now):
            await repo.save_sign_in_attempt(uow.conn, attempts.after_failure(now, deps.sign_in))


async def lift_sign_in_lock(deps: SubmissionDeps, username: str) -> None:
    """An administrator lifts a user's sign-in lock: the username's failures and locks are forgotten.

    A lock on a client address is not lifted here; it runs out by itself."""
    async with deps.rt.unit_of_work() as uow:
        if await repo.get_user(uow.conn, username) is None:
            raise NotFound("user_not_found", "没有这个用户", "There is no such user", {"username": username})
        await repo.forget_sign_in_attempts(uow.conn, sign_in.user_key(username))
    log.info("sign-in lock lifted", extra={"username": username})


async def forget_old_sign_in_attempts(deps: SubmissionDeps) -> int:
    """Records of failed sign-ins whose window and lock have passed a day ago are dropped."""
    return await repo.prune_sign_in_attempts(deps.rt.pool, _now() - timedelta(days=1))


# The envelope's campaign for organisation events, which belong to no campaign.
ORGANISATIONS = "organisations"


def organisation_saved(org: Organisation) -> OrganisationSaved:
    return OrganisationSaved(organisation_id=org.id, name=org.name, kind=org.kind, level=org.level,
                             parent_id=org.parent_id)


async def announce_organisations(deps: SubmissionDeps) -> int:
    """Every organisation as an OrganisationSaved event, so a service that starts reading the topic later (the
    registry) learns the whole hierarchy; reading one twice changes nothing."""
    async with deps.rt.unit_of_work() as uow:
        orgs = await repo.all_organisations(uow.conn)
        if orgs:
            await uow.record_many([(organisation_saved(org), ORGANISATIONS) for org in orgs])
    return len(orgs)


async def save_organisation(deps: SubmissionDeps, org: Organisation) -> OrganisationView:
    """Creates or updates a unit or office; its parent must exist."""
    async with deps.rt.unit_of_work() as uow:
        if org.parent_id and await repo.get_organisation(uow.conn, org.parent_id) is None:
            raise Invalid("unknown_parent", "上级单位不存在", "The parent organisation does not exist")
        await repo.upsert_organisation(uow.conn, org)
        await uow.record(organisation_saved(org), campaign_id=ORGANISATIONS)
    return OrganisationView(id=org.id, name=org.name, kind=org.kind, level=org.level, parent_id=org.parent_id)


async def save_user(
    deps: SubmissionDeps, username: str, display_name: str, password: str,
    role: Literal["unit", "office", "admin", "expert", "committee", "supervisor", "operator"],
    organisation_id: str | None,
) -> CallerView:
    """Creates or updates a user; unit and office users belong to an organisation of that kind. The last
    administrator keeps the admin role (409 `last_admin`)."""
    # Hashed before the transaction opens: hashing is slow and holds no lock.
    password_hash = await asyncio.to_thread(hash_password, password)
    async with deps.rt.unit_of_work() as uow:
        org = await repo.get_organisation(uow.conn, organisation_id) if organisation_id else None
        if role in ORGANISATION_ROLES and (org is None or org.kind != role):
            raise Invalid("organisation_mismatch", f"{role}用户必须属于一个{role}组织",
                          f"A {role} user must belong to an organisation of kind {role}")
        if organisation_id and org is None:
            raise Invalid("unknown_organisation", "所属组织不存在", "The organisation does not exist")
        # The admins' rows stay locked to the end: two admins demoting each other at once take turns.
        admins = await repo.lock_admins(uow.conn)
        current = await repo.get_user(uow.conn, username)
        accounts.check_role_change(username, current.role if current else None, role, admins)
        await repo.upsert_user(uow.conn, StoredUser(username, display_name, password_hash, role, organisation_id))
    return CallerView(username=username, role=role, organisation_id=organisation_id)


async def ensure_admin(deps: SubmissionDeps) -> None:
    """The first admin: from the environment, or a demo password outside production."""
    s = deps.settings
    if await repo.count_admins(deps.rt.pool):
        return
    password = s.admin_password or ("admin-demo-password" if s.env != "production" else "")
    if not password:
        log.warning("no administrator can sign in: create one with `massline users create-admin` "
                    "(docker compose and Kubernetes run it as the create-admin job)")
        return
    await repo.upsert_user(deps.rt.pool, StoredUser(s.admin_username, "Administrator", hash_password(password),
                                                    "admin", None))
