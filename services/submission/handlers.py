"""Submission HTTP routes: login, organisations, campaigns and phases, nominations and their review."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timezone
from typing import Any, Literal

import asyncpg
from fastapi import APIRouter, Response
from pydantic import Field

from massline.contracts import (
    ActivitySubmitted,
    CampaignLoaded,
    CategoryInfo,
    MetricsReported,
    NominationApproved,
    NominationRejected,
    NominationReturned,
    NominationSubmitted,
    NominationWithdrawn,
    PhaseChanged,
    PhaseInfo,
    VoteRules,
)
from massline.errors import ApiError, RequestBody
from massline.service import Runtime, ServiceRuntime

from massline.auth import Caller, CallerDep, hash_password, issue_token, require_role, verify_password
from .domain.campaign import CampaignDefinition, CampaignDefinitionError, parse_campaign
from .domain.content import HoldReason, neutralise, neutralise_form, split_holds
from .domain.rules import (
    ExistingNomination,
    ProposedNomination,
    RuleViolation,
    check_nomination,
    count_by_unit_and_category,
    quota_shortfalls,
)
from . import exports
from .repository import Q

log = logging.getLogger(__name__)
router = APIRouter()

PHASES = ["nomination", "initial_review", "voting", "expert_review", "final_review", "publication"]
_REVIEW_PHASES = {"nomination", "initial_review"}
STAFF_ROLES = ("unit", "office", "admin", "expert", "committee", "supervisor", "operator")
# Roles that belong to an organisation of the same kind (a unit user to a unit, an office user to an office).
_ORGANISATION_ROLES = ("unit", "office")
# Form fields whose value is personal data: stored once, never in events or public answers.
PERSONAL_FIELDS = {"submitter_name", "name", "ethnicity", "birth_month", "political_status", "gender", "mobile",
                   "phone", "id_number", "position"}




def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- login and people ----------------------------------------------------------------------

class LoginRequest(RequestBody):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


@router.post("/auth/login", tags=["auth"])
async def login(body: LoginRequest, rt: Runtime) -> dict[str, Any]:
    """Sign in with a username and password; the token goes in `Authorization: Bearer …`."""
    row = await rt.pool.fetchrow(Q.get_user, body.username)
    # Password hashing is deliberately slow: off the event loop, so one sign-in does not stall other requests.
    if row is None or not await asyncio.to_thread(verify_password, row["password_hash"], body.password):
        raise ApiError(401, "invalid_credentials", "用户名或密码错误", "Wrong username or password")
    caller = Caller(row["username"], row["role"], row["organisation_id"])
    return {
        "access_token": issue_token(rt.settings.secret_key, caller, rt.settings.token_ttl_s),  # type: ignore[attr-defined]
        "token_type": "bearer",
        "role": caller.role,
        "organisation_id": caller.organisation_id,
        "display_name": row["display_name"],
    }


@router.get("/auth/me", tags=["auth"])
async def me(caller: CallerDep) -> dict[str, Any]:
    return {"username": caller.username, "role": caller.role, "organisation_id": caller.organisation_id}


_ORGANISATION_ID = r"^[a-z0-9][a-z0-9_-]{1,63}$"


class OrganisationRequest(RequestBody):
    id: str = Field(pattern=_ORGANISATION_ID)
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["office", "unit"]
    level: Literal["provincial", "city", "unit"]
    parent_id: str | None = Field(None, pattern=_ORGANISATION_ID, description="Omitted or null for none.")


@router.put("/organisations", tags=["people"])
async def put_organisation(body: OrganisationRequest, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Create or update a nominating unit or reviewing office in the hierarchy (admins)."""
    require_role(caller, "admin")
    if body.parent_id and await rt.pool.fetchrow(Q.get_organisation, body.parent_id) is None:
        raise ApiError(422, "unknown_parent", "上级单位不存在", "The parent organisation does not exist")
    await rt.pool.execute(Q.upsert_organisation, body.id, body.name, body.kind, body.level, body.parent_id)
    return body.model_dump()


