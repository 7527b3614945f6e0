"""Filing accounts: one opening request from a unit, or many from an import, checked against seed 002's rules."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from pydantic import ValidationError

from massline.approval import HistoryEntry
from massline.auth import Caller
from massline.db import Connection

from .. import repository as repo
from ..deps import RegistryDeps
from ..domain import rules
from ..domain.accounts import Account, PersonInCharge
from ..domain.errors import Invalid, Refusal
from ..domain.review import Org, Request, chain_for
from ..schemas import FilingBody
from .access import require_unit

# The columns an import file may carry, as FilingBody names them (person_* fill the person in charge).
IMPORT_COLUMNS = ("platform", "level", "platform_account_id", "verified_name", "purpose", "exception_reason",
                  "person_username", "person_contact", "reason")


def unknown_unit(unit_id: str) -> Invalid:
    return Invalid("unit_unknown", "登记库尚未收到本单位的信息，请稍后再试",
                   "The registry has not learned of this unit yet; try again shortly", {"unit_id": unit_id})


async def _file_one(deps: RegistryDeps, conn: Connection, orgs: Mapping[str, Org], unit_id: str,
                    body: FilingBody, by: str) -> Request:
    """Check the rules and store the account (requested) with its opening request, awaiting the first office."""
    if unit_id not in orgs:
        raise unknown_unit(unit_id)
    steps = chain_for(unit_id, orgs)
    rules.check_platform(body.platform, deps.settings.platform_list())
    rules.check_purpose(body.purpose)
    region = rules.check_name(body.verified_name, deps.gazetteer)
    await repo.lock_unit(conn, unit_id)
    rules.check_unique(unit_id, body.platform, body.platform_account_id, body.exception_reason,
                       await repo.holdings_on_platform(conn, body.platform))
    account = Account(id=uuid.uuid4(), unit_id=unit_id, unit_name=orgs[unit_id].name, platform=body.platform,
                      level=body.level, platform_account_id=body.platform_account_id,
                      verified_name=body.verified_name, region=region, status="requested", purpose=body.purpose,
                      exception_reason=(body.exception_reason or "").strip() or None)
    request = Request(id=uuid.uuid4(), account_id=account.id, unit_id=unit_id, kind="open", status="pending",
                      step_index=0, steps=tuple(steps), proposal={}, reason=body.reason, requested_by=by)
    try:
        await repo.insert_account(conn, account)
    except asyncpg.UniqueViolationError:
        raise rules.conflict("platform_account_taken", {"platform": body.platform,
                                                        "platform_account_id": body.platform_account_id}) from None
    person = body.person_in_charge
    await repo.save_person(conn, account.id, PersonInCharge(person.username, person.contact))
    await repo.insert_request(conn, request)
    await repo.add_history(conn, account.id, request.id, [HistoryEntry("submitted", "unit", by, body.reason)])
    return request


async def file_account(deps: RegistryDeps, caller: Caller, body: FilingBody) -> Request:
    """A unit asks to open (file) an account; it goes to the city office, then the provincial office."""
    unit_id = require_unit(caller)
    try:
        async with deps.rt.unit_of_work() as uow:
            request = await _file_one(deps, uow.conn, await repo.organisations(uow.conn), unit_id, body,
                                      caller.username)
    except Refusal as refusal:
        deps.metrics.refusals.labels(refusal.code).inc()
        raise
    deps.metrics.requests.labels("open", "submitted").inc()
    return request


def filing_of(values: Mapping[str, Any]) -> FilingBody:
    """An import row as a filing; unknown columns are refused by name."""
    unknown = sorted(set(values) - set(IMPORT_COLUMNS))
    if unknown:
        raise Invalid("unknown_columns", "含有无法识别的列", "Unknown columns", {"columns": unknown})
    row = {k: v for k, v in values.items() if v not in (None, "")}
    person = {"username": row.pop("person_username", ""), "contact": row.pop("person_contact", "")}
    if not person["username"] or not person["contact"]:
        raise rules.refusal("person_in_charge_required")
    try:
        return FilingBody.model_validate({**row, "person_in_charge": person})
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        raise Invalid("row_invalid", "该行内容有误", "The row has invalid values", {"fields": fields}) from None


async def import_accounts(deps: RegistryDeps, caller: Caller, rows: Sequence[tuple[int, Mapping[str, Any]]],
                          keep_good: bool) -> tuple[int, list[dict[str, Any]]]:
    """File every row, or none when one is refused (unless `keep_good`). Each refusal names its line and code."""
    unit_id = require_unit(caller)
    refused: list[dict[str, Any]] = []
    filed = 0
    async with deps.rt.unit_of_work() as uow:
        orgs = await repo.organisations(uow.conn)
        for line, values in rows:
            try:
                async with uow.conn.transaction():  # a savepoint: a refused row leaves nothing behind
                    await _file_one(deps, uow.conn, orgs, unit_id, filing_of(values), caller.username)
                filed += 1
            except Refusal as r:
                deps.metrics.refusals.labels(r.code).inc()
                refused.append({"line": line, "code": r.code, "message": r.message_zh, "message_en": r.message_en,
                                "details": r.details})
        if refused and not keep_good:
            raise ImportRefused(refused)
    deps.metrics.requests.labels("open", "submitted").inc(filed)
    return filed, refused


class ImportRefused(Invalid):
    """Some rows were refused and the unit did not ask to keep the good ones: nothing was filed."""

    def __init__(self, refused: list[dict[str, Any]]) -> None:
        super().__init__("import_refused", f"有 {len(refused)} 行未通过检查，未导入任何账号",
                         f"{len(refused)} row(s) refused; nothing was filed", {"refused": refused})