class UserRequest(RequestBody):
    username: str = Field(pattern=r"^[a-zA-Z0-9_.-]{3,64}$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=10, max_length=200)
    role: Literal["unit", "office", "admin", "expert", "committee", "supervisor", "operator"]
    organisation_id: str | None = Field(None, pattern=_ORGANISATION_ID, description="Omitted or null for none.")


@router.put("/users", tags=["people"])
async def put_user(body: UserRequest, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Create or update a user (admins). Unit and office users belong to an organisation of that kind."""
    require_role(caller, "admin")
    org = await rt.pool.fetchrow(Q.get_organisation, body.organisation_id) if body.organisation_id else None
    if body.role in _ORGANISATION_ROLES and (org is None or org["kind"] != body.role):
        raise ApiError(422, "organisation_mismatch", f"{body.role}用户必须属于一个{body.role}组织",
                       f"A {body.role} user must belong to an organisation of kind {body.role}")
    if body.organisation_id and org is None:
        raise ApiError(422, "unknown_organisation", "所属组织不存在", "The organisation does not exist")
    password_hash = await asyncio.to_thread(hash_password, body.password)
    await rt.pool.execute(Q.upsert_user, body.username, body.display_name, password_hash, body.role,
                          body.organisation_id)
    return {"username": body.username, "role": body.role, "organisation_id": body.organisation_id}


async def ensure_admin(rt: ServiceRuntime) -> None:
    """The first admin: from the environment, or a demo password outside production."""
    s = rt.settings
    if await rt.pool.fetchval(Q.count_admins):
        return
    password = s.admin_password or ("admin-demo-password" if s.env != "production" else "")  # type: ignore[attr-defined]
    if not password:
        log.warning("no admin user exists and MASSLINE_ADMIN_PASSWORD is not set")
        return
    await rt.pool.execute(Q.upsert_user, s.admin_username, "Administrator", hash_password(password), "admin", None)  # type: ignore[attr-defined]


# --- campaigns -----------------------------------------------------------------------------

class LoadCampaign(RequestBody):
    definition_yaml: str = Field(min_length=1, max_length=500_000, description="The campaign definition file.")


def _definition(row: asyncpg.Record) -> CampaignDefinition:
    return CampaignDefinition.model_validate(row["definition"])


def campaign_loaded_event(d: CampaignDefinition, current_phase: str | None) -> CampaignLoaded:
    voting = d.voting
    return CampaignLoaded(
        campaign_id=d.id,
        version=d.version,
        title=d.title,
        timezone=d.timezone,
        categories=[CategoryInfo(id=c.id, name=c.name, name_en=c.name_en, kind=c.kind, winners=c.winners)
                    for c in d.categories],
        phases=[PhaseInfo(id=p.id, name=p.name, starts_at=p.starts_at, ends_at=p.ends_at) for p in d.phases],
        current_phase=current_phase,
        vote_rules=VoteRules(
            votes_per_day=voting.votes_per_day if voting else 10,
            per_entry_daily_cap=voting.per_entry_daily_cap if voting else None,
            show_counts=voting.show_counts if voting else "always",
            timezone=d.timezone,
        ),
        scoring=d.scoring.model_dump(mode="json") if d.scoring else {},
        activity_deadline=d.activity.summary_deadline if d.activity else None,
    )


@router.post("/campaigns", status_code=201, tags=["campaigns"])
async def load_campaign(body: LoadCampaign, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Load a campaign definition (admins). A definition with any error is refused whole."""
    require_role(caller, "admin")
    try:
        d = parse_campaign(body.definition_yaml)
    except CampaignDefinitionError as exc:
        raise ApiError(422, "invalid_campaign_definition", "活动定义有误，请按字段修正",
                       "The campaign definition has errors", exc.errors) from None
    async with rt.pool.acquire() as conn, conn.transaction():
        current = await conn.fetchrow(Q.get_campaign, d.id)
        if current is not None and d.version <= current["version"]:
            raise ApiError(409, "campaign_version_not_newer", f"版本号须大于当前版本{current['version']}",
                           f"The version must be greater than the loaded version {current['version']}",
                           {"loaded_version": current["version"]})
        definition = d.model_dump(mode="json")
        phase = await conn.fetchval(Q.upsert_campaign, d.id, d.version, d.title, definition)
        await conn.execute(Q.insert_campaign_version, d.id, d.version, definition, body.definition_yaml,
                           caller.username)
        await rt.outbox.record(conn, campaign_loaded_event(d, phase), campaign_id=d.id)
    return {"id": d.id, "version": d.version, "title": d.title, "current_phase": phase}


@router.get("/campaigns", tags=["campaigns"])
async def list_campaigns(rt: Runtime) -> dict[str, Any]:
    rows = await rt.pool.fetch(Q.list_campaigns)
    return {"campaigns": [{"id": r["id"], "version": r["version"], "title": r["title"],
                           "current_phase": r["current_phase"]} for r in rows]}


async def _campaign(conn: Any, campaign_id: str) -> asyncpg.Record:
    row = await conn.fetchrow(Q.get_campaign, campaign_id)
    if row is None:
        raise ApiError(404, "campaign_not_found", "活动不存在", "No such campaign")
    return row


@router.get("/campaigns/{campaign_id}", tags=["campaigns"])
async def get_campaign(campaign_id: str, rt: Runtime) -> dict[str, Any]:
    """The campaign as the public may see it: categories, phases, vote rules, form labels (no exclusions list)."""
    row = await _campaign(rt.pool, campaign_id)
    d = _definition(row)
    public = d.model_dump(mode="json", include={"id", "version", "title", "title_en", "organizer", "timezone",
                                                "kind", "categories", "phases", "voting", "results", "form",
                                                "activity"})
    public["current_phase"] = row["current_phase"]
    return public


class PhaseRequest(RequestBody):
    phase: Literal["nomination", "initial_review", "voting", "expert_review", "final_review", "publication"]


@router.post("/campaigns/{campaign_id}/phase", tags=["campaigns"])
async def change_phase(campaign_id: str, body: PhaseRequest, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Move the campaign into a phase the definition has (admins); every change is an event."""
    require_role(caller, "admin")
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await _campaign(conn, campaign_id)
        d = _definition(row)
        if d.phase(body.phase) is None:
            raise ApiError(422, "unknown_phase", "该活动没有此阶段", "This campaign has no such phase",
                           {"phases": [p.id for p in d.phases]})
        previous = row["current_phase"]
        if previous == body.phase:
            return {"id": campaign_id, "current_phase": previous, "changed": False}
        await conn.execute(Q.set_phase, campaign_id, body.phase)
        await conn.execute(Q.insert_phase_change, campaign_id, body.phase, previous, caller.username)
        await rt.outbox.record(conn, PhaseChanged(campaign_id=campaign_id, phase=body.phase, previous_phase=previous),
                               campaign_id=campaign_id)
    return {"id": campaign_id, "current_phase": body.phase, "previous_phase": previous, "changed": True}


# --- nominations ---------------------------------------------------------------------------

class NominationRequest(RequestBody):
    category_id: str = Field(min_length=1, max_length=64)
    form: dict[str, Any] = Field(description="Field id → value, as the campaign's form defines.")
    self_nomination: bool = False
    unit_opinion: str | None = Field(None, max_length=1000, description="所在单位意见 (the unit's opinion).")


def _violations_error(violations: list[RuleViolation]) -> ApiError:
    first = violations[0]
    return ApiError(
        422,
        str(first.code),
        first.message_zh,
        first.message_en,
        [{"code": str(v.code), "field": v.field, "message": v.message_en, "message_zh": v.message_zh}
         for v in violations],
    )


def _key(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return "".join(str(value).split()).casefold()


def _existing(rows: list[asyncpg.Record]) -> list[ExistingNomination]:
    return [ExistingNomination(id=str(r["id"]), unit_id=r["unit_id"], category=r["category_id"],
                               platform=r["platform"], account_id=r["account_key"],
                               operating_entity=r["operating_entity_key"], status=r["status"]) for r in rows]


def _split_fields(d: CampaignDefinition, form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    public_ids = set(d.public_field_ids())
    public = {k: v for k, v in form.items() if k in public_ids and k not in PERSONAL_FIELDS}
    private = {k: v for k, v in form.items() if k not in public}
    return public, private


def _entry_name(form: dict[str, Any]) -> str:
    for key in ("account_name", "case_name", "entry_name", "name_of_case"):
        if form.get(key):
            return str(form[key])[:200]
    return "(未命名)"


def _effective_phase(row: asyncpg.Record) -> str | None:
    """The operator's phase wins; without one, the phase the definition's dates give for now."""
    if row["current_phase"]:
        return row["current_phase"]
    phase = _definition(row).phase_at(_now())
    return phase.id if phase else None


def _require_phase(row: asyncpg.Record, allowed: set[str], action_zh: str, action_en: str) -> None:
    phase = _effective_phase(row)
    if phase not in allowed:
        raise ApiError(409, "phase_closed", f"当前阶段不能{action_zh}", f"{action_en} is not possible in this phase",
                       {"current_phase": phase, "allowed_phases": sorted(allowed)})


def _first_office_step(d: CampaignDefinition) -> int:
    for i, step in enumerate(d.approval_steps):
        if step.role == "office":
            return i
    return len(d.approval_steps)


async def _check_and_keys(
    conn: Any, d: CampaignDefinition, row: asyncpg.Record, unit_id: str, body: NominationRequest,
    nomination_id: str | None,
) -> tuple[str | None, str | None, list[HoldReason]]:
    """Refuses a nomination that breaks a rule; returns its keys and the content concerns that hold it."""
    existing = _existing(await conn.fetch(Q.campaign_nominations_active, d.id))
    proposal = ProposedNomination(
        id=nomination_id, unit_id=unit_id, category=body.category_id, form={**body.form, "category": body.category_id},
        is_self_nomination=body.self_nomination,
    )
    # The phase is the operator's (or the dates'), checked before; the rule set checks the rest.
    violations = [v for v in check_nomination(d, proposal, existing, at=_at_inside_nomination(d))
                  if str(v.code) != "phase_closed"]
    refused, holds = split_holds(violations)
    if refused:
        raise _violations_error(refused)
    account_key = _key(body.form.get("account_id") or body.form.get("account_url"))
    return account_key, _key(body.form.get("operating_entity")), holds


def _at_inside_nomination(d: CampaignDefinition) -> datetime:
    phase = d.phase("nomination")
    if phase is not None and phase.starts_at and phase.ends_at:
        now = _now()
        return now if phase.contains(now) else phase.starts_at
    return _now()


@router.post("/campaigns/{campaign_id}/nominations", status_code=201, tags=["nominations"])
async def submit_nomination(
    campaign_id: str, body: NominationRequest, rt: Runtime, caller: CallerDep
) -> dict[str, Any]:
    """A nominating unit registers a nomination; every rule of the campaign is checked first."""
    require_role(caller, "unit")
    unit_id = caller.organisation_id
    if unit_id is None:
        raise ApiError(403, "no_organisation", "账号未关联推荐单位", "Your account belongs to no nominating unit")
    body = _neutralised(body)
    nomination_id = uuid.uuid4()
    async with rt.pool.acquire() as conn, conn.transaction():
        await conn.execute(Q.lock_campaign, campaign_id)
        row = await _campaign(conn, campaign_id)
        _require_phase(row, {"nomination"}, "报名推荐", "Nominating")
        d = _definition(row)
        account_key, entity_key, holds = await _check_and_keys(conn, d, row, unit_id, body, None)
        public, private = _split_fields(d, body.form)
        unit = await conn.fetchrow(Q.get_organisation, unit_id)
        first_step = _first_office_step(d)
        entry_name = _entry_name(body.form)
        status = "held_for_review" if holds else "submitted"
        await conn.execute(Q.insert_nomination, nomination_id, campaign_id, unit_id, body.category_id, entry_name,
                           body.form.get("platform"), account_key, entity_key, body.form.get("level"), public,
                           private, body.self_nomination, status, first_step, [h.to_dict() for h in holds])
        await conn.execute(Q.add_history, nomination_id, "submitted", None, caller.username, None)
        for step in d.approval_steps[:first_step]:
            await conn.execute(Q.add_history, nomination_id, "approved", step.id, caller.username, body.unit_opinion)
        events: list[tuple[Any, str]] = []
        if holds:
            await conn.execute(Q.add_history, nomination_id, "held_for_review", None, "content-check",
                               _hold_summary(holds))
        else:
            # A held nomination is announced only once a person has released it: nothing unchecked leaves.
            events.append((NominationSubmitted(
                nomination_id=nomination_id, unit_id=unit_id, unit_name=unit["name"], category_id=body.category_id,
                entry_name=entry_name, platform=body.form.get("platform")), campaign_id))
        metrics = _metrics_from(body.form)
        if metrics:
            await conn.execute(Q.upsert_metrics, nomination_id, "reported", *metrics, caller.username)
            events.append((MetricsReported(nomination_id=nomination_id, category_id=body.category_id,
                                           platform=body.form.get("platform"), followers=metrics[0],
                                           posts=metrics[1], interactions=metrics[2], source="reported"),
                           campaign_id))
        if events:
            await rt.outbox.record_many(conn, events)
    return await _nomination_view(rt, nomination_id, caller)


def _neutralised(body: NominationRequest) -> NominationRequest:
    """The request with markup and scripts taken out of every text, before any rule or storage sees it."""
    return body.model_copy(update={
        "form": neutralise_form(body.form),
        "unit_opinion": neutralise(body.unit_opinion) if body.unit_opinion else body.unit_opinion,
    })


def _hold_summary(holds: list[HoldReason]) -> str:
    return "；".join(h.message_zh for h in holds)[:1000]


def _metrics_from(form: dict[str, Any]) -> tuple[int, int, int] | None:
    try:
        values = tuple(int(form[k]) for k in ("followers", "posts", "interactions"))
    except (KeyError, TypeError, ValueError):
        return None
    return values  # type: ignore[return-value]


async def _visible_units(conn: Any, caller: Caller) -> list[str] | None:
    """None means all (admins); a unit sees itself; an office sees every unit under it."""
    if caller.role == "admin":
        return None
    if caller.organisation_id is None:
        return []
    if caller.role == "unit":
        return [caller.organisation_id]
    return [r["id"] for r in await conn.fetch(Q.subtree, caller.organisation_id)]


async def _load_for(conn: Any, nomination_id: uuid.UUID, caller: Caller, *, lock: bool = False) -> asyncpg.Record:
    row = await conn.fetchrow(Q.lock_nomination if lock else Q.get_nomination, nomination_id)
    if row is None:
        raise ApiError(404, "nomination_not_found", "推荐不存在", "No such nomination")
    visible = await _visible_units(conn, caller)
    if visible is not None and row["unit_id"] not in visible:
        code = "not_your_nomination" if caller.role == "unit" else "outside_your_jurisdiction"
        raise ApiError(403, code, "无权查看或处理该推荐", "This nomination is not yours to see or handle")
    return row


async def _nomination_view(rt: ServiceRuntime, nomination_id: uuid.UUID, caller: Caller) -> dict[str, Any]:
    async with rt.pool.acquire() as conn:
        row = await _load_for(conn, nomination_id, caller)
        history = await conn.fetch(Q.history, nomination_id)
        metrics = await conn.fetch(Q.metrics, nomination_id)
        activity = await conn.fetchrow(Q.get_activity, nomination_id)
        campaign = await _campaign(conn, row["campaign_id"])
    d = _definition(campaign)
    steps = d.approval_steps
    return {
        "id": str(row["id"]),
        "campaign_id": row["campaign_id"],
        "unit_id": row["unit_id"],
        "unit_name": row["unit_name"],
        "category_id": row["category_id"],
        "entry_name": row["entry_name"],
        "status": row["status"],
        "current_step": steps[row["step_index"]].id if row["status"] == "submitted" and row["step_index"] < len(steps)
        else None,
        "revision": row["revision"],
        "held_reasons": row["held_reasons"] if row["status"] == "held_for_review" else [],
        "form": {**row["public_fields"], **row["private_fields"]},
        "history": [{"action": h["action"], "step_id": h["step_id"], "actor": h["actor"], "reason": h["reason"],
                     "at": h["at"].isoformat()} for h in history],
        "metrics": {m["source"]: {"followers": m["followers"], "posts": m["posts"],
                                  "interactions": m["interactions"]} for m in metrics},
        "activity": {"submitted_at": activity["submitted_at"].isoformat(), "on_time": activity["on_time"]}
        if activity else None,
    }


@router.get("/nominations/{nomination_id}", tags=["nominations"])
async def get_nomination(nomination_id: uuid.UUID, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """A nomination with its form, status and full history (its unit, the offices above it, admins)."""
    return await _nomination_view(rt, nomination_id, caller)


NominationStatus = Literal["submitted", "held_for_review", "returned", "approved", "rejected", "withdrawn"]


@router.get("/campaigns/{campaign_id}/nominations", tags=["nominations"])
async def list_nominations(
    campaign_id: str, rt: Runtime, caller: CallerDep, status: NominationStatus | None = None
) -> dict[str, Any]:
    """Nominations the caller may see: a unit its own, an office those of units under it; `status` filters."""
    require_role(caller, "unit", "office", "admin")
    async with rt.pool.acquire() as conn:
        await _campaign(conn, campaign_id)
        visible = await _visible_units(conn, caller)
        if visible is None:
            visible = [r["id"] for r in await conn.fetch(Q.all_organisation_ids)]
        rows = await conn.fetch(Q.list_nominations, campaign_id, visible, status)
    return {"nominations": [{**dict(r), "id": str(r["id"]), "created_at": r["created_at"].isoformat(),
                             "updated_at": r["updated_at"].isoformat()} for r in rows]}


class ReviewRequest(RequestBody):
    decision: Literal["approve", "return", "reject"]
    reason: str | None = Field(None, max_length=1000,
                               description="The reviewer's reason (核实甄选意见), kept in the history; required to "
                                           "return or reject.")


@router.post("/nominations/{nomination_id}/review", tags=["nominations"])
async def review_nomination(
    nomination_id: uuid.UUID, body: ReviewRequest, rt: Runtime, caller: CallerDep
) -> dict[str, Any]:
    """An office gives its opinion at the current approval step: approve, return with reason, or reject."""
    require_role(caller, "office", "admin")
    if body.decision != "approve" and not (body.reason or "").strip():
        raise ApiError(422, "reason_required", "退回或不通过须说明理由", "A reason is required to return or reject")
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await _load_for(conn, nomination_id, caller, lock=True)
        campaign = await _campaign(conn, row["campaign_id"])
        _require_phase(campaign, _REVIEW_PHASES, "审核", "Reviewing")
        if row["status"] != "submitted":
            raise ApiError(409, "not_awaiting_review", "该推荐当前不在待审状态", "This nomination is not awaiting review",
                           {"status": row["status"]})
        d = _definition(campaign)
        step = d.approval_steps[row["step_index"]]
        cid = row["campaign_id"]
        common = {"nomination_id": nomination_id, "unit_id": row["unit_id"], "category_id": row["category_id"],
                  "entry_name": row["entry_name"]}
        if body.decision == "approve":
            final = row["step_index"] + 1 >= len(d.approval_steps)
            await conn.execute(Q.set_status, nomination_id, "approved" if final else "submitted",
                               row["step_index"] + (0 if final else 1))
            await conn.execute(Q.add_history, nomination_id, "approved", step.id, caller.username, body.reason)
            summary = str(row["public_fields"].get("introduction") or row["public_fields"].get("main_deeds") or "")
            await rt.outbox.record(conn, NominationApproved(
                **common, unit_name=row["unit_name"], platform=row["platform"], summary=summary[:1000],
                step_id=step.id, final=final), campaign_id=cid)
        elif body.decision == "return":
            await conn.execute(Q.set_status, nomination_id, "returned", row["step_index"])
            await conn.execute(Q.add_history, nomination_id, "returned", step.id, caller.username, body.reason)
            await rt.outbox.record(conn, NominationReturned(**common, step_id=step.id, reason=body.reason or ""),
                                   campaign_id=cid)
        else:
            await conn.execute(Q.set_status, nomination_id, "rejected", row["step_index"])
            await conn.execute(Q.add_history, nomination_id, "rejected", step.id, caller.username, body.reason)
            await rt.outbox.record(conn, NominationRejected(**common, reason=body.reason or ""), campaign_id=cid)
    return await _nomination_view(rt, nomination_id, caller)


class CorrectionRequest(NominationRequest):
    pass


@router.put("/nominations/{nomination_id}", tags=["nominations"])
async def correct_nomination(
    nomination_id: uuid.UUID, body: CorrectionRequest, rt: Runtime, caller: CallerDep
) -> dict[str, Any]:
    """The unit corrects a returned nomination and resubmits it to the first office step."""
    require_role(caller, "unit")
    body = _neutralised(body)
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await _load_for(conn, nomination_id, caller, lock=True)
        await conn.execute(Q.lock_campaign, row["campaign_id"])
        campaign = await _campaign(conn, row["campaign_id"])
        # A nomination returned during the initial review is corrected then; others only while nominating.
        allowed = {"nomination", "initial_review"} if row["status"] == "returned" else {"nomination"}
        _require_phase(campaign, allowed, "修改推荐", "Correcting a nomination")
        if row["status"] not in ("returned", "submitted", "held_for_review"):
            raise ApiError(409, "not_correctable", "该推荐当前不能修改", "This nomination cannot be corrected now",
                           {"status": row["status"]})
        d = _definition(campaign)
        account_key, entity_key, holds = await _check_and_keys(conn, d, campaign, row["unit_id"], body,
                                                               str(nomination_id))
        public, private = _split_fields(d, body.form)
        entry_name = _entry_name(body.form)
        await conn.execute(Q.update_nomination_form, nomination_id, body.category_id, entry_name,
                           body.form.get("platform"), account_key, entity_key, body.form.get("level"), public, private)
        await conn.execute(Q.set_status, nomination_id, "held_for_review" if holds else "submitted",
                           _first_office_step(d))
        await conn.execute(Q.set_held_reasons, nomination_id, [h.to_dict() for h in holds])
        await conn.execute(Q.add_history, nomination_id, "resubmitted", None, caller.username, body.unit_opinion)
        if holds:
            await conn.execute(Q.add_history, nomination_id, "held_for_review", None, "content-check",
                               _hold_summary(holds))
        else:
            await rt.outbox.record(conn, NominationSubmitted(
                nomination_id=nomination_id, unit_id=row["unit_id"], unit_name=row["unit_name"],
                category_id=body.category_id, entry_name=entry_name, platform=body.form.get("platform"),
                resubmission=True), campaign_id=row["campaign_id"])
    return await _nomination_view(rt, nomination_id, caller)


@router.post("/nominations/{nomination_id}/withdraw", tags=["nominations"])
async def withdraw_nomination(nomination_id: uuid.UUID, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """The unit withdraws its nomination (before results are published)."""
    require_role(caller, "unit")
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await _load_for(conn, nomination_id, caller, lock=True)
        campaign = await _campaign(conn, row["campaign_id"])
        _require_phase(campaign, set(PHASES) - {"publication"}, "撤回推荐", "Withdrawing")
        if row["status"] in ("withdrawn", "rejected"):
            raise ApiError(409, "not_withdrawable", "该推荐已撤回或未通过", "Already withdrawn or rejected",
                           {"status": row["status"]})
        await conn.execute(Q.set_status, nomination_id, "withdrawn", row["step_index"])
        await conn.execute(Q.add_history, nomination_id, "withdrawn", None, caller.username, None)
        await rt.outbox.record(conn, NominationWithdrawn(nomination_id=nomination_id, unit_id=row["unit_id"],
                                                         category_id=row["category_id"]),
                               campaign_id=row["campaign_id"])
    return await _nomination_view(rt, nomination_id, caller)


class ContentReviewRequest(RequestBody):
    decision: Literal["release", "return", "reject"] = Field(
        description="release: the content is acceptable, the nomination goes on to its approval step; "
                    "return: the unit corrects it; reject: it is refused.")
    reason: str = Field(min_length=1, max_length=1000, description="Recorded in the history.")


@router.post("/nominations/{nomination_id}/content-review", tags=["nominations"])
async def review_held_content(
    nomination_id: uuid.UUID, body: ContentReviewRequest, rt: Runtime, caller: CallerDep
) -> dict[str, Any]:
    """An office decides on a nomination the content check held (spam, links outside the campaign's sites)."""
    require_role(caller, "office", "admin")
    if not body.reason.strip():
        raise ApiError(422, "reason_required", "审核意见须说明理由", "Every review decision records its reason")
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await _load_for(conn, nomination_id, caller, lock=True)
        campaign = await _campaign(conn, row["campaign_id"])
        _require_phase(campaign, _REVIEW_PHASES, "审核", "Reviewing")
        if row["status"] != "held_for_review":
            raise ApiError(409, "not_held_for_review", "该推荐未因内容问题待审", "This nomination is not held for review",
                           {"status": row["status"]})
        cid = row["campaign_id"]
        reason = neutralise(body.reason)
        if body.decision == "release":
            await conn.execute(Q.set_status, nomination_id, "submitted", row["step_index"])
            await conn.execute(Q.add_history, nomination_id, "content_released", None, caller.username, reason)
            await rt.outbox.record(conn, NominationSubmitted(
                nomination_id=nomination_id, unit_id=row["unit_id"], unit_name=row["unit_name"],
                category_id=row["category_id"], entry_name=row["entry_name"], platform=row["platform"]),
                campaign_id=cid)
        elif body.decision == "return":
            await conn.execute(Q.set_status, nomination_id, "returned", row["step_index"])
            await conn.execute(Q.add_history, nomination_id, "returned", "content_check", caller.username, reason)
            await rt.outbox.record(conn, NominationReturned(
                nomination_id=nomination_id, unit_id=row["unit_id"], category_id=row["category_id"],
                entry_name=row["entry_name"], step_id="content_check", reason=reason), campaign_id=cid)
        else:
            await conn.execute(Q.set_status, nomination_id, "rejected", row["step_index"])
            await conn.execute(Q.add_history, nomination_id, "rejected", "content_check", caller.username, reason)
            await rt.outbox.record(conn, NominationRejected(
                nomination_id=nomination_id, unit_id=row["unit_id"], category_id=row["category_id"],
                entry_name=row["entry_name"], reason=reason), campaign_id=cid)
    return await _nomination_view(rt, nomination_id, caller)


@router.get("/campaigns/{campaign_id}/shortfalls", tags=["nominations"])
async def shortfalls(campaign_id: str, rt: Runtime, caller: CallerDep) -> dict[str, Any]:
    """Units under the caller short of the campaign's minimum per category (原则上不少于N个); never a block."""
    require_role(caller, "office", "admin")
    async with rt.pool.acquire() as conn:
        d = _definition(await _campaign(conn, campaign_id))
        visible = await _visible_units(conn, caller)
        if visible is None:
            visible = [r["id"] for r in await conn.fetch(Q.all_organisation_ids)]
        units = {r["id"]: r["name"] for r in await conn.fetch(Q.units_in, visible)}
        existing = [e for e in _existing(await conn.fetch(Q.campaign_nominations_active, campaign_id))
                    if e.unit_id in units]
    found = quota_shortfalls(d, count_by_unit_and_category(existing), units)
    return {
        "campaign_id": campaign_id,
        "minimum_per_unit_per_category": d.quotas.min_per_unit_per_category,
        "shortfalls": [{"unit_id": f.unit_id, "unit_name": units[f.unit_id], "category_id": f.category,
                        "minimum": f.minimum, "actual": f.actual, "missing": f.missing,
                        "message": f.message_en, "message_zh": f.message_zh} for f in found],
    }


class MetricsRequest(RequestBody):
    followers: int = Field(ge=0, le=10**10)
    posts: int = Field(ge=0, le=10**9)
    interactions: int = Field(ge=0, le=10**12)


@router.put("/nominations/{nomination_id}/metrics/verified", tags=["nominations"])
async def verify_metrics(
    nomination_id: uuid.UUID, body: MetricsRequest, rt: Runtime, caller: CallerDep
) -> dict[str, Any]:
    """The office records the account metrics it verified (核实); scoring prefers them to reported ones."""
    require_role(caller, "office", "admin")
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await _load_for(conn, nomination_id, caller, lock=True)
        await conn.execute(Q.upsert_metrics, nomination_id, "verified", body.followers, body.posts,
                           body.interactions, caller.username)
        await conn.execute(Q.add_history, nomination_id, "metrics_verified", None, caller.username, None)
        await rt.outbox.record(conn, MetricsReported(
            nomination_id=nomination_id, category_id=row["category_id"], platform=row["platform"],
            followers=body.followers, posts=body.posts, interactions=body.interactions, source="verified"),
            campaign_id=row["campaign_id"])
    return await _nomination_view(rt, nomination_id, caller)


class ActivityRequest(RequestBody):
    summary: str = Field(min_length=1, max_length=5000, description="互动实践活动总结")
    links: list[str] = Field(default_factory=list, max_length=20)


@router.post("/nominations/{nomination_id}/activity", tags=["nominations"])
async def submit_activity(
    nomination_id: uuid.UUID, body: ActivityRequest, rt: Runtime, caller: CallerDep
) -> dict[str, Any]:
    """The unit submits the practice activity summary; after the campaign's deadline it is refused."""
    require_role(caller, "unit")
    now = _now()
    async with rt.pool.acquire() as conn, conn.transaction():
        row = await _load_for(conn, nomination_id, caller, lock=True)
        d = _definition(await _campaign(conn, row["campaign_id"]))
        deadline = d.activity.summary_deadline if d.activity else None
        if d.activity is None:
            raise ApiError(409, "activity_not_required", "本活动不需要提交实践活动总结",
                           "This campaign has no practice activity")
        if deadline is not None and now > deadline:
            raise ApiError(409, "activity_deadline_passed", "已过实践活动总结提交截止时间",
                           "The deadline for the activity summary has passed", {"deadline": deadline.isoformat()})
        await conn.execute(Q.insert_activity, nomination_id, body.summary, body.links, now, True)
        await conn.execute(Q.add_history, nomination_id, "activity_submitted", None, caller.username, None)
        await rt.outbox.record(conn, ActivitySubmitted(nomination_id=nomination_id, category_id=row["category_id"],
                                                       submitted_at=now, on_time=True),
                               campaign_id=row["campaign_id"])
    return await _nomination_view(rt, nomination_id, caller)


# Roles that may export, and those among them that may see personal data (the offices read the forms).
_EXPORT_ROLES = ("office", "admin", "committee", "supervisor")
_PERSONAL_DATA_ROLES = ("office", "admin")
_MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          "csv": "text/csv; charset=utf-8"}


@router.get("/campaigns/{campaign_id}/exports/{sheet}", tags=["exports"],
            responses={200: {"content": {_MEDIA["xlsx"]: {}, _MEDIA["csv"]: {}}}})
async def export_sheet(
    campaign_id: str, sheet: Literal["statistics", "nominations"], rt: Runtime, caller: CallerDep,
    format: Literal["xlsx", "csv"] = "xlsx",
) -> Response:
    """The statistics sheet (征集统计表) per reporting unit, or every nomination, for the caller's units.

    An office gets the units under it, admins, the committee and the supervisor every unit; personal data
    (contact names, phone numbers, birth months …) only for offices and admins.
    """
    require_role(caller, *_EXPORT_ROLES)
    async with rt.pool.acquire() as conn:
        d = _definition(await _campaign(conn, campaign_id))
        visible = None if caller.role != "office" else await _visible_units(conn, caller)
        if visible is None:
            visible = [r["id"] for r in await conn.fetch(Q.all_organisation_ids)]
        rows = [dict(r) for r in await conn.fetch(Q.export_nominations, campaign_id, visible)]
        units = [dict(r) for r in await conn.fetch(Q.units_in, visible)]
        reporter = await conn.fetchrow(Q.get_organisation, caller.organisation_id) if caller.organisation_id else None
    if sheet == "statistics":
        table = exports.statistics_sheet(d, units, rows, reported_by=reporter["name"] if reporter else caller.username,
                                         at=_now())
    else:
        table = exports.nominations_sheet(d, rows, include_personal=caller.role in _PERSONAL_DATA_ROLES)
    body = exports.to_xlsx(table) if format == "xlsx" else exports.to_csv(table)
    filename = f"{campaign_id}-{sheet}.{format}"
    return Response(body, media_type=_MEDIA[format],
                    headers={"content-disposition": f'attachment; filename="{filename}"'})


@router.get("/public/campaigns/{campaign_id}/entries", tags=["public"])
async def public_entries(campaign_id: str, rt: Runtime) -> dict[str, Any]:
    """Approved entries with their public fields only: no personal data, ever."""
    await _campaign(rt.pool, campaign_id)
    rows = await rt.pool.fetch(Q.public_entries, campaign_id)
    return {"entries": [{"entry_id": str(r["id"]), "category_id": r["category_id"], "name": r["entry_name"],
                         "platform": r["platform"], "unit_name": r["unit_name"],
                         "fields": {k: v for k, v in r["public_fields"].items() if k not in PERSONAL_FIELDS}}
                        for r in rows]}


def register(rt: ServiceRuntime) -> None:
    @rt.on_startup
    async def bootstrap_admin(runtime: ServiceRuntime) -> None:
        await ensure_admin(runtime)
